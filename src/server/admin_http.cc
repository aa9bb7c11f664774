#include "server/admin_http.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "base/logging.h"
#include "base/thread_name.h"
#include "server/dashboard_assets.h"
#include "server/server_core.h"
#include "server/status_report.h"

namespace ebb {
namespace {

// Threads answering admin requests; a browser keeps a few connections open.
constexpr size_t kAdminHttpThreads = 4;
// A kept-alive connection occupies a thread; close idle ones soon.
constexpr time_t kKeepAliveTimeoutS = 2;

void NoStore(httplib::Response& res) { res.set_header("Cache-Control", "no-store"); }

void ServeAsset(httplib::Response& res, std::string_view body, const char* type) {
  NoStore(res);
  // The page loads nothing from anywhere but this server.
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'");
  res.set_content(std::string(body), type);
}

// When server.admin_token is set, whether the request carries it as
// "Authorization: Bearer <token>"; else answers 401 and returns false.
bool Authorized(ServerCore* core, const httplib::Request& req, httplib::Response& res) {
  if (!core->live().admin_token_required()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  const std::string header = req.get_header_value("Authorization");
  if (header.size() > kBearer.size() && std::string_view(header).substr(0, kBearer.size()) == kBearer &&
      core->live().CheckAdminToken(std::string_view(header).substr(kBearer.size()))) {
    return true;
  }
  NoStore(res);
  res.status = 401;
  res.set_header("WWW-Authenticate", "Bearer realm=\"ebb\"");
  res.set_content(header.empty() ? "this endpoint needs the header 'Authorization: Bearer <server.admin_token>'\n"
                                 : "wrong admin token; send 'Authorization: Bearer <server.admin_token>'\n",
                  "text/plain; charset=utf-8");
  return false;
}

}  // namespace

struct AdminHttp::Impl {
  ServerCore* core = nullptr;
  httplib::Server http;
  std::thread thread;
  int port = 0;
  std::atomic<bool> stopped{false};
  std::atomic<bool> listener_returned{false};
};

AdminHttp::AdminHttp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminHttp::~AdminHttp() { Stop(); }

int AdminHttp::port() const { return impl_->port; }

Result<std::unique_ptr<AdminHttp>> AdminHttp::Start(ServerCore* core) {
  auto impl = std::make_unique<Impl>();
  impl->core = core;
  httplib::Server& http = impl->http;
  http.new_task_queue = [] { return new httplib::ThreadPool(kAdminHttpThreads); };
  http.set_keep_alive_timeout(kKeepAliveTimeoutS);
  // The data needs the token; the dashboard's page and assets hold none and
  // are served to anyone, so the page can ask for the token.
  http.Get("/status", [core](const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(core, req, res)) return;
    NoStore(res);
    res.set_content(DumpJson(StatusDocument(core), req.has_param("pretty") ? 2 : -1), "application/json");
  });
  http.Get("/metrics", [core](const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(core, req, res)) return;
    NoStore(res);
    res.set_content(RenderPrometheus(StatusDocument(core)), "text/plain; version=0.0.4; charset=utf-8");
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    ServeAsset(res, kDashboardHtml, "text/html; charset=utf-8");
  });
  http.Get("/dashboard.js", [](const httplib::Request&, httplib::Response& res) {
    ServeAsset(res, kDashboardJs, "text/javascript; charset=utf-8");
  });
  http.Get("/dashboard.css", [](const httplib::Request&, httplib::Response& res) {
    ServeAsset(res, kDashboardCss, "text/css; charset=utf-8");
  });
  // httplib catches what a handler throws; answer 500 with the reason
  // rather than dropping the connection.
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    res.status = 500;
    res.set_content("admin HTTP handler failed: " + what + "\n", "text/plain");
  });
  const ServerSettings& s = core->settings();
  if (!http.bind_to_port(s.admin_bind, s.admin_port)) {
    return Status::IOError(fmt::format("ebb serve: cannot bind the admin HTTP listener to {}:{}; is the port in "
                                       "use, or server.admin_bind not an address of this machine? Set "
                                       "server.admin_port or --admin-port (0 disables it)",
                                       s.admin_bind, s.admin_port));
  }
  impl->port = s.admin_port;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    SetCurrentThreadName("ebb-admin-http");
    if (!raw->http.listen_after_bind() && !raw->stopped.load()) {
      EBB_LOG(kError, "ebb serve: the admin HTTP listener stopped unexpectedly");
    }
    raw->listener_returned.store(true);
  });
  return std::unique_ptr<AdminHttp>(new AdminHttp(std::move(impl)));
}

void AdminHttp::Stop() {
  if (impl_->stopped.exchange(true)) return;
  // httplib's stop() does nothing until the listener thread has entered its
  // accept loop, and that thread may not have run yet (a server stopped
  // right after it started, on a busy machine): wait for it to be running,
  // or to have returned, before stopping it.
  while (!impl_->listener_returned.load()) {
    if (impl_->http.is_running()) {
      impl_->http.stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace ebb
