#include "tiering/tiering_agent.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/logging.h"
#include "base/status_macros.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "env/object_store.h"
#include "tiering/tier_tools.h"
#include "tiering/tiering_settings.h"

namespace ebb {
namespace {

// Persister steps per DoWork call at most, whatever the budget: keeps one
// call short so the runtime can re-plan.
constexpr int kMaxStepsPerCall = 16;

}  // namespace


TieringAgent::TieringAgent(FileSystem* fs, ObjectStore* store, TieringHost* host, const Clock* clock,
                           TieringOptions options)
    : fs_(fs), store_(store), host_(host), clock_(clock), options_(std::move(options)) {}

TieringAgent::~TieringAgent() = default;

Result<std::unique_ptr<TieringAgent>> TieringAgent::Open(FileSystem* fs, ObjectStore* store, TieringHost* host,
                                                         const Clock* clock, TieringOptions options) {
  if (options.tier_dir.empty()) return Status::InvalidArgument("tiering agent: no tier directory");
  if (options.key_file.empty()) options.key_file = JoinPath(options.tier_dir, "archive.key");
  std::unique_ptr<TieringAgent> agent(new TieringAgent(fs, store, host, clock, options));
  EBB_RETURN_IF_ERROR(CreateDirDurably(fs, options.tier_dir));
  EBB_ASSIGN_OR_RETURN(agent->key_, ArchiveKey::LoadOrCreate(fs, options.key_file));

  std::string index_path = TierIndexPath(options.tier_dir);
  auto loaded = TierIndex::Load(fs, index_path);
  if (loaded.ok()) {
    agent->index_ = std::move(loaded).value();
  } else {
    // The index is derived data: regenerate it from the archives.
    if (!loaded.status().IsNotFound()) EBB_LOG(kError, "tiering: {}; rebuilding it", loaded.status().ToString());
    RebuildReport report;
    EBB_ASSIGN_OR_RETURN(agent->index_, RebuildIndex(store, *agent->key_, &report));
    for (const auto& p : report.problems) EBB_LOG(kWarn, "tiering: index rebuild: {}", p);
    EBB_RETURN_IF_ERROR(agent->index_.Save(fs, index_path));
  }

  // The key must be the one the archives were written with: check one
  // archive's footer now, so a wrong key is a clear error at open rather
  // than an authentication failure on the first read of a tiered segment.
  if (auto archives = agent->index_.archives(); !archives.empty()) {
    const ArchiveRecord& newest = archives.back();
    auto toc = ReadArchiveToc(ObjectRangeReader(store, ArchiveObjectKey(newest.name)), newest.size_bytes, newest.name,
                              *agent->key_);
    if (toc.status().IsPermissionDenied()) return toc.status();
    if (!toc.ok()) EBB_LOG(kWarn, "tiering: could not check the archive key against {}: {}", newest.name, toc.status().ToString());
  }

  EBB_ASSIGN_OR_RETURN(uint64_t epoch, AdvanceEpoch(fs, JoinPath(options.tier_dir, "EPOCH"), store));
  PersisterOptions popts{.tier_dir = options.tier_dir, .zstd_level = options.zstd_level,
                         .verify_full = options.verify_full};
  {
    MutexLock lock(&agent->work_mu_);
    EBB_ASSIGN_OR_RETURN(agent->persister_,
                         Persister::Open(fs, store, agent->key_.get(), &agent->index_, clock, popts, epoch));
    // Recovered snapshots still to upload or verify are work to do.
    agent->busy_.store(!agent->persister_->idle(), std::memory_order_release);
  }
  EBB_ASSIGN_OR_RETURN(agent->cache_,
                       MemberCache::Open(fs, store, agent->key_.get(), &agent->index_,
                                         {.dir = JoinPath(options.tier_dir, "cache"), .capacity_bytes = options.cache_bytes}));
  agent->evicter_ = std::make_unique<Evicter>(&agent->index_, host);
  {
    MutexLock lock(&agent->mu_);
    agent->status_.enabled = options.enabled;
    agent->status_.epoch = epoch;
  }
  agent->RefreshSnapshotStatus();
  return agent;
}

uint64_t TieringAgent::PendingBytes() const {
  uint64_t local = host_->LocalSegmentBytes() + host_->IncomingBytes();
  MutexLock lock(&mu_);
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
    if (s.local && s.created_wall_micros <= cutoff && !index_.Contains(s.meta.segment_id)) cold.push_back(&s);
  }
  // Oldest first: they are the least likely to be rewritten by compaction.
  std::stable_sort(cold.begin(), cold.end(), [](const LiveSegment* a, const LiveSegment* b) {
    return a->created_wall_micros < b->created_wall_micros;
  });
  SnapshotRequest request;
  uint64_t total = 0;
  for (const LiveSegment* s : cold) {
    if (!request.segments.empty() && total + s->size_bytes > archive_target_bytes) break;
    request.segments.push_back(PersistSegment{.meta = s->meta, .path = s->path});
    total += s->size_bytes;
  }
  for (const auto& t : snapshot.dropped_databases) {
    if (!index_.HasTombstone(t)) request.tombstones.push_back(t);
  }
  if (request.segments.empty() && request.tombstones.empty()) return false;
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
    if (s.local && index_.Contains(s.meta.segment_id)) {
      candidates.push_back({.segment_id = s.meta.segment_id, .size_bytes = s.size_bytes,
                            .last_access_micros = s.last_access_micros});
    }
  }
  snapshot->pin.reset();
  EvictionResult evicted = evicter_->Evict(std::move(candidates), bytes_to_free);
  NoteError(evicted.first_error, result);
  result->bytes += evicted.evicted_bytes;
  MutexLock lock(&mu_);
  status_.segments_evicted += evicted.evicted.size();
  status_.bytes_evicted += evicted.evicted_bytes;
  status_.evictions_refused += evicted.refused_unverified.size();
}

TieringWorkResult TieringAgent::DoWork(uint64_t budget_bytes) {
  TieringWorkResult result;
  {
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
        MutexLock lock(&mu_);
        (last->state == SnapshotEvent::kDone ? status_.snapshots_done : status_.snapshots_aborted)++;
      }
    }
  }
  // 2. Start the next snapshot once the previous ones are uploaded.
  bool idle;
  {
    MutexLock work_lock(&work_mu_);
    idle = persister_->idle() && !persister_->fenced();
  }
  uint64_t pending = PendingBytes();
  if (idle && result.status.ok() && result.bytes < budget_bytes) {
    auto started = MaybeStartSnapshot(&result.bytes);
    if (!started.ok()) NoteError(started.status(), &result);
    else if (*started) result.more_work = true;
  }
  // 3. Evict when the disk is over target (only verified copies qualify).
  if (pending > 0 && result.bytes < budget_bytes) Evict(std::min(pending, budget_bytes - result.bytes), &result);
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
  }
  cache_->SetCapacity(fresh.cache_bytes);
  MutexLock work_lock(&work_mu_);
  persister_->Tune(fresh.zstd_level, fresh.verify_full);
}

}  // namespace ebb
