#include "engine/status_json.h"

#include <cmath>

namespace ebb {

nlohmann::json DatabaseStatsToJson(const DatabaseStats& s) {
  return {
      {"name", s.name},
      {"disk_bytes", s.disk_bytes},
      {"tiered_bytes", s.tiered_bytes},
      {"live_bytes", s.live_bytes},
      {"live_bytes_exact", s.live_bytes_exact},
      {"memtable_bytes", s.memtable_bytes},
      {"entries", s.entries},
      {"tombstones", s.tombstones},
      {"expiring", s.expiring},
      {"earliest_expiry_ms", s.earliest_expiry_ms},
      {"expired", s.expired},
      {"expired_bytes", s.expired_bytes},
      {"segments", s.segments},
      {"update_seq", s.update_seq},
      {"compacted_seq", s.compacted_seq},
      {"changes_since_compaction", s.changes_since_compaction},
      {"flush_bytes_written", s.flush_bytes_written},
      {"compaction_bytes_written", s.compaction_bytes_written},
      {"compactions", s.compactions},
      {"completion_passes", s.completion_passes},
      {"completion_items", s.completion_items},
      {"lock_wait_us", s.lock_wait_us},
      {"lock_acquisitions", s.lock_acquisitions},
  };
}

nlohmann::json ReadPoolPriorityToJson(const ReadPoolPriorityStatus& p) {
  return {
      {"priority", p.priority},
      {"threads", p.threads},
      {"nice", p.nice},
      {"max_tasks_per_worker", p.max_tasks_per_worker},
      {"limit", p.limit},
      {"running", p.running},
      {"queued", p.queued},
      {"admitted", p.admitted},
      {"rejected", p.rejected},
      {"rejected_by_wait", p.rejected_by_wait},
      {"max_wait_ms", p.max_wait_ms},
      {"completed", p.completed},
      {"aborted", p.aborted},
      {"queue_wait_p50_us", p.queue_wait_p50_us},
      {"queue_wait_p99_us", p.queue_wait_p99_us},
      {"run_p50_us", p.run_p50_us},
      {"run_p99_us", p.run_p99_us},
      {"estimated_wait_us", p.estimated_wait_us},
  };
}

nlohmann::json WorkStatusToJson(const BackgroundSchedulerStatus& w) {
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& c : w.classes) {
    classes.push_back({
        {"name", c.name},
        {"state", c.state},
        {"pending_bytes", c.pending_bytes},
        {"band_low_bytes", c.band_low_bytes},
        {"band_high_bytes", c.band_high_bytes},
        {"rate_bytes_per_s", c.rate_bytes_per_s},
        {"controller_rate_bytes_per_s", c.controller_rate_bytes_per_s},
        {"max_rate_bytes_per_s", c.max_rate_bytes_per_s},
        {"measured_rate_bytes_per_s", c.measured_rate_bytes_per_s},
        {"inflow_bytes_per_s", c.inflow_bytes_per_s},
        {"budget_bytes", c.budget_bytes},
        {"last_transition_micros", c.last_transition_micros},
        {"upstreams_idle_ms", c.upstreams_idle_ms},
        {"pending_age_ms", c.pending_age_ms},
        {"passes", c.passes},
        {"bytes_done", c.bytes_done},
        {"wakeups", c.wakeups},
        {"stuck_passes", c.stuck_passes},
        {"transitions", c.transitions},
        {"upstreams", c.upstreams},
        {"last_error", c.last_error},
    });
  }
  nlohmann::json out = {
      {"policy", w.policy},
      {"threads", w.threads},
      {"wakeups", w.wakeups},
      {"deadline_wakeups", w.deadline_wakeups},
      {"dispatcher_passes", w.dispatcher_passes},
      {"foreground_notifications", w.foreground_notifications},
      {"throttled_writes", w.throttled_writes},
      {"throttle_pause_us", w.throttle_pause_us},
      {"memory_bound_waits", w.memory_bound_waits},
      {"armed_deadline_micros", nullptr},
      {"classes", classes},
  };
  if (w.armed_deadline_micros) out["armed_deadline_micros"] = *w.armed_deadline_micros;
  return out;
}

nlohmann::json SmooshStatusToJson(const SmooshStatus& s) {
  auto priority = [](double p) -> nlohmann::json {
    if (std::isinf(p)) return nullptr;  // a job interrupted by the last shutdown
    return p;
  };
  nlohmann::json channels = nlohmann::json::array();
  for (const auto& c : s.channels) {
    nlohmann::json jobs = nlohmann::json::array();
    for (const auto& j : c.jobs) {
      jobs.push_back({{"id", j.id},
                      {"database", j.database},
                      {"priority", priority(j.priority)},
                      {"running", j.running},
                      {"suspended", j.suspended},
                      {"progress_bytes", j.progress_bytes},
                      {"live_bytes", j.live_bytes},
                      {"attempt", j.attempt},
                      {"age_ms", j.age_ms}});
    }
    channels.push_back({
        {"name", c.name},
        {"priority", c.priority},
        {"active", c.active},
        {"starting", c.starting},
        {"waiting", {{"size", c.waiting.size}, {"min", priority(c.waiting.min)}, {"max", priority(c.waiting.max)}}},
        {"paused", c.paused},
        {"suspended", c.suspended},
        {"window_suspended", c.window_suspended},
        {"window", c.window},
        {"in_window", c.in_window},
        {"strict_window", c.strict_window},
        {"concurrency", c.concurrency},
        {"capacity", c.capacity},
        {"removed", c.removed},
        {"blocked", c.blocked},
        {"blocked_reason", c.blocked_reason},
        {"jobs", jobs},
        {"jobs_started", c.jobs_started},
        {"jobs_succeeded", c.jobs_succeeded},
        {"jobs_failed", c.jobs_failed},
        {"jobs_dropped", c.jobs_dropped},
        {"evicted", c.evicted},
        {"last_error", c.last_error},
    });
  }
  return {
      {"channels", channels},
      {"suspended", s.suspended},
      {"stopped", s.stopped},
      {"persist", s.persist},
      {"state_dir", s.state_dir},
      {"pending_evaluations", s.pending_evaluations},
      {"pending_retries", s.pending_retries},
      {"staleness_cache_entries", s.staleness_cache_entries},
      {"events_dropped", s.events_dropped},
      {"reclaimable_bytes", s.reclaimable_bytes},
      {"last_checkpoint_error", s.last_checkpoint_error},
  };
}

nlohmann::json TieringStatusToJson(const TieringStatus& t) {
  nlohmann::json j = {
      {"enabled", t.enabled},
      {"mode", t.mode},
      {"object_store", t.object_store},
      {"object_store_error", t.object_store_error},
      {"next_connect_in_ms", t.next_connect_in_ms},
      {"index_rebuild_pending", t.index_rebuild_pending},
      {"epoch", t.epoch},
      {"fenced", t.fenced},
      {"fencing", t.fencing},
      {"key_id", t.key_id},
      {"archives", t.archives},
      {"segments_remote", t.segments_remote},
      {"bytes_remote", t.bytes_remote},
      {"bytes_local", t.bytes_local},
      {"local_target_bytes", t.local_target_bytes},
      {"pending_bytes", t.pending_bytes},
      {"staged_bytes", t.staged_bytes},
      {"snapshots_in_flight", t.snapshots_in_flight},
      {"last_snapshot_id", t.last_snapshot_id},
      {"last_snapshot_state", t.last_snapshot_state},
      {"last_snapshot_detail", t.last_snapshot_detail},
      {"snapshots_done", t.snapshots_done},
      {"snapshots_aborted", t.snapshots_aborted},
      {"segments_evicted", t.segments_evicted},
      {"bytes_evicted", t.bytes_evicted},
      {"evictions_refused", t.evictions_refused},
      {"bytes_evicted_now", t.bytes_evicted_now},
      {"segments_recalled", t.segments_recalled},
      {"bytes_recalled", t.bytes_recalled},
      {"gc_runs", t.gc_runs},
      {"gc_archives_deleted", t.gc_archives_deleted},
      {"gc_snapshots_deleted", t.gc_snapshots_deleted},
      {"gc_bytes_reclaimed", t.gc_bytes_reclaimed},
      {"garbage_bytes", t.garbage_bytes},
      {"evicted_dead_bytes", t.evicted_dead_bytes},
      {"errors", t.errors},
      {"last_error", t.last_error},
      {"cache",
       {{"hits", t.cache.hits},
        {"fetches", t.cache.fetches},
        {"fetched_bytes", t.cache.fetched_bytes},
        {"refetches", t.cache.refetches},
        {"evictions", t.cache.evictions},
        {"cached_bytes", t.cache.cached_bytes},
        {"cached_members", t.cache.cached_members}}},
      {"fetch",
       {{"threads", t.fetch.threads},
        {"queue_limit", t.fetch.queue_limit},
        {"queued", t.fetch.queued},
        {"fetches", t.fetch.fetches},
        {"rejected", t.fetch.rejected},
        {"timeouts", t.fetch.timeouts},
        {"failures", t.fetch.failures}}},
  };
  return j;
}

nlohmann::json StoreStatusToJson(const StoreStatus& s) {
  nlohmann::json dbs = nlohmann::json::array();
  for (const auto& db : s.databases) dbs.push_back(DatabaseStatsToJson(db));
  return {
      {"data_dir", s.data_dir},
      {"uptime_s", s.uptime_s},
      {"background_error", s.background_error},
      {"journal",
       {{"sync_mode", s.journal.sync_mode},
        {"files", s.journal.files},
        {"bytes", s.journal.bytes},
        {"records_written", s.journal.records_written},
        {"batches_written", s.journal.batches_written},
        {"syncs", s.journal.syncs},
        {"bytes_written", s.journal.bytes_written}}},
      {"databases", dbs},
      {"read_pool",
       {{"high", ReadPoolPriorityToJson(s.read_pool.high)},
        {"normal", ReadPoolPriorityToJson(s.read_pool.normal)},
        {"low", ReadPoolPriorityToJson(s.read_pool.low)}}},
      {"work", WorkStatusToJson(s.work)},
      {"compaction", SmooshStatusToJson(s.compaction)},
      {"tiering", TieringStatusToJson(s.tiering)},
  };
}

}  // namespace ebb
