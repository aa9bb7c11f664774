#include "runtime/future_pool.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "base/random.h"
#include "base/test_util.h"
#include "runtime/test_gate.h"

namespace ebb {
namespace {

// Counts what the pool does to its contexts, across all workers.
struct ContextEvents {
  std::atomic<int> created{0};
  std::atomic<int> destroyed{0};
  std::atomic<int> ticks{0};
  std::atomic<int> idles{0};
  std::atomic<int> wrong_thread{0};  // a hook ran off the context's own thread
};

class RecordingContext final : public TaskContext {
 public:
  RecordingContext(int worker_id, ContextEvents* events)
      : worker_id_(worker_id), owner_(std::this_thread::get_id()), events_(events) {
    events_->created++;
  }
  ~RecordingContext() override {
    CheckThread();
    events_->destroyed++;
  }
  void OnTick() override {
    CheckThread();
    events_->ticks++;
  }
  void OnIdle() override {
    CheckThread();
    events_->idles++;
  }
  int worker_id() const { return worker_id_; }
  bool OnOwnThread() const { return owner_ == std::this_thread::get_id(); }

 private:
  void CheckThread() {
    if (!OnOwnThread()) events_->wrong_thread++;
  }
  const int worker_id_;
  const std::thread::id owner_;
  ContextEvents* const events_;
};

std::unique_ptr<FuturePool> MakePool(FuturePoolOptions options, ContextEvents* events = nullptr) {
  if (events != nullptr) {
    options.context_factory = [events](int worker_id) { return std::make_unique<RecordingContext>(worker_id, events); };
  }
  auto pool = FuturePool::Create(std::move(options));
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  return pool.ok() ? std::move(pool).value() : nullptr;
}

TEST(FuturePoolTest, EachWorkerThreadHasItsOwnContext) {
  ContextEvents events;
  auto pool = MakePool({.name = "ctx", .threads = 4}, &events);
  ASSERT_NE(pool, nullptr);
  TestGate gate;
  Mutex mu;
  std::set<const TaskContext*> seen;
  std::atomic<int> off_thread{0};
  std::vector<std::future<Status>> futures;
  for (int i = 0; i < 4; i++) {
    futures.push_back(pool->SpawnFuture([&](TaskContext& context) {
      auto& recording = static_cast<RecordingContext&>(context);
      if (!recording.OnOwnThread()) off_thread++;
      {
        MutexLock lock(&mu);
        seen.insert(&context);
      }
      gate.Pass();  // all four hold a worker at once: four threads
      return Status::OK();
    }));
  }
  gate.WaitForArrivals(4);
  gate.Open();
  for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(off_thread.load(), 0);
  pool->Stop();
  EXPECT_EQ(events.created.load(), 4);
  EXPECT_EQ(events.destroyed.load(), 4);
  EXPECT_EQ(events.wrong_thread.load(), 0);
}

TEST(FuturePoolTest, FutureAndCallbackFormsDeliverResults) {
  auto pool = MakePool({.name = "forms", .threads = 2});
  ASSERT_NE(pool, nullptr);
  std::future<Result<int>> value = pool->SpawnFuture([](TaskContext&) -> Result<int> { return 42; });
  std::future<Result<int>> error =
      pool->SpawnFuture([](TaskContext&) -> Result<int> { return Status::NotFound("key k in db d"); });
  std::future<Status> status = pool->SpawnFuture([](TaskContext&) { return Status::OK(); });
  Result<int> v = value.get();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 42);
  EXPECT_TRUE(error.get().status().IsNotFound());
  EXPECT_TRUE(status.get().ok());

  TestCounter ran;
  std::atomic<int> aborted{0};
  ASSERT_TRUE(pool->Spawn([&](TaskContext&) { ran.Add(); }, [&](const Status&) { aborted++; }).ok());
  ran.WaitFor(1);
  pool->Stop();
  EXPECT_EQ(aborted.load(), 0);
}

TEST(FuturePoolTest, TicksOncePerIntervalAfterTasksAndNeverWhileIdle) {
  ManualClock clock;
  ContextEvents events;
  auto pool = MakePool({.name = "tick", .threads = 1, .tick_interval_us = 1000, .clock = &clock}, &events);
  ASSERT_NE(pool, nullptr);
  auto run = [&](int n, int64_t advance_us_each) {
    std::vector<std::future<Status>> futures;
    for (int i = 0; i < n; i++) {
      futures.push_back(pool->SpawnFuture([&clock, advance_us_each](TaskContext&) {
        clock.Advance(advance_us_each);
        return Status::OK();
      }));
    }
    for (auto& f : futures) EXPECT_TRUE(f.get().ok());
    pool->WaitUntilIdle();
  };

  run(5, 0);  // no time passed since the worker started
  EXPECT_EQ(events.ticks.load(), 0);

  clock.Advance(1000);
  run(5, 0);  // first task after the interval ticks, the other four do not
  EXPECT_EQ(events.ticks.load(), 1);

  clock.Advance(999);
  run(1, 0);
  EXPECT_EQ(events.ticks.load(), 1);
  clock.Advance(1);
  run(1, 0);
  EXPECT_EQ(events.ticks.load(), 2);

  // Under load: tasks of 250 us each, 40 of them = 10 intervals = 10 ticks.
  run(40, 250);
  EXPECT_EQ(events.ticks.load(), 12);

  // Idle: a hundred intervals pass with no task; nothing ticks, and the next
  // task ticks once, not a hundred times.
  clock.Advance(100 * 1000);
  pool->WaitUntilIdle();
  EXPECT_EQ(events.ticks.load(), 12);
  run(1, 0);
  EXPECT_EQ(events.ticks.load(), 13);

  // The interval changes at run time.
  pool->SetTickIntervalMicros(100);
  run(10, 50);  // 500 us in steps of 50: a tick every second task
  EXPECT_EQ(events.ticks.load(), 18);
  EXPECT_EQ(events.wrong_thread.load(), 0);
}

TEST(FuturePoolTest, IdleHookRunsOnceWhenTheQueueDrains) {
  ManualClock clock;
  ContextEvents events;
  auto pool = MakePool({.name = "idle", .threads = 1, .tick_interval_us = 1'000'000, .clock = &clock}, &events);
  ASSERT_NE(pool, nullptr);
  pool->WaitUntilIdle();
  EXPECT_EQ(events.idles.load(), 0);  // ran nothing, has nothing to publish

  // Six tasks queued behind a gate run back to back: one OnIdle after them.
  TestGate gate;
  std::vector<std::future<Status>> futures;
  futures.push_back(pool->SpawnFuture([&](TaskContext&) {
    gate.Pass();
    return Status::OK();
  }));
  gate.WaitForArrivals(1);
  for (int i = 0; i < 5; i++) futures.push_back(pool->SpawnFuture([](TaskContext&) { return Status::OK(); }));
  gate.Open();
  for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  pool->WaitUntilIdle();
  EXPECT_EQ(events.idles.load(), 1);
  EXPECT_EQ(events.ticks.load(), 0);

  EXPECT_TRUE(pool->SpawnFuture([](TaskContext&) { return Status::OK(); }).get().ok());
  pool->WaitUntilIdle();
  EXPECT_EQ(events.idles.load(), 2);
}

TEST(FuturePoolTest, ThreadCountGrowsAndShrinksAtRunTime) {
  ContextEvents events;
  auto pool = MakePool({.name = "resize", .threads = 1}, &events);
  ASSERT_NE(pool, nullptr);
  auto hold = [&](TestGate* gate, int n) {
    std::vector<std::future<Status>> futures;
    for (int i = 0; i < n; i++) {
      futures.push_back(pool->SpawnFuture([gate](TaskContext&) {
        gate->Pass();
        return Status::OK();
      }));
    }
    return futures;
  };

  ASSERT_TRUE(pool->SetThreads(3).ok());
  EXPECT_EQ(pool->threads(), 3);
  EXPECT_EQ(pool->live_threads(), 3);
  {
    TestGate gate;
    auto futures = hold(&gate, 3);
    gate.WaitForArrivals(3);  // three tasks at once: three threads
    gate.Open();
    for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  }
  pool->WaitUntilIdle();

  // Shrinking an idle pool retires the excess before SetThreads returns.
  ASSERT_TRUE(pool->SetThreads(1).ok());
  EXPECT_EQ(pool->live_threads(), 1);
  EXPECT_EQ(events.destroyed.load(), 2);
  {
    TestGate gate;
    auto futures = hold(&gate, 3);
    gate.WaitForArrivals(1);
    EXPECT_EQ(pool->running(), 1);
    EXPECT_EQ(pool->queued(), 2);  // one thread left to run them
    gate.Open();
    for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  }
  pool->WaitUntilIdle();

  // Shrinking a busy pool: busy workers finish their task first; growing
  // again before they do takes a retirement back instead of a new thread.
  ASSERT_TRUE(pool->SetThreads(3).ok());
  {
    TestGate gate;
    auto futures = hold(&gate, 3);
    gate.WaitForArrivals(3);
    ASSERT_TRUE(pool->SetThreads(1).ok());
    EXPECT_EQ(pool->threads(), 1);
    EXPECT_EQ(pool->live_threads(), 3);
    ASSERT_TRUE(pool->SetThreads(2).ok());
    EXPECT_EQ(pool->threads(), 2);
    EXPECT_EQ(pool->live_threads(), 3);
    gate.Open();
    for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  }
  pool->WaitUntilIdle();
  EXPECT_EQ(pool->live_threads(), 2);
  EXPECT_EQ(events.created.load(), 5);
  EXPECT_EQ(events.destroyed.load(), 3);

  // Shrinking right after growing, while the new threads may still be
  // starting (neither idle nor busy): they retire as soon as they get going.
  ASSERT_TRUE(pool->SetThreads(4).ok());
  ASSERT_TRUE(pool->SetThreads(2).ok());
  pool->WaitUntilIdle();
  EXPECT_EQ(pool->live_threads(), 2);
  EXPECT_EQ(events.created.load(), 7);
  EXPECT_EQ(events.destroyed.load(), 5);

  EXPECT_TRUE(pool->SetThreads(0).IsInvalidArgument());
  EXPECT_TRUE(pool->SetThreads(FuturePool::kMaxThreads + 1).IsInvalidArgument());
  pool->Stop();
  EXPECT_EQ(events.destroyed.load(), 7);
  EXPECT_TRUE(pool->SetThreads(2).IsAborted());
}

TEST(FuturePoolTest, StopAbortsQueuedTasksLetsRunningOnesFinishAndRefusesNewOnes) {
  auto pool = MakePool({.name = "stop", .threads = 1});
  ASSERT_NE(pool, nullptr);
  TestGate gate;
  std::atomic<bool> running_task_finished{false};
  ASSERT_TRUE(pool->Spawn(
                      [&](TaskContext&) {
                        gate.Pass();
                        running_task_finished = true;
                      },
                      [](const Status&) { ADD_FAILURE() << "the running task was aborted"; })
                  .ok());
  gate.WaitForArrivals(1);

  TestCounter aborted;
  std::atomic<int> ran_queued{0};
  std::vector<std::future<Result<int>>> futures;
  for (int i = 0; i < 5; i++) {
    ASSERT_TRUE(pool->Spawn([&](TaskContext&) { ran_queued++; },
                            [&](const Status& s) {
                              EXPECT_TRUE(s.IsAborted()) << s.ToString();
                              aborted.Add();
                            })
                    .ok());
    futures.push_back(pool->SpawnFuture([&](TaskContext&) -> Result<int> {
      ran_queued++;
      return 1;
    }));
  }
  EXPECT_EQ(pool->queued(), 10);

  std::thread stopper([&] { pool->Stop(); });
  aborted.WaitFor(5);  // queued tasks are aborted while the running one still holds its worker
  for (auto& f : futures) {
    Result<int> r = f.get();
    EXPECT_TRUE(r.status().IsAborted()) << r.status().ToString();
    EXPECT_NE(r.status().message().find("stop"), std::string::npos) << r.status().ToString();
  }
  EXPECT_FALSE(running_task_finished.load());
  gate.Open();
  stopper.join();
  EXPECT_TRUE(running_task_finished.load());
  EXPECT_EQ(ran_queued.load(), 0);
  EXPECT_EQ(pool->queued(), 0);
  EXPECT_EQ(pool->live_threads(), 0);

  bool called = false;
  Status refused = pool->Spawn([&](TaskContext&) { called = true; }, [&](const Status&) { called = true; });
  EXPECT_TRUE(refused.IsAborted()) << refused.ToString();
  EXPECT_FALSE(called);
  std::future<Status> late = pool->SpawnFuture([](TaskContext&) { return Status::OK(); });
  ASSERT_EQ(late.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(late.get().IsAborted());
  pool->Stop();  // idempotent
}

TEST(FuturePoolTest, StopUnderLoadCompletesEveryTaskExactlyOnce) {
  const uint64_t seed = testing::TestSeed(0x5eed0001);
  SCOPED_TRACE(::testing::Message() << "seed=" << seed);
  ContextEvents events;
  auto pool = MakePool({.name = "load", .threads = 2}, &events);
  ASSERT_NE(pool, nullptr);

  constexpr int kSubmitters = 4;
  constexpr int kTasksEach = 2000;
  // Per task: +1 ran, +16 aborted, +256 refused at submission.
  std::vector<std::atomic<int>> outcome(kSubmitters * kTasksEach);
  TestCounter ran;
  std::vector<std::thread> submitters;
  // Future-form tasks, by id; their outcome is whatever the future says.
  std::vector<std::vector<std::pair<int, std::future<Status>>>> futures(kSubmitters);
  for (int s = 0; s < kSubmitters; s++) {
    submitters.emplace_back([&, s] {
      Random rnd(seed + static_cast<uint64_t>(s));
      for (int i = 0; i < kTasksEach; i++) {
        int id = s * kTasksEach + i;
        auto& slot = outcome[static_cast<size_t>(id)];
        if (rnd.Next() % 2 == 0) {
          Status st = pool->Spawn(
              [&slot, &ran](TaskContext&) {
                slot += 1;
                ran.Add();
              },
              [&slot](const Status& status) {
                EXPECT_TRUE(status.IsAborted());
                slot += 16;
              });
          if (!st.ok()) {
            EXPECT_TRUE(st.IsAborted()) << st.ToString();
            slot += 256;
          }
        } else {
          futures[static_cast<size_t>(s)].emplace_back(id, pool->SpawnFuture([&slot, &ran](TaskContext&) {
            slot += 1;
            ran.Add();
            return Status::OK();
          }));
        }
      }
    });
  }
  ran.WaitFor(500);  // stop in the middle of the load (nothing is refused before Stop)
  pool->Stop();
  for (auto& t : submitters) t.join();

  for (auto& per_submitter : futures) {
    for (auto& [id, f] : per_submitter) {
      ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
      Status st = f.get();
      auto& slot = outcome[static_cast<size_t>(id)];
      if (st.ok()) {
        EXPECT_EQ(slot.load(), 1) << "task " << id;
      } else {
        EXPECT_TRUE(st.IsAborted()) << st.ToString();
        EXPECT_EQ(slot.load(), 0) << "task " << id << " was aborted but ran";
        slot += 16;  // counted as aborted below
      }
    }
  }
  int ran_count = 0;
  for (size_t id = 0; id < outcome.size(); id++) {
    int o = outcome[id].load();
    ASSERT_TRUE(o == 1 || o == 16 || o == 256) << "task " << id << " completed " << o << " (1 ran, 16 aborted, 256 refused)";
    if (o == 1) ran_count++;
  }
  EXPECT_EQ(ran_count, ran.value());
  EXPECT_GE(ran_count, 500);
  EXPECT_EQ(events.created.load(), events.destroyed.load());
}

// A stream: a task held at a gate while the next one queues behind it, so
// the worker finds that one waiting when it finishes the first.
void RunTwoBackToBack(FuturePool* pool) {
  TestGate gate;
  auto first = pool->SpawnFuture([&gate](TaskContext&) {
    gate.Pass();
    return Status::OK();
  });
  gate.WaitForArrivals(1);
  auto second = pool->SpawnFuture([](TaskContext&) { return Status::OK(); });
  gate.Open();
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(second.get().ok());
}

TEST(FuturePoolTest, SpinningWorkerTakesTheNextTaskOfAStreamWithoutSleeping) {
  auto run_one = [](FuturePool* pool) {
    EXPECT_TRUE(pool->SpawnFuture([](TaskContext&) { return Status::OK(); }).get().ok());
  };
  auto run_two_back_to_back = RunTwoBackToBack;
  constexpr int kRounds = 20;
  // Without polling, a worker sleeps whenever a task empties the queue.
  auto plain = MakePool({.name = "nospin", .threads = 1});
  ASSERT_NE(plain, nullptr);
  plain->WaitUntilIdle();
  uint64_t before = plain->sleeps();
  for (int i = 0; i < kRounds; i++) {
    run_two_back_to_back(plain.get());
    plain->WaitUntilIdle();
    run_one(plain.get());
    plain->WaitUntilIdle();
  }
  EXPECT_EQ(plain->sleeps() - before, static_cast<uint64_t>(2 * kRounds));
  EXPECT_EQ(plain->polls(), 0u);

  auto pool = MakePool({.name = "spin", .threads = 1, .spin_us = FuturePool::kMaxSpinMicros});
  ASSERT_NE(pool, nullptr);
  pool->WaitUntilIdle();
  // A lone task is not a stream: the worker sleeps at once, without polling.
  for (int i = 0; i < 3; i++) {
    run_one(pool.get());
    pool->WaitUntilIdle();
  }
  EXPECT_EQ(pool->polls(), 0u);
  // After a stream the worker polls, and a task submitted meanwhile runs
  // without a sleep in between: a round costs one sleep, not two. A round
  // whose third task came late (this thread descheduled for the whole
  // window) costs two; one round in twenty is enough to show it, nearly
  // all are.
  int caught = 0;
  for (int i = 0; i < kRounds; i++) {
    before = pool->sleeps();
    run_two_back_to_back(pool.get());
    while (pool->spinning_workers() == 0 && pool->sleeps() == before) std::this_thread::yield();
    run_one(pool.get());
    pool->WaitUntilIdle();
    const uint64_t slept = pool->sleeps() - before;
    EXPECT_TRUE(slept == 1 || slept == 2) << slept;
    if (slept == 1) caught++;
  }
  EXPECT_GE(caught, 1);
  EXPECT_GE(pool->polls(), static_cast<uint64_t>(kRounds));
  // Set at run time: 0 turns polling off.
  pool->SetSpinMicros(0);
  const uint64_t polls = pool->polls();
  before = pool->sleeps();
  run_two_back_to_back(pool.get());
  pool->WaitUntilIdle();
  EXPECT_EQ(pool->sleeps() - before, 1u);
  EXPECT_EQ(pool->polls(), polls);
  EXPECT_EQ(pool->spinning_workers(), 0);
}


// A worker that polls on a core another thread wants stops at the first
// yield that hands the core over, and sleeps: polling there, it would wait
// its turn behind that thread (a sleeper is woken ahead of it) and take
// CPU share from it.
TEST(FuturePoolTest, PollingStopsWhenAYieldGivesTheCoreToAnotherThread) {
  // This thread, the worker (created here, so it inherits the mask) and a
  // thread that keeps the CPU busy, all on one CPU.
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &saved)) cpu++;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  auto pool = MakePool({.name = "contended", .threads = 1, .spin_us = FuturePool::kMaxSpinMicros});
  ASSERT_NE(pool, nullptr);
  std::atomic<bool> stop{false};
  std::thread hog([&stop] {
    while (!stop.load(std::memory_order_relaxed)) {
    }
  });
  for (int round = 0; round < 50 && pool->contended_polls() == 0; round++) {
    RunTwoBackToBack(pool.get());
    pool->WaitUntilIdle();
  }
  stop.store(true);
  hog.join();
  ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
  EXPECT_GE(pool->polls(), 1u);
  EXPECT_GE(pool->contended_polls(), 1u) << "a worker kept polling on a core another thread was waiting for";
  EXPECT_LE(pool->contended_polls(), pool->polls());
}
TEST(FuturePoolTest, SpinningWorkersMissNoTask) {
  // Workers pass between running, polling and sleeping while tasks come;
  // a task that arrived as a poller gave up must still wake a sleeper (a
  // lost wakeup would leave it queued forever). Submitters pause at random so workers keep passing between
  // running, polling and sleeping; Stop ends polling at once.
  const uint64_t seed = testing::TestSeed(0x5eed0002);
  SCOPED_TRACE(::testing::Message() << "seed=" << seed);
  auto pool = MakePool({.name = "spinload", .threads = 3, .spin_us = 30});
  ASSERT_NE(pool, nullptr);
  constexpr int kSubmitters = 3;
  constexpr int kTasksEach = 3000;
  TestCounter ran;
  std::vector<std::thread> submitters;
  for (int s = 0; s < kSubmitters; s++) {
    submitters.emplace_back([&, s] {
      Random rnd(seed + static_cast<uint64_t>(s));
      for (int i = 0; i < kTasksEach; i++) {
        ASSERT_TRUE(pool->Spawn([&ran](TaskContext&) { ran.Add(); }, [](const Status&) {}).ok());
        const uint64_t pause = rnd.Next() % 8;
        if (pause == 0) std::this_thread::sleep_for(std::chrono::microseconds(rnd.Next() % 100));
        if (pause == 1) std::this_thread::yield();
      }
    });
  }
  for (auto& t : submitters) t.join();
  // Bounded, so a lost wakeup fails here instead of hanging the suite.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ran.value() < kSubmitters * kTasksEach && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(ran.value(), kSubmitters * kTasksEach) << pool->queued() << " tasks left queued: no worker was woken";
  pool->WaitUntilIdle();
  EXPECT_EQ(pool->queued(), 0);
  EXPECT_GT(pool->sleeps(), 0u);
  EXPECT_TRUE(pool->SpawnFuture([](TaskContext&) { return Status::OK(); }).get().ok());
  pool->Stop();
  EXPECT_EQ(pool->spinning_workers(), 0);
}

TEST(FuturePoolTest, QueueBoundRefusesWithBusy) {
  auto pool = MakePool({.name = "bound", .threads = 1, .max_queued_tasks = 3});
  ASSERT_NE(pool, nullptr);
  TestGate gate;
  std::vector<std::future<Status>> futures;
  futures.push_back(pool->SpawnFuture([&](TaskContext&) {
    gate.Pass();
    return Status::OK();
  }));
  gate.WaitForArrivals(1);
  for (int i = 0; i < 3; i++) futures.push_back(pool->SpawnFuture([](TaskContext&) { return Status::OK(); }));
  std::future<Status> over = pool->SpawnFuture([](TaskContext&) { return Status::OK(); });
  Status s = over.get();
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_NE(s.message().find("bound"), std::string::npos) << s.ToString();
  gate.Open();
  for (auto& f : futures) EXPECT_TRUE(f.get().ok());
}

int CurrentThreadNice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())); }

TEST(FuturePoolTest, WorkersRunAtTheConfiguredNice) {
  auto pool = MakePool({.name = "nice", .threads = 2, .nice = 5});
  ASSERT_NE(pool, nullptr);
  auto nice_seen = [&] { return pool->SpawnFuture([](TaskContext&) -> Result<int> { return CurrentThreadNice(); }); };
  EXPECT_EQ(*nice_seen().get(), 5);
  ASSERT_TRUE(pool->SetNice(7).ok());
  EXPECT_EQ(pool->nice(), 7);
  EXPECT_EQ(*nice_seen().get(), 7);
  // A thread started after the change starts at the new value.
  ASSERT_TRUE(pool->SetThreads(3).ok());
  TestGate gate;
  std::vector<std::future<Result<int>>> futures;
  for (int i = 0; i < 3; i++) {
    futures.push_back(pool->SpawnFuture([&](TaskContext&) -> Result<int> {
      gate.Pass();
      return CurrentThreadNice();
    }));
  }
  gate.WaitForArrivals(3);
  gate.Open();
  for (auto& f : futures) EXPECT_EQ(*f.get(), 7);
  // Lowering needs CAP_SYS_NICE: either it works or it says so.
  Status lowered = pool->SetNice(0);
  if (lowered.ok()) {
    EXPECT_EQ(*nice_seen().get(), 0);
  } else {
    EXPECT_TRUE(lowered.IsPermissionDenied()) << lowered.ToString();
    EXPECT_NE(lowered.message().find("CAP_SYS_NICE"), std::string::npos);
  }
  EXPECT_TRUE(pool->SetNice(20).IsInvalidArgument());
}

TEST(FuturePoolTest, CreateRejectsOptionsOutOfRange) {
  EXPECT_TRUE(FuturePool::Create({.name = "bad", .threads = 0}).status().IsInvalidArgument());
  EXPECT_TRUE(FuturePool::Create({.name = "bad", .threads = 1, .nice = 40}).status().IsInvalidArgument());
  EXPECT_TRUE(FuturePool::Create({.name = "bad", .threads = 1, .max_queued_tasks = 0}).status().IsInvalidArgument());
  EXPECT_TRUE(FuturePool::Create({.name = "bad", .threads = 1, .spin_us = -1}).status().IsInvalidArgument());
  EXPECT_TRUE(FuturePool::Create({.name = "bad", .threads = 1, .spin_us = FuturePool::kMaxSpinMicros + 1})
                  .status()
                  .IsInvalidArgument());
  Status s = FuturePool::Create({.name = "bad", .threads = 1, .clock = nullptr}).status();
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("bad"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace ebb
