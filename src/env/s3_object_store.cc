#include "env/s3_object_store.h"

#include <curl/curl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <mutex>
#include <random>

#include <fmt/format.h>

#include "base/status_macros.h"
#include "env/file_system.h"

namespace ebb {
namespace {

// Idle curl handles kept for connection reuse.
constexpr size_t kMaxIdleHandles = 8;
// One ListObjects page holds at most 1,000 keys; this bounds a listing to
// 10 million objects so a misbehaving server cannot loop us forever.
constexpr int kMaxListPages = 10'000;
// Bytes hashed per read when computing a file's SHA-256.
constexpr size_t kHashChunkBytes = 1 << 20;
// Extra request deadline per byte transferred: 1 s per MiB.
constexpr int64_t kBytesPerExtraMs = 1024 * 1024 / 1000;
// SHA-256 of the empty body.
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::once_flag g_curl_init;

std::string HexSha256(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string out;
  for (unsigned char b : digest) out += fmt::format("{:02x}", b);
  return out;
}

Result<std::string> HexSha256OfFile(FileSystem* fs, const std::string& path) {
  EBB_ASSIGN_OR_RETURN(auto file, fs->NewSequentialFile(path));
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::unique_ptr<char[]> buf(new char[kHashChunkBytes]);
  while (true) {
    EBB_ASSIGN_OR_RETURN(std::string_view piece, file->Read(kHashChunkBytes, buf.get()));
    if (piece.empty()) break;
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(piece.data()), piece.size());
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  std::string out;
  for (unsigned char b : digest) out += fmt::format("{:02x}", b);
  return out;
}

uint64_t DecodeRandom(const unsigned char* b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | b[i];
  return v;
}

std::string XmlUnescape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); i++) {
    if (in[i] != '&') {
      out += in[i];
      continue;
    }
    size_t semi = in.find(';', i);
    if (semi == std::string_view::npos) {
      out += in.substr(i);
      break;
    }
    std::string_view ent = in.substr(i + 1, semi - i - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else if (!ent.empty() && ent[0] == '#') {
      long code = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                      ? std::strtol(std::string(ent.substr(2)).c_str(), nullptr, 16)
                      : std::strtol(std::string(ent.substr(1)).c_str(), nullptr, 10);
      if (code > 0 && code < 0x80) out += static_cast<char>(code);
    } else {
      out += in.substr(i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

// The raw (still escaped) text of the first <tag>...</tag> in `xml` at or
// after *pos; advances *pos past it. nullopt if absent.
std::optional<std::string_view> XmlRaw(std::string_view xml, std::string_view tag, size_t* pos = nullptr) {
  std::string open = fmt::format("<{}>", tag);
  std::string close = fmt::format("</{}>", tag);
  size_t start = xml.find(open, pos ? *pos : 0);
  if (start == std::string_view::npos) return std::nullopt;
  start += open.size();
  size_t end = xml.find(close, start);
  if (end == std::string_view::npos) return std::nullopt;
  if (pos) *pos = end + close.size();
  return xml.substr(start, end - start);
}

// Like XmlRaw, with entities decoded.
std::optional<std::string> XmlElement(std::string_view xml, std::string_view tag) {
  auto raw = XmlRaw(xml, tag);
  if (!raw) return std::nullopt;
  return XmlUnescape(*raw);
}

std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return std::string(s);
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string AwsUriEncode(std::string_view in, bool keep_slash) {
  std::string out;
  for (char c : in) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

struct S3ObjectStore::Request {
  std::string method = "GET";  // GET, PUT, HEAD, DELETE
  std::string op;              // "get", "put", ... for messages
  std::string key;             // relative key ("" for bucket-level requests)
  std::string query;           // canonical (sorted, encoded) query string
  std::string_view body;       // PUT from memory
  FileSystem* body_fs = nullptr;  // PUT from a file
  std::string body_path;
  uint64_t body_size = 0;
  std::string body_sha256 = kEmptySha256;
  std::optional<std::pair<uint64_t, uint64_t>> range;  // offset, length
  std::vector<std::string> headers;  // more request headers ("Name: value")
  uint64_t expected_bytes = 0;  // for the deadline
};

struct S3ObjectStore::Response {
  CURLcode curl_code = CURLE_OK;
  std::string curl_error;
  long http_code = 0;
  std::string body;
  std::string etag;
  std::string content_range;
  std::optional<uint64_t> content_length;
  Status body_error;  // reading the upload source failed
};

Status ReadSharedCredentials(const std::string& path, const std::string& profile, S3Options* options) {
  std::ifstream in(path);
  if (!in) {
    return Status::NotFound(fmt::format("cannot read the AWS credentials file {}: {}", path, std::strerror(errno)));
  }
  auto trim = [](std::string_view v) {
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
    return v;
  };
  std::string line;
  std::string section;
  bool found = false;
  S3Options keys;
  // Bounds the file: a credentials file is a few lines.
  constexpr int kMaxLines = 10000;
  for (int n = 0; n < kMaxLines && std::getline(in, line); n++) {
    std::string_view text = trim(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[') {
      if (text.back() != ']') {
        return Status::InvalidArgument(fmt::format("AWS credentials file {} line {}: a section header must end "
                                                   "with ']'",
                                                   path, n + 1));
      }
      section = std::string(trim(text.substr(1, text.size() - 2)));
      if (section == profile) found = true;
      continue;
    }
    if (section != profile) continue;
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = trim(text.substr(0, eq));
    std::string value(trim(text.substr(eq + 1)));
    if (key == "aws_access_key_id") keys.access_key = std::move(value);
    if (key == "aws_secret_access_key") keys.secret_key = std::move(value);
    if (key == "aws_session_token") keys.session_token = std::move(value);
  }
  if (!found) {
    return Status::NotFound(fmt::format("the AWS credentials file {} has no profile [{}]; set tiering.s3_profile or "
                                        "AWS_PROFILE to one it has",
                                        path, profile));
  }
  if (keys.access_key.empty() || keys.secret_key.empty()) {
    return Status::InvalidArgument(fmt::format("profile [{}] of the AWS credentials file {} needs both "
                                               "aws_access_key_id and aws_secret_access_key",
                                               profile, path));
  }
  options->access_key = std::move(keys.access_key);
  options->secret_key = std::move(keys.secret_key);
  options->session_token = std::move(keys.session_token);
  return Status::OK();
}

Result<std::unique_ptr<S3ObjectStore>> S3ObjectStore::Open(S3Options options) {
  if (options.endpoint.empty()) {
    return Status::InvalidArgument("S3 object store: no endpoint configured (tiering.s3_endpoint, e.g. "
                                   "https://s3.us-east-1.amazonaws.com)");
  }
  if (options.endpoint.rfind("http://", 0) != 0 && options.endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument(fmt::format("S3 object store: endpoint '{}' must start with http:// or https://",
                                               options.endpoint));
  }
  while (options.endpoint.back() == '/') options.endpoint.pop_back();
  if (options.bucket.empty()) return Status::InvalidArgument("S3 object store: no bucket configured (tiering.s3_bucket)");
  if (options.region.empty()) options.region = "us-east-1";
  if (!options.prefix.empty() && options.prefix.back() != '/') options.prefix += '/';
  auto from_env = [](std::string* value, const char* name) {
    if (value->empty()) {
      if (const char* v = std::getenv(name)) *value = v;
    }
  };
  from_env(&options.access_key, "AWS_ACCESS_KEY_ID");
  from_env(&options.secret_key, "AWS_SECRET_ACCESS_KEY");
  from_env(&options.session_token, "AWS_SESSION_TOKEN");
  if (options.access_key.empty() || options.secret_key.empty()) {
    // The shared credentials file: named, or the default one if present.
    std::string path = options.credentials_file;
    from_env(&path, "AWS_SHARED_CREDENTIALS_FILE");
    if (path.empty()) {
      const char* home = std::getenv("HOME");
      std::string fallback = home != nullptr ? std::string(home) + "/.aws/credentials" : "";
      if (!fallback.empty() && ::access(fallback.c_str(), F_OK) == 0) path = fallback;
    }
    std::string profile = options.profile;
    from_env(&profile, "AWS_PROFILE");
    if (profile.empty()) profile = "default";
    if (!path.empty()) {
      S3Options from_file;
      Status s = ReadSharedCredentials(path, profile, &from_file);
      if (!s.ok()) return s.WithContext(fmt::format("S3 object store s3://{}", options.bucket));
      options.access_key = from_file.access_key;
      options.secret_key = from_file.secret_key;
      options.session_token = from_file.session_token;
    }
  }
  if (options.access_key.empty() || options.secret_key.empty()) {
    return Status::InvalidArgument(fmt::format(
        "S3 object store s3://{}: no credentials; set the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment "
        "variables, or tiering.s3_credentials_file (an AWS credentials file), or tiering.s3_access_key and "
        "tiering.s3_secret_key",
        options.bucket));
  }
  if (options.max_retries < 0) options.max_retries = 0;
  std::call_once(g_curl_init, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sodium_init() < 0) {
      // sodium_init fails only if no randomness source exists; hashing still works.
    }
  });
  return std::unique_ptr<S3ObjectStore>(new S3ObjectStore(std::move(options)));
}

S3ObjectStore::S3ObjectStore(S3Options options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : SystemClock()) {}

S3ObjectStore::~S3ObjectStore() {
  MutexLock lock(&mu_);
  for (void* h : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(h));
}

std::string S3ObjectStore::Describe() const {
  return fmt::format("s3://{}/{} at {}", options_.bucket, options_.prefix, options_.endpoint);
}

uint64_t S3ObjectStore::requests_sent() const {
  MutexLock lock(&mu_);
  return requests_sent_;
}

void* S3ObjectStore::AcquireHandle() {
  {
    MutexLock lock(&mu_);
    requests_sent_++;
    if (!idle_handles_.empty()) {
      void* h = idle_handles_.back();
      idle_handles_.pop_back();
      curl_easy_reset(static_cast<CURL*>(h));
      return h;
    }
  }
  return curl_easy_init();
}

void S3ObjectStore::ReleaseHandle(void* handle) {
  MutexLock lock(&mu_);
  if (idle_handles_.size() < kMaxIdleHandles) {
    idle_handles_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

std::string S3ObjectStore::UrlFor(const std::string& full_key, const std::string& query) const {
  std::string url;
  if (options_.path_style) {
    url = fmt::format("{}/{}/{}", options_.endpoint, options_.bucket, AwsUriEncode(full_key, true));
  } else {
    size_t scheme_end = options_.endpoint.find("://") + 3;
    url = fmt::format("{}{}.{}/{}", options_.endpoint.substr(0, scheme_end), options_.bucket,
                      options_.endpoint.substr(scheme_end), AwsUriEncode(full_key, true));
  }
  if (!query.empty()) url += "?" + query;
  return url;
}

namespace {

struct TransferState {
  S3ObjectStore::Response* resp;
  std::unique_ptr<SequentialFile> upload_file;
  std::string_view upload_mem;
  std::unique_ptr<char[]> upload_buf;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* state = static_cast<TransferState*>(userdata);
  state->resp->body.append(ptr, size * nmemb);
  return size * nmemb;
}

size_t ReadHeader(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* resp = static_cast<TransferState*>(userdata)->resp;
  std::string_view line(buffer, size * nitems);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view name = line.substr(0, colon);
    std::string value = Trim(line.substr(colon + 1));
    if (StartsWithNoCase(name, "etag") && name.size() == 4) {
      resp->etag = StripQuotes(value);
    } else if (StartsWithNoCase(name, "content-range") && name.size() == 13) {
      resp->content_range = value;
    } else if (StartsWithNoCase(name, "content-length") && name.size() == 14) {
      resp->content_length = std::strtoull(value.c_str(), nullptr, 10);
    }
  } else if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after a 100 Continue or a redirect): forget earlier headers.
    resp->etag.clear();
    resp->content_range.clear();
    resp->content_length.reset();
  }
  return size * nitems;
}

size_t ReadUpload(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* state = static_cast<TransferState*>(userdata);
  size_t want = size * nitems;
  if (state->upload_file) {
    auto piece = state->upload_file->Read(want, buffer);
    if (!piece.ok()) {
      state->resp->body_error = piece.status();
      return CURL_READFUNC_ABORT;
    }
    if (piece->data() != buffer) std::memcpy(buffer, piece->data(), piece->size());
    return piece->size();
  }
  size_t n = std::min(want, state->upload_mem.size());
  std::memcpy(buffer, state->upload_mem.data(), n);
  state->upload_mem.remove_prefix(n);
  return n;
}

}  // namespace

void S3ObjectStore::Perform(const Request& req, Response* resp) {
  *resp = Response();
  TransferState state{.resp = resp, .upload_file = nullptr, .upload_mem = req.body, .upload_buf = nullptr};
  if (req.body_fs != nullptr) {
    auto file = req.body_fs->NewSequentialFile(req.body_path);
    if (!file.ok()) {
      resp->body_error = file.status();
      return;
    }
    state.upload_file = std::move(file).value();
  }
  CURL* curl = static_cast<CURL*>(AcquireHandle());
  if (curl == nullptr) {
    resp->curl_code = CURLE_FAILED_INIT;
    resp->curl_error = "curl_easy_init failed";
    return;
  }
  std::string full_key = req.key.empty() ? "" : options_.prefix + req.key;
  std::string url = UrlFor(full_key, req.query);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  int64_t timeout_ms = options_.request_timeout_ms + static_cast<int64_t>(req.expected_bytes) / kBytesPerExtraMs;
  int64_t connect_timeout_ms = options_.connect_timeout_ms;
  if (int64_t deadline = ObjectStoreDeadline::Current(); deadline != INT64_MAX) {
    // At least 1 ms: curl takes 0 as "no timeout".
    int64_t left_ms = std::max<int64_t>(1, (deadline - SystemClock()->NowMicros()) / 1000);
    timeout_ms = std::min(timeout_ms, left_ms);
    connect_timeout_ms = std::min(connect_timeout_ms, left_ms);
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_ms));
  std::string sigv4 = fmt::format("aws:amz:{}:s3", options_.region);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, options_.access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.secret_key.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &state);

  struct curl_slist* headers = nullptr;
  std::string sha_header = "x-amz-content-sha256: " + req.body_sha256;
  headers = curl_slist_append(headers, sha_header.c_str());
  std::string token_header;
  if (!options_.session_token.empty()) {
    token_header = "x-amz-security-token: " + options_.session_token;
    headers = curl_slist_append(headers, token_header.c_str());
  }
  for (const auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());
  std::string range_header;
  if (req.range) {
    range_header = fmt::format("Range: bytes={}-{}", req.range->first, req.range->first + req.range->second - 1);
    headers = curl_slist_append(headers, range_header.c_str());
  }
  // Every header in CURLOPT_HTTPHEADER is signed, even an empty one that
  // only removes a header curl would send ("Expect:"): the service then
  // rebuilds a different canonical request and answers 403
  // SignatureDoesNotMatch. So curl sends its own "Expect: 100-continue"
  // (unsigned, added after signing), and the body follows at once instead
  // of after a 100 Continue round trip.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);

  if (req.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadUpload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &state);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_size));
  } else if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method == "DELETE") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  }

  resp->curl_code = curl_easy_perform(curl);
  if (resp->curl_code != CURLE_OK) {
    resp->curl_error = errbuf[0] ? errbuf : curl_easy_strerror(resp->curl_code);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->http_code);
  curl_slist_free_all(headers);
  if (req.method == "PUT" && (resp->curl_code != CURLE_OK || resp->http_code < 200 || resp->http_code >= 300)) {
    // The service may have answered before reading the whole body; bytes of
    // it left on the connection would be read as the next request (a Ceph
    // gateway then answers 405 MethodNotAllowed). Close the connection.
    curl_easy_cleanup(curl);
    return;
  }
  ReleaseHandle(curl);
}

Status S3ObjectStore::Execute(const Request& req, Response* resp) {
  std::string what = fmt::format("{}: {} {}", Describe(), req.op, req.key.empty() ? req.query : req.key);
  thread_local std::mt19937_64 jitter(std::random_device{}());
  Status last;
  const int64_t deadline = ObjectStoreDeadline::Current();
  for (int attempt = 0; attempt <= options_.max_retries; attempt++) {
    if (attempt > 0) {
      int64_t delay_ms = options_.retry_base_delay_ms << std::min(attempt - 1, 20);
      delay_ms = std::min(delay_ms, options_.retry_max_delay_ms);
      // "Equal jitter": half fixed, half random, so retries of many clients spread out.
      int64_t sleep_ms = delay_ms / 2 + static_cast<int64_t>(jitter() % static_cast<uint64_t>(delay_ms / 2 + 1));
      if (deadline != INT64_MAX && SystemClock()->NowMicros() + sleep_ms * 1000 >= deadline) {
        // No time for another attempt before the caller's deadline.
        return Status::TimedOut(fmt::format("{}; gave up at the caller's deadline after {} attempts",
                                            last.message(), attempt));
      }
      clock_->SleepForMicros(sleep_ms * 1000);
    }
    Perform(req, resp);
    if (!resp->body_error.ok()) return resp->body_error.WithContext(what);
    bool retryable = false;
    if (resp->curl_code != CURLE_OK) {
      std::string detail = fmt::format("{} (attempt {} of {})", resp->curl_error, attempt + 1, options_.max_retries + 1);
      switch (resp->curl_code) {
        case CURLE_OPERATION_TIMEDOUT:
          last = Status::TimedOut(fmt::format("{}: {}", what, detail));
          retryable = true;
          break;
        case CURLE_PARTIAL_FILE:
          last = Status::Corruption(fmt::format("{}: response shorter than announced: {}", what, detail));
          retryable = true;
          break;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
          return Status::InvalidArgument(fmt::format("{}: bad endpoint: {}", what, detail));
        default:
          last = Status::Unavailable(fmt::format("{}: {}; check tiering.s3_endpoint and the network", what, detail));
          retryable = true;
      }
    } else {
      long code = resp->http_code;
      if (code >= 200 && code < 300) return Status::OK();
      std::string s3_code = XmlElement(resp->body, "Code").value_or("");
      std::string s3_msg = XmlElement(resp->body, "Message").value_or("");
      std::string detail = fmt::format("HTTP {}{}{}", code, s3_code.empty() ? "" : " " + s3_code,
                                       s3_msg.empty() ? "" : ": " + s3_msg);
      if (code == 404) return Status::NotFound(fmt::format("{}: {}", what, detail));
      if (code == 401 || code == 403) {
        return Status::PermissionDenied(
            fmt::format("{}: {}; check the access key, secret key and bucket permissions", what, detail));
      }
      if (code == 416) return Status::InvalidArgument(fmt::format("{}: {}: range past the end", what, detail));
      if (code == 412) {
        return Status::AlreadyExists(fmt::format("{}: {}: the condition did not hold (the object exists, or changed)",
                                                 what, detail));
      }
      if (code >= 500 || code == 408 || code == 429) {
        last = Status::Unavailable(fmt::format("{}: {} (attempt {} of {})", what, detail, attempt + 1,
                                               options_.max_retries + 1));
        retryable = true;
      } else {
        return Status::IOError(fmt::format("{}: {}", what, detail));
      }
    }
    if (!retryable) break;
  }
  if (last.IsUnavailable() || last.IsTimedOut() || last.IsCorruption()) {
    return Status(last.code(), fmt::format("{}; gave up after {} retries (tiering.max_retries)", last.message(),
                                           options_.max_retries));
  }
  return last;
}

Status S3ObjectStore::Put(const std::string& key, std::string_view data) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  Request req;
  req.method = "PUT";
  req.op = "put";
  req.key = key;
  req.body = data;
  req.body_size = data.size();
  req.body_sha256 = HexSha256(data);
  req.expected_bytes = data.size();
  Response resp;
  return Execute(req, &resp);
}

Status S3ObjectStore::PutFile(const std::string& key, FileSystem* fs, const std::string& path) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  auto context = [&] { return fmt::format("{}: put {} from {}", Describe(), key, path); };
  auto size = fs->GetFileSize(path);
  if (!size.ok()) return size.status().WithContext(context());
  auto sha = HexSha256OfFile(fs, path);
  if (!sha.ok()) return sha.status().WithContext(context());
  Request req;
  req.method = "PUT";
  req.op = "put";
  req.key = key;
  req.body_fs = fs;
  req.body_path = path;
  req.body_size = *size;
  req.body_sha256 = *sha;
  req.expected_bytes = *size;
  Response resp;
  return Execute(req, &resp);
}

Result<std::string> S3ObjectStore::Get(const std::string& key) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  Request req;
  req.op = "get";
  req.key = key;
  Response resp;
  EBB_RETURN_IF_ERROR(Execute(req, &resp));
  if (resp.content_length && *resp.content_length != resp.body.size()) {
    return Status::Corruption(fmt::format("{}: get {}: received {} of {} announced bytes", Describe(), key,
                                          resp.body.size(), *resp.content_length));
  }
  return std::move(resp.body);
}

Result<std::string> S3ObjectStore::GetWithEtag(const std::string& key, std::string* etag) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  Request req;
  req.op = "get";
  req.key = key;
  Response resp;
  EBB_RETURN_IF_ERROR(Execute(req, &resp));
  if (resp.content_length && *resp.content_length != resp.body.size()) {
    return Status::Corruption(fmt::format("{}: get {}: received {} of {} announced bytes", Describe(), key,
                                          resp.body.size(), *resp.content_length));
  }
  *etag = resp.etag;
  return std::move(resp.body);
}

Status S3ObjectStore::PutConditional(const std::string& key, std::string_view data, WriteCondition condition,
                                     const std::string& etag, bool quote_etag) {
  Request req;
  req.method = "PUT";
  req.op = condition == WriteCondition::kIfAbsent ? "put (if absent)" : fmt::format("put (if etag {})", etag);
  req.key = key;
  req.body = data;
  req.body_size = data.size();
  req.body_sha256 = HexSha256(data);
  req.expected_bytes = data.size();
  req.headers.push_back(condition == WriteCondition::kIfAbsent
                            ? std::string("If-None-Match: *")
                            : fmt::format("If-Match: {}", quote_etag ? "\"" + etag + "\"" : etag));
  Response resp;
  return Execute(req, &resp);
}

Result<bool> S3ObjectStore::ProbeConditionalWrites(bool* quote_etag) {
  unsigned char random[8];
  randombytes_buf(random, sizeof(random));
  std::string probe = fmt::format("meta/conditional-write-probe-{:016x}", DecodeRandom(random));
  auto cleanup = [&] { (void)Delete(probe); };
  EBB_RETURN_IF_ERROR(PutConditional(probe, "1", WriteCondition::kIfAbsent, "", true));
  Status again = PutConditional(probe, "2", WriteCondition::kIfAbsent, "", true);
  if (again.ok()) {
    cleanup();
    return false;  // If-None-Match ignored
  }
  if (!again.IsAlreadyExists()) {
    cleanup();
    return again;
  }
  std::string etag;
  auto current = GetWithEtag(probe, &etag);
  if (!current.ok()) {
    cleanup();
    return current.status();
  }
  bool enforced = false;
  for (bool quoted : {true, false}) {
    Status s = PutConditional(probe, "3", WriteCondition::kIfMatch, etag, quoted);
    if (s.ok()) {
      *quote_etag = quoted;
      enforced = true;
      break;
    }
    if (!s.IsAlreadyExists()) {
      cleanup();
      return s;
    }
  }
  if (enforced) {
    // A wrong etag must be refused too, or If-Match is not really checked.
    Status wrong = PutConditional(probe, "4", WriteCondition::kIfMatch, "0123456789abcdef0123456789abcdef", *quote_etag);
    if (wrong.ok()) enforced = false;
    else if (!wrong.IsAlreadyExists()) {
      cleanup();
      return wrong;
    }
  }
  cleanup();
  return enforced;
}

Result<bool> S3ObjectStore::ConditionalWrites() {
  {
    MutexLock lock(&mu_);
    if (conditional_writes_) return *conditional_writes_;
  }
  bool quote = true;
  EBB_ASSIGN_OR_RETURN(bool enforced, ProbeConditionalWrites(&quote));
  MutexLock lock(&mu_);
  conditional_writes_ = enforced;
  quote_if_match_ = quote;
  return enforced;
}

Status S3ObjectStore::PutIf(const std::string& key, std::string_view data, WriteCondition condition,
                            const std::string& etag) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  EBB_ASSIGN_OR_RETURN(bool enforced, ConditionalWrites());
  if (!enforced) {
    return Status::NotSupported(fmt::format("{}: the service ignores conditional writes (If-None-Match, If-Match)",
                                            Describe()));
  }
  bool quote;
  {
    MutexLock lock(&mu_);
    quote = quote_if_match_;
  }
  return PutConditional(key, data, condition, etag, quote);
}

Result<std::string> S3ObjectStore::GetRange(const std::string& key, uint64_t offset, uint64_t length) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  if (length == 0) return std::string();
  Request req;
  req.op = fmt::format("get range [{}, +{}) of", offset, length);
  req.key = key;
  req.range = std::make_pair(offset, length);
  req.expected_bytes = length;
  Response resp;
  Status s = Execute(req, &resp);
  if (s.IsInvalidArgument() && offset == 0) {
    // Ranged get of an empty object: S3 answers 416; the contract says "".
    auto head = Head(key);
    if (head.ok() && head->size_bytes == 0) return std::string();
  }
  EBB_RETURN_IF_ERROR(s);
  std::string body = std::move(resp.body);
  if (resp.http_code == 200) {
    // The service ignored the range and sent the whole object.
    if (offset >= body.size()) {
      return Status::InvalidArgument(fmt::format("{}: get {}: offset {} is past the end of the {}-byte object",
                                                 Describe(), key, offset, body.size()));
    }
    return body.substr(static_cast<size_t>(offset), static_cast<size_t>(std::min<uint64_t>(length, body.size() - offset)));
  }
  // 206: "bytes first-last/total".
  uint64_t expected = length;
  size_t slash = resp.content_range.rfind('/');
  if (slash != std::string::npos && resp.content_range.substr(slash + 1) != "*") {
    uint64_t total = std::strtoull(resp.content_range.c_str() + slash + 1, nullptr, 10);
    if (total > offset) expected = std::min(length, total - offset);
  }
  if (body.size() != expected) {
    return Status::Corruption(fmt::format("{}: get {} range [{}, +{}): short read, {} of {} bytes", Describe(), key,
                                          offset, length, body.size(), expected));
  }
  return body;
}

Result<ObjectInfo> S3ObjectStore::Head(const std::string& key) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  Request req;
  req.method = "HEAD";
  req.op = "head";
  req.key = key;
  Response resp;
  EBB_RETURN_IF_ERROR(Execute(req, &resp));
  if (!resp.content_length) {
    return Status::IOError(fmt::format("{}: head {}: response has no Content-Length", Describe(), key));
  }
  return ObjectInfo{.key = key, .size_bytes = *resp.content_length, .etag = resp.etag};
}

Result<std::vector<ObjectInfo>> S3ObjectStore::List(const std::string& prefix) {
  // ListObjects (v1) paged with `marker` = the last key of the previous page.
  // v2's continuation tokens would do too, but s3rver 3.7 encrypts them with
  // DES, which Node 17+ (OpenSSL 3) refuses, so v1 is what works everywhere.
  std::vector<ObjectInfo> out;
  std::string marker;
  std::string full_prefix = options_.prefix + prefix;
  for (int page = 0; page < kMaxListPages; page++) {
    // Parameters in canonical (sorted) order, as SigV4 signs them.
    std::string query;
    if (!marker.empty()) query += "marker=" + AwsUriEncode(marker, false) + "&";
    query += "prefix=" + AwsUriEncode(full_prefix, false);
    Request req;
    req.op = "list";
    req.query = query;
    Response resp;
    EBB_RETURN_IF_ERROR(Execute(req, &resp));
    size_t pos = 0;
    std::string last_key;
    while (auto contents = XmlRaw(resp.body, "Contents", &pos)) {
      auto key = XmlElement(*contents, "Key");
      auto size = XmlElement(*contents, "Size");
      if (!key || !size) continue;
      last_key = *key;
      if (key->compare(0, options_.prefix.size(), options_.prefix) != 0) continue;
      out.push_back(ObjectInfo{.key = key->substr(options_.prefix.size()),
                               .size_bytes = std::strtoull(size->c_str(), nullptr, 10),
                               .etag = StripQuotes(XmlElement(*contents, "ETag").value_or(""))});
    }
    bool truncated = XmlElement(resp.body, "IsTruncated").value_or("false") == "true";
    if (!truncated) {
      std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
      return out;
    }
    std::string next = XmlElement(resp.body, "NextMarker").value_or(last_key);
    if (next.empty() || next <= marker) {
      return Status::IOError(fmt::format("{}: list '{}': truncated page that does not advance", Describe(), prefix));
    }
    marker = next;
  }
  return Status::IOError(fmt::format("{}: list '{}': more than {} pages", Describe(), prefix, kMaxListPages));
}

Status S3ObjectStore::Delete(const std::string& key) {
  EBB_RETURN_IF_ERROR(ValidateObjectKey(Describe(), key));
  Request req;
  req.method = "DELETE";
  req.op = "delete";
  req.key = key;
  Response resp;
  Status s = Execute(req, &resp);
  if (s.IsNotFound()) return Status::OK();
  return s;
}

}  // namespace ebb
