#include "engine/tiering_host.h"

#include <fmt/format.h>

#include "base/status_macros.h"
#include "tiering/tiering_settings.h"

namespace ebb {
namespace {

thread_local ColdFetchScope* t_cold_fetch_scope = nullptr;

SegmentKey KeyOf(const std::string& database, const SegmentMeta& meta) {
  return SegmentKey{database, meta.number, meta.checksum};
}

}  // namespace

ColdFetchScope::ColdFetchScope() { t_cold_fetch_scope = this; }
ColdFetchScope::~ColdFetchScope() { t_cold_fetch_scope = nullptr; }
ColdFetchScope* ColdFetchScope::Current() { return t_cold_fetch_scope; }

bool HasEvictedSegments(Storage* storage) {
  for (const auto& [id, db] : storage->manifest()->state().databases) {
    for (const auto& seg : db.segments) {
      if (seg.evicted) return true;
    }
  }
  return false;
}

Result<std::unique_ptr<EngineTiering>> EngineTiering::Open(Storage* storage, const Config& config, FileSystem* fs,
                                                           Clock* clock, const std::string& data_dir,
                                                           TieringMode mode, ObjectStore* store) {
  std::unique_ptr<EngineTiering> t(new EngineTiering(storage, fs, clock, data_dir));
  if (store == nullptr) {
    EBB_ASSIGN_OR_RETURN(t->owned_store_, OpenTierObjectStore(config, fs, data_dir));
    store = t->owned_store_.get();
  }
  t->object_store_ = store;
  TieringOptions options = TieringOptionsFromConfig(config, data_dir);
  options.mode = mode;
  EBB_ASSIGN_OR_RETURN(t->agent_, TieringAgent::Open(fs, store, t.get(), clock, options));
  storage->SetRemoteSegmentSource(t.get());
  return t;
}

EngineTiering::~EngineTiering() {
  storage_->SetRemoteSegmentSource(nullptr);
  // Open evicted segments pin files of the member cache, which goes with
  // this object: close them first.
  storage_->segment_cache()->EvictRemote();
}

Result<SegmentSnapshot> EngineTiering::AcquireSnapshot() {
  SegmentSnapshot snap;
  // Holding the segment sets keeps every listed file in place: a compacted-
  // away segment is deleted only when the last set referencing it goes.
  auto sets = std::make_shared<std::vector<std::shared_ptr<const SegmentSet>>>();
  ManifestState state = storage_->manifest()->state();
  snap.next_file_number = state.next_file_number;
  snap.next_db_id = state.next_db_id;
  for (const auto& db : storage_->Databases()) {
    auto set = db->segment_set();
    std::string tier_name = Storage::TierName(*db);
    snap.databases.push_back(LiveDatabase{.id = db->id(), .name = db->name(), .tier_name = tier_name});
    for (const auto& file : *set) {
      const SegmentMeta& m = file->meta();
      LiveSegment live;
      live.meta.segment_id = m.number;
      live.meta.database = tier_name;
      live.meta.smallest_key = m.smallest_key;
      live.meta.largest_key = m.largest_key;
      live.meta.smallest_seq = m.smallest_seq;
      live.meta.largest_seq = m.largest_seq;
      live.db_id = m.db_id;
      live.checksum = m.checksum;
      live.path = file->path();
      live.size_bytes = m.file_size;
      live.entries = m.entries;
      live.tombstones = m.tombstones;
      live.key_bytes = m.key_bytes;
      live.value_bytes = m.value_bytes;
      live.dead_bytes = file->dead_bytes();
      live.created_wall_micros = m.created_unix_micros;
      live.last_access_micros = file->last_access_micros();
      live.local = !file->evicted();
      snap.segments.push_back(std::move(live));
    }
    sets->push_back(std::move(set));
  }
  for (const auto& dropped : storage_->DroppedDatabases()) {
    DatabaseTombstone t{dropped.name, dropped.last_seq};
    if (agent_ && agent_->index().HasTombstone(t)) {
      // Archived: no need to remember it any longer.
      EBB_RETURN_IF_ERROR(storage_->ForgetDroppedDatabase(dropped));
      continue;
    }
    snap.dropped_databases.push_back(std::move(t));
  }
  snap.pin = std::move(sets);
  return snap;
}

TieringStatus EngineTiering::GetStatus() const {
  TieringStatus st = agent_->GetStatus();
  for (const auto& db : storage_->Databases()) {
    const std::shared_ptr<const SegmentSet> set = db->segment_set();
    for (const auto& file : *set) {
      if (!file->evicted()) continue;
      st.bytes_evicted_now += file->meta().file_size;
      st.evicted_dead_bytes += file->dead_bytes();
    }
  }
  return st;
}

uint64_t EngineTiering::LocalSegmentBytes() const { return storage_->LocalSegmentBytes(); }

uint64_t EngineTiering::IncomingBytes() const { return storage_->DirtyBytes(); }

Status EngineTiering::EvictLocalCopy(const SegmentKey& key) { return storage_->EvictSegment(key.number); }

Status EngineTiering::RecallLocalCopy(const SegmentKey& key, std::string_view contents) {
  return storage_->RecallSegment(key.number, contents);
}

Result<uint64_t> EngineTiering::FreeSpaceBytes() const { return fs_->GetFreeSpace(data_dir_); }

std::set<uint64_t> EngineTiering::InUseSegmentNumbers() const { return storage_->OpenSegmentNumbers(); }

Result<std::shared_ptr<MemberCache::Handle>> EngineTiering::FetchForRead(const SegmentKey& key) {
  auto acquired = agent_->member_cache()->Acquire(key);
  if (acquired.status().IsBusy()) {
    // The cache is full of files pinned by open segments: close the ones no
    // reader uses and try once more.
    storage_->segment_cache()->EvictRemote();
    acquired = agent_->member_cache()->Acquire(key);
  }
  EBB_ASSIGN_OR_RETURN(auto handle, std::move(acquired));
  return std::shared_ptr<MemberCache::Handle>(std::move(handle));
}

Result<std::shared_ptr<Segment>> EngineTiering::OpenEvicted(const std::string& database, const SegmentMeta& meta) {
  SegmentKey key = KeyOf(database, meta);
  std::shared_ptr<MemberCache::Handle> handle(agent_->member_cache()->TryAcquire(key));
  if (!handle) {
    if (!agent_->connected()) {
      TieringStatus st = agent_->GetStatus();
      return Status::Unavailable(fmt::format(
          "segment {:06}.seg of {} is evicted to {}, which cannot be reached now ({}); local data is still served; "
          "tiering retries in {} ms",
          meta.number, database, object_store_->Describe(), st.object_store_error, st.next_connect_in_ms));
    }
    if (ColdFetchScope* scope = ColdFetchScope::Current()) {
      // An asynchronous read: the engine fetches on its fetch pool.
      scope->needed = key;
      return Status::Unavailable(fmt::format("segment {} must be fetched from {} (handed to the fetch pool)",
                                             key.ToString(), object_store_->Describe()));
    }
    EBB_ASSIGN_OR_RETURN(handle, FetchForRead(key));
  }
  EBB_ASSIGN_OR_RETURN(auto segment, Segment::Open(fs_, handle->path(), meta.number));
  // The cached file stays pinned while the segment is open.
  segment->SetPin(std::move(handle));
  return segment;
}

uint64_t EngineTiering::RecallPendingBytes(uint64_t local) const {
  if (agent_->recall_stalled()) return 0;
  TieringOptions options = agent_->options();
  uint64_t limit = UINT64_MAX;
  if (options.mode == TieringMode::kTiering) {
    if (!options.recall || options.local_target_bytes == 0) return 0;
    if (options.local_target_bytes != UINT64_MAX) {
      limit = static_cast<uint64_t>(static_cast<double>(options.local_target_bytes) * kRecallFillFraction);
    }
  }
  if (local >= limit) return 0;
  uint64_t room = limit - local;
  uint64_t pending = 0;
  for (const auto& db : storage_->Databases()) {
    const std::shared_ptr<const SegmentSet> set = db->segment_set();
    for (const auto& file : *set) {
      uint64_t size = file->meta().file_size;
      if (file->evicted() && size <= room - std::min(room, pending)) pending += size;
    }
  }
  return pending;
}

uint64_t EngineTiering::PendingBytes() {
  if (!agent_->connected()) {
    std::optional<int64_t> next = agent_->NextConnectMicros();
    return next && clock_->NowMicros() >= *next ? 1 : 0;
  }
  uint64_t local = storage_->LocalSegmentBytes() + storage_->DirtyBytes();
  uint64_t pending = agent_->PendingBytes();
  if (agent_->options().mode == TieringMode::kRecall) return RecallPendingBytes(local);
  if (agent_->busy()) pending++;
  TieringOptions options = agent_->options();
  int64_t horizon = clock_->WallMicros() - options.min_age_s * 1'000'000;
  const TierIndex& index = agent_->index();
  for (const auto& db : storage_->Databases()) {
    // Held in a local: a range-for over *temporary would destroy the set
    // before the loop runs.
    const std::shared_ptr<const SegmentSet> set = db->segment_set();
    for (const auto& file : *set) {
      const SegmentMeta& m = file->meta();
      if (!file->evicted() && m.created_unix_micros <= horizon && !index.Contains(KeyOf(file->database(), m))) {
        pending += m.file_size;
      }
    }
  }
  for (const auto& dropped : storage_->DroppedDatabases()) {
    if (!index.HasTombstone({dropped.name, dropped.last_seq})) pending++;
  }
  if (pending == 0) pending = RecallPendingBytes(local);
  return pending;
}

std::optional<int64_t> EngineTiering::NextEligibleMicros(Clock* clock) const {
  if (!agent_->connected()) return agent_->NextConnectMicros();
  if (agent_->options().mode != TieringMode::kTiering) return std::nullopt;
  int64_t min_age = agent_->options().min_age_s * 1'000'000;
  int64_t now_wall = clock->WallMicros();
  std::optional<int64_t> next_wall;
  const TierIndex& index = agent_->index();
  for (const auto& db : storage_->Databases()) {
    // Held in a local: a range-for over *temporary would destroy the set
    // before the loop runs.
    const std::shared_ptr<const SegmentSet> set = db->segment_set();
    for (const auto& file : *set) {
      const SegmentMeta& m = file->meta();
      int64_t eligible = m.created_unix_micros + min_age;
      if (file->evicted() || eligible <= now_wall || index.Contains(KeyOf(file->database(), m))) continue;
      if (!next_wall || eligible < *next_wall) next_wall = eligible;
    }
  }
  if (!next_wall) return std::nullopt;
  return clock->NowMicros() + (*next_wall - now_wall);
}

Result<uint64_t> EngineTiering::DoWork(uint64_t budget_bytes) {
  TieringWorkResult r = agent_->DoWork(budget_bytes);
  if (r.bytes == 0 && !r.status.ok()) return r.status;
  // A connection made is progress even when no byte moved yet.
  return std::max<uint64_t>(r.bytes, r.more_work ? 1 : 0);
}

}  // namespace ebb
