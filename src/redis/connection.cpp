#include "redis/connection.h"
#include "redis/cluster_connection.h"

// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// of an Asio awaitable (operator new and delete are both Asio's own).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <deque>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "redis/command_encoding.h"
#include "redis/reply_reader.h"
#include "redis/sentinel.h"

namespace conveyor::redis {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = ssl::stream<tcp::socket>;

using Token = asio::as_tuple_t<asio::use_awaitable_t<>>;
constexpr Token use_tuple{asio::use_awaitable};
using RepliesHandler = asio::any_completion_handler<void(error_code, std::vector<Reply>)>;

// A write buffer that once carried a huge value is not kept around.
constexpr std::size_t kKeptBufferCapacity = 1 << 20;
constexpr std::size_t kReadChunk = 64 * 1024;

// ---- the shared state behind a Connection ---------------------------------

// Peer hang-ups all read as "connection closed"; anything else keeps Asio's
// or OpenSSL's own name.
error_code transport_error(error_code ec) {
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return Error::connection_closed;
  return ec;
}

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, TlsStream>;

// The socket, the outgoing bytes and the callers waiting for replies. Every
// I/O in flight holds a shared_ptr to it, so the Connection that fronts it can
// go away at any moment.
template <class Stream>
class Pipe final : public std::enable_shared_from_this<Pipe<Stream>> {
 public:
  Pipe(asio::any_io_executor executor, std::unique_ptr<ssl::context> tls_context,
       std::chrono::milliseconds reply_timeout, bool follows_failover)
      : executor_(executor),
        reply_timeout_(reply_timeout),
        follows_failover_(follows_failover),
        tls_context_(std::move(tls_context)),
        stream(make_stream(executor, tls_context_.get())),
        inbox_(std::make_unique<std::array<char, kReadChunk>>()),
        watchdog_(executor) {}

  tcp::socket& socket() {
    if constexpr (is_tls<Stream>) return stream.next_layer();
    else return stream;
  }

  bool failed() const { return static_cast<bool>(failure_); }

  // Queues `expected` commands written by `format` and the handler that wants
  // their replies. Commands that arrive while a write is in flight join the
  // next write, so N concurrent callers cost about one syscall, not N.
  template <class Format, class Handler>
  void submit(std::size_t expected, Format&& format, Handler&& handler) {
    // The executor is taken from the concrete handler: once type-erased, it
    // only offers an executor that post() cannot use.
    asio::any_io_executor executor = asio::get_associated_executor(handler, executor_);
    Waiter waiter{expected, {}, RepliesHandler(std::forward<Handler>(handler)), std::move(executor),
                  std::chrono::steady_clock::now()};
    if (failure_) return complete(std::move(waiter), failure_);
    const std::size_t mark = outbox_.size();
    if (!format(outbox_)) {
      outbox_.resize(mark);
      return complete(std::move(waiter), asio::error::invalid_argument);
    }
    waiter.replies.reserve(expected);
    waiting_.push_back(std::move(waiter));
    if (!watching_) watch();
    if (!writing_) start_write();
  }

  // The read loop runs from the connect until the pipe fails. Its handler is
  // destroyed uncalled only when the io_context is torn down; it then drops
  // the waiters' handlers, whose frames may own this pipe's Connection: else
  // pipe and frames would hold each other for ever.
  void start_read() {
    stream.async_read_some(asio::buffer(*inbox_), [loop = ReadLoop{this->shared_from_this()}](
                                                      error_code ec, std::size_t n) mutable {
      const auto pipe = std::move(loop.pipe);
      pipe->on_read(ec, n);
    });
  }

  // Closes the socket and fails everyone waiting; later submits fail at once.
  void fail(error_code ec) {
    if (failure_) return;
    failure_ = ec;
    error_code ignored;
    socket().close(ignored);
    watchdog_.cancel();
    outbox_.clear();
    auto waiting = std::exchange(waiting_, {});
    for (auto& waiter : waiting) complete(std::move(waiter), ec);
  }

 private:
  struct ReadLoop {
    std::shared_ptr<Pipe> pipe;  // null once run or moved from
    explicit ReadLoop(std::shared_ptr<Pipe> p) : pipe(std::move(p)) {}
    ReadLoop(ReadLoop&&) noexcept = default;
    ReadLoop& operator=(ReadLoop&&) = delete;
    ~ReadLoop() {
      if (pipe) pipe->abandon();
    }
  };

  // The io_context is going away: nobody will be answered or resumed.
  void abandon() {
    if (!failure_) failure_ = asio::error::operation_aborted;
    watchdog_.cancel();
    outbox_.clear();
    auto dropped = std::exchange(waiting_, {});
    dropped.clear();  // may destroy our Connection, which calls fail(): a no-op by now
  }

  struct Waiter {
    std::size_t expected;
    std::vector<Reply> replies;
    RepliesHandler handler;
    asio::any_io_executor executor;  // the handler's own, where it must run
    std::chrono::steady_clock::time_point since;  // when it was submitted
  };

  // One timer for the whole pipe, set for the oldest unanswered command.
  void watch() {
    watching_ = true;
    watchdog_.expires_at(waiting_.front().since + reply_timeout_);
    watchdog_.async_wait([self = this->shared_from_this()](error_code ec) { self->on_watchdog(ec); });
  }

  void on_watchdog(error_code ec) {
    watching_ = false;
    if (ec || failure_ || waiting_.empty()) return;
    if (std::chrono::steady_clock::now() >= waiting_.front().since + reply_timeout_) {
      return fail(asio::error::timed_out);
    }
    watch();  // the oldest command is a newer one now
  }

  static Stream make_stream(asio::any_io_executor executor, ssl::context* tls_context) {
    if constexpr (is_tls<Stream>) return Stream(executor, *tls_context);
    else return Stream(executor);
  }

  // Completions are posted, never run inline: a caller resumed from inside
  // our read loop could otherwise close or re-enter the pipe mid-iteration.
  void complete(Waiter waiter, error_code ec) {
    if (ec) waiter.replies.clear();
    auto executor = std::move(waiter.executor);
    asio::post(executor, [handler = std::move(waiter.handler), ec, replies = std::move(waiter.replies)]() mutable {
      std::move(handler)(ec, std::move(replies));
    });
  }

  void start_write() {
    writing_ = true;
    sending_.swap(outbox_);
    asio::async_write(stream, asio::buffer(sending_), [self = this->shared_from_this()](error_code ec, std::size_t) {
      self->on_written(ec);
    });
  }

  void on_written(error_code ec) {
    writing_ = false;
    sending_.clear();
    if (sending_.capacity() > kKeptBufferCapacity) std::string().swap(sending_);
    if (ec) return fail(transport_error(ec));
    if (!failure_ && !outbox_.empty()) start_write();
  }

  void on_read(error_code ec, std::size_t n) {
    if (failure_) return;
    if (ec) return fail(transport_error(ec));
    if (!reader_.feed(std::string_view(inbox_->data(), n))) return fail(Error::redis_protocol);
    while (true) {
      auto reply = reader_.next();
      if (!reply) return fail(reply.error());
      if (!*reply) break;
      deliver(std::move(**reply));
      if (failure_) return;
    }
    start_read();
  }

  // Redis answers strictly in order, so the reply belongs to the oldest waiter.
  void deliver(Reply reply) {
    if (waiting_.empty()) return fail(Error::redis_protocol);  // an answer nobody asked for
    const bool demoted = follows_failover_ && is_demoted(reply);
    auto& front = waiting_.front();
    front.replies.push_back(std::move(reply));
    if (front.replies.size() >= front.expected) {
      auto done = std::move(front);
      waiting_.pop_front();
      complete(std::move(done), {});
    }
    // Sentinel failed this server over (a replica now) or it is loading a data set after a
    // restart: the caller has its error reply, and the owner's reconnect asks the sentinels.
    if (demoted) fail(Error::connection_closed);
  }

  static bool is_demoted(const Reply& reply) {
    return reply.is_error() && (reply.string.starts_with("READONLY") || reply.string.starts_with("LOADING"));
  }

  asio::any_io_executor executor_;
  std::chrono::milliseconds reply_timeout_;
  bool follows_failover_;  // a master named by the sentinels: see deliver()
  std::unique_ptr<ssl::context> tls_context_;  // outlives the stream that uses it

 public:
  Stream stream;

 private:
  ReplyReader reader_;
  std::unique_ptr<std::array<char, kReadChunk>> inbox_;
  std::string outbox_;   // formatted commands waiting for the next write
  std::string sending_;  // the bytes of the write in flight
  bool writing_ = false;
  asio::steady_timer watchdog_;
  bool watching_ = false;
  std::deque<Waiter> waiting_;
  error_code failure_;
};

template <class Stream>
class ConnectionImpl final : public Connection {
 public:
  explicit ConnectionImpl(std::shared_ptr<Pipe<Stream>> pipe) : pipe_(std::move(pipe)) {}
  ~ConnectionImpl() override { pipe_->fail(Error::connection_closed); }

  // Neither coroutine touches `this` after resuming: the Connection may be
  // gone by then, the pipe they hold is not.
  asio::awaitable<Result<Reply>> command(std::span<const std::string_view> args) override {
    // The frame's `pipe` keeps the pipe alive. GCC 12 may destroy the
    // temporaries of a co_await expression twice (structured bindings too),
    // so the initiation captures only trivially destructible things.
    const auto pipe = pipe_;
    Pipe<Stream>* raw = pipe.get();
    auto outcome = co_await asio::async_initiate<const Token&, void(error_code, std::vector<Reply>)>(
        [raw, args](auto handler) {
          raw->submit(1, [args](std::string& out) { return append_command(out, args); }, std::move(handler));
        },
        use_tuple);
    if (const error_code ec = std::get<0>(outcome)) co_return ec;
    co_return std::move(std::get<1>(outcome).front());
  }

  asio::awaitable<Result<std::vector<Reply>>> pipeline(
      std::span<const std::vector<std::string_view>> commands) override {
    if (commands.empty()) co_return std::vector<Reply>{};
    const auto pipe = pipe_;  // see command()
    Pipe<Stream>* raw = pipe.get();
    auto outcome = co_await asio::async_initiate<const Token&, void(error_code, std::vector<Reply>)>(
        [raw, commands](auto handler) {
          raw->submit(
              commands.size(),
              [commands](std::string& out) {
                for (const auto& command : commands) {
                  if (!append_command(out, command)) return false;
                }
                return true;
              },
              std::move(handler));
        },
        use_tuple);
    if (const error_code ec = std::get<0>(outcome)) co_return ec;
    co_return std::move(std::get<1>(outcome));
  }

  bool is_open() const override { return !pipe_->failed(); }
  void close() override { pipe_->fail(Error::connection_closed); }

 private:
  std::shared_ptr<Pipe<Stream>> pipe_;
};

// ---- connecting -----------------------------------------------------------

// The deadline of one connect: when it fires, everything in progress (resolve,
// connect, handshake, AUTH) is cut off and the attempt reads as timed_out.
struct Deadline {
  explicit Deadline(const asio::any_io_executor& executor) : resolver(executor), timer(executor) {}
  tcp::resolver resolver;
  asio::steady_timer timer;
  bool expired = false;
  bool finished = false;
};

bool is_ip_address(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Replaces every occurrence of the password, so that no server text we pass
// on can leak it.
std::string scrub(std::string text, const std::string& password) {
  if (password.empty()) return text;
  for (auto at = text.find(password); at != std::string::npos; at = text.find(password, at + 3)) {
    text.replace(at, password.size(), "***");
  }
  return text;
}

Result<std::unique_ptr<ssl::context>> make_tls_context(const Endpoint& endpoint, std::string* why) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (!endpoint.tls_verify) {
    context->set_verify_mode(ssl::verify_none, ec);
  } else if (endpoint.tls_ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec && why) *why = fmt::format("cannot load the system CA paths: {}", ec.message());
  } else {
    context->load_verify_file(endpoint.tls_ca_file, ec);
    if (ec && why) *why = fmt::format("cannot load CA file {}: {}", endpoint.tls_ca_file, ec.message());
  }
  if (ec) return ec;
  return context;
}

template <class Stream>
asio::awaitable<Result<std::unique_ptr<Connection>>> open(asio::any_io_executor executor, Endpoint endpoint,
                                                          std::chrono::milliseconds timeout,
                                                          std::unique_ptr<ssl::context> tls_context,
                                                          bool follows_failover, std::string* why) {
  auto pipe =
      std::make_shared<Pipe<Stream>>(executor, std::move(tls_context), endpoint.reply_timeout, follows_failover);
  auto deadline = std::make_shared<Deadline>(executor);
  deadline->timer.expires_after(timeout);
  deadline->timer.async_wait([deadline, weak = std::weak_ptr(pipe)](error_code ec) {
    if (ec || deadline->finished) return;
    deadline->expired = true;
    deadline->resolver.cancel();
    if (auto pipe = weak.lock()) pipe->fail(asio::error::timed_out);
  });
  struct Disarm {
    Deadline& deadline;
    ~Disarm() {
      deadline.finished = true;
      deadline.timer.cancel();
    }
  } disarm{*deadline};

  const std::string where = endpoint.to_string();
  auto failure = [&](error_code ec, std::string_view what) -> error_code {
    if (deadline->expired) ec = asio::error::timed_out;
    if (why) *why = fmt::format("{} {}: {}", what, where, ec.message());
    return ec;
  };

  // No structured bindings across co_await: GCC 12 destroys them twice.
  auto resolved = co_await deadline->resolver.async_resolve(endpoint.host, std::to_string(endpoint.port), use_tuple);
  const error_code resolve_ec = std::get<0>(resolved);
  if (resolve_ec || deadline->expired) co_return failure(resolve_ec, "cannot resolve");
  const auto& found = std::get<1>(resolved);

  // One address at a time, so the deadline can stop us between them.
  error_code connect_ec = asio::error::host_not_found;
  for (const auto& entry : found) {
    if (pipe->failed()) break;
    error_code ignored;
    pipe->socket().close(ignored);
    std::tie(connect_ec) = co_await pipe->socket().async_connect(entry.endpoint(), use_tuple);
    if (!connect_ec) break;
  }
  if (connect_ec || deadline->expired) co_return failure(connect_ec, "cannot connect to");
  error_code ignored;
  pipe->socket().set_option(tcp::no_delay(true), ignored);  // pipelined replies must not wait for Nagle
  pipe->socket().set_option(asio::socket_base::keep_alive(true), ignored);

  if constexpr (is_tls<Stream>) {
    if (!is_ip_address(endpoint.host)) SSL_set_tlsext_host_name(pipe->stream.native_handle(), endpoint.host.c_str());
    if (endpoint.tls_verify) {
      pipe->stream.set_verify_mode(ssl::verify_peer, ignored);
      pipe->stream.set_verify_callback(ssl::host_name_verification(endpoint.host), ignored);
    }
    error_code handshake_ec;
    std::tie(handshake_ec) = co_await pipe->stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (handshake_ec || deadline->expired) co_return failure(handshake_ec, "TLS handshake failed with");
  }

  pipe->start_read();
  auto connection = std::make_unique<ConnectionImpl<Stream>>(pipe);

  std::vector<std::vector<std::string_view>> login;
  const bool auth = !endpoint.password.empty();
  if (auth && endpoint.username.empty()) login.push_back({"AUTH", endpoint.password});
  if (auth && !endpoint.username.empty()) login.push_back({"AUTH", endpoint.username, endpoint.password});
  const std::string db = std::to_string(endpoint.db);
  if (endpoint.db != 0) login.push_back({"SELECT", db});
  if (!login.empty()) {
    auto replies = co_await connection->pipeline(login);
    if (!replies) co_return failure(replies.error(), "lost connection during login to");
    if (auth && replies->front().is_error()) {
      if (why) {
        *why =
            fmt::format("Redis at {} refused the login: {}", where, scrub(replies->front().string, endpoint.password));
      }
      co_return make_error_code(ConnectError::auth_failed);
    }
    if (endpoint.db != 0 && replies->back().is_error()) {
      if (why) {
        *why = fmt::format("Redis at {} refused SELECT {}: {}", where, db,
                           scrub(replies->back().string, endpoint.password));
      }
      co_return make_error_code(ConnectError::select_failed);
    }
  }
  co_return std::unique_ptr<Connection>(std::move(connection));
}

asio::awaitable<Result<std::unique_ptr<Connection>>> connect_to(asio::any_io_executor executor,
                                                                 const Endpoint& endpoint,
                                                                 std::chrono::milliseconds timeout,
                                                                 bool follows_failover, std::string* why) {
  if (!endpoint.tls) {
    co_return co_await open<tcp::socket>(executor, endpoint, timeout, nullptr, follows_failover, why);
  }
  auto context = make_tls_context(endpoint, why);
  if (!context) co_return context.error();
  co_return co_await open<TlsStream>(executor, endpoint, timeout, std::move(*context), follows_failover, why);
}

// redis+sentinel://: the master the sentinels name now, if it says so itself (ROLE): right
// after a failover a sentinel may still name the old master, back as a replica.
asio::awaitable<Result<std::unique_ptr<Connection>>> connect_to_master(asio::any_io_executor executor,
                                                                       const Endpoint& endpoint,
                                                                       std::chrono::milliseconds timeout,
                                                                       std::string* why) {
  auto master = co_await resolve_master(executor, endpoint, timeout, why);
  if (!master) co_return master.error();
  auto connection = co_await connect_to(executor, *master, timeout, true, why);
  if (!connection) co_return connection.error();
  const std::array<std::string_view, 1> role_command = {"ROLE"};
  auto role = co_await (*connection)->command(role_command);
  if (!role) {
    if (why) *why = fmt::format("lost the connection to {} asking its ROLE: {}", master->to_string(), role.error().message());
    co_return role.error();
  }
  const bool is_master = role->type == Reply::Type::array && !role->elements.empty() &&
                         role->elements.front().string == "master";
  if (!is_master) {
    if (why) {
      *why = fmt::format("Redis at {}, named master of '{}' by the sentinels, answers ROLE with {}",
                         master->to_string(), endpoint.master_name,
                         role->is_error() ? scrub(role->string, endpoint.password)
                                          : role->elements.empty() ? std::string("nothing")
                                                                   : "'" + role->elements.front().string + "'");
    }
    co_return make_error_code(ConnectError::not_master);
  }
  co_return std::move(*connection);
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<Connection>>> Connection::connect(asio::any_io_executor executor,
                                                                         const Endpoint& endpoint,
                                                                         std::chrono::milliseconds timeout,
                                                                         std::string* why) {
  if (endpoint.cluster) co_return co_await ClusterConnection::connect(executor, endpoint, timeout, why);
  if (!endpoint.sentinels.empty()) co_return co_await connect_to_master(executor, endpoint, timeout, why);
  co_return co_await connect_to(executor, endpoint, timeout, false, why);
}

// ---- scripts --------------------------------------------------------------

Script::Script(std::string source) : source_(std::move(source)) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(source_.data(), source_.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("SHA1 of a Redis script failed");  // startup only
  }
  static constexpr char hex[] = "0123456789abcdef";
  sha1_.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    sha1_.push_back(hex[digest[i] >> 4]);
    sha1_.push_back(hex[digest[i] & 0xf]);
  }
}

asio::awaitable<Result<Reply>> Script::run(Connection& connection, std::span<const std::string_view> keys,
                                           std::span<const std::string_view> args) const {
  const std::string key_count = std::to_string(keys.size());
  const std::vector<std::string_view> evalsha = evalsha_arguments(sha1_, key_count, keys, args);

  auto reply = co_await connection.command(evalsha);
  if (!reply || !reply->is_error() || !reply->string.starts_with("NOSCRIPT")) co_return reply;

  // The server lost its script cache (restart, failover, SCRIPT FLUSH). On a cluster the slot
  // may move between the load and the EVALSHA (which then runs where the script is unknown):
  // load it there too, a bounded number of times.
  const std::vector<std::vector<std::string_view>> reload{{"SCRIPT", "LOAD", source_}, evalsha};
  for (int attempt = 0;; ++attempt) {
    auto replies = co_await connection.pipeline(reload);
    if (!replies) co_return replies.error();
    if (replies->front().is_error()) co_return std::move(replies->front());
    const Reply& last = replies->back();
    if (attempt < 2 && last.is_error() && last.string.starts_with("NOSCRIPT")) continue;
    co_return std::move(replies->back());
  }
}

}  // namespace conveyor::redis
