// ArchiveKey: the 256-bit secret that encrypts every archive member
// (XChaCha20-Poly1305, libsodium) and its key id, an 8-byte fingerprint
// stored in every archive footer so that a wrong key is reported before any
// decryption is attempted. See docs/archive_format.md.
//
// The key file holds exactly 32 random bytes, created with mode 0600 on
// first use. Losing it makes every archive unreadable: back it up apart from
// the object store.
//
// KeyRing: the key new archives are written with (the key file) plus the
// retired keys older archives need (files "<key file>.<key id>", kept by
// RotateArchiveKey). Readers pick the key an archive's footer names.
//
// Thread safety: immutable after construction; Seal/Open are thread-safe.

#ifndef EBB_TIERING_ARCHIVE_KEY_H_
#define EBB_TIERING_ARCHIVE_KEY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
  // Only for a store whose bucket is known to hold no archives: a lost key
  // must be restored, never replaced (see KeyRing and bucket_meta.h).
  static Result<std::unique_ptr<ArchiveKey>> LoadOrCreate(FileSystem* fs, const std::string& path);
  // Writes a new random key to `path` (which must not exist), mode 0600,
  // through a temporary file, and syncs it.
  static Result<std::unique_ptr<ArchiveKey>> Create(FileSystem* fs, const std::string& path);
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

class KeyRing {
 public:
  // `current` writes new archives (nullptr: the ring only reads).
  explicit KeyRing(std::unique_ptr<ArchiveKey> current, std::vector<std::unique_ptr<ArchiveKey>> retired = {});

  // Loads the key file `key_file` and every retired key beside it
  // ("<key file>.<16 hex digits>"); finishes a rotation a crash cut short.
  // NotFound (naming the file) if the key file does not exist.
  static Result<std::unique_ptr<KeyRing>> Load(FileSystem* fs, const std::string& key_file);

  // The writing key; nullptr for a read-only ring.
  const ArchiveKey* current() const { return current_.get(); }
  // The key with `key_id`, or nullptr.
  const ArchiveKey* Find(uint64_t key_id) const;
  // The key archive `archive` was written with (its footer's `key_id`), or
  // PermissionDenied naming the key id it needs and the keys this ring has.
  Result<const ArchiveKey*> ForArchive(uint64_t key_id, const std::string& archive) const;
  // Ids of every key in the ring, the current one first.
  std::vector<uint64_t> key_ids() const;
  // "key file /x/archive.key (key id 0123...), retired keys 4567..., 89ab...".
  std::string Describe() const;

 private:
  std::unique_ptr<ArchiveKey> current_;
  std::vector<std::unique_ptr<ArchiveKey>> retired_;
};

// The file a retired key is kept in.
std::string RetiredKeyPath(const std::string& key_file, uint64_t key_id);

// Key rotation: keeps the current key as a retired key file, then writes a
// new key to `key_file`. Old archives stay readable with the retired key;
// new ones use the new key. Crash-safe: the new key is written under
// "<key file>.new" first, and KeyRing::Load completes a rotation that
// stopped between the two renames. Returns the new key's id.
Result<uint64_t> RotateArchiveKey(FileSystem* fs, const std::string& key_file);

}  // namespace ebb

#endif  // EBB_TIERING_ARCHIVE_KEY_H_
