#include "env/object_store.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

namespace ebb {
namespace {

thread_local int64_t t_deadline_micros = INT64_MAX;

}  // namespace

ObjectStoreDeadline::ObjectStoreDeadline(int64_t deadline_micros) : previous_(t_deadline_micros) {
  t_deadline_micros = std::min(previous_, deadline_micros);
}

ObjectStoreDeadline::~ObjectStoreDeadline() { t_deadline_micros = previous_; }

int64_t ObjectStoreDeadline::Current() { return t_deadline_micros; }

Status ValidateObjectKey(std::string_view store, std::string_view key) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("{}: object key '{}' {}", store, key, why));
  };
  if (key.empty()) return bad("is empty");
  if (key.front() == '/') return bad("must not start with '/'");
  if (key.back() == '/') return bad("must not end with '/'");
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view part = key.substr(start, end - start);
    if (part.empty()) return bad("has an empty path component");
    if (part == "." || part == "..") return bad("must not contain '.' or '..' components");
    start = end + 1;
  }
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x20) return bad("contains a control character");
  }
  return Status::OK();
}

}  // namespace ebb
