// Test helper for kill_test: writes batches to a store forever and prints
// "ack <n>" after each acknowledged one, so the test can SIGKILL it at a
// random moment and then check that every acknowledged batch survived.
//   crash_writer DATA_DIR SYNC_MODE mmap|write
// The last argument sets journal.mmap_writes. Values are 300 bytes, so a
// few thousand batches fill more than one reserved chunk of a mapped journal.

#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "ebb/ebb.h"

int main(int argc, char** argv) {
  if (argc != 4 || (std::string(argv[3]) != "mmap" && std::string(argv[3]) != "write")) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR always|batch|none mmap|write\n");
    return 2;
  }
  ebb::Options options;
  options.data_dir = argv[1];
  options.Set("journal.sync", argv[2]);
  options.Set("journal.mmap_writes", std::string(argv[3]) == "mmap" ? "true" : "false");
  options.Set("store.memtable_bytes", "64KiB");
  auto store = ebb::Store::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "crash_writer: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto db = (*store)->OpenDatabase("kill");
  if (!db.ok()) return 1;
  for (uint64_t n = 1;; n++) {
    ebb::WriteBatch batch;
    batch.Put(fmt::format("a{:08}", n), fmt::format("v{:<300}", n));
    batch.Put(fmt::format("b{:08}", n), fmt::format("v{:<300}", n));
    ebb::Status s = (*db)->Write(ebb::WriteOptions(), batch);
    if (!s.ok()) {
      std::fprintf(stderr, "crash_writer: %s\n", s.ToString().c_str());
      return 1;
    }
    std::printf("ack %llu\n", static_cast<unsigned long long>(n));
    std::fflush(stdout);
  }
}
