// SmooshDaemon: CouchDB smoosh_tests behaviours, the bugs its users hit
// (3144, 4378, windows, no free-disk check), and Ebb's idle contract.
// Time is a ManualClock; files are a MemFileSystem.

#include "compaction/smoosh_daemon.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <thread>

#include "base/test_util.h"
#include "compaction/compaction_settings.h"
#include "compaction/queue_file.h"
#include "env/fault_injection_file_system.h"
#include "env/mem_file_system.h"

namespace ebb {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
// 2026-01-01 00:00:00 UTC.
constexpr int64_t kDayStartWall = 1'767'225'600'000'000;
constexpr const char* kStateDir = "/data/smoosh";

// The engine's side, in memory: databases with settable sizes.
class FakeCompactionTarget final : public CompactionTarget {
 public:
  void Set(const std::string& name, CompactionInfo info) {
    MutexLock lock(&mu_);
    dbs_[name] = info;
  }
  void Drop(const std::string& name) {
    MutexLock lock(&mu_);
    dbs_.erase(name);
  }
  void SetFreeDisk(Result<uint64_t> free) {
    MutexLock lock(&mu_);
    free_ = std::move(free);
  }
  int info_calls(const std::string& name) const {
    MutexLock lock(&mu_);
    auto it = info_calls_.find(name);
    return it == info_calls_.end() ? 0 : it->second;
  }

  // Runs inside GetCompactionInfo (the daemon holds no lock there), so a
  // test can interleave another call deterministically.
  void SetInfoHook(std::function<void(std::string_view)> hook) {
    MutexLock lock(&mu_);
    hook_ = std::move(hook);
  }

  std::optional<CompactionInfo> GetCompactionInfo(std::string_view database) override {
    std::function<void(std::string_view)> hook;
    {
      MutexLock lock(&mu_);
      hook = std::move(hook_);
      hook_ = nullptr;
    }
    if (hook) hook(database);
    MutexLock lock(&mu_);
    info_calls_[std::string(database)]++;
    auto it = dbs_.find(std::string(database));
    if (it == dbs_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> ListDatabases() override {
    MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& [name, info] : dbs_) out.push_back(name);
    return out;
  }
  Result<uint64_t> FreeDiskBytes() override {
    MutexLock lock(&mu_);
    return free_;
  }

 private:
  mutable Mutex mu_;
  std::map<std::string, CompactionInfo> dbs_ GUARDED_BY(mu_);
  std::map<std::string, int> info_calls_ GUARDED_BY(mu_);
  Result<uint64_t> free_ GUARDED_BY(mu_) = uint64_t{1} << 40;
  std::function<void(std::string_view)> hook_ GUARDED_BY(mu_);
};

CompactionInfo Sizes(uint64_t disk, uint64_t live, uint64_t segments = 4) {
  CompactionInfo info;
  info.disk_bytes = disk;
  info.live_bytes = live;
  info.segments = segments;
  info.update_seq = 1000;
  return info;
}
// Accepted by ratio_dbs only (ratio 10).
const CompactionInfo kRatioTen = Sizes(5 * kMiB, 512 * kKiB);
// Accepted by ratio_dbs only (ratio 4).
const CompactionInfo kRatioFour = Sizes(4 * kMiB, kMiB);
// Ratio exactly 2.0 (rejected by ratio_dbs), slack 1 GiB: slack_dbs only.
const CompactionInfo kSlackOnly = Sizes(2 * kGiB, kGiB);
// Ratio 3 and slack 2 GiB: both ratio_dbs and slack_dbs accept it.
const CompactionInfo kBoth = Sizes(3 * kGiB, kGiB);
// No garbage, 12 segments: segments_dbs only.
const CompactionInfo kManySegments = Sizes(64 * kMiB, 64 * kMiB, 12);
// Already compacted: nobody wants it.
const CompactionInfo kClean = Sizes(4 * kMiB, 4 * kMiB, 1);

const SmooshChannelStatus* FindChannel(const SmooshStatus& status, std::string_view name) {
  for (const auto& c : status.channels) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

class SmooshDaemonTest : public ::testing::Test {
 protected:
  SmooshDaemonTest() : config_(MakeSchema()) {
    InstallCompactionChannelDefaults(&config_);
    // Noon UTC, so the default always-open windows are not at a boundary.
    clock_.SetWallMicros(kDayStartWall + 12 * 60 * kMinute);
  }

  static std::shared_ptr<ConfigSchema> MakeSchema() {
    auto schema = std::make_shared<ConfigSchema>();
    RegisterCompactionSettings(schema.get());
    return schema;
  }

  std::unique_ptr<SmooshDaemon> Open(FileSystem* fs = nullptr) {
    SmooshDaemonOptions options;
    options.target = &target_;
    options.fs = fs != nullptr ? fs : &fs_;
    options.clock = &clock_;
    options.state_dir = kStateDir;
    auto daemon = SmooshDaemon::Open(options, config_);
    EXPECT_TRUE(daemon.ok()) << daemon.status().ToString();
    return std::move(daemon).value();
  }

  void SetConfig(std::string_view section, std::string_view key, std::string_view value) {
    Status s = config_.Set(section, key, value, /*at_runtime=*/true);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  int64_t Now() const { return clock_.NowMicros(); }
  // Moves the clock past the channels' wait_secs.
  void PassWaitSecs() { clock_.AdvanceSeconds(30); }
  // Monotonic time at which the wall clock reads hh:mm today (or tomorrow if past).
  int64_t MonoAtWallTime(int hours, int minutes) const {
    int64_t wall = kDayStartWall + (hours * 60 + minutes) * kMinute;
    while (wall <= clock_.WallMicros()) wall += 24 * 60 * kMinute;
    return clock_.NowMicros() + (wall - clock_.WallMicros());
  }
  void AdvanceTo(int64_t mono) { clock_.Advance(mono - clock_.NowMicros()); }

  // Notifies and evaluates, as storage + the engine's scheduler would.
  void Change(SmooshDaemon* daemon, const std::string& db, CompactionInfo info) {
    target_.Set(db, info);
    daemon->OnDatabaseChanged(db);
    daemon->Tick(Now());
  }

  MemFileSystem fs_;
  ManualClock clock_;
  FakeCompactionTarget target_;
  Config config_;
};

TEST_F(SmooshDaemonTest, DefaultChannelsInConfiguredOrder) {
  auto daemon = Open();
  SmooshStatus status = daemon->GetStatus();
  ASSERT_EQ(status.channels.size(), 3u);
  EXPECT_EQ(status.channels[0].name, "ratio_dbs");
  EXPECT_EQ(status.channels[0].priority, "ratio");
  EXPECT_EQ(status.channels[1].name, "slack_dbs");
  EXPECT_EQ(status.channels[1].priority, "slack");
  EXPECT_EQ(status.channels[2].name, "segments_dbs");
  EXPECT_EQ(status.channels[2].priority, "segments");
  for (const auto& c : status.channels) {
    EXPECT_EQ(c.active, 0u);
    EXPECT_EQ(c.starting, 0u);
    EXPECT_EQ(c.waiting.size, 0u);
    EXPECT_TRUE(c.paused) << "channels start paused for wait_secs";
    EXPECT_EQ(c.window, "00:00-24:00");
    EXPECT_EQ(c.concurrency, 1);
    EXPECT_EQ(c.capacity, 9999u);
  }
  EXPECT_TRUE(status.persist);
  EXPECT_EQ(status.state_dir, kStateDir);
  // status() works after stop, too.
  ASSERT_TRUE(daemon->Stop().ok());
  status = daemon->GetStatus();
  EXPECT_TRUE(status.stopped);
  EXPECT_EQ(status.channels.size(), 3u);
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
  EXPECT_FALSE(daemon->OnDatabaseChanged("db"));
}

TEST_F(SmooshDaemonTest, DatabaseIsQueuedStartedAndCompacted) {
  auto daemon = Open();
  target_.Set("db", kRatioTen);
  EXPECT_TRUE(daemon->OnDatabaseChanged("db"));
  EXPECT_EQ(daemon->NextDeadline(), Now()) << "an evaluation is pending";
  TickResult tick = daemon->Tick(Now());
  EXPECT_EQ(tick.evaluated, 1u);
  EXPECT_FALSE(tick.runnable) << "wait_secs not over";

  SmooshStatus status = daemon->GetStatus();
  const auto* ratio = FindChannel(status, "ratio_dbs");
  ASSERT_NE(ratio, nullptr);
  EXPECT_EQ(ratio->waiting.size, 1u);
  EXPECT_EQ(ratio->waiting.min, 10.0);
  EXPECT_EQ(ratio->waiting.max, 10.0);
  EXPECT_EQ(ratio->blocked, "wait_secs");
  EXPECT_NE(ratio->blocked_reason.find("smoosh.wait_secs"), std::string::npos) << ratio->blocked_reason;
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);

  // The daemon asks to be woken when wait_secs ends (or for the checkpoint,
  // whichever comes first).
  int64_t created = Now();
  EXPECT_EQ(daemon->NextDeadline(), created + 30 * kSecond);
  AdvanceTo(created + 30 * kSecond);
  tick = daemon->Tick(Now());
  EXPECT_TRUE(tick.runnable);

  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->database(), "db");
  EXPECT_EQ(job->channel(), "ratio_dbs");
  EXPECT_EQ(job->priority(), 10.0);
  EXPECT_EQ(job->info().live_bytes, 512 * kKiB);
  EXPECT_EQ(job->attempt(), 1);
  EXPECT_FALSE(job->suspended());
  status = daemon->GetStatus();
  ratio = FindChannel(status, "ratio_dbs");
  EXPECT_EQ(ratio->starting, 1u);
  EXPECT_EQ(ratio->active, 0u);
  job->ReportProgress(100 * kKiB);
  status = daemon->GetStatus();
  ratio = FindChannel(status, "ratio_dbs");
  EXPECT_EQ(ratio->active, 1u);
  ASSERT_EQ(ratio->jobs.size(), 1u);
  EXPECT_EQ(ratio->jobs[0].database, "db");
  EXPECT_EQ(ratio->jobs[0].progress_bytes, 100 * kKiB);

  target_.Set("db", kClean);
  EXPECT_TRUE(daemon->JobFinished(job, Status::OK()));
  status = daemon->GetStatus();
  ratio = FindChannel(status, "ratio_dbs");
  EXPECT_EQ(ratio->active, 0u);
  EXPECT_EQ(ratio->waiting.size, 0u);
  EXPECT_EQ(ratio->jobs_succeeded, 1u);
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
}

TEST_F(SmooshDaemonTest, EndWaitStartsWhatWaitsWithoutATimer) {
  auto daemon = Open();
  EXPECT_FALSE(daemon->HoldsWorkInWait()) << "nothing queued";
  Change(daemon.get(), "db", kRatioTen);
  // Queued, held by wait_secs: not in the gauge, and a deadline for its end.
  EXPECT_TRUE(daemon->HoldsWorkInWait());
  EXPECT_EQ(daemon->ReclaimableBytes(), 0u);
  EXPECT_EQ(daemon->HeldInWaitBytes(), kRatioTen.disk_bytes - kRatioTen.live_bytes)
      << "what the gauge will count once the wait ends";
  EXPECT_EQ(daemon->NextDeadline(), Now() + 30 * kSecond);
  // The classes that make candidates went idle: no more are coming.
  clock_.AdvanceSeconds(3);
  daemon->EndWait();
  EXPECT_FALSE(daemon->HoldsWorkInWait());
  EXPECT_EQ(daemon->HeldInWaitBytes(), 0u);
  EXPECT_EQ(daemon->ReclaimableBytes(), kRatioTen.disk_bytes - kRatioTen.live_bytes);
  ASSERT_TRUE(daemon->Checkpoint().ok());  // the other deadline: saving the queue
  EXPECT_FALSE(daemon->NextDeadline()) << "no timer left for the wait";
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->database(), "db");
  target_.Set("db", kClean);
  EXPECT_TRUE(daemon->JobFinished(job, Status::OK()));
  ASSERT_TRUE(daemon->Checkpoint().ok());
  EXPECT_FALSE(daemon->NextDeadline());
  // A channel created later waits its own wait_secs.
  SetConfig("smoosh", "db_channels", "ratio_dbs,slack_dbs,segments_dbs,night_dbs");
  SetConfig("smoosh.night_dbs", "priority", "ratio");
  ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  const SmooshStatus status = daemon->GetStatus();
  const auto* night = FindChannel(status, "night_dbs");
  ASSERT_NE(night, nullptr);
  EXPECT_TRUE(night->paused);
}

TEST_F(SmooshDaemonTest, ChannelsAreEvaluatedInConfiguredOrder) {
  // CouchDB sorts channels alphabetically ("ratio_dbs" < "slack_dbs") no
  // matter what db_channels says; Ebb follows the configured order.
  SetConfig("smoosh", "db_channels", "slack_dbs,ratio_dbs");
  auto daemon = Open();
  target_.Set("both", kBoth);
  auto result = daemon->Enqueue("both");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->channel, "slack_dbs");
  EXPECT_EQ(result->priority, 2.0 * kGiB);
  SmooshStatus status = daemon->GetStatus();
  EXPECT_EQ(status.channels[0].name, "slack_dbs");
  EXPECT_EQ(status.channels[1].name, "ratio_dbs");

  // Reordering at run time moves the next evaluation.
  SetConfig("smoosh", "db_channels", "ratio_dbs,slack_dbs");
  ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  result = daemon->Enqueue("both");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->channel, "ratio_dbs");
  EXPECT_EQ(result->priority, 3.0);
  // A database waits in one queue at a time.
  status = daemon->GetStatus();
  EXPECT_EQ(FindChannel(status, "ratio_dbs")->waiting.size, 1u);
  EXPECT_EQ(FindChannel(status, "slack_dbs")->waiting.size, 0u);
}

TEST_F(SmooshDaemonTest, EachKindGoesToItsChannel) {
  auto daemon = Open();
  target_.Set("ratio", kRatioTen);
  target_.Set("slack", kSlackOnly);
  target_.Set("segments", kManySegments);
  target_.Set("clean", kClean);
  EXPECT_EQ(daemon->Enqueue("ratio")->channel, "ratio_dbs");
  EXPECT_EQ(daemon->Enqueue("slack")->channel, "slack_dbs");
  EXPECT_EQ(daemon->Enqueue("segments")->channel, "segments_dbs");
  EXPECT_EQ(daemon->Enqueue("segments")->priority, 12.0);
  auto clean = daemon->Enqueue("clean");
  ASSERT_TRUE(clean.ok());
  EXPECT_EQ(clean->channel, "");
  EXPECT_FALSE(clean->queued);
}

TEST_F(SmooshDaemonTest, RemovedBuiltInChannelStaysRemoved) {
  // CouchDB bug 4378: built-in slack_dbs was always added back, so a user's
  // own slack channel with max_size was bypassed.
  SetConfig("smoosh", "db_channels", "ratio_dbs,small_slack");
  SetConfig("smoosh.small_slack", "priority", "slack");
  SetConfig("smoosh.small_slack", "max_size", "1GiB");
  auto daemon = Open();
  SmooshStatus status = daemon->GetStatus();
  ASSERT_EQ(status.channels.size(), 2u);
  EXPECT_EQ(FindChannel(status, "slack_dbs"), nullptr);
  target_.Set("huge", kSlackOnly);  // 2 GiB on disk: above small_slack's max_size
  auto result = daemon->Enqueue("huge");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->channel, "") << "no channel may take it; built-in slack_dbs is gone";
}

TEST_F(SmooshDaemonTest, ChannelsCreatedAndRemovedThroughConfiguration) {
  auto daemon = Open();
  PassWaitSecs();
  target_.Set("running", kRatioTen);
  target_.Set("waiting", kRatioFour);
  ASSERT_TRUE(daemon->Enqueue("running").ok());
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  ASSERT_EQ(job->database(), "running");
  ASSERT_EQ(daemon->Enqueue("waiting")->channel, "ratio_dbs");

  // Replace ratio_dbs with a new channel that ranks by ratio too.
  SetConfig("smoosh", "db_channels", "night_dbs,slack_dbs,segments_dbs");
  SetConfig("smoosh.night_dbs", "concurrency", "2");
  ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  SmooshStatus status = daemon->GetStatus();
  ASSERT_EQ(status.channels.size(), 4u);
  EXPECT_EQ(status.channels[0].name, "night_dbs");
  EXPECT_EQ(status.channels[0].concurrency, 2);
  EXPECT_TRUE(status.channels[0].paused) << "a new channel waits wait_secs";
  // The removed channel is listed last while its job runs, still counted.
  EXPECT_EQ(status.channels[3].name, "ratio_dbs");
  EXPECT_TRUE(status.channels[3].removed);
  EXPECT_EQ(status.channels[3].starting, 1u);
  EXPECT_EQ(status.channels[3].waiting.size, 0u);
  EXPECT_FALSE(job->suspended()) << "a removed channel's jobs finish";

  // Its waiting database is offered to the remaining channels.
  EXPECT_EQ(status.pending_evaluations, 1u);
  daemon->Tick(Now());
  status = daemon->GetStatus();
  EXPECT_EQ(FindChannel(status, "night_dbs")->waiting.size, 1u);
  // The removed channel accepts nothing new.
  target_.Set("another", kRatioTen);
  EXPECT_EQ(daemon->Enqueue("another")->channel, "night_dbs");

  EXPECT_TRUE(daemon->JobFinished(job, Status::OK()));
  status = daemon->GetStatus();
  EXPECT_EQ(status.channels.size(), 3u) << "gone once its last job ended";
  EXPECT_EQ(FindChannel(status, "ratio_dbs"), nullptr);

  // After night_dbs' wait_secs, both of its slots run.
  PassWaitSecs();
  auto a = daemon->TakeNextJob(Now());
  auto b = daemon->TakeNextJob(Now());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->channel(), "night_dbs");
  EXPECT_EQ(b->channel(), "night_dbs");
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
}

TEST_F(SmooshDaemonTest, ConcurrencyLimitHoldsWhenAJobIsRestartedOrReenqueued) {
  // CouchDB bug 3144: a concurrency-1 channel ran several compactions after
  // a compactor restart raced with re-monitoring.
  auto daemon = Open();
  PassWaitSecs();
  target_.Set("a", kRatioTen);
  target_.Set("b", kRatioFour);
  ASSERT_TRUE(daemon->Enqueue("a").ok());
  ASSERT_TRUE(daemon->Enqueue("b").ok());
  auto job_a = daemon->TakeNextJob(Now());
  ASSERT_NE(job_a, nullptr);
  EXPECT_EQ(job_a->database(), "a");
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
  EXPECT_EQ(daemon->GetStatus().channels[0].blocked, "concurrency_full");

  // Re-enqueueing the running database does not queue a second job for it.
  auto again = daemon->Enqueue("a");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_running);
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);

  // The engine restarts the job: abort it and take again. Still one at a time.
  EXPECT_TRUE(daemon->JobFinished(job_a, Status::Aborted("compactor restarted")));
  auto next = daemon->TakeNextJob(Now());
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->database(), "a") << "an aborted job keeps its place";
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);

  // A duplicate report of the old job cannot free a second slot.
  EXPECT_FALSE(daemon->JobFinished(job_a, Status::OK()));
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);

  // A failed job comes back after its backoff while b runs: still one.
  EXPECT_TRUE(daemon->JobFinished(next, Status::IOError("disk hiccup")));
  auto job_b = daemon->TakeNextJob(Now());
  ASSERT_NE(job_b, nullptr);
  EXPECT_EQ(job_b->database(), "b");
  clock_.AdvanceSeconds(5);
  TickResult tick = daemon->Tick(Now());
  EXPECT_EQ(tick.retried, 1u);
  EXPECT_EQ(daemon->GetStatus().channels[0].waiting.size, 1u);
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
  SmooshStatus status = daemon->GetStatus();
  EXPECT_EQ(status.channels[0].active + status.channels[0].starting, 1u);

  // Lowering concurrency to 0 at run time: the running job finishes, nothing starts.
  SetConfig("smoosh.ratio_dbs", "concurrency", "0");
  ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  EXPECT_TRUE(daemon->JobFinished(job_b, Status::OK()));
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
  EXPECT_EQ(daemon->GetStatus().channels[0].blocked, "disabled");
}

TEST_F(SmooshDaemonTest, ConcurrentCallersNeverExceedConcurrency) {
  SetConfig("smoosh.ratio_dbs", "concurrency", "2");
  SetConfig("smoosh", "wait_secs", "0");
  auto daemon = Open();
  constexpr int kDatabases = 200;
  for (int i = 0; i < kDatabases; i++) target_.Set("db" + std::to_string(i), kRatioTen);
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  std::atomic<int> finished{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  // Notifiers: storage threads reporting changes.
  for (int t = 0; t < 2; t++) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kDatabases; i += 2) daemon->OnDatabaseChanged("db" + std::to_string(i));
    });
  }
  // The scheduler evaluating, and workers pulling jobs.
  threads.emplace_back([&] {
    while (!stop.load()) daemon->Tick(clock_.NowMicros());
  });
  for (int t = 0; t < 3; t++) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        auto job = daemon->TakeNextJob(clock_.NowMicros());
        if (job == nullptr) {
          std::this_thread::yield();
          continue;
        }
        int now_running = ++running;
        int seen = max_running.load();
        while (now_running > seen && !max_running.compare_exchange_weak(seen, now_running)) {
        }
        job->ReportProgress(1);
        target_.Set(job->database(), kClean);
        --running;
        EXPECT_TRUE(daemon->JobFinished(job, Status::OK()));
        ++finished;
      }
    });
  }
  for (int spin = 0; spin < 20'000'000 && finished.load() < kDatabases; spin++) std::this_thread::yield();
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(finished.load(), kDatabases);
  EXPECT_LE(max_running.load(), 2);
  EXPECT_EQ(daemon->GetStatus().channels[0].jobs_succeeded, static_cast<uint64_t>(kDatabases));
}

TEST_F(SmooshDaemonTest, SuspendAndResumeAreIdempotentAndSticky) {
  SetConfig("smoosh.ratio_dbs", "from", "02:00");
  SetConfig("smoosh.ratio_dbs", "to", "04:00");
  SetConfig("smoosh.ratio_dbs", "strict_window", "true");
  clock_.SetWallMicros(kDayStartWall + 3 * 60 * kMinute);  // 03:00, inside
  auto daemon = Open();
  PassWaitSecs();
  target_.Set("db", kRatioTen);
  target_.Set("db2", kRatioFour);
  ASSERT_TRUE(daemon->Enqueue("db").ok());
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  ASSERT_TRUE(daemon->Enqueue("db2").ok());

  // Idempotent: twice suspended, once resumed, is resumed.
  ASSERT_TRUE(daemon->Suspend("ratio_dbs").ok());
  ASSERT_TRUE(daemon->Suspend("ratio_dbs").ok());
  EXPECT_TRUE(job->suspended());
  EXPECT_TRUE(daemon->GetStatus().channels[0].suspended);
  ASSERT_TRUE(daemon->Resume("ratio_dbs").ok());
  EXPECT_FALSE(job->suspended());
  ASSERT_TRUE(daemon->Resume("ratio_dbs").ok());
  EXPECT_FALSE(job->suspended());

  // Sticky: the window closing and reopening does not undo a manual suspend
  // (CouchDB's 60 s window tick resumed it).
  daemon->Suspend();
  AdvanceTo(MonoAtWallTime(4, 0));
  daemon->Tick(Now());
  EXPECT_TRUE(job->suspended());
  AdvanceTo(MonoAtWallTime(2, 0));
  TickResult tick = daemon->Tick(Now());
  EXPECT_EQ(tick.jobs_resumed, 0u);
  EXPECT_TRUE(job->suspended());
  EXPECT_FALSE(tick.runnable);
  EXPECT_EQ(daemon->GetStatus().channels[0].blocked, "suspended");

  // A channel created while everything is suspended starts suspended.
  SetConfig("smoosh", "db_channels", "ratio_dbs,slack_dbs,segments_dbs,extra_dbs");
  ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  EXPECT_TRUE(FindChannel(daemon->GetStatus(), "extra_dbs")->suspended);

  daemon->Resume();
  EXPECT_FALSE(job->suspended());
  EXPECT_FALSE(daemon->GetStatus().suspended);
  EXPECT_TRUE(daemon->Suspend("no_such_channel").IsNotFound());
  Status s = daemon->Resume("no_such_channel");
  EXPECT_NE(s.message().find("ratio_dbs"), std::string::npos) << "lists the channels: " << s.ToString();
}

TEST_F(SmooshDaemonTest, WindowOpeningStartsJobsImmediately) {
  SetConfig("smoosh.ratio_dbs", "from", "02:00");
  SetConfig("smoosh.ratio_dbs", "to", "04:00");
  clock_.SetWallMicros(kDayStartWall + 1 * 60 * kMinute);  // 01:00
  auto daemon = Open();
  PassWaitSecs();
  target_.Set("db", kRatioTen);
  ASSERT_TRUE(daemon->Enqueue("db").ok());
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
  SmooshStatus status = daemon->GetStatus();
  EXPECT_EQ(status.channels[0].blocked, "window_closed");
  EXPECT_FALSE(status.channels[0].in_window);
  EXPECT_NE(status.channels[0].blocked_reason.find("02:00-04:00"), std::string::npos);
  EXPECT_EQ(daemon->ReclaimableBytes(), 0u) << "nothing can run: the work class may sleep";

  // Checkpoint first, so the only deadline left is the window's opening.
  ASSERT_TRUE(daemon->Checkpoint().ok());
  int64_t opens = MonoAtWallTime(2, 0);
  EXPECT_EQ(daemon->NextDeadline(), opens);
  AdvanceTo(opens);
  TickResult tick = daemon->Tick(Now());
  EXPECT_TRUE(tick.runnable) << "the engine starts jobs at the opening, not up to 60 s later";
  EXPECT_GT(daemon->ReclaimableBytes(), 0u);
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->database(), "db");
}

TEST_F(SmooshDaemonTest, StrictWindowSuspendsRunningJobsLenientOnlyStopsNewOnes) {
  SetConfig("smoosh", "db_channels", "ratio_dbs,slack_dbs");
  for (const char* ch : {"ratio_dbs", "slack_dbs"}) {
    SetConfig(std::string("smoosh.") + ch, "from", "02:00");
    SetConfig(std::string("smoosh.") + ch, "to", "04:00");
  }
  SetConfig("smoosh.ratio_dbs", "strict_window", "true");
  clock_.SetWallMicros(kDayStartWall + 3 * 60 * kMinute);
  auto daemon = Open();
  PassWaitSecs();
  target_.Set("r", kRatioTen);
  target_.Set("s", kSlackOnly);
  ASSERT_TRUE(daemon->Enqueue("r").ok());
  ASSERT_TRUE(daemon->Enqueue("s").ok());
  auto strict_job = daemon->TakeNextJob(Now());
  auto lenient_job = daemon->TakeNextJob(Now());
  ASSERT_NE(strict_job, nullptr);
  ASSERT_NE(lenient_job, nullptr);
  if (strict_job->channel() != "ratio_dbs") std::swap(strict_job, lenient_job);
  ASSERT_EQ(strict_job->channel(), "ratio_dbs");
  target_.Set("r2", kRatioFour);
  ASSERT_TRUE(daemon->Enqueue("r2").ok());

  ASSERT_TRUE(daemon->Checkpoint().ok());
  int64_t closes = MonoAtWallTime(4, 0);
  EXPECT_EQ(daemon->NextDeadline(), closes);
  AdvanceTo(closes);
  TickResult tick = daemon->Tick(Now());
  EXPECT_EQ(tick.jobs_suspended, 1u);
  EXPECT_TRUE(strict_job->suspended());
  EXPECT_FALSE(lenient_job->suspended());
  EXPECT_TRUE(daemon->GetStatus().channels[0].window_suspended);
  EXPECT_TRUE(daemon->JobFinished(strict_job, Status::OK()));
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr) << "outside the window nothing new starts";

  AdvanceTo(MonoAtWallTime(2, 0));
  tick = daemon->Tick(Now());
  EXPECT_TRUE(tick.runnable);
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->database(), "r2");
}

TEST_F(SmooshDaemonTest, FailedJobIsReenqueuedAfterBackoffUpToTheLimit) {
  SetConfig("smoosh", "retry_limit", "2");
  SetConfig("smoosh", "staleness", "0");  // every change is evaluated
  auto daemon = Open();
  PassWaitSecs();
  target_.Set("db", kRatioTen);
  ASSERT_TRUE(daemon->Enqueue("db").ok());
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  ASSERT_TRUE(daemon->JobFinished(job, Status::IOError("segment 7 read failed")));
  SmooshStatus status = daemon->GetStatus();
  EXPECT_EQ(status.pending_retries, 1u);
  EXPECT_EQ(status.channels[0].jobs_failed, 1u);
  EXPECT_NE(status.channels[0].last_error.find("segment 7 read failed"), std::string::npos);
  EXPECT_EQ(status.channels[0].waiting.size, 0u);

  // A write during the backoff does not bring it back early.
  clock_.AdvanceSeconds(2);
  EXPECT_TRUE(daemon->OnDatabaseChanged("db"));
  daemon->Tick(Now());
  EXPECT_EQ(daemon->GetStatus().channels[0].waiting.size, 0u) << "still backing off";
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);

  // 5 s after the failure (retry_backoff_ms) it is offered again.
  ASSERT_TRUE(daemon->Checkpoint().ok());
  int64_t due = Now() + 3 * kSecond;
  EXPECT_EQ(daemon->NextDeadline(), due);
  AdvanceTo(due);
  TickResult tick = daemon->Tick(Now());
  EXPECT_EQ(tick.retried, 1u);
  EXPECT_TRUE(tick.runnable);
  job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->attempt(), 2);
  ASSERT_TRUE(daemon->JobFinished(job, Status::IOError("again")));
  clock_.AdvanceSeconds(5);
  daemon->Tick(Now());
  job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->attempt(), 3);

  // Third failure in a row with retry_limit 2: smoosh gives up on it...
  ASSERT_TRUE(daemon->JobFinished(job, Status::IOError("again")));
  EXPECT_EQ(daemon->GetStatus().pending_retries, 0u);
  clock_.AdvanceSeconds(5);
  daemon->Tick(Now());
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
  // ...until it changes again (or is enqueued by hand), with a fresh count.
  EXPECT_TRUE(daemon->OnDatabaseChanged("db"));
  daemon->Tick(Now());
  job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->attempt(), 1);
  ASSERT_TRUE(daemon->JobFinished(job, Status::IOError("again")));
  ASSERT_TRUE(daemon->Enqueue("db").ok()) << "a manual enqueue skips the backoff";
  job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->attempt(), 1);
}

TEST_F(SmooshDaemonTest, ManualEnqueueValidatesInputAndRepeatsAreHarmless) {
  auto daemon = Open();
  auto r = daemon->Enqueue("");
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("smoosh enqueue"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(daemon->Enqueue(std::string("bad\nname")).status().IsInvalidArgument());
  EXPECT_TRUE(daemon->Enqueue(std::string(5000, 'x')).status().IsInvalidArgument());
  r = daemon->Enqueue("missing");
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_NE(r.status().message().find("'missing'"), std::string::npos);
  EXPECT_FALSE(daemon->OnDatabaseChanged(""));

  target_.Set("db", kRatioTen);
  for (int i = 0; i < 1000; i++) ASSERT_TRUE(daemon->Enqueue("db").ok());
  EXPECT_EQ(daemon->GetStatus().channels[0].waiting.size, 1u);

  target_.Set("slack", kSlackOnly);
  target_.Set("clean", kClean);
  EnqueueAllResult all = daemon->EnqueueAll();
  EXPECT_EQ(all.databases, 3u);
  EXPECT_EQ(all.queued, 2u);

  ASSERT_TRUE(daemon->Stop().ok());
  EXPECT_TRUE(daemon->Enqueue("db").status().IsAborted());
  EXPECT_EQ(daemon->EnqueueAll().queued, 0u);
}

TEST_F(SmooshDaemonTest, StalenessCacheKeepsNotificationsCheapForAcceptedAndRejected) {
  auto daemon = Open();
  target_.Set("hot", kRatioTen);
  target_.Set("clean", kClean);
  for (const char* db : {"hot", "clean"}) {
    EXPECT_TRUE(daemon->OnDatabaseChanged(db)) << db;
  }
  daemon->Tick(Now());
  EXPECT_EQ(target_.info_calls("hot"), 1);
  EXPECT_EQ(target_.info_calls("clean"), 1);

  // Within 5 minutes, writes cost a lookup: no evaluation, accepted or not.
  for (int i = 0; i < 100; i++) {
    clock_.AdvanceSeconds(2);
    EXPECT_FALSE(daemon->OnDatabaseChanged("hot"));
    EXPECT_FALSE(daemon->OnDatabaseChanged("clean"));
    daemon->Tick(Now());
  }
  EXPECT_EQ(target_.info_calls("hot"), 1);
  EXPECT_EQ(target_.info_calls("clean"), 1) << "rejected databases are cached too";

  // Once stale, the next change re-evaluates.
  clock_.AdvanceSeconds(100);
  EXPECT_TRUE(daemon->OnDatabaseChanged("clean"));
  EXPECT_FALSE(daemon->OnDatabaseChanged("clean")) << "already pending";
  daemon->Tick(Now());
  EXPECT_EQ(target_.info_calls("clean"), 2);

  // A manual enqueue bypasses the cache.
  ASSERT_TRUE(daemon->Enqueue("hot").ok());
  EXPECT_EQ(target_.info_calls("hot"), 2);
}

TEST_F(SmooshDaemonTest, FreshMemoSkipsTheLockButNeverHidesAJobOrAnEarlyDrop) {
  auto daemon = Open();
  target_.Set("hot", kRatioTen);
  target_.Set("clean", kClean);
  std::atomic<uint64_t> hot_memo{0}, clean_memo{0};
  EXPECT_TRUE(daemon->OnDatabaseChanged("hot", &hot_memo));
  EXPECT_TRUE(daemon->OnDatabaseChanged("clean", &clean_memo));
  daemon->Tick(Now());

  // Fresh: the first notification fills the memo, later ones use it.
  EXPECT_FALSE(daemon->OnDatabaseChanged("clean", &clean_memo));
  EXPECT_NE(clean_memo.load(), 0u);
  EXPECT_FALSE(daemon->OnDatabaseChanged("clean", &clean_memo));
  EXPECT_FALSE(daemon->OnDatabaseChanged("hot", &hot_memo));
  EXPECT_NE(hot_memo.load(), 0u);

  // A job starts for "hot": writes during it must reach the job (so it is
  // evaluated again when it ends), whatever the memo said before.
  PassWaitSecs();
  daemon->Tick(Now());
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_FALSE(daemon->OnDatabaseChanged("hot", &hot_memo));
  EXPECT_TRUE(daemon->JobFinished(job, Status::OK()));
  EXPECT_EQ(daemon->NextDeadline(), Now()) << "changed during the job: evaluated again";
  const int calls = target_.info_calls("hot");
  daemon->Tick(Now());
  EXPECT_EQ(target_.info_calls("hot"), calls + 1);

  // Once the staleness period is over the memo no longer holds.
  clock_.AdvanceSeconds(6 * 60);
  EXPECT_TRUE(daemon->OnDatabaseChanged("clean", &clean_memo));
  daemon->Tick(Now());
  EXPECT_FALSE(daemon->OnDatabaseChanged("clean", &clean_memo));
  EXPECT_FALSE(daemon->OnDatabaseChanged("clean", &clean_memo));

  // Dropped (its record erased early): a database of that name is new.
  daemon->OnDatabaseDropped("clean");
  EXPECT_TRUE(daemon->OnDatabaseChanged("clean", &clean_memo));
}

TEST_F(SmooshDaemonTest, StalenessCacheIsBounded) {
  SetConfig("smoosh", "staleness_cache_entries", "3");
  auto daemon = Open();
  for (int i = 0; i < 5; i++) {
    target_.Set("db" + std::to_string(i), kClean);
    clock_.AdvanceSeconds(1);
    Change(daemon.get(), "db" + std::to_string(i), kClean);
  }
  EXPECT_EQ(daemon->GetStatus().staleness_cache_entries, 3u);
  // The oldest were forgotten and are evaluated again; the newest are not.
  EXPECT_TRUE(daemon->OnDatabaseChanged("db0"));
  EXPECT_FALSE(daemon->OnDatabaseChanged("db4"));
}

TEST_F(SmooshDaemonTest, NotEnoughFreeDiskRefusesTheJobAndSaysWhy) {
  auto daemon = Open();
  PassWaitSecs();
  // 300 MiB live: needs 300 MiB + 64 MiB margin.
  target_.Set("big", Sizes(3 * kGiB, 300 * kMiB));
  target_.SetFreeDisk(uint64_t{200} * kMiB);
  ASSERT_EQ(daemon->Enqueue("big")->channel, "ratio_dbs");
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
  SmooshStatus status = daemon->GetStatus();
  EXPECT_EQ(status.channels[0].blocked, "free_disk");
  EXPECT_EQ(status.channels[0].waiting.size, 1u) << "it waits, it is not dropped";
  EXPECT_NE(status.channels[0].blocked_reason.find("not enough free disk"), std::string::npos);
  EXPECT_NE(status.channels[0].blocked_reason.find("364.0 MiB"), std::string::npos)
      << status.channels[0].blocked_reason;
  EXPECT_NE(status.channels[0].blocked_reason.find("200.0 MiB free"), std::string::npos);
  EXPECT_EQ(daemon->ReclaimableBytes(), 0u);

  // Rechecked after free_disk_recheck_secs.
  ASSERT_TRUE(daemon->Checkpoint().ok());
  EXPECT_EQ(daemon->NextDeadline(), Now() + 60 * kSecond);
  target_.SetFreeDisk(uint64_t{1} * kGiB);
  clock_.AdvanceSeconds(60);
  EXPECT_TRUE(daemon->Tick(Now()).runnable);
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->database(), "big");

  // An unknown free-disk figure does not stop compaction.
  EXPECT_TRUE(daemon->JobFinished(job, Status::OK()));
  target_.SetFreeDisk(Status::IOError("statfs failed"));
  ASSERT_TRUE(daemon->Enqueue("big").ok());
  EXPECT_NE(daemon->TakeNextJob(Now()), nullptr);
}

TEST_F(SmooshDaemonTest, NoDeadlineWhenIdle) {
  auto daemon = Open();
  EXPECT_FALSE(daemon->NextDeadline().has_value()) << "a fresh daemon needs no wakeup";
  // Rejected databases leave nothing to do.
  Change(daemon.get(), "clean", kClean);
  EXPECT_FALSE(daemon->NextDeadline().has_value());
  // A channel with a window but nothing waiting needs no wakeup either.
  SetConfig("smoosh.ratio_dbs", "from", "02:00");
  SetConfig("smoosh.ratio_dbs", "to", "04:00");
  ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  EXPECT_FALSE(daemon->NextDeadline().has_value());

  // Work, then idle again: after the job and the checkpoint, no deadline.
  SetConfig("smoosh.ratio_dbs", "to", "02:00");
  ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  PassWaitSecs();
  Change(daemon.get(), "db", kRatioTen);
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  target_.Set("db", kClean);
  ASSERT_TRUE(daemon->JobFinished(job, Status::OK()));
  auto deadline = daemon->NextDeadline();
  ASSERT_TRUE(deadline.has_value()) << "the changed queue must be saved";
  AdvanceTo(*deadline);
  EXPECT_TRUE(daemon->Tick(Now()).checkpointed);
  EXPECT_FALSE(daemon->NextDeadline().has_value());

  // A disabled channel holding work needs no wakeup.
  SetConfig("smoosh.ratio_dbs", "concurrency", "0");
  ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  ASSERT_TRUE(daemon->Enqueue("db2").status().IsNotFound());
  target_.Set("db2", kRatioTen);
  ASSERT_TRUE(daemon->Enqueue("db2").ok());
  ASSERT_TRUE(daemon->Checkpoint().ok());
  EXPECT_FALSE(daemon->NextDeadline().has_value());
  EXPECT_EQ(daemon->ReclaimableBytes(), 0u);
}

TEST_F(SmooshDaemonTest, CheckpointOnlyWhenDirtyAndAfterTheInterval) {
  auto daemon = Open();
  std::string path = std::string(kStateDir) + "/ratio_dbs.smooshq";
  target_.Set("db", kRatioTen);
  int64_t changed = Now();
  ASSERT_TRUE(daemon->Enqueue("db").ok());
  EXPECT_EQ(daemon->NextDeadline(), changed + 30 * kSecond) << "wait_secs comes before the checkpoint";
  clock_.AdvanceSeconds(100);
  EXPECT_FALSE(daemon->Tick(Now()).checkpointed);
  EXPECT_FALSE(fs_.FileExists(path));
  ASSERT_TRUE(daemon->Suspend("ratio_dbs").ok());  // so only the checkpoint deadline is left
  EXPECT_EQ(daemon->NextDeadline(), changed + 180 * kSecond);
  AdvanceTo(changed + 180 * kSecond);
  EXPECT_TRUE(daemon->Tick(Now()).checkpointed);
  auto data = ReadFileToString(&fs_, path);
  ASSERT_TRUE(data.ok());
  auto items = DecodeQueueFile(*data, path);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].database, "db");
  EXPECT_EQ((*items)[0].priority, 10.0);
  // Only changed channels are written.
  EXPECT_FALSE(fs_.FileExists(std::string(kStateDir) + "/slack_dbs.smooshq"));
}

TEST_F(SmooshDaemonTest, FailedCheckpointIsReportedAndRetried) {
  FaultInjectionFileSystem faulty(&fs_);
  auto daemon = Open(&faulty);
  target_.Set("db", kRatioTen);
  ASSERT_TRUE(daemon->Enqueue("db").ok());
  faulty.FailNth(FaultOp::kRename, 1, Status::IOError("rename: injected"));
  Status s = daemon->Checkpoint();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(daemon->GetStatus().last_checkpoint_error.find("injected"), std::string::npos);
  ASSERT_TRUE(daemon->Suspend("ratio_dbs").ok());
  auto deadline = daemon->NextDeadline();
  ASSERT_TRUE(deadline.has_value()) << "the save is retried";
  AdvanceTo(*deadline);
  EXPECT_TRUE(daemon->Tick(Now()).checkpointed);
  EXPECT_EQ(daemon->GetStatus().last_checkpoint_error, "");
  EXPECT_TRUE(fs_.FileExists(std::string(kStateDir) + "/ratio_dbs.smooshq"));
}

TEST_F(SmooshDaemonTest, QueuesSurviveRestartWithRunningJobsFirst) {
  {
    auto daemon = Open();
    PassWaitSecs();
    target_.Set("running", kRatioFour);
    target_.Set("high", kRatioTen);
    target_.Set("slack", kSlackOnly);
    ASSERT_TRUE(daemon->Enqueue("running").ok());
    auto job = daemon->TakeNextJob(Now());
    ASSERT_NE(job, nullptr);
    ASSERT_TRUE(daemon->Enqueue("high").ok());
    ASSERT_TRUE(daemon->Enqueue("slack").ok());
    ASSERT_TRUE(daemon->Stop().ok());
    // The engine cancels the job after stopping the daemon.
    daemon->JobFinished(job, Status::Aborted("store closing"));
  }
  auto daemon = Open();
  SmooshStatus status = daemon->GetStatus();
  const auto* ratio = FindChannel(status, "ratio_dbs");
  EXPECT_EQ(ratio->waiting.size, 2u);
  EXPECT_TRUE(std::isinf(ratio->waiting.max)) << "the interrupted job waits at +infinity";
  EXPECT_EQ(ratio->waiting.min, 10.0);
  EXPECT_EQ(FindChannel(status, "slack_dbs")->waiting.size, 1u);
  // Restored databases are in the staleness cache: writes right after the
  // restart do not re-evaluate them.
  EXPECT_FALSE(daemon->OnDatabaseChanged("high"));

  PassWaitSecs();
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->database(), "running") << "interrupted jobs restart first, ahead of priority 10";
  EXPECT_EQ(job->priority(), 4.0) << "its real priority is recomputed";
}

TEST_F(SmooshDaemonTest, PersistedJobAlreadyCompactedIsSkipped) {
  {
    auto daemon = Open();
    target_.Set("done", kRatioTen);
    target_.Set("todo", kRatioFour);
    ASSERT_TRUE(daemon->Enqueue("done").ok());
    ASSERT_TRUE(daemon->Enqueue("todo").ok());
    ASSERT_TRUE(daemon->Stop().ok());
  }
  // Compacted by someone else while smoosh was down.
  target_.Set("done", kClean);
  auto daemon = Open();
  EXPECT_EQ(daemon->GetStatus().channels[0].waiting.size, 2u);
  PassWaitSecs();
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->database(), "todo");
  EXPECT_EQ(daemon->GetStatus().channels[0].jobs_dropped, 1u);
}

TEST_F(SmooshDaemonTest, StopWhileAJobIsBeingCheckedKeepsItsDatabase) {
  {
    auto daemon = Open();
    PassWaitSecs();
    target_.Set("db", kRatioTen);
    ASSERT_TRUE(daemon->Enqueue("db").ok());
    // The store closes while TakeNextJob asks for fresh sizes.
    target_.SetInfoHook([&](std::string_view) { ASSERT_TRUE(daemon->Stop().ok()); });
    EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
  }
  auto daemon = Open();
  EXPECT_EQ(daemon->GetStatus().channels[0].waiting.size, 1u) << "saved although it was neither queued nor running";
  PassWaitSecs();
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->database(), "db");
}

TEST_F(SmooshDaemonTest, ChannelRemovedWhileAJobIsBeingCheckedOffersItElsewhere) {
  SetConfig("smoosh", "db_channels", "ratio_dbs,other_dbs");
  auto daemon = Open();
  PassWaitSecs();
  target_.Set("db", kRatioTen);
  ASSERT_EQ(daemon->Enqueue("db")->channel, "ratio_dbs");
  target_.SetInfoHook([&](std::string_view) {
    SetConfig("smoosh", "db_channels", "other_dbs");
    ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  });
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr) << "other_dbs is still in its wait_secs";
  SmooshStatus status = daemon->GetStatus();
  EXPECT_EQ(status.channels.size(), 1u) << "ratio_dbs is gone once nothing of it is in flight";
  EXPECT_EQ(status.pending_evaluations, 1u);
  daemon->Tick(Now());
  EXPECT_EQ(FindChannel(daemon->GetStatus(), "other_dbs")->waiting.size, 1u);
}

TEST_F(SmooshDaemonTest, CorruptOrUnreadableQueueFileIsIgnored) {
  {
    auto daemon = Open();
    target_.Set("r", kRatioTen);
    target_.Set("s", kSlackOnly);
    ASSERT_TRUE(daemon->Enqueue("r").ok());
    ASSERT_TRUE(daemon->Enqueue("s").ok());
    ASSERT_TRUE(daemon->Stop().ok());
  }
  std::string ratio_path = std::string(kStateDir) + "/ratio_dbs.smooshq";
  ASSERT_TRUE(WriteStringToFile(&fs_, "garbage", ratio_path, true).ok());
  {
    auto daemon = Open();
    SmooshStatus status = daemon->GetStatus();
    EXPECT_EQ(FindChannel(status, "ratio_dbs")->waiting.size, 0u);
    EXPECT_EQ(FindChannel(status, "slack_dbs")->waiting.size, 1u) << "other channels are restored";
    // The corrupt file is replaced at the next save.
    ASSERT_TRUE(daemon->Stop().ok());
    auto data = ReadFileToString(&fs_, ratio_path);
    ASSERT_TRUE(data.ok());
    EXPECT_TRUE(DecodeQueueFile(*data, ratio_path).ok());
  }
  // Unreadable (permissions, I/O error): also ignored.
  FaultInjectionFileSystem faulty(&fs_);
  faulty.FailNth(FaultOp::kRead, 1, Status::PermissionDenied("open: injected"), /*sticky=*/true);
  auto daemon = Open(&faulty);
  SmooshStatus status = daemon->GetStatus();
  EXPECT_EQ(status.channels.size(), 3u);
  EXPECT_EQ(FindChannel(status, "slack_dbs")->waiting.size, 0u) << "its file could not be read";
  faulty.ClearFaults();
  ASSERT_TRUE(daemon->Stop().ok());
}

TEST_F(SmooshDaemonTest, RemovedChannelQueueFileIsDeleted) {
  auto daemon = Open();
  target_.Set("s", kSlackOnly);
  ASSERT_TRUE(daemon->Enqueue("s").ok());
  ASSERT_TRUE(daemon->Checkpoint().ok());
  std::string path = std::string(kStateDir) + "/slack_dbs.smooshq";
  ASSERT_TRUE(fs_.FileExists(path));
  SetConfig("smoosh", "db_channels", "ratio_dbs");
  ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  ASSERT_TRUE(daemon->Checkpoint().ok());
  EXPECT_FALSE(fs_.FileExists(path)) << "a removed channel's queue does not come back at restart";
}

TEST_F(SmooshDaemonTest, CapacityEvictsLowestPriority) {
  SetConfig("smoosh.ratio_dbs", "capacity", "2");
  auto daemon = Open();
  target_.Set("p10", kRatioTen);
  target_.Set("p4", kRatioFour);
  target_.Set("p3", Sizes(3 * kMiB, kMiB));
  ASSERT_TRUE(daemon->Enqueue("p4").ok());
  ASSERT_TRUE(daemon->Enqueue("p10").ok());
  auto r = daemon->Enqueue("p3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->channel, "ratio_dbs");
  EXPECT_FALSE(r->queued) << "the new, lowest item evicts itself";
  SmooshStatus status = daemon->GetStatus();
  EXPECT_EQ(status.channels[0].waiting.size, 2u);
  EXPECT_EQ(status.channels[0].waiting.min, 4.0);
  EXPECT_EQ(status.channels[0].evicted, 1u);
  // Lowering capacity at run time evicts at once.
  SetConfig("smoosh.ratio_dbs", "capacity", "1");
  ASSERT_TRUE(daemon->ApplyConfig(config_).ok());
  status = daemon->GetStatus();
  EXPECT_EQ(status.channels[0].waiting.size, 1u);
  EXPECT_EQ(status.channels[0].waiting.max, 10.0);
}

TEST_F(SmooshDaemonTest, ChangeDuringAJobIsEvaluatedWhenItEnds) {
  auto daemon = Open();
  PassWaitSecs();
  target_.Set("db", kRatioTen);
  ASSERT_TRUE(daemon->Enqueue("db").ok());
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  clock_.AdvanceSeconds(600);
  EXPECT_FALSE(daemon->OnDatabaseChanged("db")) << "being compacted";
  ASSERT_TRUE(daemon->JobFinished(job, Status::OK()));
  EXPECT_EQ(daemon->GetStatus().pending_evaluations, 1u);
  EXPECT_LE(daemon->NextDeadline().value(), Now()) << "due at once";
  target_.Set("db", kRatioFour);  // the writes during the job left garbage
  daemon->Tick(Now());
  EXPECT_EQ(daemon->GetStatus().channels[0].waiting.size, 1u);
}

TEST_F(SmooshDaemonTest, DroppedDatabaseIsForgotten) {
  auto daemon = Open();
  target_.Set("db", kRatioTen);
  ASSERT_TRUE(daemon->Enqueue("db").ok());
  target_.Drop("db");
  daemon->OnDatabaseDropped("db");
  EXPECT_EQ(daemon->GetStatus().channels[0].waiting.size, 0u);
}

TEST_F(SmooshDaemonTest, AnItemThatNoLongerQualifiesMovesToTheChannelThatWantsItNow) {
  auto daemon = Open();
  PassWaitSecs();
  // Queued in ratio_dbs (ratio 3) ...
  Change(daemon.get(), "db", Sizes(3 * 12 * kMiB, 12 * kMiB, 12));
  ASSERT_EQ(FindChannel(daemon->GetStatus(), "ratio_dbs")->waiting.size, 1u);
  // ... then, before a job starts, overwrites settle its ratio under 2 while
  // flushes leave it with 12 segments: segments_dbs is the one that wants it.
  target_.Set("db", Sizes(18 * kMiB, 12 * kMiB, 12));
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr) << "the class's gauge said there was work; the daemon must start it";
  EXPECT_EQ(job->channel(), "segments_dbs");
  EXPECT_EQ(FindChannel(daemon->GetStatus(), "ratio_dbs")->waiting.size, 0u);
  target_.Set("db", kClean);
  ASSERT_TRUE(daemon->JobFinished(job, Status::OK()));

  // An item no channel wants any more leaves the queues, and the gauge, at
  // once: the gauge never counts work the daemon would not start.
  Change(daemon.get(), "other", kRatioTen);
  ASSERT_GT(daemon->ReclaimableBytes(), 0u);
  target_.Set("other", kClean);
  EXPECT_EQ(daemon->TakeNextJob(Now()), nullptr);
  EXPECT_EQ(daemon->ReclaimableBytes(), 0u);
}

TEST_F(SmooshDaemonTest, ReclaimableBytesCountsRunnableWorkAndRunningJobs) {
  auto daemon = Open();
  target_.Set("a", kRatioTen);       // 4.5 MiB reclaimable
  target_.Set("b", kManySegments);   // nothing reclaimable: a read-amplification
                                     // channel counts (segments - 8) / segments
                                     // of its bytes
  ASSERT_TRUE(daemon->Enqueue("a").ok());
  ASSERT_TRUE(daemon->Enqueue("b").ok());
  EXPECT_EQ(daemon->ReclaimableBytes(), 0u) << "channels still in wait_secs";
  PassWaitSecs();
  const uint64_t a_bytes = 5 * kMiB - 512 * kKiB;
  const uint64_t b_bytes = kManySegments.disk_bytes * (12 - 8) / 12;
  EXPECT_EQ(daemon->ReclaimableBytes(), a_bytes + b_bytes);
  auto job = daemon->TakeNextJob(Now());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->database(), "a") << "most reclaimable bytes first";
  EXPECT_EQ(daemon->ReclaimableBytes(), a_bytes + b_bytes);
  ASSERT_TRUE(daemon->Suspend("ratio_dbs").ok());
  EXPECT_EQ(daemon->ReclaimableBytes(), b_bytes) << "a suspended job is not pending work";
  EXPECT_EQ(daemon->GetStatus().reclaimable_bytes, b_bytes);
}

}  // namespace
}  // namespace ebb

namespace ebb {
namespace {

TEST_F(SmooshDaemonTest, ResizedDatabaseIsEvaluatedDespiteStaleness) {
  auto daemon = Open();
  PassWaitSecs();
  target_.Set("db", Sizes(2 * kMiB, 2 * kMiB, 1));  // clean: rejected
  ASSERT_TRUE(daemon->OnDatabaseChanged("db"));
  daemon->Tick(Now());
  EXPECT_EQ(daemon->GetStatus().channels[0].waiting.size, 0u);
  // Cached as rejected: another write within staleness is not evaluated...
  target_.Set("db", kRatioTen);
  EXPECT_FALSE(daemon->OnDatabaseChanged("db"));
  // ...but a flush that changed its sizes is.
  EXPECT_TRUE(daemon->OnDatabaseResized("db"));
  daemon->Tick(Now());
  EXPECT_EQ(daemon->GetStatus().channels[0].waiting.size, 1u);
}

}  // namespace
}  // namespace ebb
