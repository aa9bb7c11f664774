// Reloading the configuration file of an open store: what `ebb serve` does
// on SIGHUP (`systemctl reload ebb`).
//
// The configuration is rebuilt exactly as when the store opened
// (LoadEbbConfig: the defaults, the file, then the command-line overrides)
// and checked in full before anything changes: a file that cannot be read,
// does not parse, or holds an unknown setting or a bad value leaves the
// running configuration as it is, and the error names the file and line.
// Otherwise every setting is compared with the value a restart would give
// it. Runtime settings that differ change through Store::SetConfig, the path
// CONFIG SET takes, so the same listeners apply them; the others are
// reported as needing a restart, and keep their running value. After a
// reload the running configuration is what a restart would give, except for
// those: a value changed with CONFIG SET since the last load returns to the
// file's value.
//
// Thread safety: ReloadStoreConfig may run beside CONFIG SET (Config is
// thread-safe); ConfigReloadLog is thread-safe.

#ifndef EBB_ENGINE_CONFIG_RELOAD_H_
#define EBB_ENGINE_CONFIG_RELOAD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/mutex.h"
#include "ebb/options.h"
#include "ebb/status.h"
#include "ebb/store.h"

namespace ebb {

struct ConfigChange {
  std::string setting;  // "section.key"
  // Values as the configuration shows them outside the process: "" for a
  // derived default, and for secrets only "(set)" or "" (DisplaySettingValue).
  std::string running;
  std::string wanted;
};

struct ConfigReloadReport {
  // Runtime settings changed by the reload.
  std::vector<ConfigChange> applied;
  // Settings whose file value differs from the running one but that change
  // only at a restart (or a runtime setting the file returns to a derived
  // default, which only a restart recomputes).
  std::vector<ConfigChange> restart_required;
};

// Re-reads options.config_file and brings the store's running configuration
// to it (see above). Logs one line per change and per setting needing a
// restart. An error means nothing changed.
Result<ConfigReloadReport> ReloadStoreConfig(Store* store, const Options& options);

// The reload history a server reports in its status document ("config").
class ConfigReloadLog {
 public:
  void SetFile(std::string path);
  // Records the outcome of one reload at `unix_time_s`.
  void Record(const Result<ConfigReloadReport>& result, int64_t unix_time_s);
  // {"file", "reloads", "reload_failures", "last_reload_unix_s",
  //  "last_reload_ok", "last_reload_error", "last_reload_applied",
  //  "restart_required", "needs_restart"}.
  nlohmann::json ToJson() const;

 private:
  mutable Mutex mu_;
  std::string file_ GUARDED_BY(mu_);
  uint64_t reloads_ GUARDED_BY(mu_) = 0;
  uint64_t failures_ GUARDED_BY(mu_) = 0;
  int64_t last_time_s_ GUARDED_BY(mu_) = 0;
  bool last_ok_ GUARDED_BY(mu_) = true;
  std::string last_error_ GUARDED_BY(mu_);
  std::vector<std::string> last_applied_ GUARDED_BY(mu_);
  std::vector<std::string> restart_required_ GUARDED_BY(mu_);
};

}  // namespace ebb

#endif  // EBB_ENGINE_CONFIG_RELOAD_H_
