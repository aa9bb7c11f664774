// ObjectStore: a flat namespace of immutable byte objects (S3, a local
// directory, or memory for tests). Tiering writes its archives through it and
// reads single members back with ranged gets.
//
// Implementations:
//   LocalObjectStore  a directory on a FileSystem (the embedded default)
//   S3ObjectStore     any S3-compatible service, SigV4 through libcurl
//   MemObjectStore    memory with fault injection, for tests
//
// Keys are '/'-separated names relative to the store's root (the S3 prefix or
// the local directory); they must be non-empty, must not start with '/', and
// must not contain "." or ".." components.
//
// Errors name the store (Describe()), and the key, and map to:
//   NotFound          the object does not exist
//   PermissionDenied  wrong credentials or access refused (HTTP 401/403, EACCES)
//   Unavailable       the service could not be reached or kept failing (5xx)
//                     after the configured retries
//   TimedOut          the request exceeded its deadline after the retries
//   Corruption        the service returned fewer bytes than it announced
//   InvalidArgument   a bad key, or a range starting past the end of the object
//   AlreadyExists     PutIf's condition did not hold (HTTP 412)
//   NotSupported      PutIf on a store that does not enforce conditions
//
// Conditional writes (PutIf) are what fencing needs: "create only if
// absent" and "replace only if unchanged since read". Local and memory
// stores enforce them; an S3 service may or may not (AWS S3, Ceph RGW do;
// s3rver ignores the headers), so S3ObjectStore finds out once with a probe
// (ConditionalWrites) and answers NotSupported when they are ignored, and
// callers fall back to unconditional writes and say so.
//
// Thread safety: every method is thread-safe.

#ifndef EBB_ENV_OBJECT_STORE_H_
#define EBB_ENV_OBJECT_STORE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/status.h"

namespace ebb {

class FileSystem;

// Which object a conditional write may replace.
enum class WriteCondition {
  kIfAbsent,  // only if no object has the key (If-None-Match: *)
  kIfMatch,   // only if the object's etag is still the given one (If-Match)
};

struct ObjectInfo {
  std::string key;      // relative to the store's root
  uint64_t size_bytes = 0;
  // An opaque version tag: the S3 ETag (quotes removed), or a content hash
  // for local and memory stores. Equal etags mean equal contents.
  std::string etag;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Human-readable name used in every error message, e.g.
  // "s3://bucket/prefix at http://127.0.0.1:4568" or "local:/data/tier".
  virtual std::string Describe() const = 0;

  // Creates or replaces `key` with `data`. Readers see either the old or the
  // new object, never a mix.
  virtual Status Put(const std::string& key, std::string_view data) = 0;

  // Like Put, streaming the contents of `path` read through `fs` (so an
  // archive of hundreds of MiB is never held in memory).
  virtual Status PutFile(const std::string& key, FileSystem* fs, const std::string& path) = 0;

  // The whole object.
  virtual Result<std::string> Get(const std::string& key) = 0;

  // The whole object and its etag (into *etag), from one request: the etag
  // to give PutIf(kIfMatch) for a read-modify-write.
  virtual Result<std::string> GetWithEtag(const std::string& key, std::string* etag) = 0;

  // Put under a condition (see WriteCondition; `etag` for kIfMatch).
  // AlreadyExists when the condition does not hold (the object is left as
  // it was); NotSupported when this store does not enforce conditions.
  virtual Status PutIf(const std::string& key, std::string_view data, WriteCondition condition,
                       const std::string& etag = "") = 0;

  // Whether PutIf conditions are enforced. May make requests the first
  // time (S3: a probe under meta/); errors are the store's errors.
  virtual Result<bool> ConditionalWrites() = 0;

  // Bytes [offset, offset + length) of the object, clamped at its end: the
  // result is shorter than `length` only when the object ends first. An
  // offset at or past the end is InvalidArgument (except offset 0 of an
  // empty object, which returns ""). A response shorter than announced is
  // Corruption.
  virtual Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) = 0;

  // Size and etag of `key`.
  virtual Result<ObjectInfo> Head(const std::string& key) = 0;

  // Every object whose key starts with `prefix`, sorted by key. Implementations
  // page internally (S3 returns 1,000 per request).
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;

  // Removes `key`. Deleting a missing object is OK (as in S3), so a retried
  // delete is harmless.
  virtual Status Delete(const std::string& key) = 0;
};

// Checks the key rules above; InvalidArgument naming `store` and the key.
Status ValidateObjectKey(std::string_view store, std::string_view key);

// A deadline for the object store calls this thread makes while the object
// lives (SystemClock()->NowMicros() time; nested deadlines keep the
// earliest). S3ObjectStore caps each request's timeout by it and stops
// retrying once it passes (TimedOut); MemObjectStore's injected stalls end
// there. Used for bounded waits: an open that must not hang on an outage,
// a cold read's fetch (tiering.fetch_timeout_ms).
class ObjectStoreDeadline {
 public:
  explicit ObjectStoreDeadline(int64_t deadline_micros);
  ~ObjectStoreDeadline();
  ObjectStoreDeadline(const ObjectStoreDeadline&) = delete;
  ObjectStoreDeadline& operator=(const ObjectStoreDeadline&) = delete;
  // The deadline in force on this thread; INT64_MAX if none.
  static int64_t Current();

 private:
  int64_t previous_;
};

}  // namespace ebb

#endif  // EBB_ENV_OBJECT_STORE_H_
