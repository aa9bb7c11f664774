// ebb tier ls|verify|rebuild-index: the tiering archives of a data
// directory, read straight from the object store its configuration names.

#include <cstdio>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/config.h"
#include "base/status_macros.h"
#include "engine/engine_settings.h"
#include "env/file_system.h"
#include "env/object_store.h"
#include "storage/format.h"
#include "tiering/archive_key.h"
#include "tiering/persister.h"
#include "tiering/tier_tools.h"
#include "tiering/tiering_agent.h"
#include "tiering/tiering_settings.h"
#include "tools/ebb/commands.h"

namespace ebb::tool {
namespace {

struct TierArgs {
  std::string data_dir = "./ebb-data";
  std::string config_file;
  std::vector<std::string> set;
  bool json = false;
  std::vector<std::string> archives;
};

struct TierContext {
  std::unique_ptr<Config> config;
  TieringOptions options;
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<ArchiveKey> key;
};

int Fail(const Status& s) {
  std::fprintf(stderr, "ebb tier: %s\n", s.ToString().c_str());
  return 1;
}

Result<TierContext> OpenTier(const TierArgs& a) {
  TierContext c;
  c.config = NewEbbConfig();
  if (!a.config_file.empty()) EBB_RETURN_IF_ERROR(c.config->LoadTomlFile(a.config_file));
  for (const auto& kv : a.set) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) return Status::InvalidArgument(fmt::format("--set '{}' is not section.key=value", kv));
    EBB_RETURN_IF_ERROR(c.config->SetDotted(kv.substr(0, eq), kv.substr(eq + 1), false));
  }
  c.options = TieringOptionsFromConfig(*c.config, a.data_dir);
  EBB_ASSIGN_OR_RETURN(c.store, OpenTierObjectStore(*c.config, DefaultFileSystem(), a.data_dir));
  auto key = ArchiveKey::Load(DefaultFileSystem(), c.options.key_file);
  if (!key.ok()) {
    return key.status().WithContext(fmt::format(
        "reading the archive key {} (archives cannot be read without the key that wrote them)", c.options.key_file));
  }
  c.key = std::move(*key);
  return c;
}

void AddCommon(CLI::App* cmd, TierArgs* a) {
  cmd->add_option("--data", a->data_dir, "Data directory (its tier/ holds the key and the index)")->capture_default_str();
  cmd->add_option("--config", a->config_file, "Configuration file naming the object store ([tiering])");
  cmd->add_option("--set", a->set, "Configuration override section.key=value (repeatable)");
  cmd->add_flag("--json", a->json, "Print a JSON report");
}

int RunLs(const TierArgs& a) {
  auto c = OpenTier(a);
  if (!c.ok()) return Fail(c.status());
  auto listing = ListArchives(c->store.get(), *c->key);
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
        members.push_back({{"member", m.member},
                           {"segment", m.meta.segment_id},
                           {"database", m.meta.database},
                           {"plaintext_bytes", m.plaintext_size},
                           {"stored_bytes", m.payload_length}});
      }
      nlohmann::json tombstones = nlohmann::json::array();
      for (const auto& t : l.toc.tombstones) tombstones.push_back({{"database", t.database}, {"sequence", t.sequence}});
      out.push_back({{"archive", l.name},
                     {"size_bytes", l.size_bytes},
                     {"plaintext_bytes", plain},
                     {"members", members},
                     {"tombstones", tombstones},
                     {"error", l.error.ok() ? "" : l.error.ToString()}});
    } else if (l.error.ok()) {
      std::printf("%-28s %10s %8zu %10zu  %s\n", l.name.c_str(), FormatBytes(l.size_bytes).c_str(), l.toc.members.size(),
                  l.toc.tombstones.size(), db_list.c_str());
    } else {
      std::printf("%-28s %10s  ERROR %s\n", l.name.c_str(), FormatBytes(l.size_bytes).c_str(), l.error.ToString().c_str());
    }
  }
  if (a.json) std::printf("%s\n", out.dump(2).c_str());
  return bad ? 1 : 0;
}

int RunVerify(const TierArgs& a) {
  auto c = OpenTier(a);
  if (!c.ok()) return Fail(c.status());
  auto results = VerifyArchives(c->store.get(), *c->key, a.archives);
  if (!results.ok()) return Fail(results.status());
  nlohmann::json out = nlohmann::json::array();
  int bad = 0;
  for (const auto& v : *results) {
    if (!v.errors.empty()) bad++;
    if (a.json) {
      out.push_back({{"archive", v.name},
                     {"members_checked", v.members_checked},
                     {"bytes_checked", v.bytes_checked},
                     {"errors", v.errors}});
    } else {
      std::printf("%-28s %s (%llu members, %s)\n", v.name.c_str(), v.errors.empty() ? "ok" : "DAMAGED",
                  static_cast<unsigned long long>(v.members_checked), FormatBytes(v.bytes_checked).c_str());
      for (const auto& e : v.errors) std::printf("    %s\n", e.c_str());
    }
  }
  if (a.json) std::printf("%s\n", out.dump(2).c_str());
  if (!a.json) std::printf("%zu archives, %d damaged\n", results->size(), bad);
  return bad ? 1 : 0;
}

int RunRebuild(const TierArgs& a) {
  // The index belongs to the store: refuse while a store holds the directory.
  auto lock = DefaultFileSystem()->LockFile(LockFileName(a.data_dir));
  if (!lock.ok()) return Fail(lock.status().WithContext("rebuild-index needs the store closed"));
  auto c = OpenTier(a);
  if (!c.ok()) return Fail(c.status());
  RebuildReport report;
  auto index = RebuildIndex(c->store.get(), *c->key, &report);
  if (!index.ok()) return Fail(index.status());
  Status s = DefaultFileSystem()->CreateDir(c->options.tier_dir);
  if (s.ok()) s = index->Save(DefaultFileSystem(), TierIndexPath(c->options.tier_dir));
  if (!s.ok()) return Fail(s);
  if (a.json) {
    std::printf("%s\n", nlohmann::json({{"archives", report.archives},
                                        {"from_toc", report.from_toc},
                                        {"from_scan", report.from_scan},
                                        {"ranged_reads", report.ranged_reads},
                                        {"full_downloads", report.full_downloads},
                                        {"segments", index->segment_count()},
                                        {"tombstones", index->tombstones().size()},
                                        {"problems", report.problems},
                                        {"index", TierIndexPath(c->options.tier_dir)}})
                                .dump(2)
                                .c_str());
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

}  // namespace

void AddTierCommands(CLI::App* app, Handler* handler) {
  auto args = std::make_shared<TierArgs>();
  auto* tier = app->add_subcommand("tier", "Tiering archives in the object store: ls, verify, rebuild-index");
  tier->require_subcommand(1);
  auto* ls = tier->add_subcommand("ls", "List archives with their members and tombstones");
  AddCommon(ls, args.get());
  ls->callback([=] { *handler = [=] { return RunLs(*args); }; });
  auto* verify = tier->add_subcommand("verify", "Download, decrypt and check every member of the archives");
  AddCommon(verify, args.get());
  verify->add_option("archives", args->archives, "Archive names (default: all)");
  verify->callback([=] { *handler = [=] { return RunVerify(*args); }; });
  auto* rebuild = tier->add_subcommand(
      "rebuild-index", "Regenerate the tier index from the archives alone (tables of contents, else full scans)");
  AddCommon(rebuild, args.get());
  rebuild->callback([=] { *handler = [=] { return RunRebuild(*args); }; });
}

}  // namespace ebb::tool
