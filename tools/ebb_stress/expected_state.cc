#include "tools/ebb_stress/expected_state.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include <fmt/format.h>

namespace ebb::stress {

namespace {
constexpr uint64_t kMagic = 0x5453455254534245ULL;  // "EBSTREST"
constexpr uint32_t kVersion = 1;

size_t Bytes(uint32_t dbs, uint32_t keys) {
  return sizeof(Header) + sizeof(Slot) * static_cast<size_t>(dbs) * keys;
}
}  // namespace

Result<std::unique_ptr<ExpectedState>> ExpectedState::OpenFile(const std::string& path, uint32_t dbs, uint32_t keys) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(fmt::format("open expected state {}: {}", path, std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::IOError(fmt::format("stat expected state {}: {}", path, std::strerror(errno)));
  }
  const size_t bytes = Bytes(dbs, keys);
  const bool fresh = st.st_size == 0;
  if (fresh && ::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    ::close(fd);
    return Status::IOError(fmt::format("size expected state {}: {}", path, std::strerror(errno)));
  }
  if (!fresh && static_cast<size_t>(st.st_size) != bytes) {
    ::close(fd);
    return Status::InvalidArgument(fmt::format(
        "expected state {} is {} bytes, not the {} that --dbs {} --keys {} need; use the options of the run that "
        "made it, or a new data directory",
        path, st.st_size, bytes, dbs - 1, keys));
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return Status::IOError(fmt::format("map expected state {}: {}", path, std::strerror(errno)));
  std::unique_ptr<ExpectedState> s(new ExpectedState());
  s->mapping_ = p;
  s->mapping_bytes_ = bytes;
  s->header_ = static_cast<Header*>(p);
  s->slots_ = reinterpret_cast<Slot*>(static_cast<char*>(p) + sizeof(Header));
  if (fresh) {
    s->header_->magic = kMagic;
    s->header_->version = kVersion;
    s->header_->dbs = dbs;
    s->header_->keys_per_db = keys;
    s->header_->next_generation.store(1);
    s->header_->next_batch.store(1);
  } else if (s->header_->magic != kMagic || s->header_->version != kVersion || s->header_->dbs != dbs ||
             s->header_->keys_per_db != keys) {
    return Status::InvalidArgument(fmt::format("{} is not an expected state of this shape", path));
  }
  return s;
}

std::unique_ptr<ExpectedState> ExpectedState::InMemory(uint32_t dbs, uint32_t keys) {
  std::unique_ptr<ExpectedState> s(new ExpectedState());
  const size_t bytes = Bytes(dbs, keys);
  s->memory_.reset(new char[bytes]());
  s->header_ = new (s->memory_.get()) Header();
  s->slots_ = reinterpret_cast<Slot*>(s->memory_.get() + sizeof(Header));
  for (size_t i = 0; i < static_cast<size_t>(dbs) * keys; i++) new (&s->slots_[i]) Slot();
  s->header_->magic = kMagic;
  s->header_->version = kVersion;
  s->header_->dbs = dbs;
  s->header_->keys_per_db = keys;
  s->header_->next_generation.store(1);
  s->header_->next_batch.store(1);
  return s;
}

ExpectedState::~ExpectedState() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_bytes_);
}

std::string ExpectedState::KeyName(uint32_t key) { return fmt::format("k{:08}", key); }

std::string ExpectedState::ValueOf(uint32_t db, uint32_t key, uint32_t gen) {
  // Lengths from 16 to about 1 KiB, so values cross block boundaries.
  std::string v = fmt::format("{}|{}|{}|", db, key, gen);
  const size_t length = 16 + (static_cast<uint64_t>(gen) * 2654435761u) % 1000;
  char c = static_cast<char>('a' + gen % 26);
  while (v.size() < length) v.push_back(c++ > 'y' ? (c = 'a') : c);
  return v;
}

}  // namespace ebb::stress
