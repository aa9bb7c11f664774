// ebb tier ...: the tiering archives of a data directory and the store
// they make up, read straight from the object store its configuration names:
//   ls, verify, rebuild-index   the archives and the tier index
//   restore --to DIR            a store rebuilt from the bucket alone
//   recall [--db NAME]          evicted segments back to local disk
//   gc [--dry-run]              garbage collection of the bucket
//   rotate-key                  a new archive key; old archives stay readable
// Long operations show progress on a terminal; --json prints only the report.

#include <cstdio>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/config.h"
#include "base/status_macros.h"
#include "ebb/ebb.h"
#include "engine/admin.h"
#include "engine/engine_settings.h"
#include "engine/restore.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "env/object_store.h"
#include "storage/format.h"
#include "tiering/archive_key.h"
#include "tiering/bucket_meta.h"
#include "tiering/persister.h"
#include "tiering/tier_tools.h"
#include "tiering/tiering_agent.h"
#include "tiering/tiering_settings.h"
#include "tools/ebb/commands.h"
#include "tools/ebb/progress.h"

namespace ebb::tool {
namespace {

struct TierArgs {
  std::string data_dir = "./ebb-data";
  std::string config_file;
  std::vector<std::string> set;
  bool json = false;
  std::vector<std::string> archives;
  // restore
  std::string to_dir;
  std::string key_file;
  std::string snapshot;
  // recall
  std::string db;
  // gc
  bool dry_run = false;
};

struct TierContext {
  std::unique_ptr<Config> config;
  TieringOptions options;
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<KeyRing> keys;
};

int Fail(const Status& s) {
  std::fprintf(stderr, "ebb tier: %s\n", s.ToString().c_str());
  return 1;
}

Result<std::unique_ptr<Config>> LoadConfig(const TierArgs& a) {
  auto config = NewEbbConfig();
  if (!a.config_file.empty()) EBB_RETURN_IF_ERROR(config->LoadTomlFile(a.config_file));
  for (const auto& kv : a.set) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) return Status::InvalidArgument(fmt::format("--set '{}' is not section.key=value", kv));
    EBB_RETURN_IF_ERROR(config->SetDotted(kv.substr(0, eq), kv.substr(eq + 1), false));
  }
  return config;
}

// The object store and the keys of `data_dir`'s configuration.
Result<TierContext> OpenTier(const TierArgs& a, const std::string& data_dir, const std::string& key_file = "") {
  TierContext c;
  EBB_ASSIGN_OR_RETURN(c.config, LoadConfig(a));
  c.options = TieringOptionsFromConfig(*c.config, data_dir);
  if (!key_file.empty()) c.options.key_file = key_file;
  EBB_ASSIGN_OR_RETURN(c.store, OpenTierObjectStore(*c.config, DefaultFileSystem(), data_dir));
  auto keys = KeyRing::Load(DefaultFileSystem(), c.options.key_file);
  if (!keys.ok()) {
    std::string needed;
    if (auto ids = BucketKeyIds(c.store.get()); ids.ok()) {
      for (uint64_t id : *ids) needed += (needed.empty() ? "" : ", ") + KeyIdHex(id);
    }
    return keys.status().WithContext(fmt::format(
        "reading the archive key {} (archives cannot be read without the key that wrote them{})", c.options.key_file,
        needed.empty() ? "" : fmt::format("; the archives of {} need key id {}", c.store->Describe(), needed)));
  }
  c.keys = std::move(*keys);
  return c;
}

void AddCommon(CLI::App* cmd, TierArgs* a, bool with_data = true) {
  if (with_data) {
    cmd->add_option("--data", a->data_dir, "Data directory (its tier/ holds the key and the index)")->capture_default_str();
  }
  cmd->add_option("--config", a->config_file, "Configuration file naming the object store ([tiering])");
  cmd->add_option("--set", a->set, "Configuration override section.key=value (repeatable)");
  cmd->add_flag("--json", a->json, "Print only a JSON report");
}

void PrintJson(const nlohmann::json& j) { std::printf("%s\n", j.dump(2).c_str()); }

int RunLs(const TierArgs& a) {
  auto c = OpenTier(a, a.data_dir);
  if (!c.ok()) return Fail(c.status());
  auto listing = ListArchives(c->store.get(), *c->keys);
  if (!listing.ok()) return Fail(listing.status());
  nlohmann::json out = nlohmann::json::array();
  int bad = 0;
  if (!a.json) std::printf("%-28s %10s %8s %10s  %s\n", "archive", "size", "members", "tombstones", "databases");
  for (const auto& l : *listing) {
    std::set<std::string> dbs;
    uint64_t plain = 0;
    for (const auto& m : l.toc.members) {
      dbs.insert(m.meta.database);
      plain += m.plaintext_size;
    }
    std::string db_list;
    for (const auto& d : dbs) db_list += (db_list.empty() ? "" : ",") + d;
    if (!l.error.ok()) bad++;
    if (a.json) {
      nlohmann::json members = nlohmann::json::array();
      for (const auto& m : l.toc.members) {
        members.push_back(nlohmann::json{{"member", m.member},
                                         {"segment", m.meta.segment_id},
                                         {"database", m.meta.database},
                                         {"checksum", fmt::format("{:016x}", m.plaintext_checksum)},
                                         {"plaintext_bytes", m.plaintext_size},
                                         {"stored_bytes", m.payload_length}});
      }
      nlohmann::json tombstones = nlohmann::json::array();
      for (const auto& t : l.toc.tombstones) {
        tombstones.push_back(nlohmann::json{{"database", t.database}, {"sequence", t.sequence}});
      }
      out.push_back(nlohmann::json{{"archive", l.name},
                                   {"size_bytes", l.size_bytes},
                                   {"key_id", KeyIdHex(l.toc.key_id)},
                                   {"plaintext_bytes", plain},
                                   {"members", members},
                                   {"tombstones", tombstones},
                                   {"catalog_databases", l.toc.catalog ? l.toc.catalog->databases.size() : 0},
                                   {"error", l.error.ok() ? "" : l.error.ToString()}});
    } else if (l.error.ok()) {
      std::printf("%-28s %10s %8zu %10zu  %s\n", l.name.c_str(), FormatBytes(l.size_bytes).c_str(), l.toc.members.size(),
                  l.toc.tombstones.size(), db_list.c_str());
    } else {
      std::printf("%-28s %10s  ERROR %s\n", l.name.c_str(), FormatBytes(l.size_bytes).c_str(), l.error.ToString().c_str());
    }
  }
  if (a.json) PrintJson(out);
  return bad ? 1 : 0;
}

int RunVerify(const TierArgs& a) {
  auto c = OpenTier(a, a.data_dir);
  if (!c.ok()) return Fail(c.status());
  ProgressLine progress("verify", "archives", a.json);
  auto results = VerifyArchives(c->store.get(), *c->keys, a.archives, progress.Fn());
  progress.Finish();
  if (!results.ok()) return Fail(results.status());
  nlohmann::json out = nlohmann::json::array();
  int bad = 0;
  uint64_t members = 0, bytes = 0;
  for (const auto& v : *results) {
    if (!v.errors.empty()) bad++;
    members += v.members_checked;
    bytes += v.bytes_checked;
    if (a.json) {
      out.push_back(nlohmann::json{{"archive", v.name},
                                   {"members_checked", v.members_checked},
                                   {"bytes_checked", v.bytes_checked},
                                   {"errors", v.errors}});
    } else {
      std::printf("%-28s %s (%llu members, %s)\n", v.name.c_str(), v.errors.empty() ? "ok" : "DAMAGED",
                  static_cast<unsigned long long>(v.members_checked), FormatBytes(v.bytes_checked).c_str());
      for (const auto& e : v.errors) std::printf("    %s\n", e.c_str());
    }
  }
  if (a.json) PrintJson(out);
  if (!a.json) {
    std::printf("%zu archives, %d damaged; %llu members, %s checked\n", results->size(), bad,
                static_cast<unsigned long long>(members), FormatBytes(bytes).c_str());
  }
  return bad ? 1 : 0;
}

int RunRebuild(const TierArgs& a) {
  // The index belongs to the store: refuse while a store holds the directory.
  auto lock = DefaultFileSystem()->LockFile(LockFileName(a.data_dir));
  if (!lock.ok()) return Fail(lock.status().WithContext("rebuild-index needs the store closed"));
  auto c = OpenTier(a, a.data_dir);
  if (!c.ok()) return Fail(c.status());
  RebuildReport report;
  ProgressLine progress("rebuild-index", "archives", a.json);
  auto index = RebuildIndex(c->store.get(), *c->keys, &report, progress.Fn());
  progress.Finish();
  if (!index.ok()) return Fail(index.status());
  Status s = DefaultFileSystem()->CreateDir(c->options.tier_dir);
  if (s.ok()) s = index->Save(DefaultFileSystem(), TierIndexPath(c->options.tier_dir));
  if (!s.ok()) return Fail(s);
  if (a.json) {
    PrintJson(nlohmann::json{{"archives", report.archives},
                             {"from_toc", report.from_toc},
                             {"from_scan", report.from_scan},
                             {"ranged_reads", report.ranged_reads},
                             {"full_downloads", report.full_downloads},
                             {"segments", index->segment_count()},
                             {"tombstones", index->tombstones().size()},
                             {"problems", report.problems},
                             {"index", TierIndexPath(c->options.tier_dir)}});
  } else {
    std::printf("rebuilt %s from %llu archives (%llu by their table of contents, %llu by a full scan): %zu segments, "
                "%zu tombstones\n",
                TierIndexPath(c->options.tier_dir).c_str(), static_cast<unsigned long long>(report.archives),
                static_cast<unsigned long long>(report.from_toc), static_cast<unsigned long long>(report.from_scan),
                index->segment_count(), index->tombstones().size());
    for (const auto& p : report.problems) std::printf("    skipped: %s\n", p.c_str());
  }
  return 0;
}

int RunRestore(const TierArgs& a) {
  if (a.to_dir.empty()) return Fail(Status::InvalidArgument("restore needs --to DIR (an empty or new directory)"));
  auto c = OpenTier(a, a.to_dir, a.key_file);
  if (!c.ok()) return Fail(c.status());
  RestoreOptions ro;
  ro.to_dir = a.to_dir;
  ro.snapshot = a.snapshot;
  ro.local_bytes = static_cast<uint64_t>(c->config->GetInt("tiering", "local_target_bytes"));
  // The restored store opens with its default key file unless the
  // configuration names another.
  if (c->config->GetString("tiering", "key_file").empty()) ro.key_file_out = JoinPath(JoinPath(a.to_dir, "tier"), "archive.key");
  ProgressLine progress("restore", "segments", a.json);
  ro.progress = progress.Fn();
  auto report = RestoreStore(DefaultFileSystem(), c->store.get(), *c->keys, ro, SystemClock());
  progress.Finish();
  if (!report.ok()) return Fail(report.status());
  double rate = report->seconds > 0 ? static_cast<double>(report->bytes_restored) / report->seconds : 0;
  if (a.json) {
    PrintJson(nlohmann::json{{"to", a.to_dir},
                             {"snapshot", report->snapshot},
                             {"object_store", c->store->Describe()},
                             {"databases", report->databases},
                             {"segments", report->segments},
                             {"segments_local", report->segments_local},
                             {"segments_remote", report->segments_evicted},
                             {"bytes_restored", report->bytes_restored},
                             {"bytes_fetched", report->bytes_fetched},
                             {"archives", report->archives},
                             {"seconds", report->seconds},
                             {"bytes_per_second", static_cast<uint64_t>(rate)}});
  } else {
    std::printf("restored %s from snapshot %s of %s: %llu databases, %llu segments (%llu local, %llu left in the "
                "object store), %s in %.1f s (%s/s)\n",
                a.to_dir.c_str(), report->snapshot.c_str(), c->store->Describe().c_str(),
                static_cast<unsigned long long>(report->databases), static_cast<unsigned long long>(report->segments),
                static_cast<unsigned long long>(report->segments_local),
                static_cast<unsigned long long>(report->segments_evicted), FormatBytes(report->bytes_restored).c_str(),
                report->seconds, FormatBytes(static_cast<uint64_t>(rate)).c_str());
  }
  return 0;
}

// Opens the store in --data with tiering settings for a tool run.
Result<std::unique_ptr<Store>> OpenStoreForTool(const TierArgs& a, bool evict) {
  Options o;
  o.data_dir = a.data_dir;
  o.config_file = a.config_file;
  o.create_if_missing = false;
  for (const auto& kv : a.set) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) return Status::InvalidArgument(fmt::format("--set '{}' is not section.key=value", kv));
    o.Set(kv.substr(0, eq), kv.substr(eq + 1));
  }
  // Nothing brought back is evicted again while the tool runs, and the
  // background recalls nothing on its own: the tool says what comes back.
  if (!evict) o.Set("tiering.local_target_bytes", "infinity");
  o.Set("tiering.recall", "false");
  return Store::Open(o);
}

int RunRecall(const TierArgs& a) {
  auto store = OpenStoreForTool(a, /*evict=*/false);
  if (!store.ok()) return Fail(store.status());
  ProgressLine progress("recall", "segments", a.json);
  auto report = RecallEvictedSegments(store->get(), a.db, progress.Fn());
  progress.Finish();
  Status closed = (*store)->Close();
  if (!report.ok()) return Fail(report.status());
  if (!closed.ok()) return Fail(closed);
  if (a.json) {
    PrintJson(nlohmann::json{{"database", a.db},
                             {"segments_recalled", report->segments},
                             {"bytes_recalled", report->bytes},
                             {"segments_left", report->segments_left}});
  } else {
    std::printf("recalled %llu segments (%s) of %s\n", static_cast<unsigned long long>(report->segments),
                FormatBytes(report->bytes).c_str(), a.db.empty() ? "every database" : a.db.c_str());
  }
  return 0;
}

int RunGc(const TierArgs& a) {
  auto store = OpenStoreForTool(a, /*evict=*/true);
  if (!store.ok()) return Fail(store.status());
  auto report = CollectTierGarbage(store->get(), a.dry_run);
  Status closed = (*store)->Close();
  if (!report.ok()) return Fail(report.status());
  if (!closed.ok()) return Fail(closed);
  if (a.json) {
    PrintJson(nlohmann::json{{"dry_run", a.dry_run},
                             {"snapshots", report->snapshots},
                             {"snapshots_retained", report->snapshots_retained},
                             {"snapshots_deleted", report->snapshots_deleted},
                             {"archives", report->archives},
                             {"archives_deleted", report->archives_deleted},
                             {"bytes_reclaimed", report->bytes_reclaimed},
                             {"bytes_kept", report->bytes_kept},
                             {"garbage_bytes", report->garbage_bytes},
                             {"deleted", report->deleted},
                             {"problems", report->problems}});
  } else {
    std::printf("%s %llu of %llu archives (%s) and %llu of %llu snapshot records; kept %s, of which %s is garbage "
                "held by live neighbours or retained snapshots\n",
                a.dry_run ? "would delete" : "deleted", static_cast<unsigned long long>(report->archives_deleted),
                static_cast<unsigned long long>(report->archives), FormatBytes(report->bytes_reclaimed).c_str(),
                static_cast<unsigned long long>(report->snapshots_deleted),
                static_cast<unsigned long long>(report->snapshots), FormatBytes(report->bytes_kept).c_str(),
                FormatBytes(report->garbage_bytes).c_str());
    for (const auto& p : report->problems) std::printf("    %s\n", p.c_str());
  }
  return 0;
}

int RunRotateKey(const TierArgs& a) {
  auto lock = DefaultFileSystem()->LockFile(LockFileName(a.data_dir));
  if (!lock.ok()) return Fail(lock.status().WithContext("rotate-key needs the store closed"));
  auto config = LoadConfig(a);
  if (!config.ok()) return Fail(config.status());
  TieringOptions options = TieringOptionsFromConfig(**config, a.data_dir);
  auto before = KeyRing::Load(DefaultFileSystem(), options.key_file);
  if (!before.ok()) return Fail(before.status());
  uint64_t old_id = (*before)->current()->key_id();
  auto fresh = RotateArchiveKey(DefaultFileSystem(), options.key_file);
  if (!fresh.ok()) return Fail(fresh.status());
  // Recorded in the bucket now if it answers; otherwise at the next open.
  std::string recorded = "recorded in the bucket at the next open";
  auto store = OpenTierObjectStore(**config, DefaultFileSystem(), a.data_dir);
  auto ring = KeyRing::Load(DefaultFileSystem(), options.key_file);
  if (store.ok() && ring.ok()) {
    Status s = CheckKeysAgainstBucket(store->get(), **ring, SystemClock(), /*may_register=*/true);
    recorded = s.ok() ? fmt::format("recorded in {}", (*store)->Describe()) : recorded + " (" + s.ToString() + ")";
  }
  if (a.json) {
    PrintJson(nlohmann::json{{"key_file", options.key_file},
                             {"key_id", KeyIdHex(*fresh)},
                             {"retired_key_id", KeyIdHex(old_id)},
                             {"retired_key_file", RetiredKeyPath(options.key_file, old_id)},
                             {"bucket", recorded}});
  } else {
    std::printf("new archive key %s (key id %s); the old key %s stays as %s for the archives it wrote; %s. Back up "
                "both.\n",
                options.key_file.c_str(), KeyIdHex(*fresh).c_str(), KeyIdHex(old_id).c_str(),
                RetiredKeyPath(options.key_file, old_id).c_str(), recorded.c_str());
  }
  return 0;
}

}  // namespace

void AddTierCommands(CLI::App* app, Handler* handler) {
  auto args = std::make_shared<TierArgs>();
  auto* tier = app->add_subcommand(
      "tier", "Tiering archives in the object store: ls, verify, rebuild-index, restore, recall, gc, rotate-key");
  tier->require_subcommand(1);
  auto* ls = tier->add_subcommand("ls", "List archives with their members and tombstones");
  AddCommon(ls, args.get());
  ls->callback([=] { *handler = [=] { return RunLs(*args); }; });
  auto* verify = tier->add_subcommand("verify", "Download, decrypt and check every member of the archives");
  AddCommon(verify, args.get());
  verify->add_option("archives", args->archives, "Archive names (default: all)");
  verify->callback([=] { *handler = [=] { return RunVerify(*args); }; });
  auto* rebuild = tier->add_subcommand(
      "rebuild-index", "Regenerate the tier index from the archives alone (tables of contents, else full scans; needs the "
                       "store closed)");
  AddCommon(rebuild, args.get());
  rebuild->callback([=] { *handler = [=] { return RunRebuild(*args); }; });
  auto* restore = tier->add_subcommand(
      "restore", "Rebuild a store in an empty directory from the bucket's latest published snapshot (segments beyond "
                 "tiering.local_target_bytes stay in the object store)");
  AddCommon(restore, args.get(), /*with_data=*/false);
  restore->add_option("--to", args->to_dir, "Empty (or new) directory for the restored store")->required();
  restore->add_option("--key", args->key_file,
                      "Archive key file (default tiering.key_file); retired keys beside it are used too");
  restore->add_option("--snapshot", args->snapshot, "A published snapshot id (default: the newest)");
  restore->callback([=] { *handler = [=] { return RunRestore(*args); }; });
  auto* recall = tier->add_subcommand("recall", "Bring evicted segments back to local disk (needs the store closed)");
  AddCommon(recall, args.get());
  recall->add_option("--db", args->db, "Only this database (default: all)");
  recall->callback([=] { *handler = [=] { return RunRecall(*args); }; });
  auto* gc = tier->add_subcommand(
      "gc", "Delete archives and snapshot records past retention that nothing needs (needs the store closed)");
  AddCommon(gc, args.get());
  gc->add_flag("--dry-run", args->dry_run, "Report what would be deleted; delete nothing");
  gc->callback([=] { *handler = [=] { return RunGc(*args); }; });
  auto* rotate = tier->add_subcommand(
      "rotate-key",
      "Write new archives with a new key; the old key is kept (key file + .<key id>) to read old ones (needs the "
      "store closed)");
  AddCommon(rotate, args.get());
  rotate->callback([=] { *handler = [=] { return RunRotateKey(*args); }; });
}

}  // namespace ebb::tool
