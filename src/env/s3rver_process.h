// An s3rver child process (the npm package installed in tests/s3 by
// `scripts/setup.sh test`) on 127.0.0.1 with an OS-chosen port, started and
// stopped by its owner: the tests and `ebb-bench tiering`. Header-only; not
// part of any product library.

#ifndef EBB_ENV_S3RVER_PROCESS_H_
#define EBB_ENV_S3RVER_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "env/s3_object_store.h"

namespace ebb::testing {

// s3rver's entry point under a source tree.
inline std::string S3rverScript(const std::string& source_dir) {
  return fmt::format("{}/tests/s3/node_modules/s3rver/bin/s3rver.js", source_dir);
}

// Finds `name` in $PATH.
inline std::string FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::string_view rest(path);
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    std::string candidate = fmt::format("{}/{}", dir, name);
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return "";
}

// An s3rver child process on 127.0.0.1 with an OS-chosen port.
class S3rverProcess {
 public:
  static constexpr char kBucket[] = "ebb-test";
  // s3rver's built-in account.
  static constexpr char kAccessKey[] = "S3RVER";
  static constexpr char kSecretKey[] = "S3RVER";
  // Bound on how long startup may take before the test fails.
  static constexpr int kStartTimeoutMs = 30'000;

  ~S3rverProcess() { Stop(); }

  // Starts `script` (S3rverScript) with its data in `data_dir`. Empty string
  // on success, else why s3rver is unavailable (skip) or failed.
  std::string Start(const std::string& data_dir, const std::string& script, bool* skip) {
    *skip = true;
    std::string node = FindInPath("node");
    if (node.empty()) return "node is not in PATH; run scripts/setup.sh test";
    if (::access(script.c_str(), R_OK) != 0) {
      return fmt::format("{} is missing; run scripts/setup.sh test (npm ci in tests/s3)", script);
    }
    *skip = false;
    int fds[2];
    if (::pipe(fds) != 0) return "pipe failed";
    pid_ = ::fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
      // Dies with its owner, even if the owner crashes; holds none of the
      // owner's output pipes (a test runner waits for those to close).
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      int devnull = ::open("/dev/null", O_WRONLY);
      if (devnull >= 0) ::dup2(devnull, 2);
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execl(node.c_str(), node.c_str(), script.c_str(), "-s", "-d", data_dir.c_str(), "-a", "127.0.0.1", "-p", "0",
              "--configure-bucket", kBucket, static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
    // Read stdout until "S3rver listening on 127.0.0.1:PORT".
    std::string output;
    constexpr std::string_view kBanner = "listening on 127.0.0.1:";
    while (true) {
      struct pollfd pfd = {out_fd_, POLLIN, 0};
      int ready = ::poll(&pfd, 1, kStartTimeoutMs);
      if (ready <= 0) return fmt::format("s3rver did not start within 30 s; output: {}", output);
      char buf[512];
      ssize_t n = ::read(out_fd_, buf, sizeof(buf));
      if (n <= 0) return fmt::format("s3rver exited at startup; output: {}", output);
      output.append(buf, static_cast<size_t>(n));
      size_t at = output.find(kBanner);
      if (at != std::string::npos) {
        size_t end = output.find('\n', at);
        if (end != std::string::npos) {
          port_ = std::atoi(output.c_str() + at + kBanner.size());
          return port_ > 0 ? "" : fmt::format("cannot parse the s3rver port from: {}", output);
        }
      }
    }
  }

  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (out_fd_ >= 0) {
      ::close(out_fd_);
      out_fd_ = -1;
    }
  }

  std::string endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }

  S3Options Options(const std::string& prefix) const {
    S3Options o;
    o.endpoint = endpoint();
    o.bucket = kBucket;
    o.prefix = prefix;
    o.access_key = kAccessKey;
    o.secret_key = kSecretKey;
    o.request_timeout_ms = 20'000;
    o.max_retries = 2;
    o.retry_base_delay_ms = 10;
    o.retry_max_delay_ms = 50;
    return o;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
};

}  // namespace ebb::testing

#endif  // EBB_ENV_S3RVER_PROCESS_H_
