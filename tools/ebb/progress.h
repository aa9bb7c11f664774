// Progress of a long `ebb` operation on a terminal: one line on stderr,
// redrawn at most five times a second, with bytes and items done, the rate
// and the time left; cleared at the end. Silent when stderr is not a
// terminal or the command prints JSON (--json prints only the report).

#ifndef EBB_TOOLS_EBB_PROGRESS_H_
#define EBB_TOOLS_EBB_PROGRESS_H_

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "base/config.h"
#include "tiering/tier_tools.h"

namespace ebb::tool {

class ProgressLine {
 public:
  // `what` names the operation ("restore"), `items` what is counted ("members").
  ProgressLine(std::string what, std::string items, bool json)
      : what_(std::move(what)), items_(std::move(items)), enabled_(!json && ::isatty(STDERR_FILENO) == 1) {}
  ~ProgressLine() { Finish(); }

  void Update(const Progress& p) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    bool last = p.items_total > 0 && p.items_done == p.items_total;
    if (!last && drawn_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    drawn_ = true;
    double elapsed = std::chrono::duration<double>(now - start_).count();
    double rate = elapsed > 0 ? static_cast<double>(p.bytes_done) / elapsed : 0;
    std::string left = "?";
    if (rate > 0 && p.bytes_total >= p.bytes_done) {
      left = fmt::format("{:.0f} s", static_cast<double>(p.bytes_total - p.bytes_done) / rate);
    }
    std::string line = fmt::format("{}: {} of {}, {}/{} {}, {}/s, {} left", what_, FormatBytes(p.bytes_done),
                                   FormatBytes(p.bytes_total), p.items_done, p.items_total, items_,
                                   FormatBytes(static_cast<uint64_t>(rate)), left);
    std::fprintf(stderr, "\r%-100s", line.c_str());
    std::fflush(stderr);
  }
  ProgressFn Fn() {
    return [this](const Progress& p) { Update(p); };
  }
  void Finish() {
    if (enabled_ && drawn_) std::fprintf(stderr, "\r%-100s\r", "");
    drawn_ = false;
  }

 private:
  const std::string what_;
  const std::string items_;
  const bool enabled_;
  bool drawn_ = false;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace ebb::tool

#endif  // EBB_TOOLS_EBB_PROGRESS_H_
