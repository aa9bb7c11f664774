#include "runtime/read_pool.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/random.h"
#include "base/test_util.h"
#include "runtime/read_pool_settings.h"
#include "runtime/test_gate.h"

namespace ebb {
namespace {

ReadPoolSettings Uniform(int threads, int64_t max_tasks_per_worker) {
  ReadPoolSettings settings = ReadPoolSettings::Defaults(2);
  for (Priority p : {Priority::kHigh, Priority::kNormal, Priority::kLow}) {
    settings.ForPriority(p).threads = threads;
    settings.ForPriority(p).max_tasks_per_worker = max_tasks_per_worker;
  }
  return settings;
}

std::unique_ptr<ReadPool> MakeReadPool(ReadPoolOptions options) {
  auto pool = ReadPool::Create(std::move(options));
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  return pool.ok() ? std::move(pool).value() : nullptr;
}

int CurrentThreadNice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())); }

TEST(ReadPoolTest, HighPriorityRunsWhileLowIsSaturated) {
  ReadPoolSettings settings = Uniform(2, 100);
  settings.low.threads = 1;
  settings.low.max_tasks_per_worker = 4;  // limit 4
  auto pool = MakeReadPool({.settings = settings, .name = "iso"});
  ASSERT_NE(pool, nullptr);

  Mutex mu;
  std::vector<std::string> finished;  // in completion order
  auto record = [&](const char* what) {
    MutexLock lock(&mu);
    finished.push_back(what);
  };

  TestGate low_gate;
  std::vector<std::future<Status>> low;
  for (int i = 0; i < 4; i++) {
    low.push_back(pool->SpawnFuture(Priority::kLow, [&](TaskContext&) {
      low_gate.Pass();
      record("low");
      return Status::OK();
    }));
  }
  low_gate.WaitForArrivals(1);  // low's only thread is held, three more queued
  ReadPoolFull full;
  std::future<Status> refused = pool->SpawnFuture(Priority::kLow, [](TaskContext&) { return Status::OK(); }, &full);
  EXPECT_TRUE(refused.get().IsBusy());
  EXPECT_EQ(full.priority, Priority::kLow);

  std::vector<std::future<Status>> high;
  std::vector<std::future<Status>> normal;
  for (int i = 0; i < 50; i++) {
    high.push_back(pool->SpawnFuture(Priority::kHigh, [&](TaskContext&) {
      record("high");
      return Status::OK();
    }));
    normal.push_back(pool->SpawnFuture(Priority::kNormal, [&](TaskContext&) {
      record("normal");
      return Status::OK();
    }));
  }
  for (auto& f : high) EXPECT_TRUE(f.get().ok());
  for (auto& f : normal) EXPECT_TRUE(f.get().ok());
  {
    MutexLock lock(&mu);
    EXPECT_EQ(finished.size(), 100u);
    EXPECT_EQ(std::count(finished.begin(), finished.end(), "low"), 0);
  }
  ReadPoolStatus status = pool->GetStatus();
  EXPECT_EQ(status.high.rejected, 0u);
  EXPECT_EQ(status.normal.rejected, 0u);
  EXPECT_EQ(status.low.rejected, 1u);
  EXPECT_EQ(status.low.running, 1);
  EXPECT_EQ(status.low.queued, 3);

  low_gate.Open();
  for (auto& f : low) EXPECT_TRUE(f.get().ok());
  MutexLock lock(&mu);
  ASSERT_EQ(finished.size(), 104u);
  for (size_t i = 100; i < 104; i++) EXPECT_EQ(finished[i], "low");
}

TEST(ReadPoolTest, ThreadsRunAtTheirPriorityNice) {
  auto pool = MakeReadPool({.settings = Uniform(1, 10), .name = "nice"});
  ASSERT_NE(pool, nullptr);
  auto nice_of = [&](Priority p) {
    Result<int> r = pool->SpawnFuture(p, [](TaskContext&) -> Result<int> { return CurrentThreadNice(); }).get();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : -100;
  };
  EXPECT_EQ(nice_of(Priority::kHigh), kDefaultNiceHigh);
  EXPECT_EQ(nice_of(Priority::kNormal), kDefaultNiceNormal);
  EXPECT_EQ(nice_of(Priority::kLow), kDefaultNiceLow);

  ReadPoolSettings settings = pool->settings();
  settings.low.nice = 15;
  settings.normal.nice = 3;
  ASSERT_TRUE(pool->ApplySettings(settings).ok());
  EXPECT_EQ(nice_of(Priority::kLow), 15);
  EXPECT_EQ(nice_of(Priority::kNormal), 3);
  EXPECT_EQ(pool->GetStatus().low.nice, 15);
}

TEST(ReadPoolTest, LimitHoldsExactlyWithManyConcurrentSubmitters) {
  ReadPoolSettings settings = Uniform(1, 10);
  settings.normal.threads = 2;
  settings.normal.max_tasks_per_worker = 50;  // limit 100
  // The task limit alone: the reads held at `hold` teach the wait estimate
  // a long wait, which would refuse the refill at the end on a slow build.
  settings.normal.max_wait_ms = 0;
  auto pool = MakeReadPool({.settings = settings, .name = "cas"});
  ASSERT_NE(pool, nullptr);

  constexpr int kSubmitters = 16;
  constexpr int kAttemptsEach = 200;
  TestGate hold;   // admitted tasks stay running or queued until opened
  TestGate start;  // all submitters start together
  std::atomic<int> admitted{0};
  std::atomic<int> busy{0};
  std::atomic<int> ran{0};
  std::vector<std::thread> submitters;
  Mutex mu;
  std::vector<std::future<Status>> futures;
  for (int s = 0; s < kSubmitters; s++) {
    submitters.emplace_back([&, s] {
      start.Pass();
      for (int i = 0; i < kAttemptsEach; i++) {
        Status st;
        if ((s + i) % 2 == 0) {
          st = pool->Spawn(
              Priority::kNormal,
              [&](TaskContext&) {
                hold.Pass();
                ran++;
              },
              [](const Status&) { ADD_FAILURE() << "aborted"; });
        } else {
          std::future<Status> f = pool->SpawnFuture(Priority::kNormal, [&](TaskContext&) {
            hold.Pass();
            ran++;
            return Status::OK();
          });
          if (f.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
            st = f.get();  // a refusal is ready at once; admitted tasks cannot finish yet
          } else {
            MutexLock lock(&mu);
            futures.push_back(std::move(f));
          }
        }
        if (st.ok()) {
          admitted++;
        } else {
          EXPECT_TRUE(st.IsBusy()) << st.ToString();
          busy++;
        }
      }
    });
  }
  start.WaitForArrivals(kSubmitters);
  start.Open();
  for (auto& t : submitters) t.join();

  EXPECT_EQ(admitted.load(), 100);
  EXPECT_EQ(busy.load(), kSubmitters * kAttemptsEach - 100);
  ReadPoolPriorityStatus status = pool->GetStatus(Priority::kNormal);
  EXPECT_EQ(status.limit, 100);
  EXPECT_EQ(status.admitted, 100u);
  EXPECT_EQ(status.rejected, static_cast<uint64_t>(kSubmitters * kAttemptsEach - 100));
  EXPECT_EQ(status.running + status.queued, 100);

  hold.Open();
  for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  pool->WaitUntilIdle();
  EXPECT_EQ(ran.load(), 100);
  status = pool->GetStatus(Priority::kNormal);
  EXPECT_EQ(status.completed, 100u);
  EXPECT_EQ(status.running + status.queued, 0);
  // Slots were given back: a full limit's worth is admitted again.
  for (int i = 0; i < 100; i++) {
    EXPECT_TRUE(pool->Spawn(Priority::kNormal, [](TaskContext&) {}, [](const Status&) {}).ok());
  }
}

TEST(ReadPoolTest, BusyCarriesCountLimitAndEstimatedWait) {
  ManualClock clock;
  ReadPoolSettings settings = Uniform(1, 10);
  settings.low.max_tasks_per_worker = 4;  // one thread: limit 4
  auto pool = MakeReadPool({.settings = settings, .name = "busy", .clock = &clock});
  ASSERT_NE(pool, nullptr);

  // Fills low: one task held on `gate` (running), three queued; every task
  // runs for `run_us` of manual time once it gets going.
  auto fill = [&](TestGate* gate, int64_t run_us) {
    std::vector<std::future<Status>> futures;
    for (int i = 0; i < 4; i++) {
      futures.push_back(pool->SpawnFuture(Priority::kLow, [&clock, gate, i, run_us](TaskContext&) {
        if (i == 0) gate->Pass();
        clock.Advance(run_us);
        return Status::OK();
      }));
    }
    gate->WaitForArrivals(1);
    return futures;
  };
  auto refuse = [&](ReadPoolFull* full) {
    return pool->Spawn(Priority::kLow, [](TaskContext&) { ADD_FAILURE() << "ran over the limit"; },
                       [](const Status&) {}, full);
  };

  // No task has finished yet: 1 ms per task assumed; the running one and
  // three queued finish before a new one would start on the one worker.
  TestGate gate1;
  auto first = fill(&gate1, 10'000);
  ReadPoolFull full;
  Status s = refuse(&full);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_EQ(full.current, 4);
  EXPECT_EQ(full.limit, 4);
  EXPECT_EQ(full.estimated_wait_us, 4 * ReadPool::kPriorRunTimeUs);
  EXPECT_NE(s.message().find("ReadPool low: 4 reads running or queued, at the limit of 4 (4 per worker x 1 threads)"),
            std::string::npos)
      << s.ToString();
  EXPECT_NE(s.message().find("estimated wait 4 ms"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("readpool.max_tasks_per_worker_low"), std::string::npos) << s.ToString();
  gate1.Open();
  for (auto& f : first) EXPECT_TRUE(f.get().ok());
  pool->WaitUntilIdle();

  // Those tasks ran 10 ms each, and the queued ones waited 10 ms per read
  // ahead of them: four ahead now wait ~40 ms.
  TestGate gate2;
  auto second = fill(&gate2, 10'000);
  EXPECT_TRUE(refuse(&full).IsBusy());
  EXPECT_EQ(full.estimated_wait_us, 40'000);
  EXPECT_EQ(pool->EstimatedWaitMicros(Priority::kLow), 40'000);
  gate2.Open();
  for (auto& f : second) EXPECT_TRUE(f.get().ok());
  pool->WaitUntilIdle();

  // Reads of no time, the first on a free worker and the others queued
  // behind it but started at once, pull the estimate down by 0.1 of the
  // difference each: 10 ms to 9, 8.1, 7.29 and 6.561 ms.
  TestGate gate3;
  auto third = fill(&gate3, 0);
  EXPECT_TRUE(refuse(&full).IsBusy());
  EXPECT_EQ(full.estimated_wait_us, 40'000) << "the queued ones have not started yet";
  gate3.Open();
  for (auto& f : third) EXPECT_TRUE(f.get().ok());
  pool->WaitUntilIdle();

  // Nothing queued behind a full pool: the running read is ahead.
  settings.low.max_tasks_per_worker = 1;
  ASSERT_TRUE(pool->ApplySettings(settings).ok());
  TestGate gate4;
  std::future<Status> held = pool->SpawnFuture(Priority::kLow, [&](TaskContext&) {
    gate4.Pass();
    return Status::OK();
  });
  gate4.WaitForArrivals(1);
  EXPECT_TRUE(refuse(&full).IsBusy());
  EXPECT_EQ(full.current, 1);
  EXPECT_EQ(full.limit, 1);
  EXPECT_EQ(full.estimated_wait_us, 6'561);
  gate4.Open();
  EXPECT_TRUE(held.get().ok());
  EXPECT_EQ(pool->GetStatus(Priority::kLow).rejected, 4u);
}

// With max_wait_ms set, a read whose estimated wait (the reads that must
// finish before it starts x the wait each costs; before any read has found
// every worker busy, run time / workers) is over it gets Busy at once, well
// before the task limit; a read that fits is admitted; 0 turns it off.
TEST(ReadPoolTest, AdmissionByEstimatedWaitRefusesBeforeTheTaskLimit) {
  ManualClock clock;
  ReadPoolSettings settings = Uniform(1, 1000);  // the task limit is far away
  settings.normal.max_wait_ms = 3.5;
  auto pool = MakeReadPool({.settings = settings, .name = "wait", .clock = &clock});
  ASSERT_NE(pool, nullptr);
  // Teach the estimate: tasks of 1 ms.
  // Each waited for to the end (its future is ready before its accounting
  // is done), so each finds the worker free.
  for (int i = 0; i < 5; i++) {
    ASSERT_TRUE(pool->SpawnFuture(Priority::kNormal, [&](TaskContext&) {
                      clock.Advance(1000);
                      return Status::OK();
                    })
                    .get()
                    .ok());
    pool->WaitUntilIdle();
  }
  TestGate gate;
  std::vector<std::future<Status>> admitted;
  // One running (held) and two queued: the next would wait 3 x 1 ms.
  for (int i = 0; i < 3; i++) {
    admitted.push_back(pool->SpawnFuture(Priority::kNormal, [&gate, i](TaskContext&) {
      if (i == 0) gate.Pass();
      return Status::OK();
    }));
  }
  gate.WaitForArrivals(1);
  auto spawn = [&](ReadPoolFull* full) {
    return pool->SpawnFuture(Priority::kNormal, [](TaskContext&) { return Status::OK(); }, full);
  };
  ReadPoolFull full;
  auto fits = spawn(&full);  // 3 ms <= 3.5 ms: admitted (now 3 queued)
  auto refused = spawn(&full);  // 4 ms > 3.5 ms
  Status s = refused.get();
  ASSERT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_EQ(full.estimated_wait_us, 4000);
  EXPECT_NE(s.message().find("estimated wait 4000 us for 4 reads ahead is over readpool.max_wait_ms_normal (3.5 ms)"),
            std::string::npos)
      << s.ToString();
  ReadPoolPriorityStatus st = pool->GetStatus(Priority::kNormal);
  EXPECT_EQ(st.rejected_by_wait, 1u);
  EXPECT_EQ(st.rejected, 1u);
  EXPECT_DOUBLE_EQ(st.max_wait_ms, 3.5);
  // Other priorities are not limited by it.
  EXPECT_TRUE(pool->SpawnFuture(Priority::kHigh, [](TaskContext&) { return Status::OK(); }).get().ok());
  // Off: admitted up to the task limit.
  settings.normal.max_wait_ms = 0;
  ASSERT_TRUE(pool->ApplySettings(settings).ok());
  auto unlimited = spawn(nullptr);
  gate.Open();
  for (auto& f : admitted) EXPECT_TRUE(f.get().ok());
  EXPECT_TRUE(fits.get().ok());
  EXPECT_TRUE(unlimited.get().ok());
}

// The wait a read ahead costs is learnt from how fast the queue drained
// (reads that found every worker busy: their wait per read ahead; reads
// that found one free: their run time per worker), and an estimate that
// refuses every read that would queue still comes down as reads finish.
TEST(ReadPoolTest, EstimatedWaitFollowsHowFastTheQueueDrained) {
  ManualClock clock;
  ReadPoolSettings settings = Uniform(1, 1000);
  settings.normal.max_wait_ms = 5;
  auto pool = MakeReadPool({.settings = settings, .name = "drain", .clock = &clock});
  ASSERT_NE(pool, nullptr);
  auto quick = [] { return [](TaskContext&) { return Status::OK(); }; };
  // One read holds the worker while three queue (with one, two and three
  // reads to wait for); the clock moves 4 ms before they run.
  {
    TestGate gate;
    std::vector<std::future<Status>> reads;
    reads.push_back(pool->SpawnFuture(Priority::kNormal, [&gate](TaskContext&) {
      gate.Pass();
      return Status::OK();
    }));
    gate.WaitForArrivals(1);
    for (int i = 0; i < 3; i++) reads.push_back(pool->SpawnFuture(Priority::kNormal, quick()));
    clock.Advance(4000);
    gate.Open();
    for (auto& f : reads) ASSERT_TRUE(f.get().ok());
  }
  pool->WaitUntilIdle();
  // The held read ran 4 ms on a free worker (4 ms per read ahead); the
  // queued ones all waited 4 ms with one, two and three ahead (4, 2 and
  // 1.33 ms): an EWMA (0.1) of 3.553 ms. With one read running and one
  // queued, a new one has two ahead: 7.1 ms, refused.
  auto hold_and_queue_one = [&](TestGate* gate) {
    std::vector<std::future<Status>> reads;
    reads.push_back(pool->SpawnFuture(Priority::kNormal, [gate](TaskContext&) {
      gate->Pass();
      return Status::OK();
    }));
    gate->WaitForArrivals(1);
    reads.push_back(pool->SpawnFuture(Priority::kNormal, quick()));  // one ahead: 3.6 ms, admitted
    return reads;
  };
  {
    TestGate gate;
    auto reads = hold_and_queue_one(&gate);
    ReadPoolFull full;
    Status s = pool->SpawnFuture(Priority::kNormal, quick(), &full).get();
    ASSERT_TRUE(s.IsBusy()) << s.ToString();
    EXPECT_EQ(full.estimated_wait_us, 7'107);
    EXPECT_NE(s.message().find("estimated wait 7107 us for 2 reads ahead"), std::string::npos) << s.ToString();
    EXPECT_EQ(pool->GetStatus(Priority::kNormal).estimated_wait_us, 7'107);
    gate.Open();
    for (auto& f : reads) EXPECT_TRUE(f.get().ok());
  }
  pool->WaitUntilIdle();
  // Those two ran in no time (a free worker, then one ahead without a
  // wait): 3.553 ms x 0.9 x 0.9 = 2.878 ms. Four more quick reads on a
  // free worker: 1.889 ms, and two ahead (3.8 ms) fit again.
  for (int i = 0; i < 4; i++) {
    ASSERT_TRUE(pool->SpawnFuture(Priority::kNormal, quick()).get().ok());
    pool->WaitUntilIdle();  // its accounting done: the next finds the worker free
  }
  {
    TestGate gate;
    auto reads = hold_and_queue_one(&gate);
    EXPECT_EQ(pool->GetStatus(Priority::kNormal).estimated_wait_us, 3'777);
    reads.push_back(pool->SpawnFuture(Priority::kNormal, quick()));
    gate.Open();
    for (auto& f : reads) EXPECT_TRUE(f.get().ok());
  }
}

TEST(ReadPoolTest, MetricsArePublishedOnTickAndWhenThePoolDrains) {
  ManualClock clock;
  ReadPoolSettings settings = Uniform(1, 100);
  settings.tick_interval_ms = 1000;
  auto pool = MakeReadPool({.settings = settings, .name = "metrics", .clock = &clock});
  ASSERT_NE(pool, nullptr);

  // B holds the only normal worker; T1..T4 queue behind it and run back to
  // back, so the worker neither idles nor ticks until T2 moves the clock a
  // full interval. Each T reports the published completed count it sees.
  auto published = [&] { return pool->GetStatus(Priority::kNormal).completed; };
  TestGate gate;
  std::future<Status> b = pool->SpawnFuture(Priority::kNormal, [&](TaskContext&) {
    gate.Pass();
    return Status::OK();
  });
  gate.WaitForArrivals(1);
  std::vector<std::future<Result<uint64_t>>> t;
  t.push_back(pool->SpawnFuture(Priority::kNormal, [&](TaskContext&) -> Result<uint64_t> { return published(); }));
  t.push_back(pool->SpawnFuture(Priority::kNormal, [&](TaskContext&) -> Result<uint64_t> {
    clock.Advance(1'000'000);  // this task runs for one tick interval
    return published();
  }));
  t.push_back(pool->SpawnFuture(Priority::kNormal, [&](TaskContext&) -> Result<uint64_t> { return published(); }));
  t.push_back(pool->SpawnFuture(Priority::kNormal, [&](TaskContext&) -> Result<uint64_t> { return published(); }));
  clock.Advance(5'000);  // B runs 5 ms; T1 and T2 wait 5 ms in the queue
  gate.Open();
  EXPECT_TRUE(b.get().ok());
  EXPECT_EQ(*t[0].get(), 0u);  // B done but not yet published
  EXPECT_EQ(*t[1].get(), 0u);
  EXPECT_EQ(*t[2].get(), 3u);  // T2's tick published B, T1, T2
  EXPECT_EQ(*t[3].get(), 3u);
  pool->WaitUntilIdle();       // running dry published T3 and T4

  ReadPoolPriorityStatus status = pool->GetStatus(Priority::kNormal);
  EXPECT_EQ(status.priority, "normal");
  EXPECT_EQ(status.admitted, 5u);
  EXPECT_EQ(status.completed, 5u);
  EXPECT_EQ(status.rejected, 0u);
  EXPECT_EQ(status.aborted, 0u);
  EXPECT_EQ(status.running, 0);
  EXPECT_EQ(status.queued, 0);
  EXPECT_EQ(status.threads, 1);
  EXPECT_EQ(status.limit, 100);
  // Queue waits 0, 5 ms, 5 ms, ~1 s, ~1 s; run times 5 ms, 0, 1 s, 0, 0.
  // Histogram buckets are within 6.25%.
  EXPECT_NEAR(status.queue_wait_p50_us, 5'000, 5'000 * 0.07);
  EXPECT_NEAR(status.queue_wait_p99_us, 1'005'000, 1'005'000 * 0.07);
  EXPECT_NEAR(status.run_p99_us, 1'000'000, 1'000'000 * 0.07);
  EXPECT_LT(status.run_p50_us, 1.0);
  EXPECT_EQ(status.estimated_wait_us, 0);
  EXPECT_EQ(pool->GetStatus(Priority::kHigh).completed, 0u);
}

// The caller's own per-thread context: counts what it sees.
struct UserEvents {
  Mutex mu;
  std::map<Priority, std::set<const TaskContext*>> created GUARDED_BY(mu);
  std::atomic<int> destroyed{0};
  std::atomic<int> idles{0};
  std::atomic<int> wrong_thread{0};
};

class UserContext final : public TaskContext {
 public:
  UserContext(Priority priority, UserEvents* events)
      : priority_(priority), owner_(std::this_thread::get_id()), events_(events) {}
  ~UserContext() override { events_->destroyed++; }
  void OnIdle() override { events_->idles++; }
  Priority priority() const { return priority_; }
  bool OnOwnThread() const { return owner_ == std::this_thread::get_id(); }

 private:
  const Priority priority_;
  const std::thread::id owner_;
  UserEvents* const events_;
};

TEST(ReadPoolTest, UserContextsArePerThreadAndPerPriority) {
  UserEvents events;
  ReadPoolSettings settings = Uniform(1, 100);
  settings.high.threads = 2;
  settings.normal.threads = 3;
  settings.low.threads = 1;
  auto pool = MakeReadPool({.settings = settings,
                            .name = "user",
                            .context_factory = [&events](Priority p, int) -> std::unique_ptr<TaskContext> {
                              auto context = std::make_unique<UserContext>(p, &events);
                              MutexLock lock(&events.mu);
                              events.created[p].insert(context.get());
                              return context;
                            }});
  ASSERT_NE(pool, nullptr);

  // Hold every worker of every priority at once; each task records the
  // context it was given.
  TestGate gate;
  Mutex mu;
  std::map<Priority, std::set<const TaskContext*>> seen;
  std::vector<std::future<Status>> futures;
  for (Priority p : {Priority::kHigh, Priority::kNormal, Priority::kLow}) {
    for (int i = 0; i < settings.ForPriority(p).threads; i++) {
      futures.push_back(pool->SpawnFuture(p, [&, p](TaskContext& context) {
        auto& user = static_cast<UserContext&>(context);
        if (!user.OnOwnThread() || user.priority() != p) events.wrong_thread++;
        {
          MutexLock lock(&mu);
          seen[p].insert(&context);
        }
        gate.Pass();
        return Status::OK();
      }));
    }
  }
  gate.WaitForArrivals(6);
  gate.Open();
  for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  pool->WaitUntilIdle();
  EXPECT_EQ(seen[Priority::kHigh].size(), 2u);
  EXPECT_EQ(seen[Priority::kNormal].size(), 3u);
  EXPECT_EQ(seen[Priority::kLow].size(), 1u);
  {
    MutexLock lock(&events.mu);
    EXPECT_EQ(events.created[Priority::kNormal], seen[Priority::kNormal]);
  }
  EXPECT_EQ(events.wrong_thread.load(), 0);
  EXPECT_EQ(events.idles.load(), 6);  // each worker published once as it went idle
  pool->Stop();
  EXPECT_EQ(events.destroyed.load(), 6);
}

TEST(ReadPoolTest, ShutdownUnderLoadCompletesEveryReadExactlyOnce) {
  const uint64_t seed = testing::TestSeed(0x5eed0002);
  SCOPED_TRACE(::testing::Message() << "seed=" << seed);
  ReadPoolSettings settings = Uniform(2, 20);  // limit 40 per priority: some Busy
  auto pool = MakeReadPool({.settings = settings, .name = "shut"});
  ASSERT_NE(pool, nullptr);

  constexpr int kSubmitters = 6;
  constexpr int kTasksEach = 1500;
  enum Outcome : int { kRan = 1, kAborted = 16, kBusy = 256, kRefusedStopped = 4096 };
  std::vector<std::atomic<int>> outcome(kSubmitters * kTasksEach);
  std::atomic<int> busy_by_priority[3] = {};
  TestCounter ran;
  TestCounter submitted;
  std::vector<std::thread> submitters;
  std::vector<std::vector<std::pair<int, std::future<Status>>>> futures(kSubmitters);
  for (int s = 0; s < kSubmitters; s++) {
    submitters.emplace_back([&, s] {
      Random rnd(seed + static_cast<uint64_t>(s));
      for (int i = 0; i < kTasksEach; i++) {
        submitted.Add();
        int id = s * kTasksEach + i;
        auto& slot = outcome[static_cast<size_t>(id)];
        int pi = static_cast<int>(rnd.Next() % 3);
        Priority p = pi == 0 ? Priority::kHigh : pi == 1 ? Priority::kNormal : Priority::kLow;
        Status st;
        if (rnd.Next() % 2 == 0) {
          st = pool->Spawn(
              p,
              [&slot, &ran](TaskContext&) {
                slot += kRan;
                ran.Add();
              },
              [&slot](const Status& status) {
                EXPECT_TRUE(status.IsAborted()) << status.ToString();
                slot += kAborted;
              });
        } else {
          std::future<Status> f = pool->SpawnFuture(p, [&slot, &ran](TaskContext&) {
            slot += kRan;
            ran.Add();
            return Status::OK();
          });
          futures[static_cast<size_t>(s)].emplace_back(id, std::move(f));
          continue;
        }
        if (st.IsBusy()) {
          slot += kBusy;
          busy_by_priority[pi]++;
        } else if (!st.ok()) {
          EXPECT_TRUE(st.IsAborted()) << st.ToString();
          slot += kRefusedStopped;
        }
      }
    });
  }
  // Stop halfway through the submissions (not after N reads ran: on a
  // loaded machine most submissions may be refused with Busy).
  submitted.WaitFor(kSubmitters * kTasksEach / 2);
  pool->Stop();
  for (auto& t : submitters) t.join();

  for (int s = 0; s < kSubmitters; s++) {
    for (auto& [id, f] : futures[static_cast<size_t>(s)]) {
      ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
      Status st = f.get();
      auto& slot = outcome[static_cast<size_t>(id)];
      if (st.ok()) {
        EXPECT_EQ(slot.load(), kRan) << "task " << id;
      } else {
        EXPECT_EQ(slot.load(), 0) << "task " << id << " ran but its future says " << st.ToString();
        EXPECT_TRUE(st.IsBusy() || st.IsAborted()) << st.ToString();
        slot += st.IsBusy() ? kBusy : kAborted;  // aborted queued, or refused after Stop
      }
    }
  }
  for (size_t id = 0; id < outcome.size(); id++) {
    int o = outcome[id].load();
    ASSERT_TRUE(o == kRan || o == kAborted || o == kBusy || o == kRefusedStopped)
        << "task " << id << " completed as " << o << " (1 ran, 16 aborted, 256 busy, 4096 refused)";
  }
  // Accounting agrees with what callers saw: every admitted read either
  // completed or was aborted, and nothing is left running or queued.
  ReadPoolStatus status = pool->GetStatus();
  uint64_t completed = 0;
  for (const ReadPoolPriorityStatus* p : {&status.high, &status.normal, &status.low}) {
    EXPECT_EQ(p->admitted, p->completed + p->aborted) << p->priority;
    EXPECT_EQ(p->running, 0) << p->priority;
    EXPECT_EQ(p->queued, 0) << p->priority;
    completed += p->completed;
  }
  EXPECT_EQ(completed, static_cast<uint64_t>(ran.value()));
  EXPECT_GE(status.high.rejected, static_cast<uint64_t>(busy_by_priority[0].load()));
}

TEST(ReadPoolTest, SpawnAfterStopIsAborted) {
  auto pool = MakeReadPool({.settings = Uniform(1, 10), .name = "late"});
  ASSERT_NE(pool, nullptr);
  pool->Stop();
  bool called = false;
  Status s = pool->Spawn(Priority::kHigh, [&](TaskContext&) { called = true; }, [&](const Status&) { called = true; });
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  EXPECT_NE(s.message().find("ReadPool high"), std::string::npos) << s.ToString();
  EXPECT_FALSE(called);
  std::future<Result<int>> f = pool->SpawnFuture(Priority::kLow, [](TaskContext&) -> Result<int> { return 1; });
  EXPECT_TRUE(f.get().status().IsAborted());
  EXPECT_TRUE(pool->ApplySettings(Uniform(2, 10)).IsAborted());
  EXPECT_EQ(pool->GetStatus().low.admitted, 0u);
  EXPECT_EQ(pool->GetStatus().low.rejected, 0u);
}

std::shared_ptr<ConfigSchema> ReadPoolSchema() {
  auto schema = std::make_shared<ConfigSchema>();
  RegisterReadPoolSettings(schema.get());
  return schema;
}

TEST(ReadPoolTest, ApplyConfigResizesThreadsAndLimitsAtRunTime) {
  Config config(ReadPoolSchema());
  ASSERT_TRUE(config.Set("readpool", "threads_normal", "1", false).ok());
  ASSERT_TRUE(config.Set("readpool", "max_tasks_per_worker_normal", "2", false).ok());
  auto pool = MakeReadPool({.settings = ReadPoolSettings::FromConfig(config), .name = "cfg"});
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->GetStatus(Priority::kNormal).limit, 2);

  int listener_errors = 0;
  int id = config.Subscribe("readpool", [&](const std::string&, const std::string&) {
    if (!pool->ApplyConfig(config).ok()) listener_errors++;
  });
  ASSERT_TRUE(config.Set("readpool", "threads_normal", "3", true).ok());
  ReadPoolPriorityStatus status = pool->GetStatus(Priority::kNormal);
  EXPECT_EQ(status.threads, 3);
  EXPECT_EQ(status.limit, 6);

  // Three threads run three reads at once, and exactly six are admitted.
  auto fill = [&](TestGate* gate, int attempts, int* admitted) {
    std::vector<std::future<Status>> futures;
    for (int i = 0; i < attempts; i++) {
      ReadPoolFull full;
      std::future<Status> f = pool->SpawnFuture(
          Priority::kNormal,
          [gate](TaskContext&) {
            gate->Pass();
            return Status::OK();
          },
          &full);
      if (f.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        EXPECT_TRUE(f.get().IsBusy());
      } else {
        (*admitted)++;
        futures.push_back(std::move(f));
      }
    }
    return futures;
  };
  {
    TestGate gate;
    int admitted = 0;
    auto futures = fill(&gate, 10, &admitted);
    gate.WaitForArrivals(3);
    EXPECT_EQ(admitted, 6);
    EXPECT_EQ(pool->GetStatus(Priority::kNormal).running, 3);
    gate.Open();
    for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  }
  pool->WaitUntilIdle();

  ASSERT_TRUE(config.Set("readpool", "max_tasks_per_worker_normal", "1", true).ok());
  EXPECT_EQ(pool->GetStatus(Priority::kNormal).limit, 3);
  ASSERT_TRUE(config.Set("readpool", "threads_normal", "2", true).ok());
  status = pool->GetStatus(Priority::kNormal);
  EXPECT_EQ(status.threads, 2);
  EXPECT_EQ(status.limit, 2);
  {
    TestGate gate;
    int admitted = 0;
    auto futures = fill(&gate, 5, &admitted);
    gate.WaitForArrivals(2);
    EXPECT_EQ(admitted, 2);
    gate.Open();
    for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  }
  // Unset goes back to the derived default.
  ASSERT_TRUE(config.Set("readpool", "threads_normal", "0", true).ok());
  EXPECT_EQ(pool->GetStatus(Priority::kNormal).threads, DefaultReadPoolThreads(Priority::kNormal, HardwareConcurrency()));
  ASSERT_TRUE(config.Set("readpool", "tick_interval_ms", "50", true).ok());
  EXPECT_EQ(pool->settings().tick_interval_ms, 50);
  ASSERT_TRUE(config.Set("readpool", "spin_us", "0", true).ok());
  EXPECT_EQ(pool->settings().spin_us, 0);
  EXPECT_EQ(listener_errors, 0);
  config.Unsubscribe(id);
}

TEST(ReadPoolSettingsTest, DefaultsAreDerivedFromTheCoreCount) {
  Config config(ReadPoolSchema());
  ReadPoolSettings two = ReadPoolSettings::FromConfig(config, 2);
  EXPECT_EQ(two.high.threads, 2);
  EXPECT_EQ(two.normal.threads, 2);
  EXPECT_EQ(two.low.threads, 1);
  ReadPoolSettings sixteen = ReadPoolSettings::FromConfig(config, 16);
  EXPECT_EQ(sixteen.high.threads, 8);
  EXPECT_EQ(sixteen.normal.threads, 13);
  EXPECT_EQ(sixteen.low.threads, 4);
  for (Priority p : {Priority::kHigh, Priority::kNormal, Priority::kLow}) {
    EXPECT_EQ(two.ForPriority(p).max_tasks_per_worker, 2000);
    EXPECT_EQ(two.ForPriority(p).threads, ReadPoolSettings::Defaults(2).ForPriority(p).threads);
  }
  EXPECT_EQ(two.tick_interval_ms, 1000);
  EXPECT_EQ(two.spin_us, 20);
  EXPECT_EQ(two.high.nice, 0);
  EXPECT_EQ(two.normal.nice, 0);
  EXPECT_EQ(two.low.nice, 10);
  EXPECT_TRUE(two.Validate().ok());
  EXPECT_EQ(DefaultReadPoolThreads(Priority::kNormal, 1024), kMaxReadPoolThreads);
}

TEST(ReadPoolSettingsTest, EverySettingIsDocumentedAndChangesAtRunTime) {
  auto schema = ReadPoolSchema();
  int count = 0;
  for (const SettingSpec& spec : schema->settings()) {
    EXPECT_EQ(spec.section, "readpool");
    EXPECT_TRUE(spec.runtime) << spec.key;
    EXPECT_FALSE(spec.description.empty()) << spec.key;
    EXPECT_FALSE(spec.unit.empty()) << spec.key;
    count++;
  }
  EXPECT_EQ(count, 15);  // threads, tasks and max wait per priority, nice per priority, tick, demotion, spin
  Config config(schema);
  Status s = config.Set("readpool", "max_tasks_per_worker_low", "0", true);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_TRUE(config.Set("readpool", "nice_low", "25", true).IsInvalidArgument());
  EXPECT_TRUE(config.Set("readpool", "threads_high", "257", true).IsInvalidArgument());
  s = config.Set("readpool", "spin_us", "10001", true);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.ToString().find("spin_us"), std::string::npos) << s.ToString();

  ReadPoolSettings bad = ReadPoolSettings::Defaults(2);
  bad.low.max_tasks_per_worker = 0;
  s = bad.Validate();
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("readpool.max_tasks_per_worker_low"), std::string::npos) << s.ToString();
  EXPECT_TRUE(ReadPool::Create({.settings = bad}).status().IsInvalidArgument());
}

}  // namespace
}  // namespace ebb
