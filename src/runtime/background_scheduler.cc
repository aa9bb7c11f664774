#include "runtime/background_scheduler.h"

#include <algorithm>
#include <set>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "base/logging.h"
#include "base/thread_name.h"
#include "base/thread_priority.h"
#include "base/status_macros.h"

namespace ebb {
namespace {

// Longest single wait of WaitUntilAsleep (it re-checks and waits again).
constexpr int64_t kMaxWaitStepMicros = 3600'000'000LL;

bool ValidClassName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

BackgroundScheduler::BackgroundScheduler(Clock* clock, const WorkSettings& settings)
    : clock_(clock), created_micros_(clock->NowMicros()), settings_(settings) {}

BackgroundScheduler::~BackgroundScheduler() { Stop(); }

Status BackgroundScheduler::RegisterClass(std::string name, WorkSource* source, std::vector<std::string> upstreams,
                                          const WorkClassSettings& settings) {
  if (name == kForegroundClassName) {
    return Status::InvalidArgument(
        "work class name 'foreground' is reserved for the write path; name the class after its work");
  }
  if (!ValidClassName(name)) {
    return Status::InvalidArgument(
        fmt::format("work class name '{}' is invalid; use letters, digits, '_' and '-' only", name));
  }
  if (source == nullptr) return Status::InvalidArgument(fmt::format("work class {}: no WorkSource given", name));
  for (const std::string& up : upstreams) {
    if (up == name) {
      return Status::InvalidArgument(fmt::format("work class {} cannot be its own upstream", name));
    }
  }
  EBB_RETURN_IF_ERROR(settings.Validate(name));
  const bool fed_by_writes = source->FedByWrites();  // a callback: before the lock

  MutexLock lock(&mu_);
  if (classes_.count(name) != 0) {
    return Status::AlreadyExists(fmt::format("work class {} is already registered; unregister it first", name));
  }
  if (classes_.size() >= kMaxWorkClasses) {
    return Status::InvalidArgument(
        fmt::format("cannot register work class {}: at most {} classes are supported", name, kMaxWorkClasses));
  }
  auto next = classes_;
  auto entry = std::make_shared<Entry>(name, source, std::move(upstreams), settings, clock_->NowMicros());
  entry->fed_by_writes = fed_by_writes;
  entry->upstreams_seen_micros = clock_->NowMicros();
  next.emplace(std::move(name), std::move(entry));
  EBB_RETURN_IF_ERROR(RebuildGraphLocked(std::move(next)));
  NotifyLocked();
  return Status::OK();
}

Status BackgroundScheduler::UnregisterClass(std::string_view name) {
  MutexLock lock(&mu_);
  auto it = classes_.find(name);
  if (it == classes_.end()) return Status::NotFound(fmt::format("work class {} is not registered", name));
  std::shared_ptr<Entry> entry = it->second;
  entry->removed = true;
  auto next = classes_;
  next.erase(std::string(name));
  Status s = RebuildGraphLocked(std::move(next));
  EBB_CHECK_MSG(s.ok(), "removing a class cannot create a cycle: {}", s.ToString());
  // The source must not be called once this returns.
  while (entry->running || entry->in_use > 0) change_cv_.Wait();
  NotifyLocked();
  return Status::OK();
}

Status BackgroundScheduler::RebuildGraphLocked(std::map<std::string, std::shared_ptr<Entry>, std::less<>> classes) {
  // Kahn's algorithm over the registered classes; edges to names that are
  // not registered are ignored.
  std::map<std::string, std::set<std::string>, std::less<>> registered_upstreams;
  std::map<std::string, int, std::less<>> indegree;
  for (const auto& [name, entry] : classes) {
    std::set<std::string>& ups = registered_upstreams[name];
    for (const std::string& up : entry->cls.upstreams()) {
      if (classes.count(up) != 0) ups.insert(up);
    }
    indegree[name] = static_cast<int>(ups.size());
  }
  std::deque<std::string> ready;
  for (const auto& [name, degree] : indegree) {
    if (degree == 0) ready.push_back(name);
  }
  std::vector<std::shared_ptr<Entry>> order;
  while (!ready.empty()) {
    std::string name = std::move(ready.front());
    ready.pop_front();
    order.push_back(classes.at(name));
    for (const auto& [other, ups] : registered_upstreams) {
      if (ups.count(name) != 0 && --indegree[other] == 0) ready.push_back(other);
    }
  }
  if (order.size() != classes.size()) {
    std::vector<std::string> cycle;
    for (const auto& [name, degree] : indegree) {
      if (degree > 0) cycle.push_back(name);
    }
    return Status::InvalidArgument(fmt::format(
        "work classes {} depend on each other in a cycle; remove one of their upstream edges",
        fmt::join(cycle, ", ")));
  }
  for (const auto& entry : order) {
    entry->upstream_entries.clear();
    entry->upstream_foreground = false;
    for (const std::string& up : registered_upstreams[entry->cls.name()]) {
      entry->upstream_entries.push_back(classes.at(up).get());
    }
    const auto& declared = entry->cls.upstreams();
    entry->upstream_foreground = entry->upstream_entries.empty() ||
                                 std::find(declared.begin(), declared.end(), kForegroundClassName) != declared.end();
  }
  classes_ = std::move(classes);
  order_ = std::move(order);
  return Status::OK();
}

void BackgroundScheduler::NoteForegroundWork(uint64_t bytes) {
  // The byte count's update and the flag load are the two halves of a
  // Dekker handshake with the dispatcher (which stores the flag, then loads
  // the count): seq_cst guarantees one of them sees the other, so a
  // dispatcher going to sleep either notices this write or gets notified.
  last_foreground_micros_.store(clock_->NowMicros(), std::memory_order_seq_cst);
  const uint64_t total = foreground_bytes_.fetch_add(bytes, std::memory_order_seq_cst) + bytes;
  if (!wake_on_foreground_.load(std::memory_order_seq_cst)) return;
  // Read after the flag: the dispatcher wrote them before setting it.
  if (total - wake_base_bytes_.load(std::memory_order_relaxed) < wake_threshold_bytes_.load(std::memory_order_relaxed)) {
    return;  // a trickle the dispatcher does not need to hear about before its deadline
  }
  if (!wake_on_foreground_.exchange(false, std::memory_order_seq_cst)) return;
  {
    MutexLock lock(&mu_);
    foreground_notifications_++;
    notified_ = true;
  }
  // Signalled without the lock, so the dispatcher does not wake only to wait for it.
  dispatch_cv_.Signal();
}

Status BackgroundScheduler::Kick(std::string_view name) {
  MutexLock lock(&mu_);
  auto it = classes_.find(name);
  if (it == classes_.end()) return Status::NotFound(fmt::format("cannot kick work class {}: not registered", name));
  it->second->cls.Kick();
  NotifyLocked();
  return Status::OK();
}

void BackgroundScheduler::Notify() {
  MutexLock lock(&mu_);
  NotifyLocked();
}

void BackgroundScheduler::NotifyLocked() {
  notified_ = true;
  dispatch_cv_.Signal();
}

Status BackgroundScheduler::Start() {
  MutexLock lock(&mu_);
  if (started_) return Status::InvalidArgument("background scheduler is already started; call Stop first");
  started_ = true;
  stopping_ = false;
  threads_ = settings_.threads;
  try {
    threads_list_.emplace_back([this] {
      SetCurrentThreadName("ebb-bg-dispatch");
      ThreadStarted();
      DispatcherLoop();
    });
    for (int i = 0; i < threads_; i++) {
      threads_list_.emplace_back([this, i] {
        SetCurrentThreadName(fmt::format("ebb-bg-{}", i + 1));
        ThreadStarted();
        WorkerLoop();
      });
    }
  } catch (const std::system_error& e) {
    std::vector<std::thread> started;
    started.swap(threads_list_);
    stopping_ = true;
    dispatch_cv_.SignalAll();
    work_cv_.SignalAll();
    mu_.Unlock();
    for (auto& t : started) t.join();
    mu_.Lock();
    thread_ids_.clear();
    started_ = false;
    stopping_ = false;
    return Status::Internal(fmt::format("background scheduler could not start its threads: {}", e.what()));
  }
  return Status::OK();
}

void BackgroundScheduler::Stop() {
  std::vector<std::thread> threads;
  {
    MutexLock lock(&mu_);
    if (!started_) return;
    if (stopping_) {
      // Another caller is stopping; wait for it to finish.
      while (started_) change_cv_.Wait();
      return;
    }
    stopping_ = true;
    dispatch_cv_.SignalAll();
    work_cv_.SignalAll();
    change_cv_.SignalAll();
    threads.swap(threads_list_);
  }
  for (auto& t : threads) t.join();
  MutexLock lock(&mu_);
  for (const Pass& pass : queue_) pass.entry->running = false;
  queue_.clear();
  thread_ids_.clear();
  started_ = false;
  stopping_ = false;
  asleep_ = false;
  armed_deadline_micros_.reset();
  wake_on_foreground_.store(false);
  change_cv_.SignalAll();
}

std::optional<int64_t> BackgroundScheduler::RunOnce() {
  MutexLock lock(&mu_);
  EBB_CHECK_MSG(!started_, "BackgroundScheduler::RunOnce is for a scheduler that is not started");
  notified_ = false;
  wake_on_foreground_.store(false, std::memory_order_seq_cst);
  RoundLocked(/*run_inline=*/true);
  armed_deadline_micros_ = ArmWaitLocked();
  return armed_deadline_micros_;
}

bool BackgroundScheduler::TakeNotification() {
  MutexLock lock(&mu_);
  return std::exchange(notified_, false);
}

std::optional<int64_t> BackgroundScheduler::ArmWaitLocked() {
  std::optional<int64_t> deadline = NextDeadlineLocked();
  const int64_t now = clock_->NowMicros();
  const int64_t interval = settings_.interval_micros();
  if (!deadline || *deadline - now > interval) {
    // A long or unbounded wait: ask the write path to wake us — at its
    // first write if a class it feeds has nothing armed (it would not
    // otherwise notice, and must start the age of that work), else only
    // once it has written enough to be worth a pass (a trickle waits for
    // the deadline already armed). If it wrote that much since the round
    // looked, the round may be stale: look again within an interval (not
    // at once, so a stuck class under constant writes does not make this
    // loop spin).
    const uint64_t threshold = ForegroundWakeThresholdLocked();
    wake_base_bytes_.store(foreground_seen_bytes_, std::memory_order_relaxed);
    wake_threshold_bytes_.store(threshold, std::memory_order_relaxed);
    wake_on_foreground_.store(true, std::memory_order_seq_cst);
    const uint64_t written = foreground_bytes_.load(std::memory_order_seq_cst) - foreground_seen_bytes_;
    if (last_foreground_micros_.load(std::memory_order_seq_cst) != foreground_seen_micros_ && written >= threshold) {
      wake_on_foreground_.store(false, std::memory_order_seq_cst);
      deadline = std::min(deadline.value_or(INT64_MAX), now + interval);
    }
  }
  return deadline;
}

bool BackgroundScheduler::WaitUntilAsleep(int64_t deadline_micros) {
  MutexLock lock(&mu_);
  while (!asleep_) {
    if (!started_ || stopping_) return false;
    const int64_t now = clock_->NowMicros();
    if (now >= deadline_micros) return false;
    // In steps, so a far deadline never overflows a real clock's wait.
    clock_->WaitUntil(&change_cv_, std::min(deadline_micros, now + kMaxWaitStepMicros));
  }
  return true;
}

void BackgroundScheduler::DispatcherLoop() {
  MutexLock lock(&mu_);
  while (!stopping_) {
    notified_ = false;
    RoundLocked(/*run_inline=*/false);
    if (stopping_) break;
    if (notified_) continue;  // something changed during the round: look again

    std::optional<int64_t> deadline = ArmWaitLocked();
    armed_deadline_micros_ = deadline;
    asleep_ = !deadline && queue_.empty() && running_passes_ == 0;
    if (asleep_) change_cv_.SignalAll();

    bool timer = false;
    while (!stopping_ && !notified_) {
      if (!deadline) {
        dispatch_cv_.Wait();
        continue;
      }
      clock_->WaitUntil(&dispatch_cv_, *deadline);
      if (clock_->NowMicros() >= *deadline) {
        timer = true;
        break;
      }
    }
    wake_on_foreground_.store(false, std::memory_order_seq_cst);
    asleep_ = false;
    armed_deadline_micros_.reset();
    if (!stopping_) {
      wakeups_++;
      if (timer && !notified_) deadline_wakeups_++;
    }
  }
}

void BackgroundScheduler::WorkerLoop() {
  MutexLock lock(&mu_);
  while (true) {
    while (!stopping_ && queue_.empty()) work_cv_.Wait();
    if (stopping_) return;
    Pass pass = std::move(queue_.front());
    queue_.pop_front();
    if (pass.entry->removed) {
      pass.entry->running = false;
      change_cv_.SignalAll();
      continue;
    }
    RunPassLocked(pass.entry, pass.budget_bytes);
    NotifyLocked();  // the dispatcher re-evaluates the class and its downstreams
  }
}

uint64_t BackgroundScheduler::ForegroundWakeThresholdLocked() const {
  for (const auto& entry : order_) {
    if (entry->upstream_foreground && entry->fed_by_writes && !entry->removed && !entry->running &&
        entry->cls.next_eval_micros() == WorkClass::kNoDeadline) {
      return 0;
    }
  }
  return static_cast<uint64_t>(kMinPassBudgetBytes);
}

void BackgroundScheduler::RoundLocked(bool run_inline) {
  foreground_seen_micros_ = last_foreground_micros_.load(std::memory_order_seq_cst);
  foreground_seen_bytes_ = foreground_bytes_.load(std::memory_order_seq_cst);
  const std::vector<std::shared_ptr<Entry>> order = order_;  // callbacks below may change the graph
  for (const auto& entry : order) {
    if (stopping_) return;
    if (entry->removed || entry->running || !entry->cls.DueAt(clock_->NowMicros())) continue;
    const bool kicked = entry->cls.TakeKick();
    // What the source waits for (the classes above; the foreground for a
    // class right below it alone) was busy since the class was last looked
    // at and is idle now: tell the source before reading its gauge. Busy
    // since then: seen busy then, or quiet only from a moment after then (a
    // burst no round saw, the dispatcher having woken only after it).
    const int64_t seen_now = clock_->NowMicros();
    const UpstreamView seen = UpstreamsLocked(*entry, seen_now);
    const bool busy = seen.holders_busy;
    const bool went_idle =
        !busy && (entry->saw_busy_upstreams || seen.holders_quiet_since_micros > entry->upstreams_seen_micros);
    entry->saw_busy_upstreams = busy;
    entry->upstreams_seen_micros = seen_now;
    entry->in_use++;
    const uint64_t band_high = entry->cls.settings().band_high_bytes;
    // Callbacks run without mu_ (they may Kick or note foreground work).
    mu_.Unlock();
    if (went_idle) entry->source->UpstreamsIdle();
    uint64_t pending = entry->source->PendingBytes();
    bool holds = entry->source->HoldsWorkForUpstreams();
    if (holds) {
      const uint64_t held = entry->source->HeldBytes();
      if (held > 0 && (pending >= band_high || held >= band_high - pending)) {
        // Too much to hold for the classes above (WorkSource::HeldBytes).
        entry->source->ReleaseHeldWork();
        pending = entry->source->PendingBytes();
        holds = entry->source->HoldsWorkForUpstreams();
      }
    }
    const std::optional<int64_t> next_work = pending == 0 ? entry->source->NextWorkMicros() : std::nullopt;
    const bool came_due = pending > 0 && entry->source->PendingCameDue();
    const bool remote = pending > 0 && entry->source->PassesWaitOnNetwork();
    mu_.Lock();
    entry->in_use--;
    if (entry->removed) {
      change_cv_.SignalAll();
      continue;
    }
    const int64_t now = clock_->NowMicros();
    UpstreamView view = UpstreamsLocked(*entry, now);
    view.wake_when_quiet = holds;
    view.pending_came_due = came_due;
    std::optional<uint64_t> budget = entry->cls.Evaluate(now, pending, view, settings_, kicked);
    // Work that will come due by itself: one deadline, no polling.
    if (next_work) entry->cls.EvaluateNoLaterThan(*next_work);
    if (!budget) continue;
    entry->running = true;
    // A lone pass of little work, or of a batch that came due while the
    // store is idle, runs on this thread: handed to a worker it would wake
    // the worker and then this thread again, to look after it.
    const bool lone = queue_.empty() && running_passes_ == 0 && !remote &&
                      (pending < entry->cls.settings().small_pending_bytes() || (came_due && !view.busy));
    if (run_inline) {
      RunPassLocked(entry, *budget);
    } else if (lone) {
      dispatcher_passes_++;
      RunPassLocked(entry, *budget);
      notified_ = true;  // look again at once, as after a worker's pass
    } else {
      queue_.push_back(Pass{entry, *budget});
      work_cv_.Signal();
    }
  }
}

void BackgroundScheduler::RunPassLocked(const std::shared_ptr<Entry>& entry, uint64_t budget_bytes) {
  entry->in_use++;
  running_passes_++;
  const int64_t start = clock_->NowMicros();
  mu_.Unlock();
  const Result<uint64_t> done = entry->source->DoWork(budget_bytes);
  const uint64_t pending_after = entry->source->PendingBytes();
  mu_.Lock();
  const int64_t end = clock_->NowMicros();
  entry->cls.PassDone(start, end, budget_bytes, done, pending_after, settings_);
  entry->running = false;
  entry->in_use--;
  running_passes_--;
  change_cv_.SignalAll();
}

std::optional<int64_t> BackgroundScheduler::NextDeadlineLocked() const {
  std::optional<int64_t> best;
  for (const auto& entry : order_) {
    if (entry->removed || entry->running) continue;  // a finishing pass notifies
    const int64_t deadline = entry->cls.next_eval_micros();
    if (deadline == WorkClass::kNoDeadline) continue;
    best = std::min(best.value_or(deadline), deadline);
  }
  return best;
}

int64_t BackgroundScheduler::ForegroundQuietSinceLocked() const {
  return last_foreground_micros_.load(std::memory_order_relaxed) + settings_.hysteresis_micros();
}

int64_t BackgroundScheduler::QuietSinceLocked(const Entry& entry, int64_t now, bool with_foreground,
                                              std::map<const Entry*, int64_t>* memo) const {
  auto it = memo->find(&entry);
  if (it != memo->end()) return it->second;
  // A class is busy while its pass runs, within the hysteresis of its last
  // work or of holding work it will still do, and while anything above it is
  // busy: under load the whole graph below the foreground counts as busy,
  // even a class that has nothing pending right now or is stuck.
  int64_t quiet_since =
      entry.running ? now + 1 : entry.cls.last_busy_micros() + settings_.hysteresis_micros();
  if (with_foreground && entry.upstream_foreground) quiet_since = std::max(quiet_since, ForegroundQuietSinceLocked());
  for (const Entry* up : entry.upstream_entries) {
    quiet_since = std::max(quiet_since, QuietSinceLocked(*up, now, with_foreground, memo));
  }
  memo->emplace(&entry, quiet_since);
  return quiet_since;
}

void BackgroundScheduler::AboveLocked(const Entry& entry, std::set<const Entry*>* above) const {
  for (const Entry* up : entry.upstream_entries) {
    if (above->insert(up).second) AboveLocked(*up, above);
  }
}

UpstreamView BackgroundScheduler::UpstreamsLocked(const Entry& entry, int64_t now) const {
  // Idle time counts from the scheduler's creation at the earliest: work
  // found at startup is flushed as after a fresh lull, not at once.
  int64_t quiet_since = created_micros_;
  int64_t classes_quiet_since = created_micros_;
  std::map<const Entry*, int64_t> memo, classes_memo;
  if (entry.upstream_foreground) quiet_since = std::max(quiet_since, ForegroundQuietSinceLocked());
  for (const Entry* up : entry.upstream_entries) {
    quiet_since = std::max(quiet_since, QuietSinceLocked(*up, now, /*with_foreground=*/true, &memo));
    classes_quiet_since =
        std::max(classes_quiet_since, QuietSinceLocked(*up, now, /*with_foreground=*/false, &classes_memo));
  }
  UpstreamView view{.busy = now < quiet_since,
                    .quiet_since_micros = quiet_since,
                    .classes_busy = now < classes_quiet_since,
                    .classes_quiet_since_micros = classes_quiet_since};
  // A class right below the foreground and nothing else waits for the
  // foreground; any other for the classes above it.
  const bool foreground_only = entry.upstream_entries.empty();
  view.holders_busy = foreground_only ? view.busy : view.classes_busy;
  view.holders_quiet_since_micros = foreground_only ? view.quiet_since_micros : view.classes_quiet_since_micros;
  // Every class above, through any path.
  std::set<const Entry*> above;
  AboveLocked(entry, &above);
  for (const Entry* up : above) {
    view.real_work_micros = std::max(view.real_work_micros, up->cls.last_real_work_micros());
    if (up->cls.last_age_pass_end_micros() + settings_.hysteresis_micros() >= now) {
      view.aged_work_since_micros = std::min(view.aged_work_since_micros, up->cls.last_age_pass_since_micros());
    }
  }
  return view;
}

void BackgroundScheduler::ThreadStarted() {
  MutexLock lock(&mu_);
  const int tid = CurrentThreadId();
  thread_ids_.push_back(tid);
  if (settings_.nice == 0) return;
  Status status = SetThreadNice(tid, settings_.nice, fmt::format("work.nice, thread {}", CurrentThreadName()));
  if (!status.ok()) EBB_LOG(kWarn, "{}", status.ToString());
}

Status BackgroundScheduler::ApplySettings(const WorkSettings& settings) {
  MutexLock lock(&mu_);
  const bool policy_changed = settings.policy != settings_.policy;
  const bool nice_changed = settings.nice != settings_.nice;
  const int threads = settings_.threads;
  settings_ = settings;
  settings_.threads = threads;  // takes a restart
  if (policy_changed) {
    EBB_LOG(kInfo, "background work policy is now {}", WorkPolicyName(settings.policy));
    for (const auto& entry : order_) entry->cls.ResetForPolicyChange();
  }
  Status first_error;
  if (nice_changed) {
    for (int tid : thread_ids_) {
      Status status = SetThreadNice(tid, settings_.nice, "work.nice, a background thread");
      if (!status.ok() && first_error.ok()) first_error = status;
    }
  }
  NotifyLocked();
  return first_error;
}

Status BackgroundScheduler::SetClassSettings(std::string_view name, const WorkClassSettings& settings) {
  EBB_RETURN_IF_ERROR(settings.Validate(name));
  MutexLock lock(&mu_);
  auto it = classes_.find(name);
  if (it == classes_.end()) return Status::NotFound(fmt::format("work class {} is not registered", name));
  it->second->cls.SetSettings(settings);
  NotifyLocked();
  return Status::OK();
}

Status BackgroundScheduler::ApplyConfig(const Config& config) {
  EBB_ASSIGN_OR_RETURN(WorkSettings settings, WorkSettings::FromConfig(config));
  std::vector<std::string> names;
  {
    MutexLock lock(&mu_);
    for (const auto& [name, entry] : classes_) names.push_back(name);
  }
  Status first_error;
  std::vector<std::pair<std::string, WorkClassSettings>> updates;
  for (const std::string& name : names) {
    Result<WorkClassSettings> class_settings = WorkClassSettings::FromConfig(config, name);
    if (class_settings.ok()) {
      updates.emplace_back(name, *class_settings);
    } else if (first_error.ok()) {
      first_error = class_settings.status();
    }
  }
  Status applied = ApplySettings(settings);
  if (!applied.ok() && first_error.ok()) first_error = applied;
  for (const auto& [name, class_settings] : updates) {
    Status s = SetClassSettings(name, class_settings);
    if (!s.ok() && !s.IsNotFound() && first_error.ok()) first_error = s;  // unregistered meanwhile: fine
  }
  return first_error;
}

WorkSettings BackgroundScheduler::settings() const {
  MutexLock lock(&mu_);
  return settings_;
}

BackgroundSchedulerStatus BackgroundScheduler::GetStatus() const {
  MutexLock lock(&mu_);
  BackgroundSchedulerStatus status;
  status.policy = std::string(WorkPolicyName(settings_.policy));
  status.threads = started_ ? threads_ : 0;
  status.wakeups = wakeups_;
  status.deadline_wakeups = deadline_wakeups_;
  status.dispatcher_passes = dispatcher_passes_;
  status.foreground_notifications = foreground_notifications_;
  status.armed_deadline_micros = armed_deadline_micros_;

  const int64_t now = clock_->NowMicros();
  const int64_t last_foreground = last_foreground_micros_.load(std::memory_order_relaxed);
  const int64_t quiet_since = std::max(ForegroundQuietSinceLocked(), created_micros_);
  WorkClassStatus foreground;
  foreground.name = std::string(kForegroundClassName);
  const bool active = now < quiet_since;
  foreground.state = active ? "active" : "asleep";
  foreground.last_transition_micros = active ? std::max(last_foreground, created_micros_) : quiet_since;
  foreground.bytes_done = foreground_bytes_.load(std::memory_order_relaxed);
  status.classes.push_back(std::move(foreground));
  for (const auto& entry : order_) status.classes.push_back(entry->cls.GetStatus());
  return status;
}

}  // namespace ebb
