#include "env/mem_object_store.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/status_macros.h"
#include "env/clock.h"
#include "env/file_system.h"

namespace ebb {

MemObjectStore::MemObjectStore(std::string name) : name_(std::move(name)) {}
MemObjectStore::~MemObjectStore() = default;

std::string MemObjectStore::Describe() const { return "mem:" + name_; }

void MemObjectStore::FailNth(ObjectOp op, int nth, Status error, bool sticky) {
  MutexLock lock(&mu_);
  faults_[op] = Fault{.countdown = nth, .error = std::move(error), .sticky = sticky, .fired = false};
}

void MemObjectStore::FailUploadMidway(int nth) {
  MutexLock lock(&mu_);
  upload_midway_countdown_ = nth;
}

void MemObjectStore::ClearFaults() {
  MutexLock lock(&mu_);
  faults_.clear();
  upload_midway_countdown_ = 0;
}

void MemObjectStore::Stall(int64_t max_stall_micros) {
  MutexLock lock(&mu_);
  stalled_ = true;
  max_stall_micros_ = max_stall_micros;
}

void MemObjectStore::Resume() {
  MutexLock lock(&mu_);
  stalled_ = false;
  resumed_cv_.SignalAll();
}

int MemObjectStore::stalled_calls() const {
  MutexLock lock(&mu_);
  return stalled_calls_;
}

Status MemObjectStore::BeginCall(ObjectOp op) {
  calls_[op]++;
  if (stalled_) {
    const int64_t start = SystemClock()->NowMicros();
    const int64_t deadline = std::min(ObjectStoreDeadline::Current(), start + max_stall_micros_);
    stalled_calls_++;
    while (stalled_) {
      int64_t now = SystemClock()->NowMicros();
      if (now >= deadline) break;
      resumed_cv_.WaitFor(std::chrono::microseconds(deadline - now));
    }
    stalled_calls_--;
    if (stalled_) {
      if (ObjectStoreDeadline::Current() <= SystemClock()->NowMicros()) {
        return Status::TimedOut(fmt::format("{}: no answer before the caller's deadline (stalled)", Describe()));
      }
      return Status::Unavailable(fmt::format("{}: no answer (stalled)", Describe()));
    }
  }
  auto it = faults_.find(op);
  if (it == faults_.end()) return Status::OK();
  Fault& f = it->second;
  if (f.fired) return f.sticky ? f.error : Status::OK();
  if (--f.countdown > 0) return Status::OK();
  f.fired = true;
  return f.error;
}

Status MemObjectStore::StoreLocked(const std::string& key, std::string data) {
  if (upload_midway_countdown_ > 0 && --upload_midway_countdown_ == 0) {
    return Status::Unavailable(fmt::format("{}: put {}: connection reset after {} of {} bytes", Describe(), key,
                                           data.size() / 2, data.size()));
  }
  objects_[key] = std::make_shared<const std::string>(std::move(data));
  return Status::OK();
}

Status MemObjectStore::Put(const std::string& key, std::string_view data) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(BeginCall(ObjectOp::kPut));
  return StoreLocked(key, std::string(data));
}

Status MemObjectStore::PutFile(const std::string& key, FileSystem* fs, const std::string& path) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  {
    MutexLock lock(&mu_);
    EBB_RETURN_IF_ERROR(BeginCall(ObjectOp::kPut));
  }
  auto data = ReadFileToString(fs, path);
  if (!data.ok()) return data.status().WithContext(fmt::format("{}: put {} from {}", Describe(), key, path));
  MutexLock lock(&mu_);
  return StoreLocked(key, std::move(data).value());
}

Result<std::string> MemObjectStore::Get(const std::string& key) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(BeginCall(ObjectOp::kGet));
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound(fmt::format("{}: get {}: no such object", Describe(), key));
  bytes_read_ += it->second->size();
  return *it->second;
}

Result<std::string> MemObjectStore::GetWithEtag(const std::string& key, std::string* etag) {
  EBB_ASSIGN_OR_RETURN(std::string data, Get(key));
  *etag = fmt::format("{:016x}", Hash64(data));
  return data;
}

void MemObjectStore::SetConditionalWrites(bool enforced) {
  MutexLock lock(&mu_);
  conditional_writes_ = enforced;
}

Result<bool> MemObjectStore::ConditionalWrites() {
  MutexLock lock(&mu_);
  return conditional_writes_;
}

Status MemObjectStore::PutIf(const std::string& key, std::string_view data, WriteCondition condition,
                             const std::string& etag) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  MutexLock lock(&mu_);
  if (!conditional_writes_) {
    return Status::NotSupported(fmt::format("{}: conditional writes are not enforced", Describe()));
  }
  EBB_RETURN_IF_ERROR(BeginCall(ObjectOp::kPut));
  auto it = objects_.find(key);
  if (condition == WriteCondition::kIfAbsent && it != objects_.end()) {
    return Status::AlreadyExists(fmt::format("{}: put {} if absent: the object exists", Describe(), key));
  }
  if (condition == WriteCondition::kIfMatch &&
      (it == objects_.end() || fmt::format("{:016x}", Hash64(*it->second)) != etag)) {
    return Status::AlreadyExists(fmt::format("{}: put {} if its etag is {}: it was replaced or removed", Describe(),
                                             key, etag));
  }
  return StoreLocked(key, std::string(data));
}

Result<std::string> MemObjectStore::GetRange(const std::string& key, uint64_t offset, uint64_t length) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(BeginCall(ObjectOp::kGet));
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound(fmt::format("{}: get {}: no such object", Describe(), key));
  const std::string& data = *it->second;
  if (offset >= data.size() && !(offset == 0 && data.empty())) {
    return Status::InvalidArgument(fmt::format("{}: get {} range [{}, +{}): offset is past the end of the {}-byte object",
                                               Describe(), key, offset, length, data.size()));
  }
  uint64_t n = std::min<uint64_t>(length, data.size() - offset);
  bytes_read_ += n;
  return data.substr(static_cast<size_t>(offset), static_cast<size_t>(n));
}

Result<ObjectInfo> MemObjectStore::Head(const std::string& key) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(BeginCall(ObjectOp::kHead));
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound(fmt::format("{}: head {}: no such object", Describe(), key));
  return ObjectInfo{.key = key, .size_bytes = it->second->size(), .etag = fmt::format("{:016x}", Hash64(*it->second))};
}

Result<std::vector<ObjectInfo>> MemObjectStore::List(const std::string& prefix) {
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(BeginCall(ObjectOp::kList));
  std::vector<ObjectInfo> out;
  for (auto it = objects_.lower_bound(prefix); it != objects_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.push_back(ObjectInfo{.key = it->first, .size_bytes = it->second->size(),
                             .etag = fmt::format("{:016x}", Hash64(*it->second))});
  }
  return out;
}

Status MemObjectStore::Delete(const std::string& key) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  MutexLock lock(&mu_);
  EBB_RETURN_IF_ERROR(BeginCall(ObjectOp::kDelete));
  objects_.erase(key);
  return Status::OK();
}

Status MemObjectStore::CorruptObject(const std::string& key, uint64_t offset, uint64_t length) {
  MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound(fmt::format("{}: corrupt {}: no such object", Describe(), key));
  std::string data = *it->second;
  if (offset + length > data.size()) {
    return Status::InvalidArgument(fmt::format("{}: corrupt {}: range past the end", Describe(), key));
  }
  for (uint64_t i = offset; i < offset + length; i++) data[i] = static_cast<char>(data[i] ^ 0xff);
  it->second = std::make_shared<const std::string>(std::move(data));
  return Status::OK();
}

Status MemObjectStore::TruncateObject(const std::string& key, uint64_t size) {
  MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound(fmt::format("{}: truncate {}: no such object", Describe(), key));
  it->second = std::make_shared<const std::string>(it->second->substr(0, static_cast<size_t>(size)));
  return Status::OK();
}

Status MemObjectStore::DropObject(const std::string& key) {
  MutexLock lock(&mu_);
  if (objects_.erase(key) == 0) return Status::NotFound(fmt::format("{}: drop {}: no such object", Describe(), key));
  return Status::OK();
}

uint64_t MemObjectStore::calls(ObjectOp op) const {
  MutexLock lock(&mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

uint64_t MemObjectStore::bytes_read() const {
  MutexLock lock(&mu_);
  return bytes_read_;
}

size_t MemObjectStore::object_count() const {
  MutexLock lock(&mu_);
  return objects_.size();
}

}  // namespace ebb
