#include "base/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <cmath>
#include <limits>
#include <sstream>

#include "base/logging.h"
#include "base/status_macros.h"

namespace ebb {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) b++;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) e--;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool SectionMatches(std::string_view pattern, std::string_view section) {
  if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == ".*") {
    std::string_view prefix = pattern.substr(0, pattern.size() - 1);  // keep the dot
    return section.size() > prefix.size() && section.substr(0, prefix.size()) == prefix;
  }
  return pattern == section;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); i++) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

Result<double> ParseDouble(std::string_view text) {
  std::string t = Lower(Trim(text));
  if (t == "inf" || t == "infinity") return std::numeric_limits<double>::infinity();
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) {
    return Status::InvalidArgument(fmt::format("'{}' is not a number", text));
  }
  return v;
}

Result<int64_t> ParseInt(std::string_view text) {
  std::string t = Trim(text);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) {
    return Status::InvalidArgument(fmt::format("'{}' is not an integer", text));
  }
  return v;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string item = Trim(text.substr(start, comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::string_view SettingTypeName(SettingType type) {
  switch (type) {
    case SettingType::kBool: return "bool";
    case SettingType::kInt: return "integer";
    case SettingType::kBytes: return "bytes";
    case SettingType::kDouble: return "number";
    case SettingType::kString: return "string";
    case SettingType::kEnum: return "enum";
    case SettingType::kList: return "list";
    case SettingType::kTimeOfDay: return "time of day";
  }
  return "?";
}

Result<int64_t> ParseBytes(std::string_view text) {
  std::string t = Lower(Trim(text));
  if (t == "inf" || t == "infinity") return std::numeric_limits<int64_t>::max();
  size_t digits = 0;
  while (digits < t.size() && (std::isdigit(static_cast<unsigned char>(t[digits])) || t[digits] == '.')) digits++;
  if (digits == 0) return Status::InvalidArgument(fmt::format("'{}' is not a byte count", text));
  // A plain integer is read exactly: as a double, 9223372036854775807 (how
  // "infinity" is stored) rounds up to 2^63 and would overflow.
  if (digits == t.size() && t.find('.') == std::string::npos) {
    int64_t exact = 0;
    auto [end, error] = std::from_chars(t.data(), t.data() + t.size(), exact);
    if (error == std::errc::result_out_of_range) return Status::InvalidArgument(fmt::format("'{}' is too large", text));
    if (error == std::errc() && end == t.data() + t.size()) return exact;
  }
  double number = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + digits, number);
  if (ec != std::errc() || ptr != t.data() + digits) {
    return Status::InvalidArgument(fmt::format("'{}' is not a byte count", text));
  }
  std::string suffix = Trim(std::string_view(t).substr(digits));
  double multiplier = 1;
  if (suffix.empty() || suffix == "b") multiplier = 1;
  else if (suffix == "k" || suffix == "kb" || suffix == "kib") multiplier = 1024.0;
  else if (suffix == "m" || suffix == "mb" || suffix == "mib") multiplier = 1024.0 * 1024;
  else if (suffix == "g" || suffix == "gb" || suffix == "gib") multiplier = 1024.0 * 1024 * 1024;
  else if (suffix == "t" || suffix == "tb" || suffix == "tib") multiplier = 1024.0 * 1024 * 1024 * 1024;
  else return Status::InvalidArgument(fmt::format("'{}': unknown size suffix '{}' (use B, KiB, MiB, GiB, TiB)", text, suffix));
  double bytes = number * multiplier;
  if (bytes >= static_cast<double>(std::numeric_limits<int64_t>::max())) {
    return Status::InvalidArgument(fmt::format("'{}' is too large", text));
  }
  return static_cast<int64_t>(std::llround(bytes));
}

std::string FormatBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes == static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return "infinity";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    unit++;
  }
  if (unit == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

Result<int> ParseTimeOfDay(std::string_view text) {
  std::string t = Trim(text);
  size_t colon = t.find(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument(fmt::format("'{}' is not a time of day (expected HH:MM, UTC)", text));
  }
  auto hours = ParseInt(std::string_view(t).substr(0, colon));
  auto minutes = ParseInt(std::string_view(t).substr(colon + 1));
  if (!hours.ok() || !minutes.ok() || *hours < 0 || *hours > 24 || *minutes < 0 || *minutes > 59 ||
      (*hours == 24 && *minutes != 0) || colon == 0 || t.size() - colon - 1 != 2) {
    return Status::InvalidArgument(fmt::format("'{}' is not a time of day (expected HH:MM, UTC)", text));
  }
  return static_cast<int>(*hours * 60 + *minutes);
}

Result<std::string> NormalizeSettingValue(const SettingSpec& spec, std::string_view text) {
  auto check_range = [&](double v) -> Status {
    if (spec.min && v < *spec.min) {
      return Status::InvalidArgument(fmt::format("{} is below the minimum {}", text, *spec.min));
    }
    if (spec.max && v > *spec.max) {
      return Status::InvalidArgument(fmt::format("{} is above the maximum {}", text, *spec.max));
    }
    return Status::OK();
  };
  switch (spec.type) {
    case SettingType::kBool: {
      std::string t = Lower(Trim(text));
      if (t == "true" || t == "yes" || t == "on" || t == "1") return std::string("true");
      if (t == "false" || t == "no" || t == "off" || t == "0") return std::string("false");
      return Status::InvalidArgument(fmt::format("'{}' is not true or false", text));
    }
    case SettingType::kInt: {
      auto v = ParseInt(text);
      if (!v.ok()) return v.status();
      Status s = check_range(static_cast<double>(*v));
      if (!s.ok()) return s;
      return std::to_string(*v);
    }
    case SettingType::kBytes: {
      auto v = ParseBytes(text);
      if (!v.ok()) return v.status();
      if (*v < 0) return Status::InvalidArgument(fmt::format("'{}' is negative", text));
      Status s = check_range(static_cast<double>(*v));
      if (!s.ok()) return s;
      return std::to_string(*v);
    }
    case SettingType::kDouble: {
      auto v = ParseDouble(text);
      if (!v.ok()) return v.status();
      if (std::isnan(*v)) return Status::InvalidArgument("NaN is not allowed");
      Status s = check_range(*v);
      if (!s.ok()) return s;
      if (std::isinf(*v)) return std::string(*v > 0 ? "infinity" : "-infinity");
      return fmt::format("{}", *v);
    }
    case SettingType::kString:
      return std::string(text);
    case SettingType::kEnum: {
      std::string t = Lower(Trim(text));
      for (const auto& c : spec.choices) {
        if (c == t) return t;
      }
      return Status::InvalidArgument(fmt::format("'{}' is not one of {}", text, Join(spec.choices, ", ")));
    }
    case SettingType::kList: {
      auto items = SplitList(text);
      for (const auto& item : items) {
        for (char c : item) {
          if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
            return Status::InvalidArgument(
                fmt::format("list item '{}' may contain only letters, digits, '_' and '-'", item));
          }
        }
      }
      return Join(items, ",");
    }
    case SettingType::kTimeOfDay: {
      auto v = ParseTimeOfDay(text);
      if (!v.ok()) return v.status();
      return fmt::format("{:02}:{:02}", *v / 60, *v % 60);
    }
  }
  return Status::Internal("unknown setting type");
}

std::string DisplaySettingValue(const SettingSpec& spec, std::string_view value) {
  if (!spec.secret) return std::string(value);
  return value.empty() ? std::string() : std::string(kSecretSetMarker);
}

void ConfigSchema::Add(SettingSpec spec) {
  for (const auto& s : settings_) {
    EBB_CHECK_MSG(!(s.section == spec.section && s.key == spec.key), "setting {}.{} registered twice",
                  spec.section, spec.key);
  }
  if (!spec.default_value.empty()) {
    auto normalized = NormalizeSettingValue(spec, spec.default_value);
    EBB_CHECK_MSG(normalized.ok(), "default of {}.{} is invalid: {}", spec.section, spec.key,
                  normalized.status().ToString());
    spec.default_value = *normalized;
  }
  settings_.push_back(std::move(spec));
}

const SettingSpec* ConfigSchema::Find(std::string_view section, std::string_view key) const {
  const SettingSpec* best = nullptr;
  for (const auto& s : settings_) {
    if (s.key != key) continue;
    if (s.section == section) return &s;
    if (SectionMatches(s.section, section) && (best == nullptr || s.section.size() > best->section.size())) {
      best = &s;
    }
  }
  return best;
}

std::string ConfigSchema::ReferenceMarkdown() const {
  std::ostringstream out;
  out << "# Configuration reference\n\n"
      << "<!-- Generated by `ebb config reference`; a test keeps this file equal to it. -->\n\n"
      << "Ebb reads one TOML file (`ebb serve --config FILE`, or `Options::config_file`).\n"
      << "Each table is a section; `[smoosh.ratio_dbs]` is the section `smoosh.ratio_dbs`.\n"
      << "Settings with runtime = yes change without a restart through `ebb config set`,\n"
      << "`CONFIG SET section.key value` or `Store::SetConfig(section, key, value)`;\n"
      << "the others are read when the store opens.\n\n"
      << "`ebb serve` re-reads its file on SIGHUP (`systemctl reload ebb`): settings with\n"
      << "runtime = yes take the file's values at once (a value changed by CONFIG SET since\n"
      << "returns to the file's), the others keep their running values and are reported as\n"
      << "needing a restart, and a file with any error changes nothing; see\n"
      << "[operations.md](operations.md#reloading-the-configuration). `ebb config template`\n"
      << "prints a file with every setting at its default, commented out.\n\n"
      << "Byte sizes accept plain integers or suffixes (`64MiB`, `1 GiB`); `infinity` means no limit.\n"
      << "Times of day are `HH:MM` in UTC.\n";
  // Sections in the order they first appear; a section registered in two
  // places (store: storage and engine) is listed once.
  std::vector<std::string> sections;
  for (const auto& s : settings_) {
    if (std::find(sections.begin(), sections.end(), s.section) == sections.end()) sections.push_back(s.section);
  }
  for (const auto& section : sections) {
    out << "\n## `[" << section << "]`\n\n"
        << "| key | type | default | unit | runtime | description |\n"
        << "|---|---|---|---|---|---|\n";
    for (const auto& s : settings_) {
      if (s.section == section) out << ReferenceRow(s);
    }
  }
  return out.str();
}

std::string ConfigSchema::ReferenceRow(const SettingSpec& s) {
  std::string type(SettingTypeName(s.type));
  if (s.type == SettingType::kEnum) type += " (" + Join(s.choices, " \\| ") + ")";
  std::string range;
  if (s.min || s.max) {
    range = fmt::format(" Range: {} to {}.", s.min ? fmt::format("{}", *s.min) : "-inf",
                        s.max ? fmt::format("{}", *s.max) : "inf");
  }
  std::string secret = s.secret ? " Secret: write-only, shown as `(set)` or empty." : "";
  return fmt::format("| `{}` | {} | {} | {} | {} | {}{}{} |\n", s.key, type,
                     s.default_value.empty() ? "(derived)" : "`" + s.default_value + "`", s.unit.empty() ? "-" : s.unit,
                     s.runtime ? "yes" : "no", s.description, range, secret);
}

Config::Config(std::shared_ptr<const ConfigSchema> schema) : schema_(std::move(schema)) {}

const SettingSpec& Config::SpecOrDie(std::string_view section, std::string_view key) const {
  const SettingSpec* spec = schema_->Find(section, key);
  EBB_CHECK_MSG(spec != nullptr, "unknown setting {}.{}", section, key);
  return *spec;
}

bool Config::PrefixMatches(std::string_view prefix, std::string_view section) {
  return prefix.empty() || section == prefix ||
         (section.size() > prefix.size() && section.substr(0, prefix.size()) == prefix &&
          section[prefix.size()] == '.');
}

Status Config::Set(std::string_view section, std::string_view key, std::string_view value, bool at_runtime) {
  return SetMany({Change{std::string(section), std::string(key), std::string(value)}}, at_runtime);
}

Status Config::SetMany(const std::vector<Change>& changes, bool at_runtime) {
  // 1. Each value against its schema entry.
  std::vector<Change> normalized;
  normalized.reserve(changes.size());
  for (const Change& c : changes) {
    const SettingSpec* spec = schema_->Find(c.section, c.key);
    if (spec == nullptr) {
      return Status::InvalidArgument(fmt::format("unknown setting {}.{}", c.section, c.key));
    }
    if (at_runtime && !spec->runtime) {
      return Status::InvalidArgument(fmt::format(
          "{}.{} cannot be changed at run time; set it in the configuration file and restart", c.section, c.key));
    }
    auto value = NormalizeSettingValue(*spec, c.value);
    if (!value.ok()) {
      if (spec->secret) {
        // The reason may quote the value.
        return Status::InvalidArgument(
            fmt::format("{}.{}: the value is not valid (not shown: the setting is secret)", c.section, c.key));
      }
      return value.status().WithContext(fmt::format("{}.{}", c.section, c.key));
    }
    normalized.push_back({c.section, c.key, std::move(*value)});
  }
  MutexLock update(&update_mu_);
  // 2. The configuration as it would be, by the owners of what changes.
  std::vector<std::shared_ptr<Validator>> validators;
  // Each matching listener once, named after the first change it covers.
  std::vector<std::pair<std::shared_ptr<Listener>, const Change*>> listeners;
  std::map<Key, std::string> candidate_values;
  std::map<Key, std::string> candidate_defaults;
  {
    MutexLock lock(&mu_);
    for (const auto& v : validators_) {
      if (std::any_of(normalized.begin(), normalized.end(),
                      [&](const Change& c) { return PrefixMatches(v.prefix, c.section); })) {
        validators.push_back(v.validator);
      }
    }
    for (const auto& sub : subscriptions_) {
      auto first = std::find_if(normalized.begin(), normalized.end(),
                                [&](const Change& c) { return PrefixMatches(sub.prefix, c.section); });
      if (first != normalized.end()) listeners.emplace_back(sub.listener, &*first);
    }
    if (!validators.empty()) {
      candidate_values = values_;
      candidate_defaults = section_defaults_;
    }
  }
  if (!validators.empty()) {
    for (const Change& c : normalized) candidate_values[Key{c.section, c.key}] = c.value;
    Config candidate(schema_);
    {
      MutexLock lock(&candidate.mu_);
      candidate.values_ = std::move(candidate_values);
      candidate.section_defaults_ = std::move(candidate_defaults);
    }
    for (const auto& validator : validators) EBB_RETURN_IF_ERROR((*validator)(candidate));
  }
  // 3. Store everything, then tell the listeners.
  {
    MutexLock lock(&mu_);
    for (const Change& c : normalized) values_[Key{c.section, c.key}] = c.value;
  }
  for (const auto& [listener, change] : listeners) (*listener)(change->section, change->key);
  return Status::OK();
}

int Config::AddValidator(std::string section_prefix, Validator validator) {
  MutexLock lock(&mu_);
  int id = next_subscription_id_++;
  validators_.push_back({id, std::move(section_prefix), std::make_shared<Validator>(std::move(validator))});
  return id;
}

void Config::RemoveValidator(int id) {
  MutexLock lock(&mu_);
  std::erase_if(validators_, [id](const ValidatorEntry& v) { return v.id == id; });
}

Status Config::SetDotted(std::string_view dotted, std::string_view value, bool at_runtime) {
  size_t dot = dotted.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == dotted.size()) {
    return Status::InvalidArgument(
        fmt::format("'{}' is not a setting name; use section.key, e.g. journal.sync", dotted));
  }
  return Set(dotted.substr(0, dot), dotted.substr(dot + 1), value, at_runtime);
}

void Config::SetSectionDefault(std::string_view section, std::string_view key, std::string_view value) {
  const SettingSpec& spec = SpecOrDie(section, key);
  auto normalized = NormalizeSettingValue(spec, value);
  EBB_CHECK_MSG(normalized.ok(), "section default {}.{} invalid: {}", section, key, normalized.status().ToString());
  MutexLock lock(&mu_);
  section_defaults_[Key{std::string(section), std::string(key)}] = *normalized;
}

std::optional<std::string> Config::GetExplicit(std::string_view section, std::string_view key) const {
  MutexLock lock(&mu_);
  auto it = values_.find(Key{std::string(section), std::string(key)});
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Result<std::string> Config::Get(std::string_view section, std::string_view key) const {
  const SettingSpec* spec = schema_->Find(section, key);
  if (spec == nullptr) return Status::NotFound(fmt::format("unknown setting {}.{}", section, key));
  MutexLock lock(&mu_);
  Key k{std::string(section), std::string(key)};
  if (auto it = values_.find(k); it != values_.end()) return it->second;
  if (auto it = section_defaults_.find(k); it != section_defaults_.end()) return it->second;
  return spec->default_value;
}

Result<std::string> Config::GetDisplay(std::string_view section, std::string_view key) const {
  const SettingSpec* spec = schema_->Find(section, key);
  if (spec == nullptr) return Status::NotFound(fmt::format("unknown setting {}.{}", section, key));
  EBB_ASSIGN_OR_RETURN(std::string value, Get(section, key));
  return DisplaySettingValue(*spec, value);
}

int64_t Config::GetInt(std::string_view section, std::string_view key) const {
  const SettingSpec& spec = SpecOrDie(section, key);
  EBB_CHECK(spec.type == SettingType::kInt || spec.type == SettingType::kBytes);
  auto text = Get(section, key);
  if (!text.ok() || text->empty()) return 0;
  if (*text == "infinity") return std::numeric_limits<int64_t>::max();
  auto v = ParseInt(*text);
  return v.ok() ? *v : 0;
}

double Config::GetDouble(std::string_view section, std::string_view key) const {
  const SettingSpec& spec = SpecOrDie(section, key);
  EBB_CHECK(spec.type == SettingType::kDouble || spec.type == SettingType::kInt || spec.type == SettingType::kBytes);
  auto text = Get(section, key);
  if (!text.ok() || text->empty()) return 0;
  auto v = ParseDouble(*text);
  return v.ok() ? *v : 0;
}

bool Config::GetBool(std::string_view section, std::string_view key) const {
  const SettingSpec& spec = SpecOrDie(section, key);
  EBB_CHECK(spec.type == SettingType::kBool);
  auto text = Get(section, key);
  return text.ok() && *text == "true";
}

std::string Config::GetString(std::string_view section, std::string_view key) const {
  SpecOrDie(section, key);
  auto text = Get(section, key);
  return text.ok() ? *text : std::string();
}

std::vector<std::string> Config::GetList(std::string_view section, std::string_view key) const {
  const SettingSpec& spec = SpecOrDie(section, key);
  EBB_CHECK(spec.type == SettingType::kList);
  auto text = Get(section, key);
  return text.ok() ? SplitList(*text) : std::vector<std::string>{};
}

std::vector<std::string> Config::Sections() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto* map : {&values_, &section_defaults_}) {
    for (const auto& [k, v] : *map) {
      if (std::find(out.begin(), out.end(), k.section) == out.end()) out.push_back(k.section);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Config::Entry> Config::Effective() const {
  std::vector<Entry> out;
  std::vector<std::string> concrete = Sections();
  for (const auto& spec : schema_->settings()) {
    if (spec.section.size() >= 2 && spec.section.substr(spec.section.size() - 2) == ".*") {
      for (const auto& section : concrete) {
        if (SectionMatches(spec.section, section)) {
          auto v = Get(section, spec.key);
          out.push_back({section, spec.key, DisplaySettingValue(spec, v.ok() ? *v : ""), spec.runtime});
        }
      }
    } else {
      auto v = Get(spec.section, spec.key);
      out.push_back({spec.section, spec.key, DisplaySettingValue(spec, v.ok() ? *v : ""), spec.runtime});
    }
  }
  return out;
}

namespace {

// Words of `text` as "# " comment lines of at most `width` columns.
void AppendWrappedComment(std::string_view text, size_t width, std::string* out) {
  std::string line = "#";
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(start, end - start);
    if (!word.empty()) {
      if (line.size() > 1 && line.size() + 1 + word.size() > width) {
        *out += line + "\n";
        line = "#";
      }
      line += ' ';
      line += word;
    }
    start = end + 1;
  }
  if (line.size() > 1) *out += line + "\n";
}

std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A normalized value as a TOML value that reads back as the same setting.
std::string TomlValue(const SettingSpec& spec, const std::string& value) {
  switch (spec.type) {
    case SettingType::kBool:
    case SettingType::kInt:
      return value;
    case SettingType::kBytes:
      // No limit reads better, and reads back exactly, as "infinity".
      if (value == std::to_string(std::numeric_limits<int64_t>::max())) return "\"infinity\"";
      return value;
    case SettingType::kDouble:
      if (value == "infinity") return "inf";
      if (value == "-infinity") return "-inf";
      return value;
    case SettingType::kList: {
      std::string out = "[";
      for (const auto& item : SplitList(value)) out += (out.size() > 1 ? ", " : "") + TomlString(item);
      return out + "]";
    }
    case SettingType::kString:
    case SettingType::kEnum:
    case SettingType::kTimeOfDay:
      return TomlString(value);
  }
  return TomlString(value);
}

}  // namespace

std::string Config::TemplateToml(std::string_view preamble) const {
  std::string out(preamble);
  if (!out.empty() && out.back() != '\n') out += '\n';
  // Effective() follows the schema, where a section's settings need not be
  // adjacent; TOML defines each table once, so group them by section, in the
  // order sections first appear.
  std::vector<std::string> order;
  std::map<std::string, std::vector<Entry>> by_section;
  for (auto& e : Effective()) {
    auto [it, inserted] = by_section.try_emplace(e.section);
    if (inserted) order.push_back(e.section);
    it->second.push_back(std::move(e));
  }
  for (const auto& section : order) {
    out += "\n[" + section + "]\n";
    for (const auto& e : by_section[section]) AppendTemplateSetting(e, &out);
  }
  return out;
}

void Config::AppendTemplateSetting(const Entry& e, std::string* out_ptr) const {
  constexpr size_t kWidth = 79;
  std::string& out = *out_ptr;
  const SettingSpec& spec = SpecOrDie(e.section, e.key);
  out += '\n';
  AppendWrappedComment(spec.description, kWidth, &out);
  std::string type(SettingTypeName(spec.type));
  if (spec.type == SettingType::kEnum) type += ": " + Join(spec.choices, ", ");
  if (spec.type == SettingType::kBytes && !e.value.empty()) {
    auto bytes = ParseBytes(e.value);
    if (bytes.ok()) type += ", " + FormatBytes(static_cast<uint64_t>(*bytes));
  }
  std::string facts = "(" + type;
  if (!spec.unit.empty() && spec.unit != "bytes") facts += "; " + spec.unit;
  if (spec.min || spec.max) {
    facts += fmt::format("; {} to {}", spec.min ? fmt::format("{}", *spec.min) : "-inf",
                         spec.max ? fmt::format("{}", *spec.max) : "inf");
  }
  facts += spec.runtime ? "; changes at run time)" : "; needs a restart)";
  AppendWrappedComment(facts, kWidth, &out);
  if (e.value.empty() && spec.type != SettingType::kString) {
    out += "# " + e.key + ": no fixed default; unset, it is derived as described above\n";
  } else {
    out += "#" + e.key + " = " + TomlValue(spec, e.value) + "\n";
  }
}

int Config::Subscribe(std::string section_prefix, Listener listener) {
  MutexLock lock(&mu_);
  int id = next_subscription_id_++;
  subscriptions_.push_back({id, std::move(section_prefix), std::make_shared<Listener>(std::move(listener))});
  return id;
}

void Config::Unsubscribe(int id) {
  MutexLock lock(&mu_);
  std::erase_if(subscriptions_, [id](const Subscription& s) { return s.id == id; });
}

namespace {

// Flattens a TOML table into (section, key, text) triples.
struct FlatValue {
  std::string section;
  std::string key;
  std::string text;
  int line;
};

Status Flatten(const toml::table& table, const std::string& section, std::string_view source,
               std::vector<FlatValue>* out) {
  for (const auto& [name, node] : table) {
    std::string key(name.str());
    int line = static_cast<int>(node.source().begin.line);
    if (const auto* sub = node.as_table()) {
      EBB_CHECK(sub != nullptr);
      Status s = Flatten(*sub, section.empty() ? key : section + "." + key, source, out);
      if (!s.ok()) return s;
      continue;
    }
    if (section.empty()) {
      return Status::InvalidArgument(fmt::format(
          "{} line {}: '{}' is outside any section; put it under a [section] header", source, line, key));
    }
    std::string text;
    if (auto v = node.value<bool>(); v && node.is_boolean()) {
      text = *v ? "true" : "false";
    } else if (node.is_integer()) {
      text = std::to_string(node.value<int64_t>().value_or(0));
    } else if (node.is_floating_point()) {
      double d = node.value<double>().value_or(0);
      text = std::isinf(d) ? "infinity" : fmt::format("{}", d);
    } else if (node.is_string()) {
      text = node.value<std::string>().value_or("");
    } else if (const auto* arr = node.as_array()) {
      std::vector<std::string> items;
      for (const auto& el : *arr) {
        if (!el.is_string()) {
          return Status::InvalidArgument(
              fmt::format("{} line {}: {}.{} must be an array of strings", source, line, section, key));
        }
        items.push_back(el.value<std::string>().value_or(""));
      }
      text = Join(items, ",");
    } else {
      return Status::InvalidArgument(
          fmt::format("{} line {}: {}.{} has an unsupported value type", source, line, section, key));
    }
    out->push_back({section, key, std::move(text), line});
  }
  return Status::OK();
}

}  // namespace

Status Config::LoadTomlString(std::string_view toml_text, std::string_view source_name) {
  toml::table table;
  try {
    table = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{} line {} column {}: {}", source_name, e.source().begin.line,
                                               e.source().begin.column, e.description()));
  }
  std::vector<FlatValue> values;
  Status s = Flatten(table, "", source_name, &values);
  if (!s.ok()) return s;
  // Validate everything before applying anything.
  std::vector<Change> changes;
  for (const auto& v : values) {
    const SettingSpec* spec = schema_->Find(v.section, v.key);
    if (spec == nullptr) {
      return Status::InvalidArgument(
          fmt::format("{} line {}: unknown setting {}.{} (see docs/configuration.md)", source_name, v.line, v.section, v.key));
    }
    auto n = NormalizeSettingValue(*spec, v.text);
    if (!n.ok()) {
      return Status::InvalidArgument(fmt::format(
          "{} line {}: {}.{}: {}", source_name, v.line, v.section, v.key,
          spec->secret ? "the value is not valid (not shown: the setting is secret)" : n.status().message()));
    }
    changes.push_back({v.section, v.key, *n});
  }
  Status set = SetMany(changes, /*at_runtime=*/false);
  if (!set.ok()) return set.WithContext(std::string(source_name));
  return Status::OK();
}

Status Config::LoadTomlFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("configuration file {} cannot be opened", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return LoadTomlString(buffer.str(), path);
}

}  // namespace ebb
