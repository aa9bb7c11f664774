#include "tiering/tiering_agent.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "base/logging.h"
#include "base/status_macros.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "env/object_store.h"
#include "tiering/bucket_meta.h"
#include "tiering/tier_tools.h"
#include "tiering/tiering_settings.h"

namespace ebb {
namespace {

// Persister steps per DoWork call at most, whatever the budget: keeps one
// call short so the runtime can re-plan.
constexpr int kMaxStepsPerCall = 16;
// Segments recalled per DoWork call at most.
constexpr int kMaxRecallsPerCall = 16;

bool IsRefusal(const Status& s) { return s.IsPermissionDenied() || s.IsInvalidArgument(); }

}  // namespace

TieringAgent::TieringAgent(FileSystem* fs, ObjectStore* store, TieringHost* host, const Clock* clock,
                           TieringOptions options)
    : fs_(fs), store_(store), host_(host), clock_(clock), options_(std::move(options)) {}

TieringAgent::~TieringAgent() = default;

std::string TieringAgent::LocalEvidenceOfArchives() const {
  std::vector<std::string> signs;
  if (!index_.archives().empty()) signs.push_back(fmt::format("its tier index lists {} archives", index_.archives().size()));
  TieringOptions o = options();
  if (fs_->FileExists(JoinPath(o.tier_dir, "EPOCH"))) signs.push_back(JoinPath(o.tier_dir, "EPOCH") + " exists");
  auto logs = fs_->GetChildren(JoinPath(o.tier_dir, "snapshots"));
  if (logs.ok()) {
    size_t n = std::count_if(logs->begin(), logs->end(), [](const std::string& name) { return name.ends_with(".log"); });
    if (n > 0) signs.push_back(fmt::format("{} snapshot logs in {}", n, JoinPath(o.tier_dir, "snapshots")));
  }
  std::string out;
  for (const auto& s : signs) out += (out.empty() ? "" : "; ") + s;
  return out;
}

Result<std::unique_ptr<TieringAgent>> TieringAgent::Open(FileSystem* fs, ObjectStore* store, TieringHost* host,
                                                         const Clock* clock, TieringOptions options) {
  if (options.tier_dir.empty()) return Status::InvalidArgument("tiering agent: no tier directory");
  if (options.key_file.empty()) options.key_file = JoinPath(options.tier_dir, "archive.key");
  std::unique_ptr<TieringAgent> agent(new TieringAgent(fs, store, host, clock, options));
  EBB_RETURN_IF_ERROR(CreateDirDurably(fs, options.tier_dir));

  MutexLock work_lock(&agent->work_mu_);
  // The tier index: derived data, rebuilt from the archives once the
  // object store answers if it is missing, damaged or of another version.
  auto loaded = TierIndex::Load(fs, TierIndexPath(options.tier_dir));
  if (loaded.ok()) {
    agent->index_ = std::move(loaded).value();
  } else {
    if (!loaded.status().IsNotFound()) EBB_LOG(kWarn, "tiering: {}; rebuilding it", loaded.status().ToString());
    agent->index_needs_rebuild_ = true;
  }
  // The key: never invented while anything says archives may exist.
  std::string pending_rotation = options.key_file + ".new";
  if (fs->FileExists(options.key_file) || fs->FileExists(pending_rotation)) {
    EBB_ASSIGN_OR_RETURN(agent->keys_, KeyRing::Load(fs, options.key_file));
  } else if (std::string evidence = agent->LocalEvidenceOfArchives(); !evidence.empty()) {
    return Status::PermissionDenied(fmt::format(
        "archive key file {} is missing, though this store has archived before ({}); restore the key file from "
        "your backup (or set tiering.key_file to it). Ebb never makes a new key over existing archives",
        options.key_file, evidence));
  }
  PersisterOptions popts{.tier_dir = options.tier_dir, .zstd_level = options.zstd_level,
                         .verify_full = options.verify_full,
                         .retain_snapshots = std::max<size_t>(1, options.retain_snapshots),
                         .retain_s = options.retain_s};
  EBB_ASSIGN_OR_RETURN(agent->persister_,
                       Persister::Open(fs, store, agent->keys_.get(), &agent->index_, clock, popts));
  if (options.mode == TieringMode::kRecall && !agent->persister_->idle()) {
    // Tiering is off: nothing more is archived. The snapshots' segments
    // are still local.
    Status s = agent->persister_->AbortUnfinished("tiering was turned off; its segments stay local",
                                                  /*delete_remote=*/false);
    if (!s.ok()) EBB_LOG(kWarn, "tiering: {}", s.ToString());
  }
  // Recovered snapshots still to upload or verify are work to do.
  agent->busy_.store(!agent->persister_->idle(), std::memory_order_release);
  EBB_ASSIGN_OR_RETURN(agent->cache_,
                       MemberCache::Open(fs, store, agent->keys_.get(), &agent->index_,
                                         {.dir = JoinPath(options.tier_dir, "cache"), .capacity_bytes = options.cache_bytes}));
  agent->evicter_ = std::make_unique<Evicter>(&agent->index_, host);
  {
    MutexLock lock(&agent->mu_);
    agent->status_.enabled = options.enabled;
    agent->status_.mode = options.mode == TieringMode::kTiering ? "tiering" : "recall";
    agent->status_.object_store = "unreachable";
    agent->status_.fencing = "not known yet (the object store has not answered)";
  }
  // One bounded attempt now; an outage leaves the store open on local data.
  Status connected;
  {
    ObjectStoreDeadline deadline(SystemClock()->NowMicros() + options.open_timeout_ms * 1000);
    connected = agent->Connect();
  }
  if (!connected.ok()) {
    if (IsRefusal(connected)) return connected;
    EBB_LOG(kWarn, "tiering: {}; the store opens on local data and retries the object store in the background",
            connected.ToString());
    agent->NoteConnectFailure(connected, /*refused=*/false);
  }
  {
    MutexUnlock unlock(&agent->work_mu_);
    agent->RefreshSnapshotStatus();
  }
  return agent;
}

Status TieringAgent::Connect() {
  TieringOptions o = options();
  const bool writer = o.mode == TieringMode::kTiering;
  if (!keys_) {
    if (!writer) {
      EBB_ASSIGN_OR_RETURN(std::vector<uint64_t> needed, BucketKeyIds(store_));
      return MissingKeyError(o.key_file, store_->Describe(), needed);
    }
    EBB_ASSIGN_OR_RETURN(keys_, CreateKeyForEmptyBucket(fs_, store_, clock_, o.key_file, LocalEvidenceOfArchives()));
    persister_->SetKeys(keys_.get());
    cache_->SetKeys(keys_.get());
    EBB_LOG(kInfo, "tiering: created archive key {} (key id {}); back it up apart from the object store",
            o.key_file, keys_->current()->key_id_hex());
  } else {
    EBB_RETURN_IF_ERROR(CheckKeysAgainstBucket(store_, *keys_, clock_, /*may_register=*/writer));
  }
  if (index_needs_rebuild_) {
    RebuildReport report;
    EBB_ASSIGN_OR_RETURN(TierIndex rebuilt, RebuildIndex(store_, *keys_, &report));
    for (const auto& p : report.problems) EBB_LOG(kWarn, "tiering: index rebuild: {}", p);
    EBB_RETURN_IF_ERROR(rebuilt.Save(fs_, TierIndexPath(o.tier_dir)));
    index_ = std::move(rebuilt);
    index_needs_rebuild_ = false;
  }
  std::string fencing;
  uint64_t epoch = 0;
  if (writer) {
    EBB_ASSIGN_OR_RETURN(EpochAdvance advanced, AdvanceEpoch(fs_, JoinPath(o.tier_dir, "EPOCH"), store_));
    epoch = advanced.epoch;
    persister_->SetEpoch(epoch);
    fencing = advanced.conditional
                  ? "conditional writes (meta/epoch is replaced only if unchanged since read)"
                  : fmt::format("best effort: {} ignores conditional writes, so two agents starting at once may "
                                "both publish until the next epoch check",
                                store_->Describe());
    gc_due_ = true;
  }
  connect_failures_ = 0;
  connected_.store(true, std::memory_order_release);
  MutexLock lock(&mu_);
  status_.object_store = "connected";
  status_.object_store_error.clear();
  status_.next_connect_in_ms = 0;
  if (writer) {
    status_.epoch = epoch;
    status_.fencing = fencing;
  } else {
    status_.fencing = "none (recall only: nothing is written to the object store)";
  }
  status_.key_id = keys_->current() ? keys_->current()->key_id_hex() : "";
  return Status::OK();
}

void TieringAgent::NoteConnectFailure(const Status& s, bool refused) {
  connect_failures_++;
  int64_t delay = kReconnectMinMicros << std::min(connect_failures_ - 1, 20);
  delay = std::min(delay, kReconnectMaxMicros);
  MutexLock lock(&mu_);
  refused_ = refused;
  next_connect_micros_ = clock_->NowMicros() + delay;
  status_.object_store = refused ? "refused" : "unreachable";
  status_.object_store_error = s.ToString();
  status_.errors++;
  status_.last_error = s.ToString();
}

std::optional<int64_t> TieringAgent::NextConnectMicros() const {
  if (connected()) return std::nullopt;
  MutexLock lock(&mu_);
  if (refused_) return std::nullopt;
  return next_connect_micros_;
}

uint64_t TieringAgent::PendingBytes() const {
  if (!connected()) return 0;
  uint64_t local = host_->LocalSegmentBytes() + host_->IncomingBytes();
  MutexLock lock(&mu_);
  if (options_.mode != TieringMode::kTiering) return 0;
  return local > options_.local_target_bytes ? local - options_.local_target_bytes : 0;
}

void TieringAgent::NoteError(const Status& s, TieringWorkResult* result) {
  if (s.ok()) return;
  EBB_LOG(kWarn, "tiering: {}", s.ToString());
  if (result->status.ok()) result->status = s;
  MutexLock lock(&mu_);
  status_.errors++;
  status_.last_error = s.ToString();
}

void TieringAgent::RefreshSnapshotStatus() {
  MutexLock work_lock(&work_mu_);
  std::optional<SnapshotState> shown;
  auto unfinished = persister_->unfinished_snapshots();
  if (!unfinished.empty()) shown = unfinished.back();
  else shown = persister_->last_finished();
  MutexLock lock(&mu_);
  status_.fenced = persister_->fenced();
  status_.staged_bytes = persister_->staged_bytes();
  status_.snapshots_in_flight = unfinished.size();
  status_.index_rebuild_pending = index_needs_rebuild_;
  if (shown) {
    status_.last_snapshot_id = shown->snapshot_id;
    status_.last_snapshot_state = std::string(SnapshotEventName(shown->state));
    status_.last_snapshot_detail = shown->detail;
  }
}

Result<bool> TieringAgent::MaybeStartSnapshot(uint64_t* bytes) {
  int64_t min_age_s;
  uint64_t archive_target_bytes;
  {
    MutexLock lock(&mu_);
    min_age_s = options_.min_age_s;
    archive_target_bytes = options_.archive_target_bytes;
  }
  EBB_ASSIGN_OR_RETURN(SegmentSnapshot snapshot, host_->AcquireSnapshot());
  int64_t cutoff = clock_->WallMicros() - min_age_s * 1'000'000;
  std::vector<const LiveSegment*> cold;
  for (const auto& s : snapshot.segments) {
    if (s.local && s.created_wall_micros <= cutoff && !index_.Contains(s.key())) cold.push_back(&s);
  }
  // Oldest first: they are the least likely to be rewritten by compaction.
  std::stable_sort(cold.begin(), cold.end(), [](const LiveSegment* a, const LiveSegment* b) {
    return a->created_wall_micros < b->created_wall_micros;
  });
  SnapshotRequest request;
  std::set<SegmentKey> in_this_archive;
  uint64_t total = 0;
  for (const LiveSegment* s : cold) {
    if (!request.segments.empty() && total + s->size_bytes > archive_target_bytes) break;
    request.segments.push_back(PersistSegment{.meta = s->meta, .path = s->path});
    in_this_archive.insert(s->key());
    total += s->size_bytes;
  }
  for (const auto& t : snapshot.dropped_databases) {
    if (!index_.HasTombstone(t)) request.tombstones.push_back(t);
  }
  if (request.segments.empty() && request.tombstones.empty()) return false;
  // The catalog: this archive's segments (archive "" = this one) and those
  // the index already has.
  ArchiveOf archive_of = [&](const SegmentKey& key) -> std::optional<std::string> {
    if (in_this_archive.count(key)) return std::string();
    auto entry = index_.Find(key);
    if (!entry) return std::nullopt;
    return entry->archive;
  };
  auto previous = index_.latest_catalog();
  request.catalog = BuildCatalog(snapshot.databases, snapshot.segments, archive_of,
                                 previous ? &previous->second : nullptr, snapshot.next_file_number,
                                 snapshot.next_db_id, clock_->WallMicros());
  MutexLock work_lock(&work_mu_);
  EBB_RETURN_IF_ERROR(persister_->StartSnapshot(request).status());
  *bytes += total;
  return true;
}

void TieringAgent::Evict(uint64_t bytes_to_free, TieringWorkResult* result) {
  auto snapshot = host_->AcquireSnapshot();
  if (!snapshot.ok()) {
    NoteError(snapshot.status(), result);
    return;
  }
  std::vector<EvictionCandidate> candidates;
  for (const auto& s : snapshot->segments) {
    // Offer only persisted segments; the evicter re-checks each one.
    if (s.local && index_.Contains(s.key())) {
      candidates.push_back({.key = s.key(), .size_bytes = s.size_bytes, .last_access_micros = s.last_access_micros});
    }
  }
  snapshot->pin.reset();
  // The snapshot logs say which segments went, before they go.
  auto announce = [this](const std::vector<IndexEntry>& batch) -> Status {
    std::map<std::string, std::vector<uint64_t>> by_archive;
    for (const auto& e : batch) by_archive[e.archive].push_back(e.member.meta.segment_id);
    MutexLock work_lock(&work_mu_);
    for (const auto& [archive, ids] : by_archive) {
      EBB_RETURN_IF_ERROR(persister_->RecordEvicting(archive, ids).WithContext("record the eviction"));
    }
    return Status::OK();
  };
  EvictionResult evicted = evicter_->Evict(std::move(candidates), bytes_to_free, announce);
  NoteError(evicted.first_error, result);
  result->bytes += evicted.evicted_bytes;
  if (evicted.evicted_bytes > 0) recall_stalled_.store(false, std::memory_order_release);
  MutexLock lock(&mu_);
  status_.segments_evicted += evicted.evicted.size();
  status_.bytes_evicted += evicted.evicted_bytes;
  status_.evictions_refused += evicted.refused_unverified.size();
}

Status TieringAgent::RecallOne(const LiveSegment& s) {
  auto free = host_->FreeSpaceBytes();
  if (!free.ok()) return free.status();
  if (*free < s.size_bytes + s.size_bytes / 8 + kRecallFreeSpaceReserveBytes) {
    return Status::NoSpace(fmt::format(
        "recall of segment {} postponed: it needs about {} bytes and the disk has {} free (keeping {} spare); free "
        "space, or lower tiering.local_target_bytes",
        s.key().ToString(), s.size_bytes, *free, kRecallFreeSpaceReserveBytes));
  }
  auto entry = index_.Find(s.key());
  if (!entry) {
    return Status::NotFound(fmt::format("recall of segment {}: not in the tier index; its archived copy cannot be "
                                        "found (run `ebb tier rebuild-index`)",
                                        s.key().ToString()));
  }
  // A cached copy (a recent read) saves the download.
  std::string contents;
  if (auto cached = cache_->TryAcquire(s.key())) {
    auto read = ReadFileToString(fs_, cached->path());
    if (read.ok()) contents = std::move(read).value();
  }
  if (contents.empty()) {
    const ArchiveKey* key;
    {
      MutexLock work_lock(&work_mu_);
      auto found = keys_ ? keys_->ForArchive(entry->key_id, entry->archive)
                         : Result<const ArchiveKey*>(Status::Unavailable("no archive key loaded yet"));
      if (!found.ok()) return found.status();
      key = *found;
    }
    auto fetched = ReadMember(ObjectRangeReader(store_, ArchiveObjectKey(entry->archive)), entry->archive,
                              entry->member, *key);
    if (!fetched.ok()) return fetched.status().WithContext(fmt::format("recall of segment {}", s.key().ToString()));
    contents = std::move(fetched).value();
  }
  EBB_RETURN_IF_ERROR(host_->RecallLocalCopy(s.key(), contents));
  MutexLock lock(&mu_);
  status_.segments_recalled++;
  status_.bytes_recalled += s.size_bytes;
  return Status::OK();
}

void TieringAgent::Recall(uint64_t budget_bytes, TieringWorkResult* result) {
  TieringOptions o = options();
  uint64_t limit;
  if (o.mode == TieringMode::kRecall) {
    limit = UINT64_MAX;
  } else if (!o.recall || o.local_target_bytes == 0) {
    return;
  } else if (o.local_target_bytes == UINT64_MAX) {
    limit = UINT64_MAX;
  } else {
    limit = static_cast<uint64_t>(static_cast<double>(o.local_target_bytes) * kRecallFillFraction);
  }
  uint64_t local = host_->LocalSegmentBytes() + host_->IncomingBytes();
  if (local >= limit || recall_stalled()) return;
  auto snapshot = host_->AcquireSnapshot();
  if (!snapshot.ok()) {
    NoteError(snapshot.status(), result);
    return;
  }
  std::vector<const LiveSegment*> evicted;
  for (const auto& s : snapshot->segments) {
    if (!s.local) evicted.push_back(&s);
  }
  // Hottest first: the segments reads want back most.
  std::stable_sort(evicted.begin(), evicted.end(), [](const LiveSegment* a, const LiveSegment* b) {
    return a->last_access_micros > b->last_access_micros;
  });
  uint64_t done = 0;
  int recalled = 0;
  for (const LiveSegment* s : evicted) {
    if (done >= budget_bytes || recalled >= kMaxRecallsPerCall) {
      result->more_work = true;
      break;
    }
    if (local + s->size_bytes > limit) continue;  // a smaller one may fit
    Status st = RecallOne(*s);
    if (st.IsNoSpace()) {
      // Held back until eviction or a setting changes something.
      recall_stalled_.store(true, std::memory_order_release);
      NoteError(st, result);
      break;
    }
    if (!st.ok()) {
      NoteError(st, result);
      if (st.IsUnavailable() || st.IsTimedOut()) break;  // the object store is failing: later
      continue;
    }
    local += s->size_bytes;
    done += s->size_bytes;
    recalled++;
  }
  result->bytes += done;
}

Result<RecallReport> TieringAgent::RecallNow(const std::function<bool(const LiveSegment&)>& which,
                                             const ProgressFn& progress) {
  if (!connected()) {
    MutexLock lock(&mu_);
    return Status::Unavailable(fmt::format("recall: {} cannot be reached ({})", store_->Describe(),
                                           status_.object_store_error));
  }
  EBB_ASSIGN_OR_RETURN(SegmentSnapshot snapshot, host_->AcquireSnapshot());
  std::vector<const LiveSegment*> chosen;
  Progress p;
  for (const auto& s : snapshot.segments) {
    if (s.local || !which(s)) continue;
    chosen.push_back(&s);
    p.items_total++;
    p.bytes_total += s.size_bytes;
  }
  RecallReport report;
  report.segments_left = chosen.size();
  for (const LiveSegment* s : chosen) {
    if (progress) progress(p);
    EBB_RETURN_IF_ERROR(RecallOne(*s));
    report.segments++;
    report.bytes += s->size_bytes;
    report.segments_left--;
    p.items_done++;
    p.bytes_done += s->size_bytes;
  }
  if (progress) progress(p);
  return report;
}

Result<GcReport> TieringAgent::RunGc(bool dry_run) {
  TieringOptions o = options();
  EBB_ASSIGN_OR_RETURN(SegmentSnapshot snapshot, host_->AcquireSnapshot());
  GcInputs inputs;
  for (const auto& s : snapshot.segments) inputs.live.insert(s.key());
  snapshot.pin.reset();
  inputs.in_use_numbers = host_->InUseSegmentNumbers();
  MutexLock work_lock(&work_mu_);
  if (!connected() || !keys_) return Status::Unavailable(fmt::format("{} is not connected", store_->Describe()));
  for (const auto& f : persister_->unfinished_snapshots()) inputs.in_flight.insert(f.archive);
  uint64_t epoch = persister_->epoch();
  inputs.may_delete = [this, epoch] { return CheckEpoch(store_, epoch); };
  EBB_ASSIGN_OR_RETURN(GcReport report,
                       CollectGarbage(store_, *keys_, &index_, inputs,
                                      GcOptions{.retain_snapshots = o.retain_snapshots, .retain_s = o.retain_s,
                                                .dry_run = dry_run},
                                      clock_));
  if (report.archives_deleted > 0 && !dry_run) EBB_RETURN_IF_ERROR(index_.Save(fs_, TierIndexPath(o.tier_dir)));
  for (const auto& p : report.problems) EBB_LOG(kWarn, "tiering: garbage collection: {}", p);
  if (!dry_run && (report.archives_deleted > 0 || report.snapshots_deleted > 0)) {
    EBB_LOG(kInfo, "tiering: garbage collection deleted {} archives ({} bytes) and {} snapshot records",
            report.archives_deleted, report.bytes_reclaimed, report.snapshots_deleted);
  }
  if (!dry_run) {
    MutexLock lock(&mu_);
    status_.gc_runs++;
    status_.gc_archives_deleted += report.archives_deleted;
    status_.gc_snapshots_deleted += report.snapshots_deleted;
    status_.gc_bytes_reclaimed += report.bytes_reclaimed;
    status_.garbage_bytes = report.garbage_bytes;
  }
  return report;
}

void TieringAgent::CollectBucketGarbage(TieringWorkResult* result) {
  auto report = RunGc(/*dry_run=*/false);
  if (!report.ok()) NoteError(report.status().WithContext("bucket garbage collection"), result);
}

Result<GcReport> TieringAgent::CollectGarbageNow(bool dry_run) {
  if (options().mode != TieringMode::kTiering) {
    return Status::InvalidArgument("garbage collection needs tiering.enabled = true (this store only recalls)");
  }
  return RunGc(dry_run);
}

TieringWorkResult TieringAgent::DoWork(uint64_t budget_bytes) {
  TieringWorkResult result;
  if (!connected()) {
    {
      MutexLock lock(&mu_);
      if (refused_ || clock_->NowMicros() < next_connect_micros_) return result;
    }
    Status s;
    {
      MutexLock work_lock(&work_mu_);
      s = Connect();
      if (!s.ok()) NoteConnectFailure(s, IsRefusal(s));
    }
    if (!s.ok()) {
      result.status = s;
      return result;
    }
    EBB_LOG(kInfo, "tiering: reached {}", store_->Describe());
    result.more_work = true;
  }
  const bool writer = options().mode == TieringMode::kTiering;
  if (writer) {
    MutexLock work_lock(&work_mu_);
    // 1. Finish what is in flight: uploads, verifications, index updates.
    for (int i = 0; i < kMaxStepsPerCall && result.bytes < budget_bytes; i++) {
      std::string before = persister_->last_finished() ? persister_->last_finished()->snapshot_id : "";
      auto stepped = persister_->Step(&result.bytes);
      if (!stepped.ok()) {
        NoteError(stepped.status(), &result);
        break;
      }
      if (!*stepped) break;
      const auto& last = persister_->last_finished();
      if (last && last->snapshot_id != before) {
        if (last->state == SnapshotEvent::kDone) gc_due_ = true;
        MutexLock lock(&mu_);
        (last->state == SnapshotEvent::kDone ? status_.snapshots_done : status_.snapshots_aborted)++;
      }
    }
  }
  bool idle = false;
  if (writer) {
    MutexLock work_lock(&work_mu_);
    idle = persister_->idle() && !persister_->fenced();
  }
  uint64_t pending = PendingBytes();
  // 2. Start the next snapshot once the previous ones are uploaded.
  if (idle && result.status.ok() && result.bytes < budget_bytes) {
    auto started = MaybeStartSnapshot(&result.bytes);
    if (!started.ok()) NoteError(started.status(), &result);
    else if (*started) result.more_work = true;
  }
  // 3. Evict when the disk is over target (only verified copies qualify).
  if (writer && pending > 0 && result.bytes < budget_bytes) Evict(std::min(pending, budget_bytes - result.bytes), &result);
  // 4. Recall while there is room (or everything, tiering turned off).
  if (pending == 0 && result.bytes < budget_bytes) Recall(budget_bytes - result.bytes, &result);
  // 5. Collect the bucket's garbage after a snapshot finished.
  bool gc = false;
  if (writer) {
    MutexLock work_lock(&work_mu_);
    gc = gc_due_ && persister_->idle() && !persister_->fenced();
    gc_due_ = gc_due_ && !gc;
  }
  if (gc) CollectBucketGarbage(&result);
  {
    MutexLock work_lock(&work_mu_);
    if (!persister_->idle()) result.more_work = true;
    busy_.store(!persister_->idle(), std::memory_order_release);
  }
  RefreshSnapshotStatus();
  return result;
}

TieringOptions TieringAgent::options() const {
  MutexLock lock(&mu_);
  return options_;
}

bool TieringAgent::busy() const { return busy_.load(std::memory_order_acquire); }

TieringStatus TieringAgent::GetStatus() const {
  uint64_t local = host_->LocalSegmentBytes();
  uint64_t incoming = host_->IncomingBytes();
  MemberCacheStats cache = cache_->stats();
  MutexLock lock(&mu_);
  TieringStatus s = status_;
  s.archives = index_.archives().size();
  s.segments_remote = index_.segment_count();
  s.bytes_remote = index_.archive_bytes();
  s.bytes_local = local;
  s.local_target_bytes = options_.local_target_bytes;
  s.pending_bytes = local + incoming > options_.local_target_bytes ? local + incoming - options_.local_target_bytes : 0;
  s.cache = cache;
  if (!connected() && !refused_) {
    s.next_connect_in_ms = std::max<int64_t>(0, (next_connect_micros_ - clock_->NowMicros()) / 1000);
  }
  return s;
}

void TieringAgent::ApplyConfig(const Config& config) {
  TieringOptions fresh = TieringOptionsFromConfig(config, "");
  {
    MutexLock lock(&mu_);
    options_.local_target_bytes = fresh.local_target_bytes;
    options_.min_age_s = fresh.min_age_s;
    options_.archive_target_bytes = fresh.archive_target_bytes;
    options_.cache_bytes = fresh.cache_bytes;
    options_.zstd_level = fresh.zstd_level;
    options_.verify_full = fresh.verify_full;
    options_.recall = fresh.recall;
    options_.retain_snapshots = fresh.retain_snapshots;
    options_.retain_s = fresh.retain_s;
  }
  recall_stalled_.store(false, std::memory_order_release);
  cache_->SetCapacity(fresh.cache_bytes);
  MutexLock work_lock(&work_mu_);
  persister_->Tune(fresh.zstd_level, fresh.verify_full, fresh.retain_snapshots, fresh.retain_s);
}

}  // namespace ebb
