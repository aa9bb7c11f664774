// ExpectedState: ebb-stress's oracle of what every key may hold
// (docs/RELIABILITY.md, "ebb-stress"). Per database and key it records the
// last acknowledged value, and the write in flight (pending) whose outcome
// is unknown until the store says; values are named by a generation number
// from which their bytes are derived, so the oracle holds 16 bytes per key.
//
// In the crash loop the state lives in a file mapped shared, so it survives
// the SIGKILL of the process that writes it (the kernel keeps the pages);
// the next process reads it back, verifies the recovered store against it
// and resolves the pending writes to what recovery decided.
//
// Keys are owned by one writer thread each (key % threads), so a slot is
// written by one thread at a time; the atomics make the state readable by
// the verifier and safe under tsan.

#ifndef EBB_TOOLS_EBB_STRESS_EXPECTED_STATE_H_
#define EBB_TOOLS_EBB_STRESS_EXPECTED_STATE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ebb/status.h"

namespace ebb::stress {

struct Slot {
  std::atomic<uint32_t> value;    // last acknowledged: 0 absent, else a generation
  std::atomic<uint32_t> pending;  // 0 none; kPending | generation (generation 0: a delete)
  std::atomic<uint32_t> batch;    // the pending write's batch (0: a single write)
  std::atomic<uint32_t> durable;  // power-loss mode: the value as of the last sync barrier
};
inline constexpr uint32_t kPending = 0x80000000u;

struct Header {
  uint64_t magic;
  uint32_t version;
  uint32_t dbs;           // including the scratch database (the last one)
  uint32_t keys_per_db;
  uint32_t reserved;
  std::atomic<uint32_t> next_generation;
  std::atomic<uint32_t> next_batch;
  std::atomic<uint32_t> scratch_drop_pending;  // a drop of the scratch database is in flight
  std::atomic<uint32_t> scratch_dropped;       // ... and was acknowledged before
  // Totals over every process of a crash loop.
  std::atomic<uint64_t> writes_acknowledged;
  std::atomic<uint64_t> reads_checked;
  std::atomic<uint64_t> keys_verified;
  std::atomic<uint64_t> recoveries;
};

class ExpectedState {
 public:
  // In a file (crash loop): created with `dbs` x `keys` slots if missing,
  // else opened (and checked to match).
  static Result<std::unique_ptr<ExpectedState>> OpenFile(const std::string& path, uint32_t dbs, uint32_t keys);
  // In memory (one process).
  static std::unique_ptr<ExpectedState> InMemory(uint32_t dbs, uint32_t keys);
  ~ExpectedState();

  Header& header() { return *header_; }
  Slot& slot(uint32_t db, uint32_t key) { return slots_[static_cast<size_t>(db) * header_->keys_per_db + key]; }
  uint32_t dbs() const { return header_->dbs; }
  uint32_t keys() const { return header_->keys_per_db; }

  // The bytes of generation `gen` of key `key` in database `db`.
  static std::string ValueOf(uint32_t db, uint32_t key, uint32_t gen);
  static std::string KeyName(uint32_t key);

 private:
  ExpectedState() = default;
  void* mapping_ = nullptr;
  size_t mapping_bytes_ = 0;
  std::unique_ptr<char[]> memory_;
  Header* header_ = nullptr;
  Slot* slots_ = nullptr;
};

}  // namespace ebb::stress

#endif  // EBB_TOOLS_EBB_STRESS_EXPECTED_STATE_H_
