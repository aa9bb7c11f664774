#include "engine/status_json.h"

namespace ebb {

nlohmann::json DatabaseStatsToJson(const DatabaseStats& s) {
  return {
      {"name", s.name},
      {"disk_bytes", s.disk_bytes},
      {"live_bytes", s.live_bytes},
      {"live_bytes_exact", s.live_bytes_exact},
      {"memtable_bytes", s.memtable_bytes},
      {"entries", s.entries},
      {"tombstones", s.tombstones},
      {"segments", s.segments},
      {"update_seq", s.update_seq},
      {"compacted_seq", s.compacted_seq},
      {"changes_since_compaction", s.changes_since_compaction},
      {"flush_bytes_written", s.flush_bytes_written},
      {"compaction_bytes_written", s.compaction_bytes_written},
      {"compactions", s.compactions},
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
      {"completed", p.completed},
      {"aborted", p.aborted},
      {"queue_wait_p50_us", p.queue_wait_p50_us},
      {"queue_wait_p99_us", p.queue_wait_p99_us},
      {"run_p50_us", p.run_p50_us},
      {"run_p99_us", p.run_p99_us},
      {"estimated_wait_us", p.estimated_wait_us},
  };
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
  };
}

}  // namespace ebb
