// S3ObjectStore: an ObjectStore on any S3-compatible service (AWS S3, MinIO,
// Ceph RGW, s3rver in tests), signed with SigV4 by libcurl
// (CURLOPT_AWS_SIGV4; Debian's libs3 signs SigV2 only).
//
// Keys are stored under `prefix` in `bucket`. Every request sends
// x-amz-content-sha256 with the SHA-256 of its body (S3 checks it; s3rver
// requires the header). Retryable failures (HTTP 5xx, 408, 429, connection
// and timeout errors, short bodies) are retried up to `max_retries` times
// with exponential backoff and jitter; what still fails is Unavailable,
// TimedOut or Corruption, naming the store, bucket and key. HTTP 401/403 is
// PermissionDenied at once (retrying wrong credentials does not help).
//
// Conditional writes: PutIf sends If-None-Match: * or If-Match: <etag>; a
// 412 answer is AlreadyExists. Whether the service enforces them is found
// out once, by ConditionalWrites (a probe object under meta/ is created
// twice with If-None-Match: *; the second must be refused, then If-Match is
// tried with the etag quoted, as HTTP says, and bare, as Ceph 16's gateway
// wants). Where they are ignored (s3rver) PutIf answers NotSupported.
//
// Thread-safe: requests run on the caller's thread, each on its own curl
// handle (idle handles are pooled to reuse connections).

#ifndef EBB_ENV_S3_OBJECT_STORE_H_
#define EBB_ENV_S3_OBJECT_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "env/clock.h"
#include "env/object_store.h"

namespace ebb {

struct S3Options {
  // Scheme, host and optional port: "https://s3.eu-west-1.amazonaws.com",
  // "http://127.0.0.1:4568". Required.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;  // required
  // Prepended to every key; a missing trailing '/' is added ("ebb" -> "ebb/").
  std::string prefix;
  // true: http://host/bucket/key (MinIO, s3rver, most local services);
  // false: virtual-hosted http://bucket.host/key (AWS default).
  bool path_style = true;
  // Credentials, resolved at Open as AWS SDKs do: these fields; else
  // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; else the
  // shared credentials file (ReadSharedCredentials).
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  // The shared credentials file; empty: AWS_SHARED_CREDENTIALS_FILE, else
  // $HOME/.aws/credentials when it exists. A file named here or by the
  // variable must exist.
  std::string credentials_file;
  // Its profile; empty: AWS_PROFILE, else "default".
  std::string profile;
  int64_t connect_timeout_ms = 5'000;
  // Deadline of one request, plus one second per MiB transferred.
  int64_t request_timeout_ms = 30'000;
  // Retries after the first attempt of a retryable failure.
  int max_retries = 4;
  int64_t retry_base_delay_ms = 100;
  int64_t retry_max_delay_ms = 10'000;
  // Backoff sleeps go through this clock; nullptr = SystemClock().
  Clock* clock = nullptr;
};

// Reads `profile` from an AWS shared credentials file (INI: "[profile]"
// sections of "aws_access_key_id = ...", "aws_secret_access_key = ...",
// optionally "aws_session_token = ..."; '#' and ';' start comments) into
// *options. Errors name the file and profile, never a key.
Status ReadSharedCredentials(const std::string& path, const std::string& profile, S3Options* options);

class S3ObjectStore final : public ObjectStore {
 public:
  // Validates the options and resolves credentials; makes no request.
  // InvalidArgument names what is missing.
  static Result<std::unique_ptr<S3ObjectStore>> Open(S3Options options);
  ~S3ObjectStore() override;

  std::string Describe() const override;
  Status Put(const std::string& key, std::string_view data) override;
  Status PutFile(const std::string& key, FileSystem* fs, const std::string& path) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::string> GetWithEtag(const std::string& key, std::string* etag) override;
  Status PutIf(const std::string& key, std::string_view data, WriteCondition condition,
               const std::string& etag = "") override;
  Result<bool> ConditionalWrites() override;
  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;

  // Requests sent so far, including retries (for tests and metrics).
  uint64_t requests_sent() const;

  struct Request;
  struct Response;

 private:
  explicit S3ObjectStore(S3Options options);
  // Runs `req` with retries and maps the outcome to a Status.
  Status Execute(const Request& req, Response* resp);
  // One attempt.
  void Perform(const Request& req, Response* resp);
  std::string UrlFor(const std::string& full_key, const std::string& query) const;
  // One PutIf request; `quote_etag` chooses the If-Match spelling.
  Status PutConditional(const std::string& key, std::string_view data, WriteCondition condition,
                        const std::string& etag, bool quote_etag);
  // The probe behind ConditionalWrites.
  Result<bool> ProbeConditionalWrites(bool* quote_etag);
  void* AcquireHandle();
  void ReleaseHandle(void* handle);

  // Constant after construction.
  const S3Options options_;
  Clock* const clock_;

  // Protected by mu_.
  mutable Mutex mu_;
  std::vector<void*> idle_handles_ GUARDED_BY(mu_);
  uint64_t requests_sent_ GUARDED_BY(mu_) = 0;
  // What the probe found (unset until it ran successfully).
  std::optional<bool> conditional_writes_ GUARDED_BY(mu_);
  bool quote_if_match_ GUARDED_BY(mu_) = true;
};

// AWS URI encoding (RFC 3986 unreserved characters kept; '/' kept when
// `keep_slash`); exposed for tests.
std::string AwsUriEncode(std::string_view in, bool keep_slash);

}  // namespace ebb

#endif  // EBB_ENV_S3_OBJECT_STORE_H_
