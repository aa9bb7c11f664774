// Helpers shared by the tiering tests.

#ifndef EBB_TIERING_TIERING_TEST_UTIL_H_
#define EBB_TIERING_TIERING_TEST_UTIL_H_

#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>

#include "base/checksum.h"
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

inline std::unique_ptr<KeyRing> TestRing(char fill = 'k') { return std::make_unique<KeyRing>(TestKey(fill)); }

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
    s.meta = TestMeta(id, db);
    s.path = JoinPath(dir_, fmt::format("{:06d}.seg", id));
    s.size_bytes = bytes;
    s.created_wall_micros = created_wall_micros;
    s.last_access_micros = static_cast<int64_t>(id);
    std::string contents = SegmentContents(id, bytes);
    s.checksum = Hash64(contents);
    EBB_CHECK(WriteStringToFile(fs_, contents, s.path, true).ok());
    MutexLock lock(&mu_);
    if (!databases_.count(db)) databases_[db] = LiveDatabase{.id = databases_.size() + 1, .name = db, .tier_name = db};
    segments_[id] = s;
  }
  // Like the engine: the database's segments stop being live.
  void DropDatabase(std::string db, uint64_t seq) {
    MutexLock lock(&mu_);
    for (auto it = segments_.begin(); it != segments_.end();) {
      it = it->second.meta.database == db ? segments_.erase(it) : std::next(it);
    }
    databases_.erase(db);
    dropped_.push_back({std::move(db), seq});
  }
  // Like a compaction: `ids` stop being live.
  void RemoveSegments(const std::vector<uint64_t>& ids) {
    MutexLock lock(&mu_);
    for (uint64_t id : ids) segments_.erase(id);
  }
  void Touch(uint64_t id, int64_t micros) {
    MutexLock lock(&mu_);
    segments_[id].last_access_micros = micros;
  }
  bool IsLocal(uint64_t id) {
    MutexLock lock(&mu_);
    return segments_[id].local;
  }
  SegmentKey KeyOfSegment(uint64_t id) {
    MutexLock lock(&mu_);
    return segments_[id].key();
  }
  void SetFreeSpace(uint64_t bytes) {
    MutexLock lock(&mu_);
    free_space_ = bytes;
  }
  void FailRecalls(Status s) {
    MutexLock lock(&mu_);
    recall_error_ = std::move(s);
  }

  Result<SegmentSnapshot> AcquireSnapshot() override {
    MutexLock lock(&mu_);
    SegmentSnapshot snap;
    for (const auto& [id, s] : segments_) snap.segments.push_back(s);
    for (const auto& [name, db] : databases_) snap.databases.push_back(db);
    snap.dropped_databases = dropped_;
    snap.next_file_number = segments_.empty() ? 1 : segments_.rbegin()->first + 1;
    snap.next_db_id = databases_.size() + 1;
    return snap;
  }
  uint64_t LocalSegmentBytes() const override {
    MutexLock lock(&mu_);
    uint64_t total = 0;
    for (const auto& [id, s] : segments_) total += s.local ? s.size_bytes : 0;
    return total;
  }
  Status EvictLocalCopy(const SegmentKey& key) override {
    MutexLock lock(&mu_);
    auto it = segments_.find(key.number);
    if (it == segments_.end() || it->second.key() != key) return Status::NotFound("no such segment");
    EBB_RETURN_IF_ERROR(fs_->DeleteFile(it->second.path));
    it->second.local = false;
    return Status::OK();
  }
  Status RecallLocalCopy(const SegmentKey& key, std::string_view contents) override {
    MutexLock lock(&mu_);
    EBB_RETURN_IF_ERROR(recall_error_);
    auto it = segments_.find(key.number);
    if (it == segments_.end() || it->second.key() != key) return Status::NotFound("no such segment");
    if (Hash64(contents) != it->second.checksum) return Status::Corruption("recalled contents differ");
    EBB_RETURN_IF_ERROR(WriteStringToFile(fs_, contents, it->second.path, true));
    it->second.local = true;
    if (free_space_ != UINT64_MAX) free_space_ -= std::min<uint64_t>(free_space_, contents.size());
    recalled_++;
    return Status::OK();
  }
  Result<uint64_t> FreeSpaceBytes() const override {
    MutexLock lock(&mu_);
    return free_space_;
  }
  int recalled() const {
    MutexLock lock(&mu_);
    return recalled_;
  }

 private:
  FileSystem* const fs_;
  const std::string dir_;
  mutable Mutex mu_;
  std::map<uint64_t, LiveSegment> segments_ GUARDED_BY(mu_);
  std::map<std::string, LiveDatabase> databases_ GUARDED_BY(mu_);
  std::vector<DatabaseTombstone> dropped_ GUARDED_BY(mu_);
  uint64_t free_space_ GUARDED_BY(mu_) = UINT64_MAX;
  Status recall_error_ GUARDED_BY(mu_);
  int recalled_ GUARDED_BY(mu_) = 0;
};

}  // namespace ebb::testing

#endif  // EBB_TIERING_TIERING_TEST_UTIL_H_
