// Offline commands: open the store in --data directly (no server).

#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/config.h"
#include "base/random.h"
#include "ebb/ebb.h"
#include "engine/status_json.h"
#include "tools/ebb/commands.h"

namespace ebb::tool {
namespace {

struct Common {
  std::string data_dir = "./ebb-data";
  std::string config_file;
  std::string db = "default";
  bool json = false;
};

void AddCommon(CLI::App* cmd, Common* c, bool with_db, bool with_json) {
  cmd->add_option("--data", c->data_dir, "Data directory")->capture_default_str();
  cmd->add_option("--config", c->config_file, "Configuration file (TOML)");
  if (with_db) cmd->add_option("--db", c->db, "Database name")->capture_default_str();
  if (with_json) cmd->add_flag("--json", c->json, "Print a JSON report");
}

int Fail(const Status& s) {
  std::fprintf(stderr, "ebb: %s\n", s.ToString().c_str());
  return 1;
}

Result<std::unique_ptr<Store>> OpenFor(const Common& c, bool create) {
  Options o;
  o.data_dir = c.data_dir;
  o.config_file = c.config_file;
  o.create_if_missing = create;
  return Store::Open(o);
}

std::string Row(const DatabaseStats& s) {
  return fmt::format("{:<20} {:>10} {:>10} {:>6} {:>10} {:>10} {:>8} {:>10} {:>8}", s.name, FormatBytes(s.disk_bytes),
                     FormatBytes(s.live_bytes) + (s.live_bytes_exact ? "" : "~"), s.segments, s.entries, s.tombstones,
                     FormatBytes(s.memtable_bytes), s.update_seq, s.changes_since_compaction);
}

void PrintStatsTable(const std::vector<DatabaseStats>& stats) {
  std::printf("%s\n", fmt::format("{:<20} {:>10} {:>10} {:>6} {:>10} {:>10} {:>8} {:>10} {:>8}", "database", "disk",
                                  "live", "segs", "entries", "tombstones", "memtable", "update_seq", "changes")
                          .c_str());
  for (const auto& s : stats) std::printf("%s\n", Row(s).c_str());
  std::printf("(live~ is an estimate between compactions)\n");
}

int RunDemo(const Common& c) {
  auto store = OpenFor(c, true);
  if (!store.ok()) return Fail(store.status());
  std::printf("Opened an Ebb store in %s\n", c.data_dir.c_str());
  Random rnd(42);
  const char* names[] = {"users", "sessions", "events"};
  int counts[] = {2000, 500, 5000};
  for (int d = 0; d < 3; d++) {
    auto db = (*store)->OpenDatabase(names[d]);
    if (!db.ok()) return Fail(db.status());
    WriteBatch batch;
    for (int i = 0; i < counts[d]; i++) {
      batch.Put(fmt::format("{}:{:06}", names[d], i), rnd.RandomString(64 + rnd.Uniform(64)));
      if (batch.Count() == 100) {
        if (Status s = (*db)->Write(WriteOptions(), batch); !s.ok()) return Fail(s);
        batch.Clear();
      }
    }
    if (Status s = (*db)->Write(WriteOptions(), batch); !s.ok()) return Fail(s);
    // Overwrite and delete some, so statistics have something to say.
    for (int i = 0; i < counts[d] / 4; i++) {
      if (Status s = (*db)->Put(fmt::format("{}:{:06}", names[d], i), "updated"); !s.ok()) return Fail(s);
    }
    for (int i = counts[d] / 4; i < counts[d] / 2; i += 3) {
      if (Status s = (*db)->Delete(fmt::format("{}:{:06}", names[d], i)); !s.ok()) return Fail(s);
    }
    if (Status s = (*db)->Flush(); !s.ok()) return Fail(s);
    // Read back.
    auto v = (*db)->Get(fmt::format("{}:{:06}", names[d], 0));
    if (!v.ok() || *v != "updated") return Fail(v.ok() ? Status::Internal("read back the wrong value") : v.status());
    size_t n = 0;
    auto it = (*db)->NewIterator(ReadOptions());
    for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
    if (!it->status().ok()) return Fail(it->status());
    std::printf("  %-9s wrote %d keys, overwrote %d, deleted %d; read back %zu keys\n", names[d], counts[d],
                counts[d] / 4, (counts[d] / 2 - counts[d] / 4 + 2) / 3, n);
  }
  std::printf("\nPer-database statistics:\n");
  PrintStatsTable((*store)->GetStatus().databases);
  if (Status s = (*store)->Close(); !s.ok()) return Fail(s);
  std::printf("\nTry: ebb scan --data %s --db users --limit 3\n", c.data_dir.c_str());
  return 0;
}

}  // namespace

std::string Printable(std::string_view bytes) {
  std::string out;
  for (unsigned char ch : bytes) {
    if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
      out.push_back(static_cast<char>(ch));
    } else {
      out += fmt::format("\\x{:02x}", ch);
    }
  }
  return out;
}

void AddOfflineCommands(CLI::App* app, Handler* handler) {
  auto common = std::make_shared<Common>();

  auto* demo = app->add_subcommand("demo", "Open a store, write to three databases, read back, print statistics");
  AddCommon(demo, common.get(), false, false);
  demo->callback([=] { *handler = [=] { return RunDemo(*common); }; });

  auto key = std::make_shared<std::string>();
  auto value = std::make_shared<std::string>();
  auto* put = app->add_subcommand("put", "Set a key");
  AddCommon(put, common.get(), true, false);
  put->add_option("key", *key, "Key")->required();
  put->add_option("value", *value, "Value")->required();
  put->callback([=] {
    *handler = [=] {
      auto store = OpenFor(*common, true);
      if (!store.ok()) return Fail(store.status());
      auto db = (*store)->OpenDatabase(common->db);
      if (!db.ok()) return Fail(db.status());
      WriteOptions wo;
      wo.sync = true;
      if (Status s = (*db)->Put(wo, *key, *value); !s.ok()) return Fail(s);
      return (*store)->Close().ok() ? 0 : 1;
    };
  });

  auto* get = app->add_subcommand("get", "Print a key's value");
  AddCommon(get, common.get(), true, false);
  get->add_option("key", *key, "Key")->required();
  get->callback([=] {
    *handler = [=] {
      auto store = OpenFor(*common, false);
      if (!store.ok()) return Fail(store.status());
      auto db = (*store)->OpenDatabase(common->db, false);
      if (!db.ok()) return Fail(db.status());
      auto v = (*db)->Get(*key);
      if (v.status().IsNotFound()) {
        std::fprintf(stderr, "ebb: key %s not found in database %s\n", Printable(*key).c_str(), common->db.c_str());
        return 1;
      }
      if (!v.ok()) return Fail(v.status());
      std::fwrite(v->data(), 1, v->size(), stdout);
      std::fputc('\n', stdout);
      return 0;
    };
  });

  auto* del = app->add_subcommand("del", "Delete a key");
  AddCommon(del, common.get(), true, false);
  del->add_option("key", *key, "Key")->required();
  del->callback([=] {
    *handler = [=] {
      auto store = OpenFor(*common, false);
      if (!store.ok()) return Fail(store.status());
      auto db = (*store)->OpenDatabase(common->db, false);
      if (!db.ok()) return Fail(db.status());
      WriteOptions wo;
      wo.sync = true;
      if (Status s = (*db)->Delete(wo, *key); !s.ok()) return Fail(s);
      return (*store)->Close().ok() ? 0 : 1;
    };
  });

  struct ScanArgs {
    std::string start, end, prefix;
    size_t limit = 0;
  };
  auto scan_args = std::make_shared<ScanArgs>();
  auto* scan = app->add_subcommand("scan", "List keys and values in order");
  AddCommon(scan, common.get(), true, true);
  scan->add_option("--start", scan_args->start, "First key (inclusive)");
  scan->add_option("--end", scan_args->end, "Stop before this key");
  scan->add_option("--prefix", scan_args->prefix, "Only keys with this prefix");
  scan->add_option("--limit", scan_args->limit, "At most this many entries (0 = all)");
  scan->callback([=] {
    *handler = [=] {
      auto store = OpenFor(*common, false);
      if (!store.ok()) return Fail(store.status());
      auto db = (*store)->OpenDatabase(common->db, false);
      if (!db.ok()) return Fail(db.status());
      ReadOptions ro;
      ro.upper_bound = scan_args->end;
      auto it = (*db)->NewIterator(ro);
      std::string start = std::max(scan_args->start, scan_args->prefix);
      nlohmann::json rows = nlohmann::json::array();
      size_t n = 0;
      for (it->Seek(start); it->Valid(); it->Next()) {
        if (!scan_args->prefix.empty() && it->key().substr(0, scan_args->prefix.size()) != scan_args->prefix) break;
        if (common->json) {
          rows.push_back({{"key", Printable(it->key())}, {"value", Printable(it->value())}});
        } else {
          std::printf("%s\t%s\n", Printable(it->key()).c_str(), Printable(it->value()).c_str());
        }
        if (scan_args->limit && ++n >= scan_args->limit) break;
      }
      if (!it->status().ok()) return Fail(it->status());
      if (common->json) std::printf("%s\n", rows.dump(2).c_str());
      return 0;
    };
  });

  auto* stats = app->add_subcommand("stats", "Per-database statistics");
  AddCommon(stats, common.get(), false, true);
  auto stats_db = std::make_shared<std::string>();
  stats->add_option("--db", *stats_db, "Only this database");
  stats->callback([=] {
    *handler = [=] {
      auto store = OpenFor(*common, false);
      if (!store.ok()) return Fail(store.status());
      StoreStatus status = (*store)->GetStatus();
      if (!stats_db->empty()) {
        std::erase_if(status.databases, [&](const DatabaseStats& s) { return s.name != *stats_db; });
        if (status.databases.empty()) return Fail(Status::NotFound(fmt::format("database {} does not exist", *stats_db)));
      }
      if (common->json) {
        std::printf("%s\n", StoreStatusToJson(status).dump(2).c_str());
      } else {
        PrintStatsTable(status.databases);
        std::printf("journal: %llu files, %s, sync=%s\n", static_cast<unsigned long long>(status.journal.files),
                    FormatBytes(status.journal.bytes).c_str(), status.journal.sync_mode.c_str());
      }
      return 0;
    };
  });

  auto* dbs = app->add_subcommand("dbs", "List databases");
  AddCommon(dbs, common.get(), false, true);
  dbs->callback([=] {
    *handler = [=] {
      auto store = OpenFor(*common, false);
      if (!store.ok()) return Fail(store.status());
      auto names = (*store)->ListDatabases();
      if (common->json) {
        std::printf("%s\n", nlohmann::json(names).dump(2).c_str());
      } else {
        for (const auto& n : names) std::printf("%s\n", n.c_str());
      }
      return 0;
    };
  });
}

}  // namespace ebb::tool
