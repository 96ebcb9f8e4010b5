#include "http/client.h"

// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// of an Asio awaitable (operator new and delete are both Asio's own).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "http/client_error.h"
#include "http/deadline_sweep.h"
#include "http/request_head.h"
#include "http/source_ports.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <optional>
#include <span>
#include <stdexcept>
#include <tuple>
#include <unordered_set>
#include <type_traits>
#include <utility>

namespace conveyor::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Counter = std::atomic<std::uint64_t>;

// Errors come back as values: a failed request is routine here, not exceptional.
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// Interim (1xx) responses tolerated before the final one.
constexpr int max_interim_responses = 4;

// Most bytes one read asks for (Beast's async_read reads 64 KiB at most too).
constexpr std::size_t kReadChunk = 64 * 1024;

// Counters have one writer (the client's thread) and readers anywhere, so a
// relaxed load + store is enough and avoids a locked read-modify-write.
void add(Counter& counter, std::int64_t delta) {
  counter.store(counter.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(delta),
                std::memory_order_relaxed);
}

// Origin-form (RFC 9112 §3.2.1): "/" path, optional "?" query, only URI
// characters with well-formed %-escapes (Boost.URL checks; no allocation).
bool valid_origin_form(std::string_view target) {
  return !target.empty() && target.front() == '/' &&
         boost::urls::parse_origin_form(boost::urls::string_view(target.data(), target.size())).has_value();
}

const boost::system::error_category& beast_http_category() {
  return bhttp::make_error_code(bhttp::error::end_of_stream).category();
}

// The server went away: what an idle keep-alive connection closed on its
// side looks like on our next write or read.
bool closed_by_peer(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == asio::ssl::error::stream_truncated;
}

// Maps Beast's codes to the documented, Beast-free ones. A Beast timeout here
// is the request's deadline; connects say which deadline passed themselves.
error_code public_error(const error_code& ec) {
  if (ec == beast::error::timeout) return ClientError::request_timeout;
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    return Error::connection_closed;
  }
  if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return ClientError::response_too_large;
  }
  if (ec.category() == beast_http_category()) return Error::http_protocol;
  return ec;
}

// OpenSSL's queued reason for a failed setup call; never a success code.
error_code last_ssl_error() {
  const unsigned long reason = ::ERR_get_error();
  if (reason == 0) return make_error_code(boost::system::errc::invalid_argument);
  return {static_cast<int>(reason), asio::error::get_ssl_category()};
}

// Parses a response straight into a PartnerResponse: keeps the status, the
// Retry-After value and the first bytes of the body, and stores no other
// header, so a response costs no allocation beyond those strings. It counts
// the body itself (Beast's own limit would fail a too-long Content-Length
// before reporting the head complete): past `max_body` it stops with
// response_too_large, before reading further.
class ResponseParser final : public bhttp::basic_parser<false> {
 public:
  ResponseParser(PartnerResponse& out, std::uint64_t max_body, std::size_t keep)
      : out_(out), keep_(keep), max_body_(max_body) {
    body_limit(boost::none);
  }

  // The status line and every header have arrived.
  bool head_done() const { return head_done_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, error_code&) override {
    out_.status = static_cast<unsigned>(code);
  }
  void on_field_impl(bhttp::field name, beast::string_view, beast::string_view value,
                     error_code&) override {
    if (name == bhttp::field::retry_after) out_.retry_after.assign(value.data(), value.size());
  }
  void on_header_impl(error_code&) override { head_done_ = true; }
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override {
    if (length && *length > max_body_) {
      ec = ClientError::response_too_large;
      return;
    }
    if (length) {
      out_.body_prefix.reserve(static_cast<std::size_t>(
          std::min<std::uint64_t>(*length, keep_)));
    }
  }
  std::size_t on_body_impl(beast::string_view body, error_code& ec) override {
    count(body.size(), ec);  // a body read until the connection closes
    keep(body);
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t size, beast::string_view, error_code& ec) override {
    count(size, ec);
  }
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    keep(body);
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  void count(std::uint64_t bytes, error_code& ec) {
    body_size_ += bytes;
    if (body_size_ > max_body_) ec = ClientError::response_too_large;
  }
  void keep(beast::string_view piece) {
    const std::size_t room = keep_ - out_.body_prefix.size();
    out_.body_prefix.append(piece.data(), std::min(room, piece.size()));
  }

  PartnerResponse& out_;
  std::size_t keep_;  // body bytes to keep
  std::uint64_t max_body_;
  std::uint64_t body_size_ = 0;  // announced or received so far
  bool head_done_ = false;
};

// One keep-alive connection with the storage it reuses for every request.
// It is listed in its pool's registry for as long as it exists, idle, busy or
// connecting, so cancel_all() can reach the ones held by requests. While a
// request uses it, its deadline is armed on the pool's sweep, which closes the
// socket when it passes: the I/O in flight then fails, and expired() says why.
struct Connection final : DeadlineEntry {
  Connection(const asio::any_io_executor& executor, asio::ssl::context* tls,
             std::unordered_set<Connection*>& registry)
      : registry_(registry) {
    if (tls) {
      secure.emplace(executor, *tls);
    } else {
      plain.emplace(executor);
    }
    registry_.insert(this);
  }
  ~Connection() { registry_.erase(this); }
  tcp::socket& socket() { return secure ? secure->next_layer() : *plain; }
  template <class Stream>
  Stream& stream() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      return *plain;
    } else {
      return *secure;
    }
  }

  std::optional<tcp::socket> plain;  // exactly one of these
  std::optional<beast::ssl_stream<tcp::socket>> secure;
  beast::flat_buffer read_buffer;  // keeps its capacity across responses
  std::string head;                // request head, rewritten in place per request

 private:
  void on_deadline() override {
    error_code ignored;
    socket().close(ignored);
  }

  std::unordered_set<Connection*>& registry_;
};

// A coroutine parked until another one hands it something or its deadline
// passes. It lives in the waiting coroutine's frame; queues link it in place,
// so waiting allocates nothing and nothing polls.
struct Waiter {
  Waiter(const asio::any_io_executor& executor, Clock::time_point deadline)
      : timer(executor, deadline) {}
  ~Waiter();
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  asio::steady_timer timer;  // expires at the deadline; cancelled to wake early
  struct WaiterQueue* queue = nullptr;
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  bool woken = false;
  std::unique_ptr<Connection> connection;  // a slot waiter may be handed an idle connection
  error_code error;                        // a resolve waiter gets the lookup's outcome
};

// FIFO of parked waiters, intrusive (the links live in the Waiters).
struct WaiterQueue {
  bool empty() const { return head == nullptr; }
  void push_back(Waiter& w) {
    w.queue = this;
    w.prev = tail;
    w.next = nullptr;
    (tail ? tail->next : head) = &w;
    tail = &w;
  }
  void remove(Waiter& w) {
    (w.prev ? w.prev->next : head) = w.next;
    (w.next ? w.next->prev : tail) = w.prev;
    w.queue = nullptr;
    w.prev = w.next = nullptr;
  }
  Waiter* pop_front() {
    Waiter* w = head;
    if (w) remove(*w);
    return w;
  }

  Waiter* head = nullptr;
  Waiter* tail = nullptr;
};

// A waiter destroyed while queued (its coroutine torn down with the
// io_context) unlinks itself so the queue never holds a dangling pointer.
Waiter::~Waiter() {
  if (queue) queue->remove(*this);
}

void wake(Waiter& w) {
  w.woken = true;
  w.timer.cancel();
}

// Parks `w` on `queue` until woken (success), its deadline passes
// (timed_out) or the awaiting coroutine is cancelled (operation_aborted).
asio::awaitable<error_code> park(WaiterQueue& queue, Waiter& w) {
  queue.push_back(w);
  auto [ec] = co_await w.timer.async_wait(nothrow);
  // Woken wins over an expiry or cancellation that raced with it: the waker
  // already handed us a connection or a slot, which must not be lost.
  if (w.woken) co_return error_code{};
  queue.remove(w);
  co_return ec == asio::error::operation_aborted ? error_code(asio::error::operation_aborted)
                                                 : error_code(ClientError::request_timeout);
}

}  // namespace

class PartnerClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::any_io_executor executor, PartnerClientOptions options);

  // The plain or TLS instantiation of post_on, chosen once per client. An
  // empty `target` is the URL's own; an empty `key` sends none (then
  // `headers` must not be empty).
  asio::awaitable<Result<PartnerResponse>> post(std::string_view target, std::string_view body,
                                                 std::string_view key, std::span<const HeaderField> headers) {
    if (tls_) return post_on<beast::ssl_stream<tcp::socket>>(target, body, key, headers);
    return post_on<tcp::socket>(target, body, key, headers);
  }
  void shutdown();
  void cancel_all();

  PartnerClientCounters counters() const noexcept {
    return {connections_opened_.load(std::memory_order_relaxed),
            connections_open_.load(std::memory_order_relaxed),
            connections_reused_.load(std::memory_order_relaxed),
            stale_retries_.load(std::memory_order_relaxed),
            connect_failures_.load(std::memory_order_relaxed)};
  }
  const Target& target() const noexcept { return target_; }

 private:
  asio::awaitable<Result<std::unique_ptr<Connection>>> open_connection(Clock::time_point deadline);
  asio::awaitable<error_code> resolve(Clock::time_point deadline);
  void start_resolve();

  // One coroutine frame per request on the hot path: the exchange is inlined
  // rather than a nested coroutine, which would cost a frame allocation.
  template <class Stream>
  asio::awaitable<Result<PartnerResponse>> post_on(std::string_view target, std::string_view body,
                                                    std::string_view key, std::span<const HeaderField> headers);

  // Pool bookkeeping. A "slot" is the right to have one connection open or
  // opening; slots_used_ <= max_connections always.
  void release(std::unique_ptr<Connection> connection);
  void discard(std::unique_ptr<Connection> connection);
  void drop(std::unique_ptr<Connection>& connection);
  void free_slot();

  asio::any_io_executor executor_;
  PartnerClientOptions options_;
  Target target_;
  std::string port_text_;
  RequestHead head_;
  std::optional<asio::ssl::context> tls_;

  std::shared_ptr<DeadlineSweep> sweep_;             // outlives every Connection (declared before them)
  std::unordered_set<Connection*> connections_;     // every live Connection; outlives them all
  std::vector<std::unique_ptr<Connection>> idle_;  // LIFO: the warmest connection first
  std::size_t slots_used_ = 0;
  WaiterQueue slot_waiters_;

  tcp::resolver resolver_;
  tcp::resolver::results_type endpoints_;  // empty: resolve before the next connect
  bool resolving_ = false;
  WaiterQueue resolve_waiters_;

  Counter connections_opened_{0};
  Counter connections_open_{0};
  Counter connections_reused_{0};
  Counter stale_retries_{0};
  Counter connect_failures_{0};
};

namespace {

Target parse_or_throw(const std::string& url) {
  std::string why;
  auto target = parse_target(url, &why);
  if (!target) throw std::invalid_argument(fmt::format("partner URL: {}", why));
  return std::move(*target);
}

RequestHead checked_head(const Target& target, const PartnerClientOptions& options) {
  if (options.content_type.empty() || !valid_field_value(options.content_type)) {
    throw std::invalid_argument("partner client: content_type must be a valid header value");
  }
  if (options.max_connections == 0) {
    throw std::invalid_argument("partner client: max_connections must be at least 1");
  }
  if (options.request_timeout.count() <= 0 || options.connect_timeout.count() <= 0) {
    throw std::invalid_argument("partner client: timeouts must be positive");
  }
  return RequestHead(target.request_target, target.host_header, options.content_type, options.headers);
}

}  // namespace

PartnerClient::Impl::Impl(asio::any_io_executor executor, PartnerClientOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      target_(parse_or_throw(options_.url)),
      port_text_(std::to_string(target_.port)),
      head_(checked_head(target_, options_)),
      sweep_(std::make_shared<DeadlineSweep>(executor_)),
      resolver_(executor_) {
  if (target_.tls) {
    tls_.emplace(asio::ssl::context::tls_client);
    SSL_CTX* ctx = tls_->native_handle();
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
      throw std::runtime_error("partner TLS: cannot require TLS 1.2");
    }
    error_code ec;
    if (options_.tls_insecure) {
      tls_->set_verify_mode(asio::ssl::verify_none, ec);
    } else {
      tls_->set_verify_mode(asio::ssl::verify_peer, ec);
      if (!ec) {
        if (options_.tls_ca_file.empty()) {
          tls_->set_default_verify_paths(ec);
        } else {
          tls_->load_verify_file(options_.tls_ca_file, ec);
        }
      }
    }
    if (ec) {
      throw std::runtime_error(
          fmt::format("partner TLS: cannot load {}: {}",
                      options_.tls_ca_file.empty() ? "the system CA paths" : options_.tls_ca_file,
                      ec.message()));
    }
  }
  idle_.reserve(std::min<std::size_t>(options_.max_connections, 4096));
}

void PartnerClient::Impl::shutdown() {
  resolver_.cancel();  // the lookup's handler holds a reference to us until it runs
  sweep_->stop();      // its timer's handler too
  add(connections_open_, -static_cast<std::int64_t>(idle_.size()));
  idle_.clear();
}

void PartnerClient::Impl::cancel_all() {
  // Parked requests fail at once (their timers fire without a hand-over).
  while (Waiter* waiter = slot_waiters_.pop_front()) waiter->timer.cancel();
  while (Waiter* waiter = resolve_waiters_.pop_front()) waiter->timer.cancel();
  add(connections_open_, -static_cast<std::int64_t>(idle_.size()));
  idle_.clear();
  // Closing (not just cancelling) also fails a request that is between two
  // operations, which a cancel would miss.
  for (Connection* connection : connections_) {
    error_code ignored;
    connection->socket().close(ignored);
  }
}

template <class Stream>
asio::awaitable<Result<PartnerResponse>> PartnerClient::Impl::post_on(std::string_view target,
                                                                      std::string_view body,
                                                                      std::string_view key,
                                                                      std::span<const HeaderField> headers) {
  // If the io_context is destroyed before the client, parked frames are torn
  // down after us; holding the pool keeps their unlinking safe.
  const auto self = shared_from_this();
  if ((key.empty() && headers.empty()) || !valid_field_value(key) ||
      !std::all_of(headers.begin(), headers.end(), valid_extra_header) ||
      (!target.empty() && !valid_origin_form(target))) {
    co_return error_code(make_error_code(boost::system::errc::invalid_argument));
  }
  const auto deadline = Clock::now() + options_.request_timeout;

  // Take a slot: an idle connection (LIFO), room for a new one, or a wait.
  std::unique_ptr<Connection> connection;
  bool reused = false;
  if (!idle_.empty()) {
    connection = std::move(idle_.back());
    idle_.pop_back();
    reused = true;
  } else if (slots_used_ < options_.max_connections) {
    ++slots_used_;
  } else {
    Waiter waiter(executor_, deadline);
    if (const error_code ec = co_await park(slot_waiters_, waiter)) co_return ec;
    connection = std::move(waiter.connection);  // null: the slot is ours, connect
    reused = connection != nullptr;
  }

  // From here on this request owns one slot until release, discard or free_slot.
  PartnerResponse response;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    if (!connection) {
      auto opened = co_await open_connection(deadline);
      if (!opened) {
        free_slot();
        co_return opened.error();
      }
      connection = std::move(*opened);
      reused = false;
    }

    // The head is formatted by hand into the connection's own buffer: Beast's
    // fields container would allocate a node per header per request, and only
    // two values ever change. The body goes out as its own buffer, uncopied.
    head_.format(connection->head, target, body.size(), key, headers);
    const std::array<asio::const_buffer, 2> request{asio::buffer(connection->head),
                                                    asio::buffer(body.data(), body.size())};
    Stream& stream = connection->template stream<Stream>();
    sweep_->arm(*connection, deadline);  // one deadline for write and read together

    error_code failure;
    bool got_response_bytes = false;
    bool reusable = false;
    // A plain socket first tries the whole request in one non-blocking send: into an idle
    // keep-alive connection it nearly always fits, and then costs no asynchronous operation
    // (an op, a posted completion and a resumption of this frame). What does not fit goes
    // the asynchronous way.
    std::size_t sent = 0;
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      sent = stream.write_some(request, failure);
      if (failure == asio::error::would_block || failure == asio::error::try_again) failure = {};
    }
    const std::size_t total = asio::buffer_size(request);
    if (!failure && sent < total) {
      const std::array<asio::const_buffer, 2> rest =
          sent < request[0].size()
              ? std::array<asio::const_buffer, 2>{request[0] + sent, request[1]}
              : std::array<asio::const_buffer, 2>{asio::const_buffer(), request[1] + (sent - request[0].size())};
      auto [write_error, written] = co_await asio::async_write(stream, rest, nothrow);
      (void)written;
      failure = write_error;
    }
    beast::flat_buffer& buffer = connection->read_buffer;
    for (int interim = 0; !failure; ++interim) {
      if (interim > max_interim_responses) {
        failure = Error::http_protocol;
        break;
      }
      // One response, read as Beast's async_read reads it (parse what is buffered, read more,
      // an end of stream ends a body that runs until the close), but without its composed
      // operations' layers of handlers and executor work: the hot path of every delivery.
      ResponseParser parser(response, options_.max_response_body, options_.keep_body);
      parser.eager(true);
      while (!failure && !parser.is_done()) {
        if (buffer.size() > 0) {
          const std::size_t used = parser.put(buffer.data(), failure);
          buffer.consume(used);
          if (failure == bhttp::error::need_more) {
            failure = {};
          } else {
            continue;  // an error, or more of the message parsed
          }
        }
        const std::size_t room = beast::read_size(buffer, kReadChunk);
        if (room == 0) {
          failure = bhttp::error::buffer_overflow;
          break;
        }
        auto [read_error, bytes_read] = co_await stream.async_read_some(buffer.prepare(room), nothrow);
        buffer.commit(bytes_read);
        if (read_error == asio::error::eof && parser.got_some()) {
          parser.put_eof(failure);  // a body delimited by the close ends here, or is cut off
        } else if (read_error == asio::error::eof) {
          failure = bhttp::error::end_of_stream;
        } else {
          failure = read_error;
        }
      }
      got_response_bytes = got_response_bytes || parser.got_some();
      if (connection->expired()) failure = beast::error::timeout;
      if (failure) {
        // The status decides: a 2xx whose head arrived in full is the
        // partner's yes, whatever its body then does (too large, cut off,
        // late, malformed). The connection, its body unread, is closed.
        if (options_.accept_2xx_at_headers && parser.head_done() && response.delivered()) failure = {};
        break;
      }
      if (response.status >= 200) {
        // Leftover bytes would be an unasked-for response: do not trust the
        // connection with another request.
        reusable = parser.keep_alive() && buffer.size() == 0;
        break;
      }
      if (response.status == 101) {  // we never ask to switch protocols
        failure = Error::http_protocol;
        break;
      }
      response = PartnerResponse{};  // 100 Continue, 103 Early Hints: the real one follows
    }
    if (connection->expired()) reusable = false;  // the sweep closed it as the answer came in
    sweep_->disarm(*connection);

    if (!failure) {
      if (reused) add(connections_reused_, 1);
      if (reusable) {
        release(std::move(connection));
      } else {
        discard(std::move(connection));
      }
      co_return std::move(response);
    }

    // An idle connection the server closed meanwhile fails on its first
    // write or before any response byte. Sending again on a fresh connection
    // is safe even if the server did see the first copy: every request
    // carries an Idempotency-Key, so the partner applies it at most once.
    // Only once, and never after a response started or on a new connection.
    const bool stale = reused && attempt == 1 && !got_response_bytes && closed_by_peer(failure);
    drop(connection);
    if (!stale) {
      free_slot();
      co_return public_error(failure);
    }
    add(stale_retries_, 1);
    response = PartnerResponse{};
  }
  free_slot();  // unreachable: the second attempt always returns
  co_return error_code(Error::connection_closed);
}

asio::awaitable<Result<std::unique_ptr<Connection>>> PartnerClient::Impl::open_connection(
    Clock::time_point request_deadline) {
  const auto connect_deadline = Clock::now() + options_.connect_timeout;
  const auto deadline = std::min(request_deadline, connect_deadline);
  // Which deadline a timeout in this stage (lookup, connect, handshake) ran into.
  const error_code timed_out = connect_deadline < request_deadline ? error_code(ClientError::connect_timeout)
                                                                   : error_code(ClientError::request_timeout);
  if (endpoints_.empty()) {
    if (const error_code ec = co_await resolve(deadline)) {
      add(connect_failures_, 1);
      co_return ec == ClientError::request_timeout ? timed_out : ec;
    }
  }
  // A copy (shared, cheap): a failing connect elsewhere may clear the cache.
  const tcp::resolver::results_type endpoints = endpoints_;

  // Beast's connect does not check an already passed expiry: do not send a
  // SYN for a request that has already run out of time.
  if (deadline <= Clock::now()) co_return timed_out;

  auto connection = std::make_unique<Connection>(executor_, tls_ ? &*tls_ : nullptr, connections_);
  sweep_->arm(*connection, deadline);  // covers the TLS handshake too; the request re-arms it
  // Each address in turn, as asio::async_connect would, on a socket opened here so that it can
  // take its source-port option before connecting.
  error_code connect_error = asio::error::host_not_found;
  for (const auto& entry : endpoints) {
    tcp::socket& socket = connection->socket();
    error_code ignored;
    socket.close(ignored);
    socket.open(entry.endpoint().protocol(), connect_error);
    if (connect_error) continue;
    use_system_port_range(socket);
    std::tie(connect_error) = co_await socket.async_connect(entry.endpoint(), nothrow);
    if (!connect_error || connection->expired()) break;
  }
  if (connection->expired()) connect_error = beast::error::timeout;
  if (connect_error) {
    endpoints_ = {};  // the partner may have moved: look it up again next time
    add(connect_failures_, 1);
    if (connect_error == beast::error::timeout) co_return timed_out;
    // The kernel gave up on the SYN before either of our deadlines.
    if (connect_error == asio::error::timed_out) co_return error_code(ClientError::connect_timeout);
    co_return public_error(connect_error);
  }
  error_code ec;
  connection->socket().set_option(tcp::no_delay(true), ec);  // small requests: do not wait for ACKs
  // Synchronous writes must never block the lane's thread (post_on's first try).
  if (!ec) connection->socket().non_blocking(true, ec);

  if (!ec && connection->secure) {
    SSL* ssl = connection->secure->native_handle();
    if (!target_.host_is_ip && SSL_set_tlsext_host_name(ssl, target_.host.c_str()) != 1) {
      ec = last_ssl_error();
    }
    if (!ec && !options_.tls_insecure) {
      // OpenSSL checks the name (or IP) during the handshake.
      const int ok = target_.host_is_ip
                         ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target_.host.c_str())
                         : SSL_set1_host(ssl, target_.host.c_str());
      if (ok != 1) ec = last_ssl_error();
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);  // as browsers and curl
    }
    if (!ec) {
      std::tie(ec) =
          co_await connection->secure->async_handshake(asio::ssl::stream_base::client, nothrow);
    }
  }
  if (connection->expired()) ec = beast::error::timeout;
  sweep_->disarm(*connection);
  if (ec) {
    add(connect_failures_, 1);
    co_return ec == beast::error::timeout ? timed_out : public_error(ec);
  }
  add(connections_opened_, 1);
  add(connections_open_, 1);
  co_return std::move(connection);
}

// Lookups are shared: whoever needs the address while one is running waits
// for it (bounded by its own deadline) instead of starting another.
asio::awaitable<error_code> PartnerClient::Impl::resolve(Clock::time_point deadline) {
  if (!resolving_) start_resolve();
  Waiter waiter(executor_, deadline);
  if (const error_code ec = co_await park(resolve_waiters_, waiter)) co_return ec;
  co_return waiter.error;
}

void PartnerClient::Impl::start_resolve() {
  resolving_ = true;
  auto flags = tcp::resolver::numeric_service;
  if (target_.host_is_ip) flags |= tcp::resolver::numeric_host;
  // A plain handler rather than a coroutine: the lookup is not tied to any one
  // request, and keeps the pool alive until it completes.
  resolver_.async_resolve(
      target_.host, port_text_, flags,
      [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
        self->resolving_ = false;
        if (!ec && results.empty()) ec = asio::error::host_not_found;
        if (!ec) self->endpoints_ = std::move(results);
        while (Waiter* waiter = self->resolve_waiters_.pop_front()) {
          waiter->error = ec;
          wake(*waiter);
        }
      });
}

void PartnerClient::Impl::release(std::unique_ptr<Connection> connection) {
  if (Waiter* waiter = slot_waiters_.pop_front()) {
    waiter->connection = std::move(connection);
    wake(*waiter);
    return;
  }
  idle_.push_back(std::move(connection));
}

void PartnerClient::Impl::discard(std::unique_ptr<Connection> connection) {
  drop(connection);
  free_slot();
}

// Closes the socket but keeps the slot (the caller frees or reuses it).
void PartnerClient::Impl::drop(std::unique_ptr<Connection>& connection) {
  if (!connection) return;
  connection.reset();
  add(connections_open_, -1);
}

void PartnerClient::Impl::free_slot() {
  if (Waiter* waiter = slot_waiters_.pop_front()) {
    wake(*waiter);  // the slot passes straight to the longest waiter
    return;
  }
  --slots_used_;
}

PartnerClient::PartnerClient(boost::asio::any_io_executor executor, PartnerClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

PartnerClient::~PartnerClient() {
  if (impl_) impl_->shutdown();
}

boost::asio::awaitable<Result<PartnerResponse>> PartnerClient::post(
    std::string_view body, std::string_view idempotency_key) {
  return impl_->post({}, body, idempotency_key, {});  // an empty key with no headers: invalid_argument
}

boost::asio::awaitable<Result<PartnerResponse>> PartnerClient::post(std::string_view target, std::string_view body,
                                                                    std::string_view idempotency_key,
                                                                    std::span<const HeaderField> headers) {
  // Impl sends no key when it is empty; here one is required, so an empty
  // key goes in as one that fails validation (CR), before any I/O.
  constexpr std::string_view unusable_key = "\r";
  return impl_->post(target, body, idempotency_key.empty() ? unusable_key : idempotency_key, headers);
}

boost::asio::awaitable<Result<PartnerResponse>> PartnerClient::post(std::string_view body,
                                                                    std::span<const HeaderField> headers) {
  return impl_->post({}, body, {}, headers);
}

void PartnerClient::cancel_all() { impl_->cancel_all(); }

PartnerClientCounters PartnerClient::counters() const noexcept { return impl_->counters(); }

const Target& PartnerClient::target() const noexcept { return impl_->target(); }

}  // namespace conveyor::http
