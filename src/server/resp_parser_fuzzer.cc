// libFuzzer target for the RESP parsers (docs/server.md, "Fuzzing").
// Arbitrary bytes go to RespCommandParser whole and in chunks chosen by the
// input; both must produce the same commands and stop at the same error.
// RespValueParser must consume no more than it was given.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "server/resp_parser.h"

namespace {

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  bool error = false;
};

ebb::RespLimits Limits() {
  ebb::RespLimits limits;
  limits.max_bulk_bytes = 4096;
  limits.max_array_elements = 64;
  limits.max_inline_bytes = 256;
  limits.max_nesting = 4;
  return limits;
}

// Feeds `input` in chunks of the given sizes (cycled), keeping unconsumed
// bytes like a connection does.
Outcome Feed(const std::string& input, const std::vector<size_t>& chunks) {
  ebb::RespCommandParser parser(Limits());
  Outcome out;
  std::string buffer;
  size_t fed = 0;
  size_t c = 0;
  while (fed < input.size()) {
    size_t n = chunks.empty() ? input.size() : chunks[c++ % chunks.size()];
    buffer.append(input, fed, n);
    fed += n;
    while (true) {
      size_t consumed = 0;
      ebb::RespParseResult r = parser.Parse(buffer, &consumed);
      if (r == ebb::RespParseResult::kNeedMore) break;
      if (r == ebb::RespParseResult::kError) {
        out.error = true;
        return out;
      }
      if (consumed == 0 || consumed > buffer.size()) std::abort();
      if (!parser.args().empty()) out.commands.emplace_back(parser.args().begin(), parser.args().end());
      buffer.erase(0, consumed);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first bytes choose chunk sizes (1..16); the rest is the stream.
  size_t header = std::min<size_t>(data[0] % 8, size - 1);
  std::vector<size_t> chunks;
  for (size_t i = 1; i <= header; i++) chunks.push_back(1 + data[i] % 16);
  std::string input(reinterpret_cast<const char*>(data) + 1 + header, size - 1 - header);

  Outcome whole = Feed(input, {});
  Outcome split = Feed(input, chunks.empty() ? std::vector<size_t>{1} : chunks);
  // How the bytes arrive must not change what they mean.
  if (whole.error != split.error || whole.commands != split.commands) std::abort();

  ebb::RespValueParser values(Limits());
  ebb::RespValue value;
  size_t consumed = 0;
  if (values.Parse(input, &value, &consumed) == ebb::RespParseResult::kDone && consumed > input.size()) std::abort();
  return 0;
}
