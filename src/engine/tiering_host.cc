#include "engine/tiering_host.h"

#include <fmt/format.h>

#include "base/status_macros.h"
#include "tiering/tiering_settings.h"

namespace ebb {

Result<std::unique_ptr<EngineTiering>> EngineTiering::Open(Storage* storage, const Config& config, FileSystem* fs,
                                                           Clock* clock, const std::string& data_dir) {
  std::unique_ptr<EngineTiering> t(new EngineTiering(storage, fs, clock));
  EBB_ASSIGN_OR_RETURN(t->object_store_, OpenTierObjectStore(config, fs, data_dir));
  EBB_ASSIGN_OR_RETURN(t->agent_, TieringAgent::Open(fs, t->object_store_.get(), t.get(), clock,
                                                     TieringOptionsFromConfig(config, data_dir)));
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
  for (const auto& db : storage_->Databases()) {
    auto set = db->segment_set();
    std::string tier_name = Storage::TierName(*db);
    for (const auto& file : *set) {
      const SegmentMeta& m = file->meta();
      LiveSegment live;
      live.meta.segment_id = m.number;
      live.meta.database = tier_name;
      live.meta.smallest_key = m.smallest_key;
      live.meta.largest_key = m.largest_key;
      live.meta.smallest_seq = m.smallest_seq;
      live.meta.largest_seq = m.largest_seq;
      live.path = file->path();
      live.size_bytes = m.file_size;
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

uint64_t EngineTiering::LocalSegmentBytes() const { return storage_->LocalSegmentBytes(); }

uint64_t EngineTiering::IncomingBytes() const { return storage_->DirtyBytes(); }

Status EngineTiering::EvictLocalCopy(uint64_t segment_id) { return storage_->EvictSegment(segment_id); }

Result<std::shared_ptr<Segment>> EngineTiering::OpenEvicted(uint64_t number) {
  auto acquired = agent_->member_cache()->Acquire(number);
  if (acquired.status().IsBusy()) {
    // The cache is full of files pinned by open segments: close the ones no
    // reader uses and try once more.
    storage_->segment_cache()->EvictRemote();
    acquired = agent_->member_cache()->Acquire(number);
  }
  EBB_ASSIGN_OR_RETURN(auto handle, std::move(acquired));
  EBB_ASSIGN_OR_RETURN(auto segment, Segment::Open(fs_, handle->path(), number));
  // The cached file stays pinned while the segment is open.
  segment->SetPin(std::shared_ptr<MemberCache::Handle>(std::move(handle)));
  return segment;
}

uint64_t EngineTiering::PendingBytes() {
  uint64_t pending = agent_->PendingBytes();
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
      if (!file->evicted() && m.created_unix_micros <= horizon && !index.Contains(m.number)) pending += m.file_size;
    }
  }
  for (const auto& dropped : storage_->DroppedDatabases()) {
    if (!index.HasTombstone({dropped.name, dropped.last_seq})) pending++;
  }
  return pending;
}

std::optional<int64_t> EngineTiering::NextEligibleMicros(Clock* clock) const {
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
      if (file->evicted() || eligible <= now_wall || index.Contains(m.number)) continue;
      if (!next_wall || eligible < *next_wall) next_wall = eligible;
    }
  }
  if (!next_wall) return std::nullopt;
  return clock->NowMicros() + (*next_wall - now_wall);
}

Result<uint64_t> EngineTiering::DoWork(uint64_t budget_bytes) {
  TieringWorkResult r = agent_->DoWork(budget_bytes);
  if (r.bytes == 0 && !r.status.ok()) return r.status;
  return r.bytes;
}

}  // namespace ebb
