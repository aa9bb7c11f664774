// The class graph (hierarchy, idle propagation, quiescence) through the
// step API, and the threaded scheduler (wakeups, kicks, notification,
// concurrency).

#include "runtime/background_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "base/test_util.h"
#include "runtime/work_test_util.h"

namespace ebb {
namespace {

using ::ebb::testing::FakeWorkSource;
using ::ebb::testing::StepDriver;
using ::ebb::testing::WaitForAccountedPasses;

constexpr uint64_t kMiB = 1 << 20;
constexpr int64_t kIntervalMicros = 100'000;
constexpr int64_t kFarFutureMicros = INT64_MAX / 2;

WorkSettings TestSettings() {
  WorkSettings s;
  s.interval_ms = 100;
  s.idle_hysteresis_ms = 500;
  s.idle_horizon_ms = 5000;
  return s;
}

WorkClassSettings Band(uint64_t low, uint64_t high) {
  WorkClassSettings s;
  s.band_low_bytes = low;
  s.band_high_bytes = high;
  s.max_rate_bytes_per_s = 100.0 * kMiB;
  s.max_rate_configured = true;
  s.min_rate_bytes_per_s = 1.0 * kMiB;
  return s;
}

// foreground -> writeback -> {compaction, tiering} -> journal_reclaim, with
// fake sources: a flush of X creates X/2 of compaction work and X/4 of
// tiering work; every foreground byte is also journal work.
class PipelineTest : public ::testing::TestWithParam<bool> {
 protected:
  void Build(bool with_tiering) {
    with_tiering_ = with_tiering;
    writeback_.AddDownstream(&compaction_, 0.5);
    if (with_tiering) writeback_.AddDownstream(&tiering_, 0.25);
    // Registered downstream first: the graph does not depend on the order,
    // and journal_reclaim names tiering whether or not it is registered.
    ASSERT_TRUE(scheduler_.RegisterClass("journal_reclaim", &journal_, {"compaction", "tiering"},
                                         Band(64 * kMiB, 192 * kMiB))
                    .ok());
    ASSERT_TRUE(scheduler_.RegisterClass("compaction", &compaction_, {"writeback"}, Band(32 * kMiB, 96 * kMiB)).ok());
    if (with_tiering) {
      ASSERT_TRUE(scheduler_.RegisterClass("tiering", &tiering_, {"writeback"}, Band(16 * kMiB, 48 * kMiB)).ok());
    }
    ASSERT_TRUE(scheduler_.RegisterClass("writeback", &writeback_, {"foreground"}, Band(64 * kMiB, 192 * kMiB)).ok());
  }

  void Write(uint64_t bytes) {
    writeback_.Add(bytes);
    journal_.Add(bytes);
    scheduler_.NoteForegroundWork(bytes);
  }

  std::vector<std::string> Names() const {
    if (with_tiering_) return {"writeback", "compaction", "tiering", "journal_reclaim"};
    return {"writeback", "compaction", "journal_reclaim"};
  }

  uint64_t TotalPasses() {
    return writeback_.pass_count() + compaction_.pass_count() + tiering_.pass_count() + journal_.pass_count();
  }

  ManualClock clock_{1'000'000};
  BackgroundScheduler scheduler_{&clock_, TestSettings()};
  StepDriver driver_{&scheduler_, &clock_};
  FakeWorkSource writeback_{&clock_}, compaction_{&clock_}, tiering_{&clock_}, journal_{&clock_};
  bool with_tiering_ = false;
};

TEST_P(PipelineTest, HierarchyRushesToIdleInOrderThenArmsNoTimer) {
  Build(GetParam());
  // 30 s of sustained writes at 10 MiB/s: nothing idle-flushes under load.
  driver_.RunPeriodic(kIntervalMicros, clock_.NowMicros() + 30'000'000, [&] { Write(kMiB); }, [&] {
    for (const auto& name : Names()) ASSERT_NE(driver_.Class(name).state, "idle_flush") << name;
  });
  ASSERT_GT(compaction_.pass_count(), 0u);
  ASSERT_GT(journal_.pass_count(), 0u);

  // The load stops: each class starts flushing only after the ones above it
  // are idle.
  const int64_t stop = clock_.NowMicros();
  std::map<std::string, int64_t> first_idle_flush;
  std::map<std::string, std::string> upstream_state_when_journal_rushed;
  std::optional<int64_t> asleep_at = driver_.RunUntilAsleep(stop + 120'000'000, [&] {
    for (const auto& name : Names()) {
      if (first_idle_flush.count(name) == 0 && driver_.Class(name).state == "idle_flush") {
        first_idle_flush[name] = clock_.NowMicros();
        if (name == "journal_reclaim") {
          upstream_state_when_journal_rushed["compaction"] = driver_.Class("compaction").state;
          if (with_tiering_) upstream_state_when_journal_rushed["tiering"] = driver_.Class("tiering").state;
          EXPECT_EQ(compaction_.pending(), 0u);
          EXPECT_EQ(tiering_.pending(), 0u);
        }
      }
    }
  });
  ASSERT_TRUE(asleep_at) << "did not quiesce within 120 s";
  for (const auto& name : Names()) ASSERT_EQ(first_idle_flush.count(name), 1u) << name << " never idle-flushed";
  EXPECT_LT(first_idle_flush["writeback"], first_idle_flush["compaction"]);
  EXPECT_GT(first_idle_flush["journal_reclaim"], first_idle_flush["compaction"]);
  EXPECT_EQ(upstream_state_when_journal_rushed["compaction"], "asleep");
  if (with_tiering_) {
    EXPECT_LT(first_idle_flush["writeback"], first_idle_flush["tiering"]);
    EXPECT_GT(first_idle_flush["journal_reclaim"], first_idle_flush["tiering"]);
    EXPECT_EQ(upstream_state_when_journal_rushed["tiering"], "asleep");
  }
  // Everything is done, in seconds rather than minutes.
  EXPECT_EQ(writeback_.pending() + compaction_.pending() + tiering_.pending() + journal_.pending(), 0u);
  EXPECT_LT(*asleep_at - stop, 30'000'000);
  for (const auto& c : scheduler_.GetStatus().classes) EXPECT_EQ(c.state, "asleep") << c.name;

  // Quiescent: ten minutes without a single evaluation or pass.
  const uint64_t passes = TotalPasses();
  for (int i = 0; i < 600; i++) {
    clock_.AdvanceSeconds(1);
    ASSERT_FALSE(scheduler_.RunOnce());
  }
  EXPECT_EQ(TotalPasses(), passes);
  EXPECT_FALSE(scheduler_.GetStatus().armed_deadline_micros);
}

INSTANTIATE_TEST_SUITE_P(Tiering, PipelineTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "WithTiering" : "WithoutTiering"; });

TEST_F(PipelineTest, StuckClassDoesNotBlockClassesBelowIt) {
  Build(false);
  compaction_.set_stuck(true);
  driver_.RunPeriodic(kIntervalMicros, clock_.NowMicros() + 20'000'000, [&] { Write(kMiB); }, {});
  EXPECT_FALSE(driver_.RunUntilAsleep(clock_.NowMicros() + 60'000'000));  // compaction keeps retrying
  EXPECT_EQ(driver_.Class("compaction").state, "stuck");
  EXPECT_GT(compaction_.pending(), 0u);
  EXPECT_EQ(writeback_.pending(), 0u);
  EXPECT_EQ(journal_.pending(), 0u) << "journal reclaim must not wait for a stuck upstream";
  EXPECT_EQ(driver_.Class("journal_reclaim").state, "asleep");
}

TEST_F(PipelineTest, ClassesStayOutOfIdleFlushWhileTheForegroundWrites) {
  Build(true);
  // Far below every band: nothing runs, and nothing counts as idle.
  driver_.RunPeriodic(kIntervalMicros, clock_.NowMicros() + 10'000'000, [&] { Write(256 * 1024); }, [&] {
    for (const auto& name : Names()) ASSERT_NE(driver_.Class(name).state, "idle_flush") << name;
  });
  EXPECT_EQ(TotalPasses(), 0u);
  EXPECT_EQ(driver_.Class("foreground").state, "active");
  EXPECT_EQ(driver_.Class("foreground").bytes_done, 25 * kMiB);
}

// ---- Trickles and the age limit -------------------------------------------------

// writeback fed by the foreground, journal_reclaim below it; each flush
// hands journal reclaim as many bytes as it flushed (journal files it frees).
class TrickleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writeback_.AddDownstream(&journal_, 1.0);
    ASSERT_TRUE(scheduler_.RegisterClass("writeback", &writeback_, {"foreground"}, Band(16 * kMiB, 64 * kMiB)).ok());
    ASSERT_TRUE(
        scheduler_.RegisterClass("journal_reclaim", &journal_, {"writeback"}, Band(64 * kMiB, 192 * kMiB)).ok());
  }

  void Write(uint64_t bytes) {
    writeback_.Add(bytes);
    scheduler_.NoteForegroundWork(bytes);
  }

  // Writes `bytes` every `period_micros` for `seconds`, then runs on for
  // `tail_seconds`, stepping like a started dispatcher; returns its rounds.
  uint64_t Trickle(uint64_t bytes, int64_t period_micros, int seconds, int tail_seconds) {
    const int64_t start = clock_.NowMicros();
    std::vector<int64_t> times;
    for (int64_t t = start; t < start + seconds * 1'000'000LL; t += period_micros) times.push_back(t);
    write_micros_.insert(write_micros_.end(), times.begin(), times.end());
    return driver_.RunEventDriven(start + (seconds + tail_seconds) * 1'000'000LL, times,
                                  [&](size_t) { Write(bytes); });
  }

  // The longest any write waited before a writeback pass took it.
  int64_t LongestWaitMicros() {
    const auto passes = writeback_.passes();
    int64_t longest = 0;
    size_t p = 0;
    for (int64_t w : write_micros_) {
      while (p < passes.size() && passes[p].micros < w) p++;
      if (p == passes.size()) return INT64_MAX;  // never flushed
      longest = std::max(longest, passes[p].micros - w);
    }
    return longest;
  }

  ManualClock clock_{1'000'000};
  BackgroundScheduler scheduler_{&clock_, TestSettings()};  // max_pending_age_s = 30
  StepDriver driver_{&scheduler_, &clock_};
  FakeWorkSource writeback_{&clock_}, journal_{&clock_};
  std::vector<int64_t> write_micros_;
};

TEST_F(TrickleTest, LoneWriteIsDoneAtItsAgeLimitThenNothingIsArmed) {
  const uint64_t rounds = Trickle(100, 1'000'000, 1, 120);
  ASSERT_EQ(writeback_.pass_count(), 1u);
  // Not flushed at once: in the last eighth of its age limit, at the latest at it.
  const int64_t waited = writeback_.passes()[0].micros - write_micros_[0];
  EXPECT_GE(waited, 30'000'000 - 30'000'000 / kAgeSlackDivisor);
  EXPECT_LE(waited, 30'000'000);
  EXPECT_EQ(writeback_.pending() + journal_.pending(), 0u);
  EXPECT_FALSE(scheduler_.GetStatus().armed_deadline_micros) << "quiescent: nothing armed";
  for (const auto& c : scheduler_.GetStatus().classes) EXPECT_EQ(c.state, "asleep") << c.name;
  // Journal reclaim freed what the flush released in the same round: the
  // journal bytes were as old as the write.
  ASSERT_EQ(journal_.pass_count(), 1u);
  EXPECT_EQ(journal_.passes()[0].micros, writeback_.passes()[0].micros);
  // Start, the write, the deadline, and the look after the passes.
  EXPECT_LE(rounds, 4u);
}

class TrickleRateTest : public TrickleTest, public ::testing::WithParamInterface<int64_t> {};

TEST_P(TrickleRateTest, TrickleIsGatheredByItsAgeLimitNotFlushedPerWrite) {
  const int64_t period = GetParam();
  const uint64_t rounds = Trickle(100, period, 600, 40);
  const uint64_t writes = write_micros_.size();
  SCOPED_TRACE(::testing::Message() << writes << " writes, " << rounds << " rounds, " << writeback_.pass_count()
                                    << " writeback passes, " << journal_.pass_count() << " journal passes");
  // One flush per age limit, each taking every write since the last one.
  EXPECT_GE(writeback_.pass_count(), 19u);
  EXPECT_LE(writeback_.pass_count(), 24u);
  for (const auto& pass : writeback_.passes()) EXPECT_GE(pass.done_bytes, 10 * 100u) << "gathered writes";
  EXPECT_LE(LongestWaitMicros(), 30'000'000) << "no write waits past work.max_pending_age_s";
  EXPECT_EQ(writeback_.pending(), 0u);
  // Journal reclaim's small work shares the writeback's wakeups.
  ASSERT_EQ(journal_.pass_count(), writeback_.pass_count());
  for (size_t i = 0; i < journal_.pass_count(); i++) {
    EXPECT_EQ(journal_.passes()[i].micros, writeback_.passes()[i].micros);
  }
  // A wakeup for the first write after each flush and one at each deadline:
  // a few per age limit, not several per write.
  EXPECT_LE(rounds, 3 * writeback_.pass_count() + 2);
  EXPECT_LT(static_cast<double>(rounds + writeback_.pass_count() + journal_.pass_count()) / writes, 0.5);
}

INSTANTIATE_TEST_SUITE_P(Periods, TrickleRateTest, ::testing::Values(2'000'000, 400'000, 100'000),
                         [](const auto& info) { return std::to_string(info.param / 1000) + "ms"; });

TEST_F(TrickleTest, SmallLeftoversOfABurstAreDoneInTheRushNotDeferred) {
  writeback_.set_unit_bytes(4 * kMiB);  // memtable flushes
  // Each 4 MiB flush hands journal reclaim 1 KiB: far below a pass's worth.
  ASSERT_TRUE(scheduler_.UnregisterClass("journal_reclaim").ok());
  FakeWorkSource small_downstream(&clock_);
  writeback_.AddDownstream(&small_downstream, 1.0 / 4096);
  ASSERT_TRUE(scheduler_.RegisterClass("journal_reclaim", &small_downstream, {"writeback"},
                                       Band(64 * kMiB, 192 * kMiB))
                  .ok());
  // A burst: 40 MiB in 4 s.
  Trickle(kMiB, 100'000, 4, 0);
  const int64_t stop = clock_.NowMicros();
  bool deferred = false;
  std::optional<int64_t> asleep_at = driver_.RunUntilAsleep(stop + 120'000'000, [&] {
    deferred = deferred || driver_.Class("journal_reclaim").state == "deferred";
  });
  ASSERT_TRUE(asleep_at);
  EXPECT_FALSE(deferred) << "the tail of a rush waited for an age limit";
  EXPECT_EQ(writeback_.pending() + small_downstream.pending(), 0u);
  EXPECT_GT(small_downstream.pass_count(), 0u);
  // As fast as before small work was deferred: within the horizon plus the work.
  EXPECT_LE(*asleep_at - stop, 500'000 + 5'000'000 + 2'000'000);
  EXPECT_FALSE(scheduler_.GetStatus().armed_deadline_micros);
}

TEST_F(TrickleTest, SteadyWritesBelowTheBandAreDoneWithinTheirAgeLimit) {
  // 1 MiB/s for two minutes against a 16 MiB band_low: without an age limit
  // nothing would run until the band (and with the load going on, never
  // below it).
  ASSERT_TRUE(scheduler_.SetClassSettings("writeback", Band(64 * kMiB, 192 * kMiB)).ok());
  driver_.RunPeriodic(100'000, clock_.NowMicros() + 120'000'000, [&] {
    write_micros_.push_back(clock_.NowMicros());
    Write(100 * 1024);
  }, {});
  ASSERT_GE(writeback_.pass_count(), 3u);
  ASSERT_LE(writeback_.pass_count(), 5u);
  write_micros_.resize(write_micros_.size() - 300);  // the last 30 s may still wait
  EXPECT_LE(LongestWaitMicros(), 30'000'000 + 100'000);
}

TEST_F(TrickleTest, HeldWorkIsReleasedWhenTheClassesAboveGoQuiet) {
  // Like the compaction daemon's wait_secs: work held back while the
  // classes above are busy, released when they go quiet, done in the rush.
  journal_.Hold(10 * kMiB);
  // Nothing has been busy yet: the hold stays, nothing is armed for it.
  EXPECT_FALSE(scheduler_.RunOnce());
  EXPECT_EQ(journal_.upstreams_idle_calls(), 0u);
  writeback_.set_unit_bytes(4 * kMiB);
  Trickle(kMiB, 100'000, 4, 0);  // a burst: writeback flushes
  ASSERT_GT(writeback_.pass_count(), 0u);
  EXPECT_EQ(journal_.upstreams_idle_calls(), 0u) << "released while writeback still works";
  const int64_t stop = clock_.NowMicros();
  std::optional<int64_t> asleep_at = driver_.RunUntilAsleep(stop + 120'000'000);
  ASSERT_TRUE(asleep_at);
  EXPECT_EQ(journal_.upstreams_idle_calls(), 1u);
  EXPECT_EQ(journal_.pending(), 0u) << "the held work was done in the rush";
  EXPECT_FALSE(journal_.HoldsWorkForUpstreams());
  EXPECT_LE(*asleep_at - stop, 500'000 + 5'000'000 + 5'000'000);
  EXPECT_FALSE(scheduler_.GetStatus().armed_deadline_micros);
}

TEST_F(TrickleTest, HeldWorkThatReachesTheBandHighIsReleasedWhileTheClassesAboveStillWork) {
  // Like a burst that starts within smoosh's wait_secs and outlasts it:
  // held work below the class's band_high (192 MiB) waits for the classes
  // above; once it reaches it, the class would run at its max rate anyway,
  // so it is released while they still work.
  writeback_.set_unit_bytes(4 * kMiB);
  journal_.Hold(100 * kMiB);
  Trickle(kMiB, 100'000, 2, 0);  // writeback flushes
  ASSERT_GT(writeback_.pass_count(), 0u);
  EXPECT_EQ(journal_.held_releases(), 0u) << "below band_high: held for the classes above";
  EXPECT_TRUE(journal_.HoldsWorkForUpstreams());
  journal_.Hold(92 * kMiB);  // 192 MiB: at band_high
  const size_t passes_before = journal_.pass_count();
  Trickle(kMiB, 100'000, 2, 0);  // writeback still flushes
  EXPECT_EQ(journal_.held_releases(), 1u);
  EXPECT_EQ(journal_.upstreams_idle_calls(), 0u) << "the classes above never went quiet";
  EXPECT_FALSE(journal_.HoldsWorkForUpstreams());
  EXPECT_GT(journal_.pass_count(), passes_before) << "the released work ran under load";
}

TEST_F(TrickleTest, HeldWorkIsReleasedAfterABurstNoRoundSawBusy) {
  // A class right below the foreground that holds work (like active
  // expiry's stragglers): a burst the dispatcher slept through (writes under
  // its wake threshold, the first round only after the burst went quiet)
  // still releases it, because the foreground was busy after the class was
  // last looked at.
  FakeWorkSource held(&clock_);
  ASSERT_TRUE(scheduler_.RegisterClass("held", &held, {"foreground"}, Band(16 * kMiB, 64 * kMiB)).ok());
  held.Hold(kMiB);
  scheduler_.RunOnce();
  EXPECT_EQ(held.upstreams_idle_calls(), 0u) << "nothing was busy";
  clock_.Advance(1'000'000);
  scheduler_.NoteForegroundWork(100);  // no round runs while it is busy
  clock_.Advance(10'000'000);  // well past the idle hysteresis and horizon
  scheduler_.RunOnce();
  EXPECT_EQ(held.upstreams_idle_calls(), 1u) << "the burst no round saw did not count";
  scheduler_.RunOnce();
  EXPECT_EQ(held.upstreams_idle_calls(), 1u) << "one burst, one release";
}

// ---- Work that comes due by itself ----------------------------------------------

// Nothing pending until `due_micros`, then `bytes` (active expiry: a stored
// value's deadline); NextWorkMicros names the time while nothing is pending.
class ComesDueSource final : public WorkSource {
 public:
  // `batch`: the source says its due work is a batch (PendingCameDue).
  ComesDueSource(ManualClock* clock, int64_t due_micros, uint64_t bytes, bool batch = false)
      : clock_(clock), due_micros_(due_micros), bytes_(bytes), batch_(batch) {}
  uint64_t PendingBytes() override { return clock_->NowMicros() >= due_micros_ ? bytes_ : 0; }
  bool PendingCameDue() override { return batch_; }
  bool FedByWrites() override { return false; }  // like active expiry
  Result<uint64_t> DoWork(uint64_t) override {
    pass_micros_.push_back(clock_->NowMicros());
    return std::exchange(bytes_, 0);
  }
  std::optional<int64_t> NextWorkMicros() override {
    if (bytes_ == 0) return std::nullopt;
    return due_micros_;
  }
  const std::vector<int64_t>& passes() const { return pass_micros_; }

 private:
  ManualClock* const clock_;
  const int64_t due_micros_;
  uint64_t bytes_;
  const bool batch_;
  std::vector<int64_t> pass_micros_;
};

TEST(ComesDueTest, OneDeadlineIsArmedAndThePassRunsWhenTheWorkComesDue) {
  ManualClock clock{1'000'000};
  BackgroundScheduler scheduler{&clock, TestSettings()};
  StepDriver driver{&scheduler, &clock};
  const int64_t due = clock.NowMicros() + 3'600'000'000LL;  // an hour away
  ComesDueSource expiry(&clock, due, 4096);
  ASSERT_TRUE(scheduler.RegisterClass("expiry", &expiry, {"foreground"}, Band(1 * kMiB, 4 * kMiB)).ok());
  // The first round arms the deadline and nothing sooner: no polling.
  std::optional<int64_t> deadline = scheduler.RunOnce();
  ASSERT_TRUE(deadline.has_value());
  EXPECT_EQ(*deadline, due);
  EXPECT_EQ(scheduler.GetStatus().armed_deadline_micros, due);
  EXPECT_TRUE(expiry.passes().empty());
  // Stepping like the dispatcher: it sleeps until the deadline; the work,
  // small, is then gathered like a trickle's (done by its age limit,
  // work.max_pending_age_s = 30 s here), and nothing is armed after it.
  const uint64_t rounds = driver.RunEventDriven(due + 600'000'000LL, {}, [](size_t) {});
  ASSERT_EQ(expiry.passes().size(), 1u);
  EXPECT_GE(expiry.passes()[0], due);
  EXPECT_LE(expiry.passes()[0], due + 30'000'000) << "done within its age limit of coming due";
  EXPECT_FALSE(scheduler.GetStatus().armed_deadline_micros) << "nothing left: nothing armed";
  EXPECT_LE(rounds, 4u) << "the start, the deadline, the age limit, the look after the pass";
}

TEST(ComesDueTest, WorkThatCameDueAsABatchRunsAtTheDeadline) {
  ManualClock clock{1'000'000};
  BackgroundScheduler scheduler{&clock, TestSettings()};
  StepDriver driver{&scheduler, &clock};
  const int64_t due = clock.NowMicros() + 3'600'000'000LL;
  ComesDueSource expiry(&clock, due, 4096, /*batch=*/true);
  ASSERT_TRUE(scheduler.RegisterClass("expiry", &expiry, {"foreground"}, Band(1 * kMiB, 4 * kMiB)).ok());
  std::optional<int64_t> deadline = scheduler.RunOnce();
  ASSERT_TRUE(deadline.has_value());
  EXPECT_EQ(*deadline, due);
  // Small as it is, the work is not deferred to its age limit: the deadline
  // was its batching.
  const uint64_t rounds = driver.RunEventDriven(due + 600'000'000LL, {}, [](size_t) {});
  ASSERT_EQ(expiry.passes().size(), 1u);
  EXPECT_EQ(expiry.passes()[0], due);
  EXPECT_FALSE(scheduler.GetStatus().armed_deadline_micros);
  EXPECT_LE(rounds, 3u) << "the start, the deadline (with its pass), the look after the pass";
}

// Under load a batch that came due waits like any other work: it is done
// when the writes stop (the rush to idle), not at its deadline.
TEST(ComesDueTest, UnderLoadADueBatchWaitsForTheRushToIdle) {
  ManualClock clock{1'000'000};
  BackgroundScheduler scheduler{&clock, TestSettings()};
  StepDriver driver{&scheduler, &clock};
  const int64_t due = clock.NowMicros() + 5'000'000;
  const int64_t writes_end = due + 10'000'000;
  ComesDueSource expiry(&clock, due, 4096, /*batch=*/true);
  ASSERT_TRUE(scheduler.RegisterClass("expiry", &expiry, {"foreground"}, Band(1 * kMiB, 4 * kMiB)).ok());
  driver.RunPeriodic(100'000, writes_end, [&] { scheduler.NoteForegroundWork(1000); }, {});
  EXPECT_TRUE(expiry.passes().empty()) << "ran at its deadline under load";
  ASSERT_TRUE(driver.RunUntilAsleep(writes_end + 60'000'000));
  ASSERT_EQ(expiry.passes().size(), 1u);
  EXPECT_GE(expiry.passes()[0], writes_end);
  EXPECT_LE(expiry.passes()[0], writes_end + 1'000'000) << "not in the rush to idle";
}

// Writes bring a class like active expiry no work: with nothing armed but
// it, a trickle of writes wakes nobody (before, every write woke the
// dispatcher, which found nothing to do).
TEST(ComesDueTest, WritesDoNotWakeTheDispatcherForAClassTheyDoNotFeed) {
  ManualClock clock{1'000'000};
  BackgroundScheduler scheduler{&clock, TestSettings()};
  ComesDueSource expiry(&clock, 0, 0);
  ASSERT_TRUE(scheduler.RegisterClass("expiry", &expiry, {"foreground"}, Band(1 * kMiB, 4 * kMiB)).ok());
  EXPECT_FALSE(scheduler.RunOnce().has_value());
  (void)scheduler.TakeNotification();
  for (int i = 0; i < 10; i++) {
    scheduler.NoteForegroundWork(100);
    EXPECT_FALSE(scheduler.TakeNotification()) << "write " << i << " woke the dispatcher";
  }
  // A class the writes do feed, asleep: the first write wakes it.
  FakeWorkSource writeback(&clock);
  ASSERT_TRUE(scheduler.RegisterClass("writeback", &writeback, {"foreground"}, Band(1 * kMiB, 4 * kMiB)).ok());
  EXPECT_FALSE(scheduler.RunOnce().has_value());
  (void)scheduler.TakeNotification();
  scheduler.NoteForegroundWork(100);
  EXPECT_TRUE(scheduler.TakeNotification());
}

TEST(ComesDueTest, ASourceWithNothingComingArmsNothing) {
  ManualClock clock{1'000'000};
  BackgroundScheduler scheduler{&clock, TestSettings()};
  ComesDueSource none(&clock, 0, 0);
  ASSERT_TRUE(scheduler.RegisterClass("expiry", &none, {"foreground"}, Band(1 * kMiB, 4 * kMiB)).ok());
  EXPECT_FALSE(scheduler.RunOnce().has_value());
  EXPECT_FALSE(scheduler.GetStatus().armed_deadline_micros);
}

// ---- Graph --------------------------------------------------------------------

TEST(WorkGraphTest, RegistrationIsValidated) {
  ManualClock clock;
  BackgroundScheduler scheduler(&clock, TestSettings());
  FakeWorkSource a(&clock), b(&clock), c(&clock);
  const WorkClassSettings s = Band(kMiB, 2 * kMiB);
  EXPECT_TRUE(scheduler.RegisterClass("foreground", &a, {}, s).IsInvalidArgument());
  EXPECT_TRUE(scheduler.RegisterClass("has.dot", &a, {}, s).IsInvalidArgument());
  EXPECT_TRUE(scheduler.RegisterClass("self", &a, {"self"}, s).IsInvalidArgument());
  EXPECT_TRUE(scheduler.RegisterClass("bad_band", &a, {}, Band(2 * kMiB, kMiB)).IsInvalidArgument());
  ASSERT_TRUE(scheduler.RegisterClass("a", &a, {"b"}, s).ok());  // b not registered yet: ignored
  EXPECT_TRUE(scheduler.RegisterClass("a", &b, {}, s).IsAlreadyExists());
  Status cycle = scheduler.RegisterClass("b", &b, {"a"}, s);
  EXPECT_TRUE(cycle.IsInvalidArgument());
  EXPECT_NE(cycle.message().find("a, b"), std::string::npos) << cycle.ToString();
  ASSERT_TRUE(scheduler.RegisterClass("b", &b, {"foreground"}, s).ok());
  ASSERT_TRUE(scheduler.RegisterClass("c", &c, {"a", "b"}, s).ok());
  // Status lists the foreground, then classes upstream first.
  std::vector<std::string> names;
  for (const auto& st : scheduler.GetStatus().classes) names.push_back(st.name);
  EXPECT_EQ(names, (std::vector<std::string>{"foreground", "b", "a", "c"}));
  ASSERT_TRUE(scheduler.UnregisterClass("a").ok());
  EXPECT_TRUE(scheduler.UnregisterClass("a").IsNotFound());
  EXPECT_TRUE(scheduler.Kick("a").IsNotFound());
  EXPECT_EQ(scheduler.GetStatus().classes.size(), 3u);
}

TEST(WorkGraphTest, ClassWithoutRegisteredUpstreamsFollowsTheForeground) {
  ManualClock clock;
  BackgroundScheduler scheduler(&clock, TestSettings());
  StepDriver driver(&scheduler, &clock);
  FakeWorkSource journal(&clock);
  // Its only declared upstream is absent: it must not rush while writes go on.
  ASSERT_TRUE(scheduler.RegisterClass("journal_reclaim", &journal, {"compaction"}, Band(64 * kMiB, 192 * kMiB)).ok());
  driver.RunPeriodic(kIntervalMicros, clock.NowMicros() + 5'000'000, [&] {
    journal.Add(kMiB);
    scheduler.NoteForegroundWork(kMiB);
  }, {});
  EXPECT_EQ(driver.Class("journal_reclaim").state, "waiting");
  EXPECT_EQ(journal.pass_count(), 0u);
  ASSERT_TRUE(driver.RunUntilAsleep(clock.NowMicros() + 60'000'000));
  EXPECT_EQ(journal.pending(), 0u);
}

TEST(WorkGraphTest, LateRegisteredUpstreamHoldsItsDownstream) {
  ManualClock clock;
  BackgroundScheduler scheduler(&clock, TestSettings());
  StepDriver driver(&scheduler, &clock);
  FakeWorkSource compaction(&clock), tiering(&clock), journal(&clock);
  ASSERT_TRUE(scheduler.RegisterClass("journal_reclaim", &journal, {"compaction", "tiering"},
                                      Band(64 * kMiB, 192 * kMiB))
                  .ok());
  ASSERT_TRUE(scheduler.RegisterClass("compaction", &compaction, {"foreground"}, Band(kMiB, 2 * kMiB)).ok());
  journal.Add(10 * kMiB);  // below its band: only idle flushing would touch it
  tiering.Add(1000 * kMiB);
  tiering.set_capacity_per_pass_bytes(kMiB);  // slow: 100 s of work
  ASSERT_TRUE(scheduler.RegisterClass("tiering", &tiering, {"foreground"}, Band(kMiB, 2 * kMiB)).ok());
  for (int i = 0; i < 100; i++) {
    clock.Advance(kIntervalMicros);
    scheduler.RunOnce();
  }
  EXPECT_EQ(journal.pass_count(), 0u) << "journal reclaim waits for the newly registered tiering class";
  EXPECT_EQ(driver.Class("tiering").state, "idle_flush");
  // Without tiering, journal reclaim flushes.
  ASSERT_TRUE(scheduler.UnregisterClass("tiering").ok());
  ASSERT_TRUE(driver.RunUntilAsleep(clock.NowMicros() + 60'000'000));
  EXPECT_EQ(journal.pending(), 0u);
}

// ---- Threaded scheduler ---------------------------------------------------------

class ThreadedSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(scheduler_.RegisterClass("writeback", &writeback_, {"foreground"}, Band(64 * kMiB, 192 * kMiB)).ok());
    ASSERT_TRUE(scheduler_.RegisterClass("compaction", &compaction_, {"writeback"}, Band(64 * kMiB, 192 * kMiB)).ok());
  }
  void TearDown() override { scheduler_.Stop(); }

  std::string driver_state() {
    for (const auto& c : scheduler_.GetStatus().classes) {
      if (c.name == "writeback") return c.state;
    }
    return "";
  }

  ManualClock clock_{1'000'000};
  BackgroundScheduler scheduler_{&clock_, TestSettings()};
  FakeWorkSource writeback_{&clock_}, compaction_{&clock_};
};

// The nice of every thread of this process whose name starts with `prefix`
// (field 19 of /proc/self/task/<tid>/stat).
std::vector<int> NiceOfThreadsNamed(const std::string& prefix) {
  std::vector<int> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind(prefix, 0) != 0) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    std::istringstream rest(line.substr(line.rfind(')') + 2));  // from field 3 on
    std::string field;
    for (int i = 3; i <= 19; i++) rest >> field;
    out.push_back(std::stoi(field));
  }
  return out;
}

// Waits (up to a minute: a wait, not a timing assertion) until there are
// `count` threads named `prefix`* and all have nice `nice`.
bool ThreadsReachNice(const std::string& prefix, size_t count, int nice) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < give_up) {
    const std::vector<int> seen = NiceOfThreadsNamed(prefix);
    if (seen.size() == count && std::all_of(seen.begin(), seen.end(), [&](int n) { return n == nice; })) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST_F(ThreadedSchedulerTest, WorkNiceSetsEveryBackgroundThreadsCpuWeight) {
  WorkSettings settings = TestSettings();
  settings.nice = 5;
  ASSERT_TRUE(scheduler_.ApplySettings(settings).ok());  // before Start: applied as the threads start
  ASSERT_TRUE(scheduler_.Start().ok());
  // The dispatcher and the two workers.
  EXPECT_TRUE(ThreadsReachNice("ebb-bg-", 3, 5)) << ::testing::PrintToString(NiceOfThreadsNamed("ebb-bg-"));
  settings.nice = 9;
  ASSERT_TRUE(scheduler_.ApplySettings(settings).ok());
  EXPECT_TRUE(ThreadsReachNice("ebb-bg-", 3, 9)) << ::testing::PrintToString(NiceOfThreadsNamed("ebb-bg-"));
  // Lowering needs CAP_SYS_NICE: either it works or it says so.
  settings.nice = 2;
  Status lowered = scheduler_.ApplySettings(settings);
  if (lowered.ok()) {
    EXPECT_TRUE(ThreadsReachNice("ebb-bg-", 3, 2));
  } else {
    EXPECT_TRUE(lowered.IsPermissionDenied()) << lowered.ToString();
    EXPECT_NE(lowered.message().find("CAP_SYS_NICE"), std::string::npos) << lowered.ToString();
    EXPECT_NE(lowered.message().find("work.nice"), std::string::npos) << lowered.ToString();
  }
  scheduler_.Stop();
  EXPECT_TRUE(NiceOfThreadsNamed("ebb-bg-").empty());
}

TEST_F(ThreadedSchedulerTest, StartsAndStopsCleanly) {
  ASSERT_TRUE(scheduler_.Start().ok());
  EXPECT_TRUE(scheduler_.Start().IsInvalidArgument());
  EXPECT_TRUE(scheduler_.WaitUntilAsleep(kFarFutureMicros));
  EXPECT_EQ(scheduler_.GetStatus().threads, 2);
  scheduler_.Stop();
  scheduler_.Stop();
  EXPECT_EQ(scheduler_.GetStatus().threads, 0);
  ASSERT_TRUE(scheduler_.Start().ok());
  EXPECT_TRUE(scheduler_.WaitUntilAsleep(kFarFutureMicros));
}

TEST_F(ThreadedSchedulerTest, KickWakesASleepingScheduler) {
  ASSERT_TRUE(scheduler_.Start().ok());
  ASSERT_TRUE(scheduler_.WaitUntilAsleep(kFarFutureMicros));
  writeback_.Add(10 * kMiB);  // no notification: the scheduler keeps sleeping
  ASSERT_TRUE(scheduler_.Kick("writeback").ok());
  ASSERT_TRUE(WaitForAccountedPasses(&scheduler_, &writeback_, "writeback", 1));
  EXPECT_GE(writeback_.passes()[0].budget_bytes, 10 * kMiB);
  EXPECT_EQ(writeback_.pending(), 0u);
  // Nothing left and the foreground is idle: back to sleep once the pass is
  // past the hysteresis (compaction below watches writeback until then).
  clock_.AdvanceSeconds(1);
  EXPECT_TRUE(scheduler_.WaitUntilAsleep(kFarFutureMicros));
}

TEST_F(ThreadedSchedulerTest, FirstForegroundWriteAfterSleepNotifiesLaterOnesDoNot) {
  ASSERT_TRUE(scheduler_.Start().ok());
  ASSERT_TRUE(scheduler_.WaitUntilAsleep(kFarFutureMicros));
  const uint64_t reads = writeback_.gauge_reads();
  EXPECT_EQ(scheduler_.GetStatus().foreground_notifications, 0u);
  auto write = [&](uint64_t bytes) {
    writeback_.Add(bytes);
    scheduler_.NoteForegroundWork(bytes);
  };
  write(4096);
  ASSERT_TRUE(writeback_.WaitForGaugeReads(reads + 1)) << "the dispatcher did not wake";
  ASSERT_TRUE(writeback_.WaitFor([&](FakeWorkSource&) { return driver_state() == "deferred"; }));
  // Small writes: the class has its deadline armed, so they do not wake the
  // dispatcher until a pass's worth has been written since its last look.
  for (int i = 0; i < 15; i++) write(4096);
  EXPECT_EQ(scheduler_.GetStatus().foreground_notifications, 1u);
  write(4096);  // 64 KiB since the round
  EXPECT_EQ(scheduler_.GetStatus().foreground_notifications, 2u);
  ASSERT_TRUE(writeback_.WaitFor([&](FakeWorkSource&) { return driver_state() == "waiting"; }));
  // Work worth a pass, below the band: the class looks every interval, and
  // writes do not notify at all.
  for (int i = 0; i < 1000; i++) write(4096);
  EXPECT_EQ(scheduler_.GetStatus().foreground_notifications, 2u);

  // Once the load stops the scheduler flushes and sleeps; the next write
  // wakes it.
  clock_.AdvanceSeconds(10);
  ASSERT_TRUE(writeback_.WaitFor([&](FakeWorkSource& s) { return s.pending() == 0; }));
  clock_.AdvanceSeconds(1);
  ASSERT_TRUE(scheduler_.WaitUntilAsleep(kFarFutureMicros));
  scheduler_.NoteForegroundWork(4096);
  EXPECT_EQ(scheduler_.GetStatus().foreground_notifications, 3u);
}

TEST_F(ThreadedSchedulerTest, NoWakeupsOnceQuiescent) {
  ASSERT_TRUE(scheduler_.Start().ok());
  writeback_.Add(5 * kMiB);
  scheduler_.NoteForegroundWork(5 * kMiB);
  ASSERT_TRUE(scheduler_.Kick("writeback").ok());
  ASSERT_TRUE(WaitForAccountedPasses(&scheduler_, &writeback_, "writeback", 1));
  clock_.AdvanceSeconds(2);  // past hysteresis for both classes
  ASSERT_TRUE(scheduler_.WaitUntilAsleep(kFarFutureMicros));
  const BackgroundSchedulerStatus before = scheduler_.GetStatus();
  EXPECT_FALSE(before.armed_deadline_micros);
  clock_.AdvanceSeconds(600);
  const BackgroundSchedulerStatus after = scheduler_.GetStatus();
  EXPECT_EQ(after.wakeups, before.wakeups);
  EXPECT_FALSE(after.armed_deadline_micros);
  EXPECT_EQ(writeback_.pass_count(), 1u);
  // The counter is live: the next foreground write wakes the dispatcher.
  const uint64_t reads = writeback_.gauge_reads();
  scheduler_.NoteForegroundWork(1);
  ASSERT_TRUE(writeback_.WaitForGaugeReads(reads + 1));
  EXPECT_TRUE(writeback_.WaitFor([&](FakeWorkSource&) { return scheduler_.GetStatus().wakeups > after.wakeups; }));
}

TEST_F(ThreadedSchedulerTest, ALoneSmallPassRunsOnTheDispatcherAndWakesNoWorker) {
  ASSERT_TRUE(scheduler_.Start().ok());
  ASSERT_TRUE(scheduler_.WaitUntilAsleep(kFarFutureMicros));
  // A trickle's leftovers (under small_pending_bytes), the only work: the
  // round that finds it runs it, so the process wakes one thread, once.
  writeback_.Add(4096);
  ASSERT_TRUE(scheduler_.Kick("writeback").ok());
  ASSERT_TRUE(WaitForAccountedPasses(&scheduler_, &writeback_, "writeback", 1));
  EXPECT_EQ(writeback_.passes()[0].thread, "ebb-bg-dispatch");
  EXPECT_EQ(scheduler_.GetStatus().dispatcher_passes, 1u);
  // Work worth a pass goes to a worker: the dispatcher stays free to look
  // after the other classes while it runs.
  writeback_.Add(10 * kMiB);
  ASSERT_TRUE(scheduler_.Kick("writeback").ok());
  ASSERT_TRUE(WaitForAccountedPasses(&scheduler_, &writeback_, "writeback", 2));
  EXPECT_EQ(writeback_.passes()[1].thread.rfind("ebb-bg-", 0), 0u);
  EXPECT_NE(writeback_.passes()[1].thread, "ebb-bg-dispatch");
  // So does any pass that may wait on an object store, however small.
  compaction_.set_remote(true);
  compaction_.Add(4096);
  ASSERT_TRUE(scheduler_.Kick("compaction").ok());
  ASSERT_TRUE(WaitForAccountedPasses(&scheduler_, &compaction_, "compaction", 1));
  EXPECT_NE(compaction_.passes()[0].thread, "ebb-bg-dispatch");
  EXPECT_EQ(scheduler_.GetStatus().dispatcher_passes, 1u);
}

TEST_F(ThreadedSchedulerTest, LongPassDoesNotBlockAnotherClass) {
  ASSERT_TRUE(scheduler_.Start().ok());
  compaction_.Add(10 * kMiB);  // below its band: only the kick runs it
  compaction_.set_blocking(true);
  ASSERT_TRUE(scheduler_.Kick("compaction").ok());
  ASSERT_TRUE(compaction_.WaitInPass());
  writeback_.Add(kMiB);
  ASSERT_TRUE(scheduler_.Kick("writeback").ok());
  EXPECT_TRUE(writeback_.WaitForPasses(1)) << "a flush must not wait behind a long compaction pass";
  EXPECT_EQ(compaction_.pass_count(), 0u);
  compaction_.set_blocking(false);
  EXPECT_TRUE(compaction_.WaitForPasses(1));
}

TEST_F(ThreadedSchedulerTest, StopFinishesThePassInProgress) {
  ASSERT_TRUE(scheduler_.Start().ok());
  compaction_.Add(10 * kMiB);
  compaction_.set_blocking(true);
  ASSERT_TRUE(scheduler_.Kick("compaction").ok());
  ASSERT_TRUE(compaction_.WaitInPass());
  std::thread stopper([&] { scheduler_.Stop(); });
  compaction_.set_blocking(false);
  stopper.join();
  EXPECT_EQ(compaction_.pass_count(), 1u);
  for (const auto& c : scheduler_.GetStatus().classes) {
    if (c.name == "compaction") {
      EXPECT_EQ(c.passes, 1u) << "the pass was accounted before Stop returned";
    }
  }
}

// Writers, kicks, clock movement, status reads and policy changes all at
// once (run under tsan): passes of one class never overlap and no work is
// lost or invented.
TEST_F(ThreadedSchedulerTest, ConcurrentUseKeepsOnePassPerClassAndConservesWork) {
  const uint64_t seed = ebb::testing::TestSeed(7);
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  writeback_.AddDownstream(&compaction_, 1.0);
  ASSERT_TRUE(scheduler_.Start().ok());
  std::atomic<bool> done{false};
  std::atomic<uint64_t> written{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; w++) {
    writers.emplace_back([&, w] {
      std::mt19937_64 rng(seed + w);
      for (int i = 0; i < 2000; i++) {
        const uint64_t bytes = 1 + rng() % (256 * 1024);
        writeback_.Add(bytes);
        written += bytes;
        scheduler_.NoteForegroundWork(bytes);
        if (i % 97 == 0) (void)scheduler_.Kick(i % 2 ? "writeback" : "compaction");
      }
    });
  }
  std::thread mover([&] {
    WorkSettings s = TestSettings();
    int i = 0;
    while (!done.load()) {
      clock_.Advance(kIntervalMicros / 2);
      (void)scheduler_.GetStatus();
      if (++i % 50 == 0) {
        s.policy = s.policy == WorkPolicy::kEbb ? WorkPolicy::kEager : WorkPolicy::kEbb;
        EXPECT_TRUE(scheduler_.ApplySettings(s).ok());
      }
      std::this_thread::yield();
    }
  });
  for (auto& t : writers) t.join();
  done = true;
  mover.join();
  scheduler_.Stop();
  EXPECT_EQ(writeback_.overlapping_passes(), 0u);
  EXPECT_EQ(compaction_.overlapping_passes(), 0u);
  uint64_t flushed = 0;
  for (const auto& pass : writeback_.passes()) flushed += pass.done_bytes;
  EXPECT_EQ(flushed + writeback_.pending(), written.load());
  uint64_t compacted = 0;
  for (const auto& pass : compaction_.passes()) compacted += pass.done_bytes;
  EXPECT_EQ(compacted + compaction_.pending(), flushed);
}

}  // namespace
}  // namespace ebb
