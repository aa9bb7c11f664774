#include "server/resp_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "base/logging.h"
#include "base/status_macros.h"
#include "base/thread_name.h"
#include "server/command_processor.h"
#include "server/command_round.h"
#include "server/net_address.h"
#include "server/resp_parser.h"
#include "server/resp_writer.h"
#include "server/server_core.h"
#include "server/tls_context_asio.h"

namespace ebb {
namespace {

using asio::ip::tcp;
using Executor = asio::io_context::executor_type;
using WorkGuard = asio::executor_work_guard<Executor>;
using TlsStream = asio::ssl::stream<tcp::socket>;

// Replies buffered before they are written out mid-round.
constexpr size_t kFlushReplyBytes = 64 << 10;
// Smallest free space offered to a read, and the first read buffer.
constexpr size_t kMinReadBytes = 16 << 10;
// An empty read buffer larger than this is given back.
constexpr size_t kShrinkAboveBytes = 1 << 20;
// Longest wait of the idle sweeper between checks.
constexpr auto kSweepInterval = std::chrono::seconds(1);
// A TLS client that has not finished its handshake by then is closed (it
// holds a connection and OpenSSL's buffers before it can even AUTH).
constexpr auto kTlsHandshakeTimeout = std::chrono::seconds(10);

// What the sweeper and shutdown need of a connection, plain or TLS.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the socket; the connection's coroutine then ends.
  virtual void Close() = 0;
  // Idle long enough to be closed (not in the middle of a command).
  virtual bool IdleSince(int64_t cutoff_micros) const = 0;
};

// The TCP socket under a stream.
tcp::socket& Socket(tcp::socket& stream) { return stream; }
tcp::socket& Socket(TlsStream& stream) { return stream.next_layer(); }

// Runs the TLS handshake, closing the socket if it has not finished within
// kTlsHandshakeTimeout. False if it failed.
asio::awaitable<bool> TlsHandshake(TlsStream* stream) {
  auto finished = std::make_shared<bool>(false);
  asio::steady_timer deadline(stream->get_executor(), kTlsHandshakeTimeout);
  deadline.async_wait([stream, finished](asio::error_code ec) {
    if (ec || *finished) return;  // cancelled, or too late to matter
    asio::error_code ignored;
    Socket(*stream).close(ignored);
  });
  asio::error_code ec;
  co_await stream->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  *finished = true;
  co_return !ec;
}

// Keys merged into one ReadPool task at most (one MGET larger than this
// still goes whole: its keys share a snapshot).
constexpr size_t kMaxKeysPerMergedRead = 4096;

// Merges the point reads that connections of one I/O thread start while
// handling the same batch of ready sockets into one MultiGetAsync per
// database: with 50 pipelining clients that is one ReadPool hand-off where
// there would be 50. Requests are queued and flushed by a handler posted to
// the same io_context, which runs after the socket handlers already queued.
// Used only on its I/O thread; results go back through each request's
// `done`, from the ReadPool thread.
class ReadBatcher final : public PointReader {
 public:
  ReadBatcher(ServerCore* core, asio::io_context* ctx) : core_(core), ctx_(ctx) {}

  void Read(std::string database, std::vector<std::string> keys, Done done) override {
    pending_.push_back(Request{std::move(database), std::move(keys), std::move(done)});
    if (!scheduled_) {
      scheduled_ = true;
      asio::post(*ctx_, [this] { Flush(); });
    }
  }

 private:
  struct Request {
    std::string database;
    std::vector<std::string> keys;
    Done done;
  };

  void Flush() {
    scheduled_ = false;
    std::vector<Request> requests = std::move(pending_);
    pending_.clear();
    // Group by database, keeping each database's requests in order.
    std::stable_sort(requests.begin(), requests.end(),
                     [](const Request& a, const Request& b) { return a.database < b.database; });
    size_t i = 0;
    while (i < requests.size()) {
      size_t j = i;
      size_t keys = 0;
      while (j < requests.size() && requests[j].database == requests[i].database &&
             (j == i || keys + requests[j].keys.size() <= kMaxKeysPerMergedRead)) {
        keys += requests[j].keys.size();
        j++;
      }
      Submit(std::vector<Request>(std::make_move_iterator(requests.begin() + i),
                                  std::make_move_iterator(requests.begin() + j)),
             keys);
      i = j;
    }
  }

  void Submit(std::vector<Request> group, size_t key_count) {
    if (group.size() == 1) {
      ReadPoint(core_, group[0].database, std::move(group[0].keys), std::move(group[0].done));
      return;
    }
    std::vector<std::string> keys;
    keys.reserve(key_count);
    auto shared = std::make_shared<std::vector<Request>>(std::move(group));
    for (Request& r : *shared) {
      // Moving the strings out leaves r.keys.size() as the request's count.
      for (std::string& k : r.keys) keys.push_back(std::move(k));
    }
    const std::string database = (*shared)[0].database;
    ReadPoint(core_, database, std::move(keys), [shared](Status status, std::vector<Result<std::string>> results) {
      size_t at = 0;
      for (Request& r : *shared) {
        if (!status.ok()) {
          r.done(status, {});
          continue;
        }
        std::vector<Result<std::string>> mine(std::make_move_iterator(results.begin() + at),
                                              std::make_move_iterator(results.begin() + at + r.keys.size()));
        at += r.keys.size();
        r.done(Status::OK(), std::move(mine));
      }
    });
  }

  ServerCore* const core_;
  asio::io_context* const ctx_;
  std::vector<Request> pending_;
  bool scheduled_ = false;
};

// One I/O thread: its io_context and the connections it serves. Everything
// but the io_context is touched only on this thread.
struct IoThread {
  explicit IoThread(ServerCore* core) : reads(core, &ctx) {}
  asio::io_context ctx{1};
  ReadBatcher reads;
  std::optional<WorkGuard> guard;
  std::thread thread;
  std::unordered_set<SessionBase*> sessions;
  asio::steady_timer sweeper{ctx};
  bool stopping = false;
};

// Awaits an AsyncStep: start() runs here; done() (any thread) posts the
// resumption back to this connection's thread. The work guard keeps the
// io_context running until then, so shutdown waits for in-flight reads.
asio::awaitable<void> AwaitStep(AsyncStep* step) {
  auto executor = co_await asio::this_coro::executor;
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [step, executor](auto handler) {
        using Handler = decltype(handler);
        auto shared = std::make_shared<std::optional<Handler>>(std::move(handler));
        auto io_executor = asio::prefer(executor, asio::execution::outstanding_work.tracked);
        step->start([shared, io_executor]() {
          asio::post(io_executor, [shared]() {
            Handler h = std::move(**shared);
            shared->reset();
            std::move(h)();
          });
        });
      },
      asio::use_awaitable);
}

// One connection: a plain tcp::socket or a TlsStream. `tls` keeps the
// context a TLS connection was made with alive (a reload replaces the
// server's, not this one's).
template <typename Stream>
class Session final : public SessionBase {
 public:
  Session(ServerCore* core, IoThread* io, Stream stream, std::shared_ptr<TlsContext> tls)
      : core_(core), io_(io), tls_(std::move(tls)), stream_(std::move(stream)), processor_(core) {}

  void Close() override {
    closing_ = true;
    asio::error_code ec;
    Socket(stream_).shutdown(tcp::socket::shutdown_both, ec);
    Socket(stream_).close(ec);
  }

  bool IdleSince(int64_t cutoff_micros) const override { return !busy_ && last_activity_micros_ < cutoff_micros; }

  asio::awaitable<void> Run() {
    io_->sessions.insert(this);
    Setup();
    bool ready = true;
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      ready = co_await TlsHandshake(&stream_);
      if (!ready) core_->stats().tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      last_activity_micros_ = core_->clock()->NowMicros();
    }
    if (ready) co_await Serve();
    io_->sessions.erase(this);
    asio::error_code ec;
    Socket(stream_).close(ec);
    core_->stats().connected_clients.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  void Setup() {
    asio::error_code ec;
    Socket(stream_).set_option(tcp::no_delay(true), ec);
    state_.id = core_->NextClientId();
    state_.authenticated = !core_->live().password_required();
    state_.connected_micros = core_->clock()->NowMicros();
    state_.reader = &io_->reads;
    auto remote = Socket(stream_).remote_endpoint(ec);
    if (!ec) state_.peer = fmt::format("{}:{}", remote.address().to_string(), remote.port());
    last_activity_micros_ = state_.connected_micros;
  }

  // Makes room for the next read, moving unconsumed bytes to the front. The
  // buffer grows with the bytes received, never with a length a header
  // declares: only when what has arrived fills it does it double (capped by
  // what the current command needs, when that is known, and by the query
  // buffer limit). So a connection holds at most about twice what it sent
  // plus kMinReadBytes, and a bare "$16777216" header costs nothing.
  void PrepareBuffer() {
    size_t pending = end_ - begin_;
    if (begin_ > 0 && (pending == 0 || buffer_.size() - end_ < kMinReadBytes)) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, pending);
      begin_ = 0;
      end_ = pending;
    }
    // Give memory back after a big command.
    if (pending == 0 && buffer_.size() > kShrinkAboveBytes) {
      buffer_.resize(kMinReadBytes);
      buffer_.shrink_to_fit();
    }
    if (buffer_.size() - end_ >= kMinReadBytes) return;
    size_t grown = std::max(pending + kMinReadBytes, buffer_.size() * 2);
    const size_t needed = parser_.bytes_wanted();
    if (needed > pending) grown = std::min(grown, std::max(needed, pending + kMinReadBytes));
    // Never read far beyond what the query buffer limit allows.
    grown = std::min<size_t>(grown, static_cast<size_t>(core_->live().max_query_buffer_bytes()) + kMinReadBytes);
    buffer_.resize(std::max(grown, pending + kMinReadBytes));
  }

  asio::awaitable<void> Serve() {
    asio::error_code ec;
    while (!closing_ && !io_->stopping) {
      PrepareBuffer();
      busy_ = false;
      size_t n = co_await stream_.async_read_some(asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec || n == 0) co_return;  // closed by the peer, the sweeper or shutdown
      busy_ = true;
      end_ += n;
      last_activity_micros_ = core_->clock()->NowMicros();
      core_->stats().net_input_bytes.fetch_add(n, std::memory_order_relaxed);
      const bool open = co_await HandleInput();
      SyncOwedJournal();
      if (!open) co_return;
      last_activity_micros_ = core_->clock()->NowMicros();
    }
  }

  // Parses and runs every complete command received. False when the
  // connection is to close (error, QUIT, shutdown).
  asio::awaitable<bool> HandleInput() {
    while (true) {
      // Limits follow authentication (command_round.h).
      CommandRound round = ParseCommandRound(core_, state_, &parser_,
                                             std::string_view(buffer_.data() + begin_, end_ - begin_), &commands_,
                                             &inline_args_);
      const size_t count = round.count;
      size_t next = 0;
      while (next < count) {
        AsyncStep step;
        bool wait = processor_.Process(&state_, commands_, count, &next, &out_, &step);
        if (wait) {
          co_await AwaitStep(&step);
          step.finish(&out_);
        }
        if (state_.close_after_reply || closing_ || io_->stopping) break;
        if (out_.size() >= kFlushReplyBytes && !co_await Flush()) co_return false;
      }
      begin_ += round.consumed;
      inline_args_.clear();
      if (state_.close_after_reply || closing_ || io_->stopping) {
        co_await Flush();
        co_return false;
      }
      if (round.protocol_error) {
        core_->stats().protocol_errors.fetch_add(1, std::memory_order_relaxed);
        RespWriter(&out_).Error("ERR " + *round.protocol_error);
        co_await Flush();
        co_return false;
      }
      // The unparsed rest must fit the query buffer limit.
      const size_t pending = end_ - begin_;
      const int64_t limit = core_->live().max_query_buffer_bytes();
      if (static_cast<int64_t>(pending) > limit) {
        core_->stats().limit_disconnects.fetch_add(1, std::memory_order_relaxed);
        RespWriter(&out_).Error(fmt::format(
            "ERR Protocol error: the unparsed query buffer holds {} bytes, over server.max_query_buffer_bytes ({}); "
            "closing the connection",
            pending, limit));
        co_await Flush();
        co_return false;
      }
      if (round.exhausted()) break;  // everything complete was run
    }
    co_return co_await Flush();
  }

  // After a write ran on this thread (server.inline_writes) and its reply
  // was sent (or the connection failed): makes the journal sync it may have
  // left due. A failed sync leaves the journal's error sticky, so later
  // writes fail with it; it is logged here.
  void SyncOwedJournal() {
    if (!state_.journal_sync_owed) return;
    state_.journal_sync_owed = false;
    Status s = core_->store()->SyncOwedJournal();
    if (!s.ok()) EBB_LOG(kError, "ebb serve: journal sync after a write failed: {}", s.ToString());
  }

  asio::awaitable<bool> Flush() {
    if (out_.empty()) co_return true;
    asio::error_code ec;
    size_t n = co_await asio::async_write(stream_, asio::buffer(out_), asio::redirect_error(asio::use_awaitable, ec));
    core_->stats().net_output_bytes.fetch_add(n, std::memory_order_relaxed);
    out_.clear();
    if (out_.capacity() > 4 * kFlushReplyBytes) out_.shrink_to_fit();
    co_return !ec;
  }

  ServerCore* const core_;
  IoThread* const io_;
  const std::shared_ptr<TlsContext> tls_;
  Stream stream_;
  CommandProcessor processor_;
  SessionState state_;
  RespCommandParser parser_;
  // Received bytes live in buffer_[begin_, end_).
  std::vector<char> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  std::vector<CommandArgs> commands_;
  std::deque<std::string> inline_args_;
  std::string out_;
  bool closing_ = false;
  bool busy_ = false;
  int64_t last_activity_micros_ = 0;
};

// Answers a client that may not stay with `message`, then closes it (a TLS
// client after its handshake, so that it can read why).
template <typename Stream>
asio::awaitable<void> RejectClient(Stream stream, std::string message) {
  asio::error_code ec;
  bool ready = true;
  if constexpr (std::is_same_v<Stream, TlsStream>) ready = co_await TlsHandshake(&stream);
  if (ready) {
    co_await asio::async_write(stream, asio::buffer(message), asio::redirect_error(asio::use_awaitable, ec));
  }
  Socket(stream).shutdown(tcp::socket::shutdown_both, ec);
  Socket(stream).close(ec);
}

}  // namespace

struct RespServer::Impl {
  ServerCore* core = nullptr;
  std::vector<std::unique_ptr<IoThread>> threads;
  std::optional<tcp::acceptor> acceptor;
  std::optional<tcp::acceptor> tls_acceptor;  // when server.tls_port is set
  int port = 0;
  int tls_port = 0;
  bool bind_is_loopback = true;  // constant after Start
  std::atomic<bool> stopped{false};
  size_t next_thread = 0;  // accept loops only (both on thread 0)

  // Accepts on `listener`: the plain RESP port, or the TLS one (`tls`).
  asio::awaitable<void> AcceptLoop(tcp::acceptor* listener, bool tls) {
    while (true) {
      IoThread& target = *threads[next_thread++ % threads.size()];
      tcp::socket socket(target.ctx);
      asio::error_code ec;
      co_await listener->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !listener->is_open()) co_return;
      if (ec) {
        // Out of file descriptors and the like: back off instead of spinning.
        EBB_LOG(kWarn, "ebb serve: accept failed: {}", ec.message());
        asio::steady_timer pause(listener->get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      ServerStats& stats = core->stats();
      stats.connections_received.fetch_add(1, std::memory_order_relaxed);
      std::string rejection;
      if (stats.connected_clients.load(std::memory_order_relaxed) >= core->live().max_clients()) {
        stats.rejected_connections.fetch_add(1, std::memory_order_relaxed);
        rejection = "-ERR max number of clients reached\r\n";
      } else if (rejection = ProtectedModeDenial(socket); !rejection.empty()) {
        stats.protected_mode_denials.fetch_add(1, std::memory_order_relaxed);
      }
      if (tls) {
        std::shared_ptr<TlsContext> context = core->tls_context();
        TlsStream stream(std::move(socket), context->ssl);
        Serve(&target, std::move(stream), std::move(context), std::move(rejection));
      } else {
        Serve(&target, std::move(socket), nullptr, std::move(rejection));
      }
    }
  }

  // Starts serving (or rejecting) one accepted connection on its thread.
  template <typename Stream>
  void Serve(IoThread* target, Stream stream, std::shared_ptr<TlsContext> tls, std::string rejection) {
    if (!rejection.empty()) {
      asio::co_spawn(target->ctx, RejectClient(std::move(stream), std::move(rejection)), asio::detached);
      return;
    }
    core->stats().connected_clients.fetch_add(1, std::memory_order_relaxed);
    auto session = std::make_shared<Session<Stream>>(core, target, std::move(stream), std::move(tls));
    asio::co_spawn(
        target->ctx,
        [session, target, this]() -> asio::awaitable<void> {
          WakeSweeper(target);
          co_await session->Run();
        },
        asio::detached);
  }

  // Protected mode (as Redis's): while no password is set and the listener
  // is not on loopback, only loopback clients are served. The error, or ""
  // when `socket`'s client may stay.
  std::string ProtectedModeDenial(const tcp::socket& socket) const {
    LiveSettings& live = core->live();
    if (!live.protected_mode() || live.password_required() || bind_is_loopback) return "";
    asio::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (!ec && IsLoopbackAddress(remote.address().to_string())) return "";
    return fmt::format(
        "-DENIED Ebb is running in protected mode: server.bind is {} and no password is set, so only clients "
        "on this machine (loopback) are served. Either set a password (server.requirepass or "
        "server.requirepass_file, or CONFIG SET requirepass <password> from a loopback client), or bind to "
        "127.0.0.1 only (server.bind), or, on a network you trust, turn protection off (server.protected_mode = "
        "false, or CONFIG SET server.protected_mode no from a loopback client).\r\n",
        core->settings().bind);
  }

  void WakeSweeper(IoThread* io) { io->sweeper.cancel(); }

  // Closes connections idle for server.idle_timeout_s. Arms a timer only
  // while the timeout is set and the thread has connections, so an idle
  // server makes no wakeups.
  asio::awaitable<void> Sweeper(IoThread* io) {
    while (!io->stopping) {
      const int64_t timeout_s = core->live().idle_timeout_s();
      if (timeout_s > 0 && !io->sessions.empty()) {
        const int64_t cutoff = core->clock()->NowMicros() - timeout_s * 1000000;
        std::vector<SessionBase*> idle;
        for (SessionBase* s : io->sessions) {
          if (s->IdleSince(cutoff)) idle.push_back(s);
        }
        for (SessionBase* s : idle) {
          core->stats().idle_disconnects.fetch_add(1, std::memory_order_relaxed);
          s->Close();
        }
        io->sweeper.expires_after(std::min<std::chrono::steady_clock::duration>(
            kSweepInterval, std::chrono::seconds(std::max<int64_t>(1, timeout_s))));
      } else {
        io->sweeper.expires_at(std::chrono::steady_clock::time_point::max());
      }
      asio::error_code ec;
      co_await io->sweeper.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
};

RespServer::RespServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RespServer::~RespServer() { Stop(); }

int RespServer::port() const { return impl_->port; }
int RespServer::tls_port() const { return impl_->tls_port; }

Result<std::unique_ptr<RespServer>> RespServer::Start(ServerCore* core) {
  auto impl = std::make_unique<Impl>();
  impl->core = core;
  const ServerSettings& settings = core->settings();
  const int io_threads = std::max(1, settings.io_threads);
  for (int i = 0; i < io_threads; i++) impl->threads.push_back(std::make_unique<IoThread>(core));
  asio::error_code ec;
  auto address = asio::ip::make_address(settings.bind, ec);
  if (ec) {
    return Status::InvalidArgument(
        fmt::format("server.bind: '{}' is not an IP address ({}); use e.g. 127.0.0.1 or 0.0.0.0", settings.bind,
                    ec.message()));
  }
  // Binds and listens on bind:port; errors name the setting to change.
  auto listen = [&](tcp::acceptor* acceptor, int port, std::string_view setting,
                    std::string_view flag) -> Result<int> {
    tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    auto fail = [&](std::string_view what) {
      return Status::IOError(fmt::format("ebb serve: cannot {} {}:{}: {}; is another server using the port? Set "
                                         "{}{}",
                                         what, settings.bind, port, ec.message(), setting, flag));
    };
    acceptor->open(endpoint.protocol(), ec);
    if (ec) return fail("open a socket for");
    acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    acceptor->bind(endpoint, ec);
    if (ec) return fail("bind");
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen on");
    return acceptor->local_endpoint(ec).port();
  };
  impl->acceptor.emplace(impl->threads[0]->ctx);
  EBB_ASSIGN_OR_RETURN(impl->port, listen(&*impl->acceptor, settings.port, "server.port", " or --port"));
  if (settings.tls_port != 0) {
    if (!core->tls_context()) return Status::InvalidArgument("server.tls_port is set but no TLS context was loaded");
    impl->tls_acceptor.emplace(impl->threads[0]->ctx);
    EBB_ASSIGN_OR_RETURN(impl->tls_port, listen(&*impl->tls_acceptor, settings.tls_port, "server.tls_port", ""));
  }
  impl->bind_is_loopback = address.is_loopback();

  Impl* raw = impl.get();
  for (auto& t : impl->threads) {
    IoThread* io = t.get();
    io->guard.emplace(asio::make_work_guard(io->ctx));
    asio::co_spawn(io->ctx, raw->Sweeper(io), asio::detached);
  }
  asio::co_spawn(impl->threads[0]->ctx, raw->AcceptLoop(&*raw->acceptor, /*tls=*/false), asio::detached);
  if (raw->tls_acceptor) {
    asio::co_spawn(impl->threads[0]->ctx, raw->AcceptLoop(&*raw->tls_acceptor, /*tls=*/true), asio::detached);
  }
  for (size_t i = 0; i < impl->threads.size(); i++) {
    IoThread* io = impl->threads[i].get();
    io->thread = std::thread([io, i] {
      SetCurrentThreadName(fmt::format("ebb-io-{}", i));
      io->ctx.run();
    });
  }
  return std::unique_ptr<RespServer>(new RespServer(std::move(impl)));
}

void RespServer::NotifySettingsChanged() {
  if (impl_->stopped.load()) return;
  for (auto& t : impl_->threads) {
    IoThread* io = t.get();
    asio::post(io->ctx, [io] { io->sweeper.cancel(); });
  }
}

void RespServer::Stop() {
  if (impl_->stopped.exchange(true)) return;
  Impl* impl = impl_.get();
  asio::post(impl->threads[0]->ctx, [impl] {
    asio::error_code ec;
    impl->acceptor->close(ec);
    if (impl->tls_acceptor) impl->tls_acceptor->close(ec);
  });
  for (auto& t : impl->threads) {
    IoThread* io = t.get();
    asio::post(io->ctx, [io] {
      io->stopping = true;
      io->sweeper.cancel();
      for (SessionBase* s : io->sessions) s->Close();
    });
    io->guard.reset();
  }
  // Each thread returns once its connections have finished their current
  // command (reads and writes in flight hold work guards).
  for (auto& t : impl->threads) {
    if (t->thread.joinable()) t->thread.join();
  }
}

}  // namespace ebb
