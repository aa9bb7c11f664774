// A program that embeds Ebb through its installed package: opens a store,
// writes a few keys, reads them back and prints the store's status.
//
//   embed DATA_DIR
//
// Build it against an install (README, "Install"):
//   cmake -S examples/embed -B build-embed -DCMAKE_PREFIX_PATH=/opt/ebb && cmake --build build-embed
//   c++ -std=c++20 examples/embed/main.cc $(pkg-config --cflags --libs ebb) -o embed

#include <cstdio>
#include <string>

#include "ebb/ebb.h"

namespace {

int Fail(const char* what, const ebb::Status& s) {
  std::fprintf(stderr, "embed: %s: %s\n", what, s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
    return 2;
  }
  std::printf("Ebb %s\n", EBB_VERSION_STRING);

  ebb::Options options;
  options.data_dir = argv[1];
  options.Set("journal.sync", "always");
  auto store = ebb::Store::Open(options);
  if (!store.ok()) return Fail("opening the store", store.status());
  auto db = (*store)->OpenDatabase("greetings");
  if (!db.ok()) return Fail("opening database greetings", db.status());

  ebb::WriteBatch batch;
  batch.Put("en", "hello");
  batch.Put("fr", "bonjour");
  batch.Put("de", "hallo");
  ebb::Status s = (*db)->Write(ebb::WriteOptions(), batch);
  if (!s.ok()) return Fail("writing", s);

  // Read back in key order through an iterator, then one key directly.
  auto it = (*db)->NewIterator(ebb::ReadOptions());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::printf("%s = %s\n", std::string(it->key()).c_str(), std::string(it->value()).c_str());
  }
  if (!it->status().ok()) return Fail("iterating", it->status());
  it.reset();
  auto value = (*db)->Get("fr");
  if (!value.ok()) return Fail("reading fr", value.status());
  std::printf("get fr: %s\n", value->c_str());

  ebb::StoreStatus status = (*store)->GetStatus();
  std::printf("status: data_dir %s, journal sync %s, %zu database(s)\n", status.data_dir.c_str(),
              status.journal.sync_mode.c_str(), status.databases.size());
  for (const auto& d : status.databases) {
    std::printf("  %s: %llu entries, update_seq %llu\n", d.name.c_str(), static_cast<unsigned long long>(d.entries),
                static_cast<unsigned long long>(d.update_seq));
  }
  db->reset();
  s = (*store)->Close();
  if (!s.ok()) return Fail("closing the store", s);
  std::printf("closed\n");
  return 0;
}
