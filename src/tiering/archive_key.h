// ArchiveKey: the 256-bit secret that encrypts every archive member
// (XChaCha20-Poly1305, libsodium) and its key id, an 8-byte fingerprint
// stored in every archive footer so that a wrong key is reported before any
// decryption is attempted. See docs/archive_format.md.
//
// The key file holds exactly 32 random bytes, created with mode 0600 on
// first use. Losing it makes every archive unreadable: back it up apart from
// the object store.
//
// Thread safety: immutable after construction; Seal/Open are thread-safe.

#ifndef EBB_TIERING_ARCHIVE_KEY_H_
#define EBB_TIERING_ARCHIVE_KEY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ebb/status.h"

namespace ebb {

class FileSystem;

class ArchiveKey {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 24;
  static constexpr size_t kTagBytes = 16;

  // Loads the key file at `path`, creating it (mode 0600, random bytes) when
  // it does not exist. A file of the wrong size is Corruption naming it.
  static Result<std::unique_ptr<ArchiveKey>> LoadOrCreate(FileSystem* fs, const std::string& path);
  // Loads an existing key file; NotFound if it is missing (used by tools
  // that must not invent a key).
  static Result<std::unique_ptr<ArchiveKey>> Load(FileSystem* fs, const std::string& path);
  // A key from raw bytes (tests); `source` is what error messages call it.
  static std::unique_ptr<ArchiveKey> FromBytes(std::string_view key_bytes, std::string source);

  uint64_t key_id() const { return key_id_; }
  // 16 hex digits.
  std::string key_id_hex() const;
  // The key file path or other origin, for error messages.
  const std::string& source() const { return source_; }

  // nonce (24 random bytes) || ciphertext || tag, authenticating `ad`.
  std::string Seal(std::string_view plaintext, std::string_view ad) const;
  // Inverse of Seal. Corruption (naming `what`) if the bytes or `ad` were
  // altered or the key differs.
  Result<std::string> Open(std::string_view sealed, std::string_view ad, std::string_view what) const;

 private:
  ArchiveKey(std::string_view key_bytes, std::string source);

  std::array<unsigned char, kKeyBytes> key_;
  uint64_t key_id_;
  std::string source_;
};

std::string KeyIdHex(uint64_t key_id);

}  // namespace ebb

#endif  // EBB_TIERING_ARCHIVE_KEY_H_
