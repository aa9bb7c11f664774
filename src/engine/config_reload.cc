#include "engine/config_reload.h"

#include <fmt/format.h>

#include <set>
#include <utility>

#include "base/logging.h"
#include "base/status_macros.h"
#include "engine/admin.h"
#include "engine/engine_settings.h"

namespace ebb {
namespace {


// An empty value is a derived default, except for strings (and secrets),
// where it is the empty string (unset).
std::string ForLog(const SettingSpec& spec, const std::string& value) {
  if (!value.empty()) return value;
  return spec.type == SettingType::kString ? std::string("\"\"") : std::string("(derived)");
}

}  // namespace

Result<ConfigReloadReport> ReloadStoreConfig(Store* store, const Options& options) {
  if (options.config_file.empty()) {
    return Status::InvalidArgument("no configuration file to reload: the store was opened without one (--config)");
  }
  EBB_ASSIGN_OR_RETURN(std::unique_ptr<Config> wanted, LoadEbbConfig(options));
  // The running configuration in clear (secrets included), to compare
  // values; only DisplaySettingValue forms leave this function.
  EBB_ASSIGN_OR_RETURN(Config * running_config, StoreConfig(store));

  // Every setting either side knows, in the schema's order (a section the
  // file adds or drops, e.g. a compaction channel, is on one side only).
  std::vector<std::pair<std::string, std::string>> settings;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& e : wanted->Effective()) {
    if (seen.insert({e.section, e.key}).second) settings.emplace_back(e.section, e.key);
  }
  for (const auto& e : running_config->Effective()) {
    if (seen.insert({e.section, e.key}).second) settings.emplace_back(e.section, e.key);
  }

  ConfigReloadReport report;
  for (const auto& [section, key] : settings) {
    const SettingSpec* spec = wanted->schema().Find(section, key);
    if (spec == nullptr) continue;  // cannot happen: both sides use one schema
    auto running = running_config->Get(section, key);
    auto target = wanted->Get(section, key);
    if (!running.ok()) return running.status().WithContext("configuration reload");
    if (!target.ok()) return target.status().WithContext("configuration reload");
    if (*running == *target) continue;
    ConfigChange change{section + "." + key, DisplaySettingValue(*spec, *running), DisplaySettingValue(*spec, *target)};
    // A derived default (empty) is computed when the store opens; a value
    // cannot be set back to "derive it".
    const bool can_apply = spec->runtime && !(target->empty() && spec->type != SettingType::kString);
    if (!can_apply) {
      EBB_LOG(kWarn, "configuration reload: {} is {} in {} but {} in the running server; it takes effect at the next "
              "restart", change.setting, ForLog(*spec, change.wanted), options.config_file, ForLog(*spec, change.running));
      report.restart_required.push_back(std::move(change));
      continue;
    }
    Status s = store->SetConfig(section, key, *target);
    if (!s.ok()) {
      // The file was validated in full above, so this is a bug; what was
      // applied so far stays applied and is logged.
      return Status::Internal(fmt::format("configuration reload: {} could not be applied after {} other changes: {}",
                                          change.setting, report.applied.size(), s.ToString()));
    }
    EBB_LOG(kInfo, "configuration reload: {} = {} (was {})", change.setting, ForLog(*spec, change.wanted),
            ForLog(*spec, change.running));
    report.applied.push_back(std::move(change));
  }
  return report;
}

void ConfigReloadLog::SetFile(std::string path) {
  MutexLock lock(&mu_);
  file_ = std::move(path);
}

void ConfigReloadLog::Record(const Result<ConfigReloadReport>& result, int64_t unix_time_s) {
  MutexLock lock(&mu_);
  last_time_s_ = unix_time_s;
  last_ok_ = result.ok();
  if (!result.ok()) {
    failures_++;
    last_error_ = result.status().ToString();
    last_applied_.clear();
    // The running configuration did not change: what needed a restart
    // still does.
    return;
  }
  reloads_++;
  last_error_.clear();
  last_applied_.clear();
  restart_required_.clear();
  for (const auto& c : result->applied) last_applied_.push_back(c.setting);
  for (const auto& c : result->restart_required) restart_required_.push_back(c.setting);
}

nlohmann::json ConfigReloadLog::ToJson() const {
  MutexLock lock(&mu_);
  return {
      {"file", file_},
      {"reloads", reloads_},
      {"reload_failures", failures_},
      {"last_reload_unix_s", last_time_s_},
      {"last_reload_ok", last_ok_},
      {"last_reload_error", last_error_},
      {"last_reload_applied", last_applied_},
      {"restart_required", restart_required_},
      {"needs_restart", !restart_required_.empty()},
  };
}

}  // namespace ebb
