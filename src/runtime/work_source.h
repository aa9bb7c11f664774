// WorkSource: what the engine implements for each background work class
// (writeback, compaction, tiering, journal reclaim). The runtime knows
// nothing about storage: it sees a pending-work gauge in bytes and a way to
// do some of that work. See work_class.h for how the scheduler decides when
// and how much, and docs/ARCHITECTURE.md "The background runtime".

#ifndef EBB_RUNTIME_WORK_SOURCE_H_
#define EBB_RUNTIME_WORK_SOURCE_H_

#include <cstdint>
#include <limits>
#include <optional>

#include "ebb/status.h"

namespace ebb {

// The budget handed to DoWork by the `eager` policy and by nothing else:
// "do everything you can in one pass".
inline constexpr uint64_t kUnlimitedWorkBudgetBytes = std::numeric_limits<uint64_t>::max();

class WorkSource {
 public:
  virtual ~WorkSource() = default;

  // The class's pending-work gauge: bytes of work DoWork could do now
  // (writeback: dirty memtable bytes; compaction: reclaimable bytes; journal
  // reclaim: reclaimable journal bytes; tiering: local bytes over target).
  //
  // Called from scheduler threads without any scheduler lock held, possibly
  // concurrently with DoWork of the same class and with other callers; it
  // must be thread-safe and cheap (read counters; no I/O, no long locks).
  // It may call back into the scheduler (Kick, NoteForegroundWork).
  //
  // Count only work DoWork would actually do: a class whose gauge stays
  // above zero while DoWork reports no progress is reported `stuck` and
  // keeps being retried (with backoff), so it never lets the process idle.
  virtual uint64_t PendingBytes() = 0;

  // Does roughly up to `budget_bytes` of work, and at least one unit (e.g.
  // one memtable flush) when any is pending, even if the unit is larger than
  // the budget: the scheduler charges the overshoot against later passes.
  // `budget_bytes` may be kUnlimitedWorkBudgetBytes (policy `eager`).
  //
  // Returns the bytes of work done (the same unit as PendingBytes). 0 means
  // no progress; an error is treated as no progress and shown in the class
  // status. Called on a scheduler thread (a worker, or the dispatcher for
  // a lone small pass: see BackgroundScheduler; or the RunOnce caller's
  // thread), never concurrently for the same class, without scheduler locks
  // held. It should return within a bounded time: BackgroundScheduler::Stop
  // waits for passes in progress.
  virtual Result<uint64_t> DoWork(uint64_t budget_bytes) = 0;

  // Whether the source holds work back until the classes above it are idle
  // (the compaction daemon's smoosh.wait_secs: it waits to see more
  // candidates before choosing; active expiry: values due that are not yet
  // worth a pass of their own), work its gauge does not count yet. While
  // it does and they are busy, the scheduler evaluates the class when they
  // go quiet and calls UpstreamsIdle, so the held work is done in the rush
  // to idle rather than at a timer of the source's own. For a class whose
  // only upstream is the foreground, "the classes above" is the
  // foreground. Called like PendingBytes.
  virtual bool HoldsWorkForUpstreams() { return false; }
  // The classes above (see HoldsWorkForUpstreams) went from busy to idle:
  // nothing more is coming from them for now. Called like PendingBytes, just
  // before the gauge is read.
  virtual void UpstreamsIdle() {}
  // The work HoldsWorkForUpstreams holds, in the gauge's unit (what
  // PendingBytes would count if it were released); 0 if not known. Once it
  // and the pending work together reach the class's band_high_bytes the
  // scheduler calls ReleaseHeldWork, whatever the classes above do: a class
  // that far behind
  // runs at its max rate anyway, and holding on for a better choice or a
  // bigger batch only lets it fall further behind (a burst that starts
  // within smoosh.wait_secs of the start and outlasts the wait would
  // otherwise leave a hundred segments for reads to probe). Called like
  // PendingBytes.
  virtual uint64_t HeldBytes() { return 0; }
  virtual void ReleaseHeldWork() {}

  // When work the gauge does not count yet will become due by itself, with
  // no write or other event to announce it (Clock::NowMicros time; nullopt:
  // never, or not known). Active expiry: the earliest deadline of a stored
  // value. A class with nothing pending is evaluated again then, one
  // deadline armed, instead of being polled. Called like PendingBytes, when
  // the gauge reads 0.
  virtual std::optional<int64_t> NextWorkMicros() { return std::nullopt; }

  // Whether the pending work is a batch the source already chose (active
  // expiry: what came due at the deadline NextWorkMicros announced), so it
  // has nothing to gain by waiting to grow: it is done at once, all of it,
  // like work past its age limit, instead of being deferred like a trickle
  // (which would cost a second wakeup at its age limit). Called like
  // PendingBytes, when the gauge reads more than 0.
  virtual bool PendingCameDue() { return false; }

  // Whether foreground writes bring this class work (writeback: they fill
  // memtables). While such a class has nothing armed, the first write wakes
  // the dispatcher. A class whose work comes by itself (active expiry:
  // deadlines passing, announced by NextWorkMicros and Notify) is never a
  // reason for a write to wake it. Read once, at registration.
  virtual bool FedByWrites() { return true; }

  // Whether a pass may wait on something remote (an object store, with its
  // timeouts and retries). Such passes always run on a worker, never on the
  // dispatcher thread, so a slow or unreachable store cannot hold up the
  // evaluation of the other classes.
  virtual bool PassesWaitOnNetwork() { return false; }
};

}  // namespace ebb

#endif  // EBB_RUNTIME_WORK_SOURCE_H_
