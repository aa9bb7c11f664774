// The S3 service an S3 test runs against, started and stopped by the test:
//
//   - an external service named by EBB_TEST_S3_ENDPOINT, _BUCKET,
//     _ACCESS_KEY, _SECRET_KEY (and _KIND, e.g. "ceph-rgw"):
//     `tests/s3/ceph_rgw.sh run -- COMMAND` starts a one-node Ceph cluster
//     with the RADOS Gateway on loopback and exports them; each test then
//     works under its own unique key prefix of the shared bucket;
//   - otherwise s3rver (tests/s3, installed by `scripts/setup.sh test`) as a
//     child process on 127.0.0.1 with a free port.
//
// When neither is available the test must not pass silently:
// EBB_S3_SKIP_OR_FAIL skips it with a banner on stderr, and fails it
// instead when EBB_REQUIRE_S3 is set (scripts/test.sh, and so CI, sets it).
// Header-only; for tests and ebb-bench, never part of a product library.

#ifndef EBB_ENV_S3_TEST_SERVER_H_
#define EBB_ENV_S3_TEST_SERVER_H_

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include <fmt/format.h>

#include "env/s3_object_store.h"
#include "env/s3rver_process.h"

namespace ebb::testing {

inline bool S3Required() {
  const char* v = std::getenv("EBB_REQUIRE_S3");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

inline std::string S3SkipBanner(const std::string& why) {
  std::string banner = fmt::format(
      "\n********************************************************************\n"
      "*** S3 TEST SKIPPED: {}\n"
      "*** (scripts/setup.sh test installs s3rver; EBB_REQUIRE_S3=1 makes this a failure)\n"
      "********************************************************************\n",
      why);
  std::fputs(banner.c_str(), stderr);
  return banner;
}

class S3TestServer {
 public:
  // Starts (or connects to) the service. Empty string on success; otherwise
  // why not, with *unavailable true when nothing to test against exists
  // (the caller uses EBB_S3_SKIP_OR_FAIL) and false when it exists but
  // failed to start (the caller fails).
  std::string Start(const std::string& scratch_dir, const std::string& source_dir, bool* unavailable) {
    *unavailable = false;
    if (const char* endpoint = std::getenv("EBB_TEST_S3_ENDPOINT"); endpoint != nullptr && *endpoint != '\0') {
      auto env = [](const char* name, const char* fallback) {
        const char* v = std::getenv(name);
        return std::string(v != nullptr && *v != '\0' ? v : fallback);
      };
      external_ = true;
      endpoint_ = endpoint;
      bucket_ = env("EBB_TEST_S3_BUCKET", "ebb-test");
      access_key_ = env("EBB_TEST_S3_ACCESS_KEY", "");
      secret_key_ = env("EBB_TEST_S3_SECRET_KEY", "");
      kind_ = env("EBB_TEST_S3_KIND", "external");
      static std::atomic<uint64_t> counter{0};
      root_prefix_ = fmt::format("t{}-{:x}-{}/", ::getpid(), std::random_device{}(), counter.fetch_add(1));
      return "";
    }
    std::string error = s3rver_.Start(scratch_dir, S3rverScript(source_dir), unavailable);
    if (!error.empty()) return error;
    endpoint_ = s3rver_.endpoint();
    bucket_ = S3rverProcess::kBucket;
    access_key_ = S3rverProcess::kAccessKey;
    secret_key_ = S3rverProcess::kSecretKey;
    kind_ = "s3rver";
    return "";
  }

  // "s3rver", "ceph-rgw", or EBB_TEST_S3_KIND of an external service.
  const std::string& kind() const { return kind_; }
  // s3rver accepts any secret key and ignores conditional headers; real
  // services check both.
  bool checks_signatures() const { return kind_ != "s3rver"; }
  bool external() const { return external_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& bucket() const { return bucket_; }
  const std::string& access_key() const { return access_key_; }
  const std::string& secret_key() const { return secret_key_; }
  // The key prefix of this test: `prefix` below the test's own root.
  std::string Prefix(const std::string& prefix) const { return root_prefix_ + prefix; }

  S3Options Options(const std::string& prefix) const {
    S3Options o;
    o.endpoint = endpoint_;
    o.bucket = bucket_;
    o.prefix = Prefix(prefix);
    o.access_key = access_key_;
    o.secret_key = secret_key_;
    o.request_timeout_ms = 20'000;
    o.max_retries = 2;
    o.retry_base_delay_ms = 10;
    o.retry_max_delay_ms = 50;
    return o;
  }

 private:
  S3rverProcess s3rver_;
  bool external_ = false;
  std::string kind_;
  std::string endpoint_;
  std::string bucket_;
  std::string access_key_;
  std::string secret_key_;
  std::string root_prefix_;
};

}  // namespace ebb::testing

// Inside a gtest test or SetUp: skips with a loud banner, or fails when
// EBB_REQUIRE_S3 is set.
#define EBB_S3_SKIP_OR_FAIL(why)                                            \
  do {                                                                      \
    std::string ebb_s3_why_ = (why);                                        \
    if (::ebb::testing::S3Required()) {                                     \
      FAIL() << "S3 test could not run and EBB_REQUIRE_S3 is set: " << ebb_s3_why_; \
    }                                                                       \
    GTEST_SKIP() << ::ebb::testing::S3SkipBanner(ebb_s3_why_);              \
  } while (0)

#endif  // EBB_ENV_S3_TEST_SERVER_H_
