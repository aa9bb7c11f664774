#include "tiering/archive_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>

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

Result<std::unique_ptr<ArchiveKey>> ArchiveKey::LoadOrCreate(FileSystem* fs, const std::string& path) {
  InitSodium();
  if (!fs->FileExists(path)) {
    std::string bytes(kKeyBytes, '\0');
    randombytes_buf(bytes.data(), bytes.size());
    EBB_RETURN_IF_ERROR(CreateDirDurably(fs, DirName(path)));
    // Written under a temporary name, restricted, then renamed, so the key is
    // never readable by others and never half-written.
    std::string tmp = path + ".tmp";
    EBB_RETURN_IF_ERROR(WriteStringToFile(fs, bytes, tmp, /*sync=*/true));
    if (fs == DefaultFileSystem() && ::chmod(tmp.c_str(), 0600) != 0) {
      (void)fs->DeleteFile(tmp);
      return Status::IOError(fmt::format("chmod 0600 {}: {}", tmp, std::strerror(errno)));
    }
    EBB_RETURN_IF_ERROR(fs->RenameFile(tmp, path));
    EBB_RETURN_IF_ERROR(fs->SyncDir(DirName(path)));
  }
  return Load(fs, path);
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
