#include "compaction/smoosh_daemon.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "base/logging.h"
#include "compaction/channel_queue.h"
#include "compaction/priority.h"

namespace ebb {
namespace {

// SmooshChannelStatus::blocked codes.
constexpr std::string_view kBlockedStopped = "stopped";
constexpr std::string_view kBlockedRemoved = "removed";
constexpr std::string_view kBlockedDisabled = "disabled";
constexpr std::string_view kBlockedSuspended = "suspended";
constexpr std::string_view kBlockedWindow = "window_closed";
constexpr std::string_view kBlockedWaitSecs = "wait_secs";
constexpr std::string_view kBlockedConcurrency = "concurrency_full";
constexpr std::string_view kBlockedFreeDisk = "free_disk";

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

uint64_t JobGaugeBytes(const CompactionJob& job, double read_amp_share) {
  const CompactionInfo& info = job.info();
  if (read_amp_share > 0) return std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(info.disk_bytes) * read_amp_share));
  return info.disk_bytes > info.live_bytes ? info.disk_bytes - info.live_bytes : 1;
}

}  // namespace

// One channel: its settings, its queue and its running jobs.
struct SmooshDaemon::Channel {
  // Read-amplification channels: the share of a database's bytes its
  // compaction is worth to the gauge (see ChannelQueue::Item).
  double read_amp_share(double priority) const {
    if (settings.rule.kind != PriorityKind::kSegments || priority <= 0) return 0;
    if (std::isinf(priority)) return 1;
    return std::max(0.0, (priority - settings.rule.min_priority) / priority);
  }

  ChannelSettings settings;
  ChannelQueue queue;
  // Running jobs by id (start order).
  std::map<uint64_t, std::shared_ptr<CompactionJob>> jobs;
  // Items popped by a TakeNextJob that is checking them outside the lock:
  // they count against concurrency, keep a removed channel alive, and are
  // saved with the queue. At most `concurrency` of them.
  std::vector<ChannelQueue::Item> reserved;
  // wait_secs counts from here.
  int64_t created_micros = 0;
  // EndWait ended the wait early (nothing more is coming to choose from).
  bool wait_ended = false;
  bool in_wait(int64_t now_micros, int64_t wait_micros) const {
    return !wait_ended && now_micros < created_micros + wait_micros;
  }
  bool manual_suspended = false;
  // A strict window is closed: running jobs are flagged suspended.
  bool window_suspended = false;
  bool removed = false;
  // Until then the top item waits for free disk (0: not blocked).
  int64_t disk_blocked_until_micros = 0;
  std::string disk_blocked_reason;
  // Queue or running jobs changed since the last save.
  bool dirty = false;
  uint64_t jobs_started = 0;
  uint64_t jobs_succeeded = 0;
  uint64_t jobs_failed = 0;
  uint64_t jobs_dropped = 0;
  uint64_t evicted = 0;
  std::string last_error;

  size_t running_or_reserved() const { return jobs.size() + reserved.size(); }
  void Unreserve(const std::string& database) {
    auto it = std::find_if(reserved.begin(), reserved.end(),
                           [&](const ChannelQueue::Item& item) { return item.database == database; });
    EBB_CHECK(it != reserved.end());
    reserved.erase(it);
  }
};

Result<std::unique_ptr<SmooshDaemon>> SmooshDaemon::Open(const SmooshDaemonOptions& options, const Config& config) {
  if (options.target == nullptr || options.fs == nullptr || options.clock == nullptr) {
    return Status::InvalidArgument("SmooshDaemon::Open needs a CompactionTarget, a FileSystem and a Clock");
  }
  if (options.state_dir.empty()) {
    return Status::InvalidArgument(
        "SmooshDaemon::Open needs state_dir (the directory of the persisted queues; see ResolveSmooshStateDir)");
  }
  std::unique_ptr<SmooshDaemon> daemon(new SmooshDaemon(options, ReadSmooshSettings(config)));
  Status s = daemon->ApplyConfig(config);
  if (!s.ok()) EBB_LOG(kWarn, "smoosh: {}", s.ToString());
  return daemon;
}

SmooshDaemon::SmooshDaemon(const SmooshDaemonOptions& options, const SmooshSettings& settings)
    : target_(options.target),
      fs_(options.fs),
      clock_(options.clock),
      state_dir_(options.state_dir),
      settings_(settings),
      staleness_(settings.staleness_cache_entries) {
  // Channels are created by ApplyConfig, which Open calls next.
  settings_.channels.clear();
}

SmooshDaemon::~SmooshDaemon() {
  bool stopped;
  {
    MutexLock lock(&mu_);
    stopped = stopped_;
  }
  if (!stopped) {
    Status s = Stop();
    if (!s.ok()) EBB_LOG(kWarn, "smoosh: saving queues on shutdown failed: {}", s.ToString());
  }
}

// ---------------------------------------------------------------------------
// Notifications and evaluation.

bool SmooshDaemon::OnDatabaseResized(std::string_view database) {
  if (!ValidateQueuedName(database).ok()) return false;
  MutexLock lock(&mu_);
  if (stopped_) return false;
  if (auto it = active_by_db_.find(database); it != active_by_db_.end()) {
    it->second->changed_since_start_.store(true, std::memory_order_release);
    return false;
  }
  if (pending_set_.find(database) != pending_set_.end()) return false;
  size_t before = pending_.size();
  AddPendingLocked(std::string(database));
  return pending_.size() > before;
}

namespace {

// A fresh memo: (fresh-until in milliseconds << kMemoGenerationBits) | low
// bits of the staleness cache's generation. 0: nothing known.
constexpr int kMemoGenerationBits = 20;
constexpr uint64_t kMemoGenerationMask = (uint64_t{1} << kMemoGenerationBits) - 1;

}  // namespace

bool SmooshDaemon::OnDatabaseChanged(std::string_view database, std::atomic<uint64_t>* fresh_memo) {
  if (fresh_memo != nullptr) {
    uint64_t memo = fresh_memo->load(std::memory_order_relaxed);
    if (memo != 0 && (memo & kMemoGenerationMask) == (FreshGeneration() & kMemoGenerationMask) &&
        clock_->NowMicros() < static_cast<int64_t>(memo >> kMemoGenerationBits) * 1000) {
      return false;
    }
  }
  if (!ValidateQueuedName(database).ok()) return false;
  MutexLock lock(&mu_);
  if (stopped_) return false;
  if (auto it = active_by_db_.find(database); it != active_by_db_.end()) {
    // Being compacted: look at it again when the job ends.
    it->second->changed_since_start_.store(true, std::memory_order_release);
    return false;
  }
  if (pending_set_.find(database) != pending_set_.end()) return false;
  int64_t now = clock_->NowMicros();
  staleness_.Expire(now, settings_.staleness_micros);
  if (staleness_.IsFresh(database, now, settings_.staleness_micros)) {
    if (fresh_memo != nullptr) {
      // Read under mu_, so no job start or early drop can come between the
      // check above and the generation recorded here.
      int64_t until_ms = staleness_.FreshUntil(database, settings_.staleness_micros) / 1000;
      if (until_ms > 0 && until_ms < (int64_t{1} << (64 - kMemoGenerationBits))) {
        fresh_memo->store((static_cast<uint64_t>(until_ms) << kMemoGenerationBits) |
                              (staleness_.generation() & kMemoGenerationMask),
                          std::memory_order_relaxed);
      }
    }
    return false;
  }
  size_t before = pending_.size();
  AddPendingLocked(std::string(database));
  return pending_.size() > before;
}

void SmooshDaemon::AddPendingLocked(const std::string& database) {
  if (!pending_set_.insert(database).second) return;
  if (pending_.size() >= kMaxPendingEvaluations) {
    pending_set_.erase(database);
    events_dropped_++;
    return;
  }
  pending_.push_back(database);
}

void SmooshDaemon::OnDatabaseDropped(std::string_view database) {
  MutexLock lock(&mu_);
  int64_t now = clock_->NowMicros();
  RemoveFromQueuesLocked(database, nullptr, now);
  std::string name(database);
  retries_.erase(name);
  failures_.erase(name);
  staleness_.Erase(name);
  // A pending evaluation finds the database missing and queues nothing.
}

void SmooshDaemon::RemoveFromQueuesLocked(std::string_view database, const Channel* except, int64_t now_micros) {
  for (auto& ch : channels_) {
    if (ch.get() != except && ch->queue.Remove(database)) MarkDirtyLocked(ch.get(), now_micros);
  }
}

EnqueueResult SmooshDaemon::EvaluateLocked(const std::string& database, const std::optional<CompactionInfo>& info,
                                           int64_t now_micros) {
  EnqueueResult result;
  staleness_.Record(database, now_micros);
  if (auto it = active_by_db_.find(database); it != active_by_db_.end()) {
    // CouchDB ignores an item that is active; the job's end re-evaluates it.
    it->second->changed_since_start_.store(true, std::memory_order_release);
    result.channel = it->second->channel();
    result.priority = it->second->priority();
    result.already_running = true;
    return result;
  }
  // The first channel, in configured order, with a non-zero priority wins.
  for (auto& ch : channels_) {
    if (ch->removed) continue;
    double priority = ComputePriority(ch->settings.rule, info);
    if (priority <= 0) continue;
    double quantized = QuantizePriority(priority);
    // A database waits in one queue only.
    RemoveFromQueuesLocked(database, ch.get(), now_micros);
    std::vector<std::string> evicted;
    auto inserted = ch->queue.Insert({database, quantized, info->disk_bytes, info->live_bytes, ch->read_amp_share(quantized)},
                                     ch->settings.capacity, &evicted);
    if (inserted != ChannelQueue::InsertResult::kUnchanged) MarkDirtyLocked(ch.get(), now_micros);
    ch->evicted += evicted.size() + (inserted == ChannelQueue::InsertResult::kEvicted ? 1 : 0);
    for (const auto& e : evicted) failures_.erase(e);
    result.channel = ch->settings.name;
    result.priority = quantized;
    result.queued = inserted != ChannelQueue::InsertResult::kEvicted;
    EBB_LOG(kDebug, "smoosh {}: {} {} with priority {}", ch->settings.name,
            result.queued ? "queued" : "rejected at capacity", database, quantized);
    return result;
  }
  // No channel wants it (any more).
  RemoveFromQueuesLocked(database, nullptr, now_micros);
  failures_.erase(database);
  return result;
}

Result<EnqueueResult> SmooshDaemon::Enqueue(std::string_view database) {
  if (Status s = ValidateQueuedName(database); !s.ok()) return s.WithContext("smoosh enqueue");
  std::string name(database);
  {
    MutexLock lock(&mu_);
    if (stopped_) return Status::Aborted("smoosh enqueue: the compaction daemon is stopped (the store is closing)");
  }
  std::optional<CompactionInfo> info = target_->GetCompactionInfo(name);
  if (!info) {
    return Status::NotFound(fmt::format("smoosh enqueue: database '{}' does not exist; nothing to compact", name));
  }
  MutexLock lock(&mu_);
  if (stopped_) return Status::Aborted("smoosh enqueue: the compaction daemon is stopped (the store is closing)");
  // An explicit request overrides a pending retry's backoff and the limit.
  retries_.erase(name);
  failures_.erase(name);
  return EvaluateLocked(name, info, clock_->NowMicros());
}

EnqueueAllResult SmooshDaemon::EnqueueAll() {
  EnqueueAllResult result;
  std::vector<std::string> names = target_->ListDatabases();
  result.databases = names.size();
  for (const auto& name : names) {
    auto r = Enqueue(name);
    if (r.ok() && r->queued) result.queued++;
    if (!r.ok() && r.status().IsAborted()) break;
  }
  return result;
}

// ---------------------------------------------------------------------------
// Jobs.

std::string_view SmooshDaemon::BlockedLocked(const Channel& ch, int64_t now_micros, std::string* reason) const {
  auto say = [&](std::string text) {
    if (reason != nullptr) *reason = std::move(text);
  };
  const std::string& name = ch.settings.name;
  if (stopped_) {
    say("the compaction daemon is stopped");
    return kBlockedStopped;
  }
  if (ch.removed) {
    say(fmt::format("channel {} is no longer in smoosh.db_channels", name));
    return kBlockedRemoved;
  }
  if (ch.settings.concurrency == 0) {
    say(fmt::format("concurrency is 0; set smoosh.{}.concurrency to enable the channel", name));
    return kBlockedDisabled;
  }
  if (ch.manual_suspended) {
    say(fmt::format("suspended by hand; resume channel {} to start jobs", name));
    return kBlockedSuspended;
  }
  int64_t wall = WallAt(now_micros);
  if (!ch.settings.window.ContainsWall(wall)) {
    auto next = ch.settings.window.NextBoundaryWall(wall);
    int64_t minutes = next ? (*next - wall + 59'999'999) / 60'000'000 : 0;
    say(fmt::format("outside its window {} UTC; opens in {} min", ch.settings.window.ToString(), minutes));
    return kBlockedWindow;
  }
  int64_t unpause = ch.created_micros + settings_.wait_micros;
  if (ch.in_wait(now_micros, settings_.wait_micros)) {
    say(fmt::format("waiting {} s more after start (smoosh.wait_secs) to see more candidates",
                    (unpause - now_micros + 999'999) / 1'000'000));
    return kBlockedWaitSecs;
  }
  if (ch.running_or_reserved() >= static_cast<size_t>(ch.settings.concurrency)) {
    say(fmt::format("{} of {} jobs running (smoosh.{}.concurrency)", ch.running_or_reserved(),
                    ch.settings.concurrency, name));
    return kBlockedConcurrency;
  }
  if (ch.disk_blocked_until_micros > now_micros) {
    say(ch.disk_blocked_reason);
    return kBlockedFreeDisk;
  }
  return {};
}

std::pair<int, int> SmooshDaemon::RefreshJobFlagsLocked(Channel* ch) {
  bool suspend = ch->manual_suspended || ch->window_suspended;
  int suspended = 0, resumed = 0;
  for (auto& [id, job] : ch->jobs) {
    bool was = job->suspended_.exchange(suspend, std::memory_order_acq_rel);
    if (was != suspend) (suspend ? suspended : resumed)++;
  }
  return {suspended, resumed};
}

std::pair<int, int> SmooshDaemon::UpdateWindowLocked(Channel* ch, int64_t now_micros) {
  bool want = !ch->removed && ch->settings.strict_window && !ch->settings.window.ContainsWall(WallAt(now_micros));
  if (want == ch->window_suspended) return {0, 0};
  ch->window_suspended = want;
  EBB_LOG(kInfo, "smoosh {}: strict window {} {}; {} running jobs {}", ch->settings.name,
          ch->settings.window.ToString(), want ? "closed" : "opened", ch->jobs.size(),
          want ? "suspended" : (ch->manual_suspended ? "stay suspended by hand" : "resumed"));
  return RefreshJobFlagsLocked(ch);
}

std::shared_ptr<CompactionJob> SmooshDaemon::TakeNextJob(int64_t now_micros) {
  std::optional<Result<uint64_t>> free_disk;  // asked at most once per call
  for (int attempt = 0; attempt < kMaxTakeAttempts; attempt++) {
    Channel* ch = nullptr;
    ChannelQueue::Item item;
    {
      MutexLock lock(&mu_);
      if (stopped_) return nullptr;
      // Candidates: the top item of every channel that may start a job now.
      // Best: interrupted by the last shutdown (+infinity) first, then most
      // reclaimable bytes, then configured order.
      std::tuple<bool, uint64_t, int64_t> best_key{};
      for (size_t i = 0; i < channels_.size(); i++) {
        Channel* c = channels_[i].get();
        UpdateWindowLocked(c, now_micros);
        if (c->queue.empty() || !BlockedLocked(*c, now_micros, nullptr).empty()) continue;
        const ChannelQueue::Item* top = c->queue.Top();
        std::tuple<bool, uint64_t, int64_t> key{std::isinf(top->priority), top->reclaimable_bytes(),
                                                -static_cast<int64_t>(i)};
        if (ch == nullptr || key > best_key) {
          ch = c;
          best_key = key;
        }
      }
      if (ch == nullptr) return nullptr;
      item = *ch->queue.PopTop();
      MarkDirtyLocked(ch, now_micros);
      if (auto it = active_by_db_.find(item.database); it != active_by_db_.end()) {
        // Already being compacted (by another channel): its end re-evaluates it.
        it->second->changed_since_start_.store(true, std::memory_order_release);
        continue;
      }
      ch->reserved.push_back(item);
    }

    // Fresh sizes, without the lock: the target may take storage locks.
    std::optional<CompactionInfo> info = target_->GetCompactionInfo(item.database);
    if (!free_disk) free_disk = target_->FreeDiskBytes();

    MutexLock lock(&mu_);
    ch->Unreserve(item.database);
    if (stopped_) {
      // Stop saved it as reserved; keep it queued in memory too.
      if (!ch->removed) ch->queue.Insert(item, ch->settings.capacity);
      EraseDrainedChannelsLocked();
      return nullptr;
    }
    if (ch->removed) {
      // The channel went away meanwhile: offer the database to the others.
      AddPendingLocked(item.database);
      EraseDrainedChannelsLocked();
      continue;
    }
    double priority = ComputePriority(ch->settings.rule, info);
    if (priority <= 0) {
      // No longer qualifying here (already compacted, dropped, or its sizes
      // moved since it was queued). CouchDB drops it; Ebb offers it to the
      // channels again with the sizes just read, so what the queues hold is
      // what would start: a database whose ratio fell back under 2 while its
      // segments piled up belongs in segments_dbs now, and one nobody wants
      // leaves the queues (and the compaction class's gauge) at once.
      ch->jobs_dropped++;
      if (info) {
        EnqueueResult moved = EvaluateLocked(item.database, info, now_micros);
        EBB_LOG(kInfo, "smoosh {}: not compacting {} here: its priority is now 0{}", ch->settings.name,
                item.database, moved.channel.empty() ? "" : fmt::format("; queued in {}", moved.channel));
      } else {
        EBB_LOG(kInfo, "smoosh {}: not compacting {}: it no longer exists", ch->settings.name, item.database);
      }
      continue;
    }
    if (free_disk->ok()) {
      uint64_t needed = SaturatingAdd(info->live_bytes, settings_.free_disk_margin_bytes);
      uint64_t available = **free_disk;
      if (available < needed) {
        ch->queue.Insert({item.database, item.priority, info->disk_bytes, info->live_bytes, ch->read_amp_share(item.priority)}, ch->settings.capacity);
        ch->disk_blocked_until_micros = now_micros + settings_.free_disk_recheck_micros;
        ch->disk_blocked_reason = fmt::format(
            "not enough free disk to compact {}: needs {} (live data {} + smoosh.free_disk_margin {}), {} free",
            item.database, FormatBytes(needed), FormatBytes(info->live_bytes),
            FormatBytes(settings_.free_disk_margin_bytes), FormatBytes(available));
        EBB_LOG(kWarn, "smoosh {}: {}", ch->settings.name, ch->disk_blocked_reason);
        continue;
      }
    } else {
      EBB_LOG(kWarn, "smoosh {}: free disk unknown ({}); starting {} without the check", ch->settings.name,
              free_disk->status().ToString(), item.database);
    }
    if (active_by_db_.count(item.database) != 0 ||
        ch->jobs.size() >= static_cast<size_t>(ch->settings.concurrency)) {
      // Another caller started it, or concurrency was lowered meanwhile.
      ch->queue.Insert(item, ch->settings.capacity);
      continue;
    }
    auto failures = failures_.find(item.database);
    int attempt_number = 1 + (failures == failures_.end() ? 0 : failures->second);
    auto job = std::make_shared<CompactionJob>(next_job_id_++, item.database, ch->settings.name,
                                               QuantizePriority(priority), *info, attempt_number, now_micros);
    job->suspended_.store(ch->manual_suspended || ch->window_suspended, std::memory_order_release);
    ch->jobs.emplace(job->id(), job);
    active_by_db_.emplace(job->database(), job);
    // Notifications must reach the job (changed_since_start), not a memo.
    staleness_.Invalidate();
    ch->jobs_started++;
    MarkDirtyLocked(ch, now_micros);
    EBB_LOG(kInfo, "smoosh {}: starting compaction of {} (priority {}, live {}, attempt {})", ch->settings.name,
            job->database(), job->priority(), FormatBytes(info->live_bytes), attempt_number);
    return job;
  }
  return nullptr;
}

bool SmooshDaemon::JobFinished(const std::shared_ptr<CompactionJob>& job, const Status& status) {
  if (job == nullptr) return false;
  MutexLock lock(&mu_);
  Channel* ch = nullptr;
  for (auto& c : channels_) {
    if (c->jobs.count(job->id()) != 0) {
      ch = c.get();
      break;
    }
  }
  // Unknown or already finished: a second report must not free a second slot.
  if (ch == nullptr) return false;
  ch->jobs.erase(job->id());
  if (auto it = active_by_db_.find(job->database()); it != active_by_db_.end() && it->second == job) {
    active_by_db_.erase(it);
  }
  int64_t now = clock_->NowMicros();
  MarkDirtyLocked(ch, now);
  // A finished job changes free disk: let waiting channels check again.
  for (auto& c : channels_) c->disk_blocked_until_micros = 0;
  const std::string& db = job->database();

  if (status.ok()) {
    ch->jobs_succeeded++;
    failures_.erase(db);
    staleness_.Erase(db);
    if (job->changed_since_start_.load(std::memory_order_acquire)) AddPendingLocked(db);
    EBB_LOG(kInfo, "smoosh {}: compacted {}", ch->settings.name, db);
  } else if (status.IsAborted()) {
    // Cancelled, not failed: it waits again where it was.
    if (!ch->removed) {
      ch->queue.Insert({db, job->priority(), job->info().disk_bytes, job->info().live_bytes, ch->read_amp_share(job->priority())}, ch->settings.capacity);
    } else if (!stopped_) {
      AddPendingLocked(db);
    }
  } else {
    ch->jobs_failed++;
    ch->last_error = fmt::format("{}: {}", db, status.ToString());
    int failures = ++failures_[db];
    if (failures > settings_.retry_limit) {
      failures_.erase(db);
      EBB_LOG(kError,
              "smoosh {}: compaction of {} failed {} times in a row ({}); not retrying until it changes again or "
              "is enqueued by hand",
              ch->settings.name, db, failures, status.ToString());
    } else if (retries_.size() >= kMaxPendingRetries) {
      failures_.erase(db);
      EBB_LOG(kWarn, "smoosh {}: compaction of {} failed ({}); {} retries already pending, not retrying",
              ch->settings.name, db, status.ToString(), retries_.size());
    } else {
      retries_[db] = now + settings_.retry_backoff_micros;
      EBB_LOG(kWarn, "smoosh {}: compaction of {} failed ({}); retrying in {} ms", ch->settings.name, db,
              status.ToString(), settings_.retry_backoff_micros / 1000);
    }
    // Bound the failure counts even if databases fail and then vanish.
    if (failures_.size() > kMaxPendingRetries) failures_.clear();
  }
  EraseDrainedChannelsLocked();
  return true;
}

void SmooshDaemon::EraseDrainedChannelsLocked() {
  std::erase_if(channels_, [](const std::unique_ptr<Channel>& ch) {
    return ch->removed && ch->jobs.empty() && ch->reserved.empty();
  });
}

// ---------------------------------------------------------------------------
// Control.

void SmooshDaemon::Suspend() { SetAllSuspended(true); }
void SmooshDaemon::Resume() { SetAllSuspended(false); }
Status SmooshDaemon::Suspend(std::string_view channel) { return SetChannelSuspended(channel, true); }
Status SmooshDaemon::Resume(std::string_view channel) { return SetChannelSuspended(channel, false); }

void SmooshDaemon::SetAllSuspended(bool suspended) {
  MutexLock lock(&mu_);
  all_suspended_ = suspended;
  for (auto& ch : channels_) {
    ch->manual_suspended = suspended;
    RefreshJobFlagsLocked(ch.get());
  }
}

Status SmooshDaemon::SetChannelSuspended(std::string_view channel, bool suspended) {
  MutexLock lock(&mu_);
  Channel* ch = FindChannelLocked(channel);
  if (ch == nullptr) {
    return Status::NotFound(fmt::format("smoosh channel '{}' does not exist; channels are: {}", channel,
                                        fmt::join(ChannelNamesLocked(), ", ")));
  }
  ch->manual_suspended = suspended;
  RefreshJobFlagsLocked(ch);
  return Status::OK();
}

SmooshDaemon::Channel* SmooshDaemon::FindChannelLocked(std::string_view name) const {
  for (const auto& ch : channels_) {
    if (ch->settings.name == name) return ch.get();
  }
  return nullptr;
}

std::vector<std::string> SmooshDaemon::ChannelNamesLocked() const {
  std::vector<std::string> names;
  for (const auto& ch : channels_) names.push_back(ch->settings.name);
  return names;
}

Status SmooshDaemon::ApplyConfig(const Config& config) {
  SmooshSettings settings = ReadSmooshSettings(config);
  // Read the queue files of channels this call creates, without the lock.
  std::map<std::string, std::optional<std::vector<PersistedItem>>> loaded;
  if (settings.persist) {
    std::vector<std::string> existing;
    {
      MutexLock lock(&mu_);
      if (stopped_) return Status::OK();
      existing = ChannelNamesLocked();
    }
    for (const auto& cs : settings.channels) {
      if (std::find(existing.begin(), existing.end(), cs.name) == existing.end()) {
        loaded[cs.name] = LoadQueueFile(cs.name);
      }
    }
  }
  {
    MutexLock lock(&mu_);
    if (stopped_) return Status::OK();
    ApplySettingsLocked(settings, &loaded, clock_->NowMicros());
  }
  if (!settings.ignored_channels.empty()) {
    return Status::InvalidArgument(fmt::format(
        "smoosh.db_channels lists more than {} channels; ignoring {}", kMaxSmooshChannels,
        fmt::join(settings.ignored_channels, ", ")));
  }
  return Status::OK();
}

void SmooshDaemon::ApplySettingsLocked(const SmooshSettings& settings,
                                       std::map<std::string, std::optional<std::vector<PersistedItem>>>* loaded,
                                       int64_t now) {
  bool persist_turned_on = settings.persist && !settings_.persist;
  settings_ = settings;
  staleness_.Invalidate();  // the staleness period may have changed
  if (!settings_.persist) dirty_since_micros_.reset();
  staleness_.SetMaxEntries(settings_.staleness_cache_entries);

  std::vector<std::unique_ptr<Channel>> ordered;
  for (const ChannelSettings& cs : settings_.channels) {
    auto it = std::find_if(channels_.begin(), channels_.end(),
                           [&](const std::unique_ptr<Channel>& c) { return c->settings.name == cs.name; });
    std::unique_ptr<Channel> ch;
    if (it != channels_.end()) {
      ch = std::move(*it);
      channels_.erase(it);
      if (ch->removed) {
        // Back in the list before its last jobs ended: a fresh start.
        ch->removed = false;
        ch->created_micros = now;
        ch->manual_suspended = all_suspended_;
        EBB_LOG(kInfo, "smoosh: channel {} is back in smoosh.db_channels", cs.name);
      }
      ch->settings = cs;
    } else {
      ch = std::make_unique<Channel>();
      ch->settings = cs;
      ch->created_micros = now;
      ch->manual_suspended = all_suspended_;
      size_t restored = 0;
      auto file = loaded->find(cs.name);
      if (file != loaded->end()) {
        if (!file->second) {
          // Corrupt: replace it with the (empty) queue at the next save.
          MarkDirtyLocked(ch.get(), now);
        } else {
          for (const PersistedItem& p : *file->second) {
            if (active_by_db_.count(p.database) != 0) continue;
            ch->queue.Insert({p.database, p.priority, p.disk_bytes, p.live_bytes, ch->read_amp_share(p.priority)}, cs.capacity);
            // As CouchDB does: a restored database is not re-evaluated by
            // the next writes for `staleness`.
            staleness_.Record(p.database, now);
          }
          restored = ch->queue.size();
        }
      }
      EBB_LOG(kDebug, "smoosh: channel {} created ({} priority{}, {} restored from its queue file)", cs.name,
              PriorityKindName(cs.rule.kind), cs.window.always_open() ? "" : ", window " + cs.window.ToString(),
              restored);
    }
    files_to_delete_.erase(cs.name);
    std::vector<std::string> evicted;
    ch->queue.Truncate(ch->settings.capacity, &evicted);
    if (!evicted.empty()) {
      ch->evicted += evicted.size();
      MarkDirtyLocked(ch.get(), now);
    }
    if (ch->settings.rule.min_priority >= ch->settings.rule.max_priority) {
      EBB_LOG(kWarn, "smoosh.{}: min_priority {} >= max_priority {}: the channel accepts nothing", cs.name,
              ch->settings.rule.min_priority, ch->settings.rule.max_priority);
    }
    UpdateWindowLocked(ch.get(), now);
    RefreshJobFlagsLocked(ch.get());
    ordered.push_back(std::move(ch));
  }

  // Channels no longer configured (built-in or not: CouchDB bug 4378).
  for (auto& ch : channels_) {
    if (!ch->removed) {
      ch->removed = true;
      // Its running jobs finish; they are no longer this channel's to hold.
      ch->manual_suspended = false;
      ch->window_suspended = false;
      RefreshJobFlagsLocked(ch.get());
      size_t moved = ch->queue.size();
      for (const auto& item : ch->queue.ItemsInPopOrder()) {
        staleness_.Erase(item.database);
        AddPendingLocked(item.database);
      }
      ch->queue = ChannelQueue();
      ch->disk_blocked_until_micros = 0;
      if (settings_.persist) {
        files_to_delete_.insert(ch->settings.name);
        if (!dirty_since_micros_) dirty_since_micros_ = now;
      }
      EBB_LOG(kInfo, "smoosh: channel {} removed; {} waiting databases offered to the other channels, {} running "
              "jobs finish", ch->settings.name, moved, ch->jobs.size());
    }
    ordered.push_back(std::move(ch));
  }
  channels_ = std::move(ordered);
  EraseDrainedChannelsLocked();
  if (persist_turned_on) {
    for (auto& ch : channels_) {
      if (!ch->removed) MarkDirtyLocked(ch.get(), now);
    }
  }
}

// ---------------------------------------------------------------------------
// Time.

int64_t SmooshDaemon::WallAt(int64_t now_micros) const {
  return now_micros + (clock_->WallMicros() - clock_->NowMicros());
}

int64_t SmooshDaemon::MonoAtWall(int64_t wall_micros) const {
  return wall_micros - (clock_->WallMicros() - clock_->NowMicros());
}

void SmooshDaemon::MarkDirtyLocked(Channel* ch, int64_t now_micros) {
  if (!settings_.persist || ch->removed) return;
  ch->dirty = true;
  if (!dirty_since_micros_) dirty_since_micros_ = now_micros;
}

bool SmooshDaemon::AnyRunnableLocked(int64_t now_micros) const {
  for (const auto& ch : channels_) {
    if (!ch->queue.empty() && BlockedLocked(*ch, now_micros, nullptr).empty()) return true;
  }
  return false;
}

std::optional<int64_t> SmooshDaemon::NextDeadline() const {
  MutexLock lock(&mu_);
  if (stopped_) return std::nullopt;
  int64_t now = clock_->NowMicros();
  std::optional<int64_t> deadline;
  auto consider = [&](int64_t t) {
    if (!deadline || t < *deadline) deadline = t;
  };
  if (!pending_.empty()) consider(now);
  for (const auto& [db, due] : retries_) consider(due);
  for (const auto& ch : channels_) {
    if (ch->removed) continue;
    // Time matters to a channel only if it could start what waits in it, or
    // must suspend what runs at a strict window's close.
    bool can_start = ch->settings.concurrency > 0 && !ch->manual_suspended;
    bool waiting = can_start && !ch->queue.empty();
    bool strict_running = ch->settings.strict_window && !ch->manual_suspended && !ch->jobs.empty();
    if (waiting && ch->in_wait(now, settings_.wait_micros)) consider(ch->created_micros + settings_.wait_micros);
    if (waiting || strict_running) {
      if (auto boundary = ch->settings.window.NextBoundaryWall(WallAt(now))) consider(MonoAtWall(*boundary));
    }
    if (waiting && ch->disk_blocked_until_micros > 0) consider(ch->disk_blocked_until_micros);
  }
  if (settings_.persist && dirty_since_micros_) consider(*dirty_since_micros_ + settings_.checkpoint_micros);
  return deadline;
}

TickResult SmooshDaemon::Tick(int64_t now_micros) {
  TickResult result;
  std::vector<std::string> batch;
  {
    MutexLock lock(&mu_);
    if (stopped_) return result;
    // Failed jobs whose backoff ended are offered to the channels again,
    // bypassing the staleness cache.
    for (auto it = retries_.begin(); it != retries_.end();) {
      if (it->second <= now_micros) {
        AddPendingLocked(it->first);
        result.retried++;
        it = retries_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& ch : channels_) {
      auto [suspended, resumed] = UpdateWindowLocked(ch.get(), now_micros);
      result.jobs_suspended += suspended;
      result.jobs_resumed += resumed;
      if (ch->disk_blocked_until_micros > 0 && ch->disk_blocked_until_micros <= now_micros) {
        ch->disk_blocked_until_micros = 0;
      }
    }
    staleness_.Expire(now_micros, settings_.staleness_micros);
    while (!pending_.empty() && batch.size() < kMaxEvaluationsPerTick) {
      batch.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
  }

  // The expensive part, without the lock.
  std::vector<std::optional<CompactionInfo>> infos;
  infos.reserve(batch.size());
  for (const auto& name : batch) infos.push_back(target_->GetCompactionInfo(name));

  bool checkpoint_due = false;
  {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < batch.size(); i++) {
      pending_set_.erase(batch[i]);
      if (stopped_) continue;
      // A failed job waits out its backoff even if it changes meanwhile.
      if (auto retry = retries_.find(batch[i]); retry != retries_.end() && retry->second > now_micros) continue;
      EvaluateLocked(batch[i], infos[i], now_micros);
      result.evaluated++;
    }
    result.runnable = !stopped_ && AnyRunnableLocked(now_micros);
    checkpoint_due = !stopped_ && settings_.persist && dirty_since_micros_ &&
                     now_micros >= *dirty_since_micros_ + settings_.checkpoint_micros;
  }
  if (checkpoint_due) result.checkpointed = SaveQueues(/*all=*/false).ok();
  return result;
}

uint64_t SmooshDaemon::ReclaimableLocked(int64_t now_micros) const {
  uint64_t total = 0;
  for (const auto& ch : channels_) {
    if (!ch->queue.empty()) {
      std::string_view blocked = BlockedLocked(*ch, now_micros, nullptr);
      // Waiting behind a running job is still work the class will do.
      if (blocked.empty() || blocked == kBlockedConcurrency) total = SaturatingAdd(total, ch->queue.gauge_bytes());
    }
    for (const auto& [id, job] : ch->jobs) {
      if (!job->suspended()) total = SaturatingAdd(total, JobGaugeBytes(*job, ch->read_amp_share(job->priority())));
    }
  }
  return total;
}

uint64_t SmooshDaemon::ReclaimableBytes() const {
  MutexLock lock(&mu_);
  return ReclaimableLocked(clock_->NowMicros());
}

bool SmooshDaemon::HoldsWorkInWait() const {
  MutexLock lock(&mu_);
  if (stopped_) return false;
  const int64_t now = clock_->NowMicros();
  for (const auto& ch : channels_) {
    if (!ch->queue.empty() && BlockedLocked(*ch, now, nullptr) == kBlockedWaitSecs) return true;
  }
  return false;
}

uint64_t SmooshDaemon::HeldInWaitBytes() const {
  MutexLock lock(&mu_);
  if (stopped_) return 0;
  const int64_t now = clock_->NowMicros();
  uint64_t total = 0;
  for (const auto& ch : channels_) {
    if (!ch->queue.empty() && BlockedLocked(*ch, now, nullptr) == kBlockedWaitSecs) {
      total = SaturatingAdd(total, ch->queue.gauge_bytes());
    }
  }
  return total;
}

void SmooshDaemon::EndWait(std::string_view why) {
  MutexLock lock(&mu_);
  const int64_t now = clock_->NowMicros();
  for (auto& ch : channels_) {
    if (ch->removed || !ch->in_wait(now, settings_.wait_micros)) continue;
    ch->wait_ended = true;
    EBB_LOG(kDebug, "smoosh {}: wait_secs ended early: {}", ch->settings.name, why);
  }
}

// ---------------------------------------------------------------------------
// Status.

SmooshStatus SmooshDaemon::GetStatus() const {
  MutexLock lock(&mu_);
  int64_t now = clock_->NowMicros();
  SmooshStatus status;
  for (const auto& ch : channels_) {
    SmooshChannelStatus cs;
    cs.name = ch->settings.name;
    cs.priority = std::string(PriorityKindName(ch->settings.rule.kind));
    for (const auto& [id, job] : ch->jobs) {
      SmooshJobStatus js;
      js.id = job->id();
      js.database = job->database();
      js.priority = job->priority();
      js.running = job->running();
      js.suspended = job->suspended();
      js.progress_bytes = job->progress_bytes();
      js.live_bytes = job->info().live_bytes;
      js.attempt = job->attempt();
      js.age_ms = (now - job->started_micros()) / 1000;
      (js.running ? cs.active : cs.starting)++;
      cs.jobs.push_back(std::move(js));
    }
    cs.waiting.size = ch->queue.size();
    cs.waiting.min = ch->queue.min_priority().value_or(0);
    cs.waiting.max = ch->queue.max_priority().value_or(0);
    std::string reason;
    std::string_view blocked = BlockedLocked(*ch, now, &reason);
    cs.paused = !blocked.empty() && blocked != kBlockedConcurrency && blocked != kBlockedFreeDisk;
    if (!ch->queue.empty() && !blocked.empty()) {
      cs.blocked = std::string(blocked);
      cs.blocked_reason = std::move(reason);
    }
    cs.suspended = ch->manual_suspended;
    cs.window_suspended = ch->window_suspended;
    cs.window = ch->settings.window.ToString();
    cs.in_window = ch->settings.window.ContainsWall(WallAt(now));
    cs.strict_window = ch->settings.strict_window;
    cs.concurrency = ch->settings.concurrency;
    cs.capacity = ch->settings.capacity;
    cs.removed = ch->removed;
    cs.jobs_started = ch->jobs_started;
    cs.jobs_succeeded = ch->jobs_succeeded;
    cs.jobs_failed = ch->jobs_failed;
    cs.jobs_dropped = ch->jobs_dropped;
    cs.evicted = ch->evicted;
    cs.last_error = ch->last_error;
    status.channels.push_back(std::move(cs));
  }
  status.suspended = all_suspended_;
  status.stopped = stopped_;
  status.persist = settings_.persist;
  status.state_dir = state_dir_;
  status.pending_evaluations = pending_.size();
  status.pending_retries = retries_.size();
  status.staleness_cache_entries = staleness_.size();
  status.events_dropped = events_dropped_;
  status.reclaimable_bytes = ReclaimableLocked(now);
  status.last_checkpoint_error = last_checkpoint_error_;
  return status;
}

// ---------------------------------------------------------------------------
// Persistence.

std::optional<std::vector<PersistedItem>> SmooshDaemon::LoadQueueFile(const std::string& channel) const {
  std::string path = JoinPath(state_dir_, channel + kQueueFileSuffix);
  if (!fs_->FileExists(path)) return std::vector<PersistedItem>{};
  auto data = ReadFileToString(fs_, path);
  if (!data.ok()) {
    EBB_LOG(kWarn, "smoosh: ignoring queue file {}: cannot read it ({}); channel {} starts empty", path,
            data.status().ToString(), channel);
    return std::nullopt;
  }
  auto items = DecodeQueueFile(*data, path);
  if (!items.ok()) {
    EBB_LOG(kWarn, "smoosh: ignoring queue file {}: {}; channel {} starts empty and the file is replaced at the "
            "next save", path, items.status().ToString(), channel);
    return std::nullopt;
  }
  return std::move(*items);
}

Status SmooshDaemon::SaveQueues(bool all) {
  MutexLock save_lock(&save_mu_);
  struct Write {
    std::string channel;
    std::string data;
  };
  std::vector<Write> writes;
  std::vector<std::string> deletes;
  int64_t checkpoint_micros;
  {
    MutexLock lock(&mu_);
    checkpoint_micros = settings_.checkpoint_micros;
    if (!settings_.persist) {
      dirty_since_micros_.reset();
      return Status::OK();
    }
    for (auto& ch : channels_) {
      if (ch->removed || !(all || ch->dirty)) continue;
      std::vector<PersistedItem> items;
      // Running jobs first, at +infinity, so they start first after a restart.
      for (const auto& [id, job] : ch->jobs) {
        items.push_back({job->database(), kInfinitePriority, job->info().disk_bytes, job->info().live_bytes});
      }
      // About to start (a TakeNextJob is checking them): keep their place.
      for (const auto& item : ch->reserved) {
        items.push_back({item.database, item.priority, item.disk_bytes, item.live_bytes});
      }
      for (const auto& item : ch->queue.ItemsInPopOrder()) {
        if (active_by_db_.count(item.database) != 0) continue;
        items.push_back({item.database, item.priority, item.disk_bytes, item.live_bytes});
      }
      writes.push_back({ch->settings.name, EncodeQueueFile(items)});
      ch->dirty = false;
    }
    deletes.assign(files_to_delete_.begin(), files_to_delete_.end());
    files_to_delete_.clear();
    dirty_since_micros_.reset();
  }

  Status first_error;
  std::vector<std::string> failed_writes, failed_deletes;
  if (!writes.empty()) {
    if (Status s = CreateDirDurably(fs_, state_dir_); !s.ok()) {
      first_error = s;
      for (const auto& w : writes) failed_writes.push_back(w.channel);
      writes.clear();
    }
  }
  for (const auto& w : writes) {
    Status s = WriteFileAtomically(fs_, w.data, JoinPath(state_dir_, w.channel + kQueueFileSuffix));
    if (!s.ok()) {
      if (first_error.ok()) first_error = s;
      failed_writes.push_back(w.channel);
    }
  }
  for (const auto& channel : deletes) {
    std::string path = JoinPath(state_dir_, channel + kQueueFileSuffix);
    if (!fs_->FileExists(path)) continue;
    Status s = fs_->DeleteFile(path);
    if (!s.ok()) {
      if (first_error.ok()) first_error = s;
      failed_deletes.push_back(channel);
    }
  }

  MutexLock lock(&mu_);
  if (first_error.ok()) {
    last_checkpoint_error_.clear();
    return Status::OK();
  }
  // Try again at the next checkpoint deadline.
  int64_t now = clock_->NowMicros();
  for (const auto& name : failed_writes) {
    if (Channel* ch = FindChannelLocked(name)) MarkDirtyLocked(ch, now);
  }
  for (const auto& name : failed_deletes) {
    if (FindChannelLocked(name) == nullptr || FindChannelLocked(name)->removed) files_to_delete_.insert(name);
  }
  if (settings_.persist && !dirty_since_micros_) dirty_since_micros_ = now;
  last_checkpoint_error_ = first_error.ToString();
  EBB_LOG(kWarn, "smoosh: saving queues in {} failed: {}; retrying in {} s", state_dir_, first_error.ToString(),
          checkpoint_micros / 1'000'000);
  return first_error.WithContext(fmt::format("smoosh: saving queues in {}", state_dir_));
}

Status SmooshDaemon::Checkpoint() { return SaveQueues(/*all=*/true); }

Status SmooshDaemon::Stop() {
  {
    MutexLock lock(&mu_);
    if (stopped_) return Status::OK();
    stopped_ = true;
    pending_.clear();
    pending_set_.clear();
  }
  return SaveQueues(/*all=*/true);
}

}  // namespace ebb
