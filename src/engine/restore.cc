#include "engine/restore.h"

#include <sys/stat.h>

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/logging.h"
#include "base/status_macros.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "env/mem_file_system.h"
#include "env/object_store.h"
#include "storage/format.h"
#include "storage/manifest.h"
#include "storage/segment.h"
#include "tiering/bucket_gc.h"
#include "tiering/persister.h"

namespace ebb {
namespace {

constexpr char kRestoringMarker[] = "RESTORING";

// Prepares `dir`: empty or missing, or left by a restore that stopped.
Status PrepareDirectory(FileSystem* fs, const std::string& dir) {
  EBB_RETURN_IF_ERROR(CreateDirDurably(fs, dir));
  EBB_ASSIGN_OR_RETURN(auto names, fs->GetChildren(dir));
  bool restarting = std::find(names.begin(), names.end(), kRestoringMarker) != names.end();
  bool empty = std::all_of(names.begin(), names.end(), [](const std::string& n) { return n == "LOCK"; });
  if (empty) return Status::OK();
  if (!restarting) {
    return Status::AlreadyExists(fmt::format(
        "{} is not empty ({} entries); a restore needs an empty directory (it never writes over a store)", dir,
        names.size()));
  }
  EBB_LOG(kWarn, "restore: {} holds a restore that did not finish; starting over", dir);
  for (const auto& name : names) {
    if (name == "LOCK" || name == kRestoringMarker) continue;
    std::string path = JoinPath(dir, name);
    Status s = fs->GetChildren(path).ok() ? DeleteRecursively(fs, path) : fs->DeleteFile(path);
    if (!s.ok() && !s.IsNotFound()) return s.WithContext("clear the unfinished restore");
  }
  return Status::OK();
}

Status CopyKeys(FileSystem* fs, const KeyRing& keys, const std::string& key_file) {
  auto copy = [&](const ArchiveKey& key, const std::string& to) -> Status {
    if (fs->FileExists(to)) return Status::OK();  // the same key file (the configured one)
    EBB_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(fs, key.source()));
    EBB_RETURN_IF_ERROR(WriteFileAtomically(fs, bytes, to));
    if (fs == DefaultFileSystem()) ::chmod(to.c_str(), 0600);
    return Status::OK();
  };
  for (uint64_t id : keys.key_ids()) {
    const ArchiveKey* key = keys.Find(id);
    bool current = keys.current() != nullptr && id == keys.current()->key_id();
    EBB_RETURN_IF_ERROR(copy(*key, current ? key_file : RetiredKeyPath(key_file, id)));
  }
  return Status::OK();
}

SegmentMeta ToSegmentMeta(const CatalogSegment& seg, uint64_t db_id, bool evicted) {
  SegmentMeta m;
  m.number = seg.meta.segment_id;
  m.db_id = db_id;
  m.file_size = seg.file_size;
  m.entries = seg.entries;
  m.tombstones = seg.tombstones;
  m.key_bytes = seg.key_bytes;
  m.value_bytes = seg.value_bytes;
  m.smallest_key = seg.meta.smallest_key;
  m.largest_key = seg.meta.largest_key;
  m.smallest_seq = seg.meta.smallest_seq;
  m.largest_seq = seg.meta.largest_seq;
  m.dead_bytes = seg.dead_bytes;
  m.created_unix_micros = seg.created_wall_micros;
  m.evicted = evicted;
  m.checksum = seg.checksum;
  return m;
}

// The filter block of a segment held in memory.
Result<std::string> FilterOf(const std::string& contents, uint64_t number) {
  MemFileSystem mem;
  EBB_RETURN_IF_ERROR(WriteStringToFile(&mem, contents, "/segment", /*sync=*/false));
  EBB_ASSIGN_OR_RETURN(auto segment, Segment::Open(&mem, "/segment", number));
  return std::string(segment->filter());
}

}  // namespace

std::string RestoringMarkerPath(const std::string& data_dir) { return JoinPath(data_dir, kRestoringMarker); }

Result<RestoreReport> RestoreStore(FileSystem* fs, ObjectStore* store, const KeyRing& keys,
                                   const RestoreOptions& options, const Clock* clock) {
  const int64_t started = clock->NowMicros();
  const std::string& dir = options.to_dir;
  auto context = [&](const Status& s) { return s.WithContext(fmt::format("restore into {}", dir)); };
  EBB_RETURN_IF_ERROR(context(PrepareDirectory(fs, dir)));
  EBB_ASSIGN_OR_RETURN(auto lock, fs->LockFile(LockFileName(dir)));
  RestoreReport report;

  // Which snapshot, and its catalog.
  EBB_ASSIGN_OR_RETURN(std::vector<std::string> snapshots, ListPublishedSnapshots(store));
  if (snapshots.empty()) {
    return Status::NotFound(fmt::format("restore: {} holds no published snapshot (snapshots/ is empty); nothing to "
                                        "restore from",
                                        store->Describe()));
  }
  report.snapshot = options.snapshot.empty() ? snapshots.back() : options.snapshot;
  if (std::find(snapshots.begin(), snapshots.end(), report.snapshot) == snapshots.end()) {
    return Status::NotFound(fmt::format("restore: snapshot {} is not published in {} (newest: {})", report.snapshot,
                                        store->Describe(), snapshots.back()));
  }
  EBB_RETURN_IF_ERROR(context(WriteFileAtomically(
      fs, fmt::format("restore of snapshot {} from {}\n", report.snapshot, store->Describe()),
      RestoringMarkerPath(dir))));
  EBB_ASSIGN_OR_RETURN(ObjectInfo info, store->Head(ArchiveObjectKey(report.snapshot)));
  EBB_ASSIGN_OR_RETURN(ArchiveToc toc, ReadArchiveToc(ObjectRangeReader(store, ArchiveObjectKey(report.snapshot)),
                                                      info.size_bytes, report.snapshot, keys));
  if (!toc.catalog) {
    return Status::NotSupported(fmt::format(
        "restore: snapshot {} was written by an older Ebb (archive format 1) and carries no catalog of the store; "
        "let this version publish a snapshot first",
        report.snapshot));
  }
  const StoreCatalog& catalog = *toc.catalog;

  // The tier index of the restored store, and where each member is.
  RebuildReport rebuild;
  EBB_ASSIGN_OR_RETURN(TierIndex index, RebuildIndex(store, keys, &rebuild));
  report.archives = rebuild.archives;
  for (const auto& p : rebuild.problems) EBB_LOG(kWarn, "restore: index: {}", p);

  // What stays local is decided up front (oldest database first, within
  // `local_bytes`), then the members are fetched several at a time.
  struct Job {
    const CatalogDatabase* db;
    const CatalogSegment* seg;
    bool local;
  };
  std::vector<Job> jobs;
  Progress progress;
  uint64_t local_bytes = 0;
  for (const auto& db : catalog.databases) {
    for (const auto& seg : db.segments) {
      bool local = local_bytes + seg.file_size <= options.local_bytes;
      if (local) local_bytes += seg.file_size;
      jobs.push_back(Job{&db, &seg, local});
      progress.items_total++;
      progress.bytes_total += seg.file_size;
    }
  }
  const std::string segment_dir = SegmentDir(dir);
  EBB_RETURN_IF_ERROR(context(CreateDirDurably(fs, segment_dir)));
  if (options.progress) options.progress(progress);
  std::mutex mu;  // progress and report
  Status fetched = RunParallel(jobs.size(), options.parallelism, [&](size_t i) -> Status {
    const CatalogSegment& seg = *jobs[i].seg;
    const uint64_t number = seg.meta.segment_id;
    auto entry = index.Find(seg.key());
    if (!entry) {
      return Status::Corruption(fmt::format(
          "restore: snapshot {} names segment {} in archive {}, which {} does not hold; restore an older "
          "snapshot (--snapshot) or run `ebb tier verify`",
          report.snapshot, seg.key().ToString(), seg.archive, store->Describe()));
    }
    EBB_ASSIGN_OR_RETURN(const ArchiveKey* key, keys.ForArchive(entry->key_id, entry->archive));
    EBB_ASSIGN_OR_RETURN(std::string contents,
                         ReadMember(ObjectRangeReader(store, ArchiveObjectKey(entry->archive)), entry->archive,
                                    entry->member, *key));
    if (contents.size() != seg.file_size || (seg.checksum != 0 && Hash64(contents) != seg.checksum)) {
      return Status::Corruption(fmt::format("restore: archive {} member {} is not segment {} of the catalog ({} "
                                            "bytes, expected {})",
                                            entry->archive, entry->member.member, seg.key().ToString(),
                                            contents.size(), seg.file_size));
    }
    if (jobs[i].local) {
      EBB_RETURN_IF_ERROR(context(WriteStringToFile(fs, contents, SegmentFileName(dir, number), /*sync=*/true)));
    } else {
      // Remote, like an evicted segment: only its filter stays here.
      EBB_ASSIGN_OR_RETURN(std::string filter, FilterOf(contents, number));
      EBB_RETURN_IF_ERROR(context(WriteFilterFile(fs, SegmentFilterFileName(dir, number), filter)));
    }
    std::lock_guard<std::mutex> lock(mu);
    report.bytes_fetched += entry->member.payload_length;
    report.bytes_restored += contents.size();
    (jobs[i].local ? report.segments_local : report.segments_evicted)++;
    report.segments++;
    progress.items_done++;
    progress.bytes_done += seg.file_size;
    if (options.progress) options.progress(progress);
    return Status::OK();
  });
  EBB_RETURN_IF_ERROR(fetched);

  ManifestState state;
  state.next_file_number = catalog.next_file_number;
  state.next_db_id = catalog.next_db_id;
  for (const auto& db : catalog.databases) {
    DatabaseMeta meta;
    meta.id = db.id;
    meta.name = db.name;
    meta.flushed_seq = db.sequence;
    meta.live_exact = false;
    state.next_db_id = std::max(state.next_db_id, db.id + 1);
    state.databases[db.id] = std::move(meta);
    report.databases++;
  }
  for (const Job& job : jobs) {
    state.databases[job.db->id].segments.push_back(ToSegmentMeta(*job.seg, job.db->id, !job.local));
    state.next_file_number = std::max(state.next_file_number, job.seg->meta.segment_id + 1);
  }
  for (auto& [id, meta] : state.databases) {
    std::sort(meta.segments.begin(), meta.segments.end(),
              [](const SegmentMeta& a, const SegmentMeta& b) { return a.largest_seq > b.largest_seq; });
  }
  EBB_RETURN_IF_ERROR(context(fs->SyncDir(segment_dir)));

  // The tier state of the new store, then the manifest that makes it one.
  const std::string tier_dir = JoinPath(dir, "tier");
  EBB_RETURN_IF_ERROR(context(CreateDirDurably(fs, tier_dir)));
  EBB_RETURN_IF_ERROR(context(index.Save(fs, TierIndexPath(tier_dir))));
  if (!options.key_file_out.empty()) {
    EBB_RETURN_IF_ERROR(context(CreateDirDurably(fs, DirName(options.key_file_out))));
    EBB_RETURN_IF_ERROR(context(CopyKeys(fs, keys, options.key_file_out)));
  }
  EBB_RETURN_IF_ERROR(context(Manifest::CreateStore(fs, dir, state)));
  EBB_RETURN_IF_ERROR(context(fs->DeleteFile(RestoringMarkerPath(dir))));
  EBB_RETURN_IF_ERROR(context(fs->SyncDir(dir)));
  report.seconds = static_cast<double>(clock->NowMicros() - started) / 1e6;
  return report;
}

}  // namespace ebb
