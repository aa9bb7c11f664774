// Server::ReloadConfig: the SIGHUP reload of `ebb serve`.

#include <chrono>

#include "server/server.h"
#include "server/server_core.h"

namespace ebb {

Result<ConfigReloadReport> Server::ReloadConfig() {
  Result<ConfigReloadReport> report = ReloadStoreConfig(core_->store(), store_options_);
  if (report.ok()) {
    bool server_changed = false;
    for (const auto& c : report->applied) server_changed = server_changed || c.setting.starts_with("server.");
    // As after CONFIG SET: connections read the live [server] settings.
    if (server_changed) {
      Status s = core_->RefreshSettings();
      if (!s.ok()) report = s.WithContext("configuration reload: applying the [server] settings");
    }
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  core_->config_reload().Record(report, std::chrono::duration_cast<std::chrono::seconds>(now).count());
  return report;
}

}  // namespace ebb
