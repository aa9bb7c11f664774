// Ebb's configuration: one schema of settings (each with its type, default,
// unit, whether it can change at run time and a description) and one set of
// values loaded from a TOML file, overridden by options and changed at run
// time through Store::SetConfig / `ebb config set` / CONFIG SET.
//
// Settings are addressed by (section, key): ("journal", "sync"),
// ("smoosh.ratio_dbs", "capacity"). A schema section may be a pattern ending
// in ".*" ("smoosh.*") that matches any sub-section with that prefix, for
// sections whose names are user-chosen (compaction channels).
//
// The reference in docs/configuration.md is generated from the schema
// (`ebb config reference`), and a test keeps the two equal.
//
// Thread safety: ConfigSchema is built once, then read-only. Config is
// thread-safe; listeners run on the thread that called Set, after the value
// is stored, without Config's lock held.

#ifndef EBB_BASE_CONFIG_H_
#define EBB_BASE_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "ebb/status.h"

namespace ebb {

enum class SettingType {
  kBool,       // true | false
  kInt,        // signed 64-bit integer
  kBytes,      // byte count: 1048576, "64MiB", "1 GiB", "infinity"
  kDouble,     // floating point; "inf" / "infinity" allowed
  kString,     // free text
  kEnum,       // one of `choices`
  kList,       // comma-separated names ("ratio_dbs,slack_dbs"); TOML arrays accepted
  kTimeOfDay,  // "HH:MM", 24-hour UTC
};

std::string_view SettingTypeName(SettingType type);

struct SettingSpec {
  std::string section;  // "journal", or a pattern "smoosh.*"
  std::string key;
  SettingType type = SettingType::kString;
  std::string default_value;  // textual; "" = none (the owner derives it)
  std::string unit;           // "bytes", "ms", "s", "count", "" ...
  bool runtime = false;       // changeable without restart
  std::string description;
  std::vector<std::string> choices;  // kEnum only
  std::optional<double> min;         // numeric types: inclusive bounds
  std::optional<double> max;
  // Write-only (passwords, tokens, credentials): outside the process —
  // CONFIG GET, Store::GetConfig/ListConfig, status, logs, error messages —
  // the value shows only as set or unset (DisplaySettingValue).
  bool secret = false;
};

// What a secret setting shows instead of its value when it is set.
inline constexpr std::string_view kSecretSetMarker = "(set)";
// A value as it may be shown outside the process: a secret's is
// kSecretSetMarker when set and "" when not; others are shown as they are.
std::string DisplaySettingValue(const SettingSpec& spec, std::string_view value);

class ConfigSchema {
 public:
  // Adds a setting. Registering (section, key) twice is a bug.
  void Add(SettingSpec spec);

  // The spec for (section, key): an exact section match first, then the
  // longest pattern ("smoosh.*") that matches. nullptr when unknown.
  const SettingSpec* Find(std::string_view section, std::string_view key) const;

  const std::vector<SettingSpec>& settings() const { return settings_; }

  // Markdown reference of every setting, grouped by section, in
  // registration order (docs/configuration.md).
  std::string ReferenceMarkdown() const;

 private:
  static std::string ReferenceRow(const SettingSpec& spec);

  std::vector<SettingSpec> settings_;
};

// Converts text to the canonical form of a setting's type, or explains why
// it cannot ("journal.sync: 'sometimes' is not one of always, batch, none").
Result<std::string> NormalizeSettingValue(const SettingSpec& spec, std::string_view text);

// Parses "64MiB", "1 GiB", "4096", "infinity" (INT64_MAX).
Result<int64_t> ParseBytes(std::string_view text);
// "64 MiB" style, for status output.
std::string FormatBytes(uint64_t bytes);
// Parses "HH:MM" into minutes since midnight.
Result<int> ParseTimeOfDay(std::string_view text);

class Config {
 public:
  explicit Config(std::shared_ptr<const ConfigSchema> schema);

  const ConfigSchema& schema() const { return *schema_; }

  // Loads a TOML file: every table is a section ([smoosh.ratio_dbs] is
  // section "smoosh.ratio_dbs"). Unknown settings and bad values are errors
  // naming the file, line and setting; nothing is applied unless all are valid.
  Status LoadTomlFile(const std::string& path);
  Status LoadTomlString(std::string_view toml, std::string_view source_name);

  // Sets a value. `at_runtime` refuses settings that need a restart.
  // Listeners whose prefix matches the section run after the value is stored.
  Status Set(std::string_view section, std::string_view key, std::string_view value, bool at_runtime);

  struct Change {
    std::string section;
    std::string key;
    std::string value;
  };
  // Sets several values as one change, all or none: each value is checked
  // against its schema entry, then the configuration as it would be after
  // the change is checked by the validators of every section it touches
  // (AddValidator: the subsystem that owns the section); only when all
  // agree are the values stored and the listeners run (each matching
  // listener once, after every value is stored). Changes are serialized: a
  // validator sees every change committed before its own.
  Status SetMany(const std::vector<Change>& changes, bool at_runtime);

  // Checks a candidate configuration before a change touching `section_prefix`
  // (as for Subscribe) is committed; a non-OK status refuses the whole change
  // and is returned to the caller, so it should say which setting is wrong
  // and what would be valid. Runs on the thread that calls Set/SetMany and
  // must not call them. Returns an id for RemoveValidator.
  using Validator = std::function<Status(const Config& candidate)>;
  int AddValidator(std::string section_prefix, Validator validator);
  void RemoveValidator(int id);
  // "section.key" form for overrides: "journal.sync" or "smoosh.ratio_dbs.capacity"
  // (the key is the last dot-separated component).
  Status SetDotted(std::string_view dotted, std::string_view value, bool at_runtime);

  // A default for one concrete section that applies below user values (used
  // for per-channel defaults, e.g. slack_dbs' priority = slack).
  void SetSectionDefault(std::string_view section, std::string_view key, std::string_view value);

  // The explicitly set value (file, override or runtime), if any.
  std::optional<std::string> GetExplicit(std::string_view section, std::string_view key) const;
  // Explicit value, else section default, else schema default. Unknown
  // settings return NotFound. Secrets come back in clear: for use inside
  // the process only; GetDisplay is what may be shown.
  Result<std::string> Get(std::string_view section, std::string_view key) const;
  // Get, with secrets shown as set or unset (DisplaySettingValue).
  Result<std::string> GetDisplay(std::string_view section, std::string_view key) const;

  // Typed reads of known settings. Reading an unknown setting, or one whose
  // schema type differs, is a bug (asserts); values were validated on Set.
  int64_t GetInt(std::string_view section, std::string_view key) const;  // kInt, kBytes
  double GetDouble(std::string_view section, std::string_view key) const;
  bool GetBool(std::string_view section, std::string_view key) const;
  std::string GetString(std::string_view section, std::string_view key) const;
  std::vector<std::string> GetList(std::string_view section, std::string_view key) const;

  // Sections that have at least one explicit or section-default value.
  std::vector<std::string> Sections() const;

  // Every known (section, key, value) as the effective configuration, for
  // `CONFIG GET *` and status output; secrets as DisplaySettingValue.
  struct Entry {
    std::string section;
    std::string key;
    std::string value;
    bool runtime;
  };
  std::vector<Entry> Effective() const;

  // A commented configuration file holding every setting at its effective
  // value here (for a fresh Config: the defaults), each line commented out
  // under its description, type, range and whether it changes at run time;
  // uncommenting a line sets the value it shows. Pattern sections ("smoosh.*")
  // appear as the concrete sections this Config knows. `preamble` (comment
  // lines) goes first. Settings without a fixed default are listed as such.
  std::string TemplateToml(std::string_view preamble) const;

  using Listener = std::function<void(const std::string& section, const std::string& key)>;
  // Calls `listener` after every successful Set whose section equals
  // `section_prefix` or starts with `section_prefix` + ".". Returns an id for
  // Unsubscribe.
  int Subscribe(std::string section_prefix, Listener listener);
  void Unsubscribe(int id);

 private:
  struct Key {
    std::string section;
    std::string key;
    bool operator<(const Key& o) const { return section != o.section ? section < o.section : key < o.key; }
  };
  static bool PrefixMatches(std::string_view prefix, std::string_view section);
  // One setting of TemplateToml: its description and facts as comments,
  // then the commented-out assignment.
  void AppendTemplateSetting(const Entry& e, std::string* out) const;
  const SettingSpec& SpecOrDie(std::string_view section, std::string_view key) const;

  const std::shared_ptr<const ConfigSchema> schema_;

  // Held across a whole SetMany (validation, storing, listeners) so that
  // changes are validated and applied one at a time. Taken before mu_.
  Mutex update_mu_ ACQUIRED_BEFORE(mu_);
  mutable Mutex mu_;
  std::map<Key, std::string> values_ GUARDED_BY(mu_);
  std::map<Key, std::string> section_defaults_ GUARDED_BY(mu_);
  struct Subscription {
    int id;
    std::string prefix;
    std::shared_ptr<Listener> listener;
  };
  std::vector<Subscription> subscriptions_ GUARDED_BY(mu_);
  struct ValidatorEntry {
    int id;
    std::string prefix;
    std::shared_ptr<Validator> validator;
  };
  std::vector<ValidatorEntry> validators_ GUARDED_BY(mu_);
  int next_subscription_id_ GUARDED_BY(mu_) = 1;
};

}  // namespace ebb

#endif  // EBB_BASE_CONFIG_H_
