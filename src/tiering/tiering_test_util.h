// Helpers shared by the tiering tests.

#ifndef EBB_TIERING_TIERING_TEST_UTIL_H_
#define EBB_TIERING_TIERING_TEST_UTIL_H_

#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>

#include "base/logging.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "base/random.h"
#include "env/file_system.h"
#include "tiering/archive.h"
#include "tiering/archive_key.h"
#include "tiering/tiering_agent.h"

namespace ebb::testing {

inline std::unique_ptr<ArchiveKey> TestKey(char fill = 'k') {
  return ArchiveKey::FromBytes(std::string(ArchiveKey::kKeyBytes, fill), fmt::format("test key '{}'", fill));
}

inline TieredSegmentMeta TestMeta(uint64_t id, std::string db = "db1", uint64_t seq = 0) {
  if (seq == 0) seq = id * 100;
  return TieredSegmentMeta{.segment_id = id, .database = std::move(db), .smallest_key = fmt::format("key{:04d}", id),
                     .largest_key = fmt::format("key{:04d}\xff", id), .smallest_seq = seq, .largest_seq = seq + 99};
}

// Compressible but not trivial segment contents.
inline std::string SegmentContents(uint64_t id, size_t bytes) {
  Random rnd(id * 7919 + 1);
  std::string out;
  while (out.size() < bytes) out += fmt::format("key{:08d}=value{:08d};", rnd.Uniform(1000), rnd.Uniform(100000));
  out.resize(bytes);
  return out;
}

// A TieringHost over files in a FileSystem directory.
class FakeHost final : public TieringHost {
 public:
  FakeHost(FileSystem* fs, std::string dir) : fs_(fs), dir_(std::move(dir)) { (void)fs_->CreateDir(dir_); }

  // Writes a segment file and registers it.
  void AddSegment(uint64_t id, size_t bytes, int64_t created_wall_micros, std::string db = "db1") {
    LiveSegment s;
    s.meta = TestMeta(id, std::move(db));
    s.path = JoinPath(dir_, fmt::format("{:06d}.seg", id));
    s.size_bytes = bytes;
    s.created_wall_micros = created_wall_micros;
    s.last_access_micros = static_cast<int64_t>(id);
    EBB_CHECK(WriteStringToFile(fs_, SegmentContents(id, bytes), s.path, true).ok());
    MutexLock lock(&mu_);
    segments_[id] = s;
  }
  // Like the engine: the database's segments stop being live.
  void DropDatabase(std::string db, uint64_t seq) {
    MutexLock lock(&mu_);
    for (auto it = segments_.begin(); it != segments_.end();) {
      it = it->second.meta.database == db ? segments_.erase(it) : std::next(it);
    }
    dropped_.push_back({std::move(db), seq});
  }
  void Touch(uint64_t id, int64_t micros) {
    MutexLock lock(&mu_);
    segments_[id].last_access_micros = micros;
  }
  bool IsLocal(uint64_t id) {
    MutexLock lock(&mu_);
    return segments_[id].local;
  }

  Result<SegmentSnapshot> AcquireSnapshot() override {
    MutexLock lock(&mu_);
    SegmentSnapshot snap;
    for (const auto& [id, s] : segments_) snap.segments.push_back(s);
    snap.dropped_databases = dropped_;
    return snap;
  }
  uint64_t LocalSegmentBytes() const override {
    MutexLock lock(&mu_);
    uint64_t total = 0;
    for (const auto& [id, s] : segments_) total += s.local ? s.size_bytes : 0;
    return total;
  }
  Status EvictLocalCopy(uint64_t segment_id) override {
    MutexLock lock(&mu_);
    auto& s = segments_[segment_id];
    EBB_RETURN_IF_ERROR(fs_->DeleteFile(s.path));
    s.local = false;
    return Status::OK();
  }

 private:
  FileSystem* const fs_;
  const std::string dir_;
  mutable Mutex mu_;
  std::map<uint64_t, LiveSegment> segments_ GUARDED_BY(mu_);
  std::vector<DatabaseTombstone> dropped_ GUARDED_BY(mu_);
};

}  // namespace ebb::testing

#endif  // EBB_TIERING_TIERING_TEST_UTIL_H_
