// LocalObjectStore: an ObjectStore in a directory of a FileSystem, the
// embedded default when no S3 service is configured (e.g. a mounted network
// or backup disk). Key "archives/x.tar" is the file <root>/archives/x.tar.
//
// Writes go to <root>/.incoming/<unique> first, are synced, then renamed into
// place and the directory synced: a crash leaves either the old object or the
// new one, plus possibly a stray file under .incoming/ (removed on open).
//
// Etags: Head hashes the object's contents (XXH3-64, hex); List leaves etag
// empty because hashing every object would read the whole store.
//
// Conditional writes (PutIf) are enforced under <root>/.cas.lock, an
// exclusive file lock that also excludes other processes using the root.
//
// Thread-safe (the FileSystem is).

#ifndef EBB_ENV_LOCAL_OBJECT_STORE_H_
#define EBB_ENV_LOCAL_OBJECT_STORE_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "env/file_system.h"
#include "env/object_store.h"

namespace ebb {

class LocalObjectStore final : public ObjectStore {
 public:
  // Creates `root` if missing and clears leftovers of interrupted writes.
  // `fs` must outlive the store.
  static Result<std::unique_ptr<LocalObjectStore>> Open(FileSystem* fs, std::string root);

  std::string Describe() const override;
  Status Put(const std::string& key, std::string_view data) override;
  Status PutFile(const std::string& key, FileSystem* fs, const std::string& path) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::string> GetWithEtag(const std::string& key, std::string* etag) override;
  Status PutIf(const std::string& key, std::string_view data, WriteCondition condition,
               const std::string& etag = "") override;
  Result<bool> ConditionalWrites() override { return true; }
  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;

 private:
  LocalObjectStore(FileSystem* fs, std::string root) : fs_(fs), root_(std::move(root)) {}
  std::string PathOf(const std::string& key) const { return JoinPath(root_, key); }
  std::string NewIncomingPath();
  // Moves a fully written, synced temporary file to `key`.
  Status Publish(const std::string& tmp, const std::string& key);
  Status ListDir(const std::string& dir, const std::string& rel, const std::string& prefix,
                 std::vector<ObjectInfo>* out);

  // Constant after construction.
  FileSystem* const fs_;
  const std::string root_;
  // Atomic: unique temporary names within this process.
  std::atomic<uint64_t> next_tmp_{0};
  // Serializes PutIf within the process (the file lock does across them).
  std::mutex cas_mu_;
};

}  // namespace ebb

#endif  // EBB_ENV_LOCAL_OBJECT_STORE_H_
