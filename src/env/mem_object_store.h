// MemObjectStore: an ObjectStore held in memory, for tests, with fault
// injection to model a flaky or lying service:
//   - fail the Nth call of an operation (optionally every call after it);
//   - fail an upload midway (the connection drops after half the bytes were
//     read: the call fails and no object is created or replaced);
//   - corrupt, truncate or drop a stored object behind the caller's back;
//   - count calls and bytes per operation.
// Named so nobody mistakes it for a real backend.
//
// Thread-safe.

#ifndef EBB_ENV_MEM_OBJECT_STORE_H_
#define EBB_ENV_MEM_OBJECT_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "base/mutex.h"
#include "env/object_store.h"

namespace ebb {

// Put covers Put, PutFile and PutIf; Get covers Get, GetWithEtag and GetRange.
enum class ObjectOp { kPut, kGet, kHead, kList, kDelete };

class MemObjectStore final : public ObjectStore {
 public:
  explicit MemObjectStore(std::string name = "mem");
  ~MemObjectStore() override;

  // The `nth` next call of `op` (1 = the very next) fails with `error`
  // before doing anything; with `sticky`, every later call fails too.
  void FailNth(ObjectOp op, int nth, Status error, bool sticky = false);
  // The `nth` next put reads half of its data, then fails with Unavailable
  // ("connection reset") leaving the store unchanged.
  void FailUploadMidway(int nth);
  void ClearFaults();
  // false: PutIf answers NotSupported, like a service that ignores
  // conditional headers (s3rver).
  void SetConditionalWrites(bool enforced);
  // An outage that hangs: every call waits until Resume, or until the
  // calling thread's ObjectStoreDeadline passes (then TimedOut), or
  // `max_stall_micros` (then Unavailable, as a client timeout would).
  void Stall(int64_t max_stall_micros = 60'000'000);
  void Resume();
  // Calls waiting in a stall now.
  int stalled_calls() const;

  // Flips (xor 0xff) `length` bytes at `offset` of a stored object.
  Status CorruptObject(const std::string& key, uint64_t offset, uint64_t length);
  Status TruncateObject(const std::string& key, uint64_t size);
  // Removes an object as if someone deleted it from the bucket.
  Status DropObject(const std::string& key);

  uint64_t calls(ObjectOp op) const;
  // Bytes returned by Get and GetRange so far.
  uint64_t bytes_read() const;
  size_t object_count() const;

  // ObjectStore
  std::string Describe() const override;
  Status Put(const std::string& key, std::string_view data) override;
  Status PutFile(const std::string& key, FileSystem* fs, const std::string& path) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::string> GetWithEtag(const std::string& key, std::string* etag) override;
  Status PutIf(const std::string& key, std::string_view data, WriteCondition condition,
               const std::string& etag = "") override;
  Result<bool> ConditionalWrites() override;
  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;

 private:
  struct Fault {
    int countdown = 0;
    Status error;
    bool sticky = false;
    bool fired = false;
  };
  // Counts the call and returns the injected error if one fires now;
  // waits out a stall first.
  Status BeginCall(ObjectOp op) REQUIRES(mu_);
  Status StoreLocked(const std::string& key, std::string data) REQUIRES(mu_);

  // Constant after construction.
  const std::string name_;

  // Protected by mu_.
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<const std::string>> objects_ GUARDED_BY(mu_);
  std::map<ObjectOp, Fault> faults_ GUARDED_BY(mu_);
  int upload_midway_countdown_ GUARDED_BY(mu_) = 0;
  std::map<ObjectOp, uint64_t> calls_ GUARDED_BY(mu_);
  uint64_t bytes_read_ GUARDED_BY(mu_) = 0;
  bool conditional_writes_ GUARDED_BY(mu_) = true;
  bool stalled_ GUARDED_BY(mu_) = false;
  int64_t max_stall_micros_ GUARDED_BY(mu_) = 0;
  int stalled_calls_ GUARDED_BY(mu_) = 0;
  CondVar resumed_cv_{&mu_};
};

}  // namespace ebb

#endif  // EBB_ENV_MEM_OBJECT_STORE_H_
