#include "tiering/archive_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "base/coding.h"
#include "base/status_macros.h"
#include "env/file_system.h"

namespace ebb {
namespace {

constexpr char kKeyIdContext[] = "ebb archive key id v1";

void InitSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no randomness source: nothing safe can be done
  });
}

}  // namespace

std::string KeyIdHex(uint64_t key_id) { return fmt::format("{:016x}", key_id); }

std::string ArchiveKey::key_id_hex() const { return KeyIdHex(key_id_); }

ArchiveKey::ArchiveKey(std::string_view key_bytes, std::string source) : source_(std::move(source)) {
  InitSodium();
  std::memcpy(key_.data(), key_bytes.data(), kKeyBytes);
  unsigned char digest[crypto_generichash_BYTES_MIN];
  crypto_generichash(digest, sizeof(digest), reinterpret_cast<const unsigned char*>(kKeyIdContext),
                     sizeof(kKeyIdContext) - 1, key_.data(), key_.size());
  key_id_ = DecodeFixed64(reinterpret_cast<const char*>(digest));
}

std::unique_ptr<ArchiveKey> ArchiveKey::FromBytes(std::string_view key_bytes, std::string source) {
  std::string padded(key_bytes.substr(0, kKeyBytes));
  padded.resize(kKeyBytes, '\0');
  return std::unique_ptr<ArchiveKey>(new ArchiveKey(padded, std::move(source)));
}

Result<std::unique_ptr<ArchiveKey>> ArchiveKey::Load(FileSystem* fs, const std::string& path) {
  auto data = ReadFileToString(fs, path);
  if (!data.ok()) {
    return data.status().WithContext(
        fmt::format("archive key file {} (tiering.key_file; without it no archive can be read)", path));
  }
  if (data->size() != kKeyBytes) {
    return Status::Corruption(fmt::format("archive key file {} has {} bytes, expected {}; restore it from backup",
                                          path, data->size(), kKeyBytes));
  }
  return std::unique_ptr<ArchiveKey>(new ArchiveKey(*data, path));
}

Result<std::unique_ptr<ArchiveKey>> ArchiveKey::Create(FileSystem* fs, const std::string& path) {
  InitSodium();
  if (fs->FileExists(path)) {
    return Status::AlreadyExists(fmt::format("archive key file {} exists; Ebb never overwrites a key", path));
  }
  std::string bytes(kKeyBytes, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  EBB_RETURN_IF_ERROR(
      CreateDirDurably(fs, DirName(path)).WithContext(fmt::format("create archive key file {}", path)));
  // Written under a temporary name, restricted, then renamed, so the key is
  // never readable by others and never half-written.
  std::string tmp = path + ".tmp";
  Status s = WriteStringToFile(fs, bytes, tmp, /*sync=*/true);
  if (s.ok() && fs == DefaultFileSystem() && ::chmod(tmp.c_str(), 0600) != 0) {
    s = Status::IOError(fmt::format("chmod 0600 {}: {}", tmp, std::strerror(errno)));
  }
  if (s.ok()) s = fs->RenameFile(tmp, path);
  if (!s.ok()) {
    (void)fs->DeleteFile(tmp);
    return s.WithContext(fmt::format("create archive key file {}", path));
  }
  EBB_RETURN_IF_ERROR(fs->SyncDir(DirName(path)).WithContext(fmt::format("create archive key file {}", path)));
  return Load(fs, path);
}

Result<std::unique_ptr<ArchiveKey>> ArchiveKey::LoadOrCreate(FileSystem* fs, const std::string& path) {
  if (!fs->FileExists(path)) return Create(fs, path);
  return Load(fs, path);
}

std::string RetiredKeyPath(const std::string& key_file, uint64_t key_id) {
  return fmt::format("{}.{}", key_file, KeyIdHex(key_id));
}

KeyRing::KeyRing(std::unique_ptr<ArchiveKey> current, std::vector<std::unique_ptr<ArchiveKey>> retired)
    : current_(std::move(current)), retired_(std::move(retired)) {}

Result<std::unique_ptr<KeyRing>> KeyRing::Load(FileSystem* fs, const std::string& key_file) {
  std::string pending = key_file + ".new";
  if (!fs->FileExists(key_file) && fs->FileExists(pending)) {
    // A rotation retired the old key and stopped before installing the new one.
    EBB_RETURN_IF_ERROR(fs->RenameFile(pending, key_file).WithContext("finish an archive key rotation"));
    EBB_RETURN_IF_ERROR(fs->SyncDir(DirName(key_file)));
  }
  EBB_ASSIGN_OR_RETURN(auto current, ArchiveKey::Load(fs, key_file));
  std::vector<std::unique_ptr<ArchiveKey>> retired;
  EBB_ASSIGN_OR_RETURN(auto names, fs->GetChildren(DirName(key_file)));
  std::sort(names.begin(), names.end());
  std::string base = BaseName(key_file) + ".";
  for (const auto& name : names) {
    if (name.size() != base.size() + 16 || name.compare(0, base.size(), base) != 0) continue;
    if (name.find_first_not_of("0123456789abcdef", base.size()) != std::string::npos) continue;
    EBB_ASSIGN_OR_RETURN(auto key, ArchiveKey::Load(fs, JoinPath(DirName(key_file), name)));
    if (KeyIdHex(key->key_id()) != name.substr(base.size())) {
      return Status::Corruption(fmt::format("retired archive key file {} holds key id {}, not the one its name says",
                                            key->source(), key->key_id_hex()));
    }
    retired.push_back(std::move(key));
  }
  return std::make_unique<KeyRing>(std::move(current), std::move(retired));
}

const ArchiveKey* KeyRing::Find(uint64_t key_id) const {
  if (current_ && current_->key_id() == key_id) return current_.get();
  for (const auto& k : retired_) {
    if (k->key_id() == key_id) return k.get();
  }
  return nullptr;
}

Result<const ArchiveKey*> KeyRing::ForArchive(uint64_t key_id, const std::string& archive) const {
  if (const ArchiveKey* key = Find(key_id)) return key;
  return Status::PermissionDenied(fmt::format(
      "archive {} was written with key id {}, and this store has no such key ({}); configure the key file that "
      "wrote it (tiering.key_file, or keep it beside the current one as {})",
      archive, KeyIdHex(key_id), Describe(),
      current_ ? RetiredKeyPath(current_->source(), key_id) : std::string("<key file>.<key id>")));
}

std::vector<uint64_t> KeyRing::key_ids() const {
  std::vector<uint64_t> out;
  if (current_) out.push_back(current_->key_id());
  for (const auto& k : retired_) out.push_back(k->key_id());
  return out;
}

std::string KeyRing::Describe() const {
  std::string out = current_ ? fmt::format("key file {} (key id {})", current_->source(), current_->key_id_hex())
                             : std::string("no current key");
  for (size_t i = 0; i < retired_.size(); i++) {
    out += fmt::format("{}{}", i == 0 ? ", retired keys " : ", ", retired_[i]->key_id_hex());
  }
  return out;
}

Result<uint64_t> RotateArchiveKey(FileSystem* fs, const std::string& key_file) {
  EBB_ASSIGN_OR_RETURN(auto ring, KeyRing::Load(fs, key_file));
  uint64_t old_id = ring->current()->key_id();
  std::string pending = key_file + ".new";
  (void)fs->DeleteFile(pending);  // an earlier rotation that stopped before retiring the old key
  EBB_ASSIGN_OR_RETURN(auto fresh, ArchiveKey::Create(fs, pending));
  std::string retired = RetiredKeyPath(key_file, old_id);
  auto context = [&](Status s) { return s.WithContext(fmt::format("rotate archive key {}", key_file)); };
  if (Status s = fs->RenameFile(key_file, retired); !s.ok()) return context(s);
  if (Status s = fs->RenameFile(pending, key_file); !s.ok()) return context(s);
  if (Status s = fs->SyncDir(DirName(key_file)); !s.ok()) return context(s);
  return fresh->key_id();
}

std::string ArchiveKey::Seal(std::string_view plaintext, std::string_view ad) const {
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, kNonceBytes);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonceBytes, &clen, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, nonce, key_.data());
  out.resize(kNonceBytes + clen);
  return out;
}

Result<std::string> ArchiveKey::Open(std::string_view sealed, std::string_view ad, std::string_view what) const {
  if (sealed.size() < kNonceBytes + kTagBytes) {
    return Status::Corruption(fmt::format("{}: sealed payload of {} bytes is too short", what, sealed.size()));
  }
  std::string out(sealed.size() - kNonceBytes - kTagBytes, '\0');
  unsigned long long mlen = 0;
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &mlen, nullptr, nonce + kNonceBytes,
          sealed.size() - kNonceBytes, reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nonce,
          key_.data()) != 0) {
    return Status::Corruption(
        fmt::format("{}: authentication failed (the bytes were altered, or belong to another member)", what));
  }
  out.resize(mlen);
  return out;
}

}  // namespace ebb
