#include "server/read_reply.h"

#include "server/command_util.h"

namespace ebb {
namespace {

// GETRANGE's slice of `value`, with Redis 7's rules for negative and
// out-of-range indices.
std::string_view StringRange(std::string_view value, int64_t start, int64_t end) {
  const int64_t size = static_cast<int64_t>(value.size());
  if (start < 0 && end < 0 && start > end) return {};
  if (start < 0) start = size + start;
  if (end < 0) end = size + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= size) end = size - 1;
  if (size == 0 || start > end) return {};
  return value.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1));
}

}  // namespace

std::string ParsePointRead(const CommandSpec& spec, const std::vector<std::string_view>& args, PointRead* read) {
  read->id = spec.id;
  read->keys = KeyPositions(spec, args.size()).size();
  read->start = read->end = 0;
  if (spec.id == CommandId::kGetRange) {
    if (!ParseRedisInt64(args[2], &read->start) || !ParseRedisInt64(args[3], &read->end)) {
      return "ERR value is not an integer or out of range";
    }
  }
  return "";
}

Status FirstReadError(const Result<std::string>* results, size_t n) {
  for (size_t k = 0; k < n; k++) {
    if (results[k].ok()) continue;
    Status s = results[k].status();  // a copy: status() returns by value
    if (!s.IsNotFound()) return s;
  }
  return Status::OK();
}

void AppendPointReadReply(RespWriter* w, const PointRead& read, const Result<std::string>* results,
                          uint64_t* hits, uint64_t* misses) {
  switch (read.id) {
    case CommandId::kGet:
      if (results[0].ok()) {
        (*hits)++;
        w->Bulk(*results[0]);
      } else {
        (*misses)++;
        w->NullBulk();
      }
      break;
    case CommandId::kMGet:
      w->ArrayHeader(read.keys);
      for (size_t k = 0; k < read.keys; k++) {
        if (results[k].ok()) {
          (*hits)++;
          w->Bulk(*results[k]);
        } else {
          (*misses)++;
          w->NullBulk();
        }
      }
      break;
    case CommandId::kStrLen:
      w->Integer(results[0].ok() ? static_cast<int64_t>(results[0]->size()) : 0);
      break;
    case CommandId::kType:
      w->SimpleString(results[0].ok() ? "string" : "none");
      break;
    case CommandId::kGetRange:
      w->Bulk(results[0].ok() ? StringRange(*results[0], read.start, read.end) : std::string_view());
      break;
    default: {  // EXISTS and TOUCH count every argument, repeats included
      int64_t n = 0;
      for (size_t k = 0; k < read.keys; k++) n += results[k].ok() ? 1 : 0;
      w->Integer(n);
      break;
    }
  }
}

}  // namespace ebb
