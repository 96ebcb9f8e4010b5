#include "http/server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <exception>
#include <iterator>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/intrusive/list.hpp>
#include <fmt/format.h>

namespace conveyor::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace bi = boost::intrusive;
using tcp = net::ip::tcp;
using Socket = net::basic_stream_socket<tcp, net::io_context::executor_type>;
using Parser = bhttp::request_parser<bhttp::string_body>;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// Bounds what one connection can make us buffer: the parser consumes the body
// as it arrives, so this only has to hold a header (limited to 8 KiB by the
// parser) and a read's worth of pipelined bytes. Idle connections keep only
// what they used, typically 512 bytes.
constexpr std::size_t kReadBufferLimit = 16 * 1024;

// A live connection, registered with its thread so that stop() can reach it.
// Lives in the connection's coroutine frame; unlinks itself when destroyed.
struct Session : bi::list_base_hook<bi::link_mode<bi::auto_unlink>> {
  explicit Session(Socket& s) : socket(s) {}

  void stop() {
    stopped = true;
    cancel.emit(net::cancellation_type::terminal);  // a handler's timer, if bound
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);  // ends a pending read or write
  }

  Socket& socket;
  net::cancellation_signal cancel;
  bool stopped = false;
};
using SessionList = bi::list<Session, bi::constant_time_size<false>>;

struct Worker {
  // Declared before the io_context: frames destroyed with the context unlink
  // their sessions from a list that still exists.
  SessionList sessions;
  net::io_context context{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
};

std::string_view find_header(const void* headers, std::string_view name) {
  const auto& fields = *static_cast<const bhttp::fields*>(headers);
  const auto it = fields.find(name);
  if (it == fields.end()) return {};
  const auto value = it->value();  // boost::core::string_view in Boost 1.81
  return {value.data(), value.size()};
}

// Splits "host:port" or "[v6]:port".
std::optional<std::pair<std::string, std::uint16_t>> split_listen(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535 ||
      host.empty()) {
    return std::nullopt;
  }
  return std::pair{std::string(host), static_cast<std::uint16_t>(port)};
}

// The status line and headers, written by hand into a buffer the connection
// reuses: no serializer and no header allocations per response.
void format_head(fmt::memory_buffer& head, unsigned status, std::string_view content_type,
                 std::size_t content_length, std::string_view extra_name,
                 std::string_view extra_value, bool keep_alive, bool http10) {
  head.clear();
  auto out = std::back_inserter(head);
  const auto reason = bhttp::obsolete_reason(bhttp::int_to_status(status));
  fmt::format_to(out, "HTTP/1.1 {} {}\r\n", status, reason);
  if (!content_type.empty()) fmt::format_to(out, "Content-Type: {}\r\n", content_type);
  fmt::format_to(out, "Content-Length: {}\r\n", content_length);
  if (!extra_name.empty()) fmt::format_to(out, "{}: {}\r\n", extra_name, extra_value);
  if (!keep_alive) {
    fmt::format_to(out, "Connection: close\r\n");
  } else if (http10) {
    fmt::format_to(out, "Connection: keep-alive\r\n");
  }
  fmt::format_to(out, "\r\n");
}

// The status that answers a request we could not read, or 0 to just close.
unsigned status_for_read_error(const error_code& ec) {
  if (ec.category() != bhttp::make_error_code(bhttp::error::end_of_stream).category()) return 0;
  switch (static_cast<bhttp::error>(ec.value())) {
    case bhttp::error::end_of_stream:
    case bhttp::error::partial_message: return 0;  // the client went away
    case bhttp::error::body_limit: return 413;
    case bhttp::error::header_limit:
    case bhttp::error::buffer_overflow: return 431;
    default: return 400;
  }
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, ServerHandler& h) : options(std::move(o)), handler(h) {
    const unsigned n =
        options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    workers.reserve(n);
    for (unsigned i = 0; i < n; ++i) workers.push_back(std::make_unique<Worker>());
  }

  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(Worker& worker, Socket socket);

  ServerOptions options;
  ServerHandler& handler;
  std::vector<std::unique_ptr<Worker>> workers;
  // After the workers: the acceptor is deregistered before its io_context dies.
  std::optional<tcp::acceptor> acceptor;
  tcp::endpoint endpoint;
  std::atomic<bool> stopping{false};
  bool started = false;
  bool joined = false;
};

net::awaitable<void> Server::Impl::accept_loop() {
  std::size_t next = 0;
  while (!stopping.load()) {
    Worker& worker = *workers[next];
    next = (next + 1) % workers.size();
    auto [ec, socket] = co_await acceptor->async_accept(worker.context, use_tuple);
    if (stopping.load() || ec == net::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors (EMFILE) and the like: retrying at once would spin,
      // so give connections time to close.
      net::steady_timer backoff(co_await net::this_coro::executor, std::chrono::milliseconds(20));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    net::co_spawn(worker.context, serve(worker, std::move(socket)), net::detached);
  }
}

net::awaitable<void> Server::Impl::serve(Worker& worker, Socket socket) {
  Session session(socket);
  // stop() may have swept this thread's sessions before this one started.
  if (stopping.load()) co_return;
  worker.sessions.push_back(session);

  beast::flat_buffer buffer(kReadBufferLimit);
  fmt::memory_buffer head;
  std::optional<Parser> parser;
  while (!session.stopped) {
    parser.emplace();
    parser->body_limit(options.body_limit);
    auto [ec, n] = co_await bhttp::async_read_header(socket, buffer, *parser, use_tuple);
    if (!ec && !parser->is_done()) {
      // curl sends this for bodies over 1 KiB and would otherwise wait a second.
      if (bhttp::token_list(parser->get()[bhttp::field::expect]).exists("100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        std::tie(ec, n) = co_await net::async_write(socket, net::buffer(kContinue), use_tuple);
      }
      if (!ec) std::tie(ec, n) = co_await bhttp::async_read(socket, buffer, *parser, use_tuple);
    }
    if (ec) {
      if (const unsigned status = status_for_read_error(ec); status && !session.stopped) {
        format_head(head, status, {}, 0, {}, {}, false, false);
        co_await net::async_write(socket, net::buffer(head.data(), head.size()), use_tuple);
      }
      break;
    }

    const auto& message = parser->get();
    const ServerRequest request(message.method_string(), message.target(), message.body(),
                                &find_header, static_cast<const bhttp::fields*>(&message),
                                session.cancel.slot());
    ServerResponse response;
    bool handler_failed = false;
    try {
      response = co_await handler.handle(request);
    } catch (const std::exception&) {
      handler_failed = true;
      response = ServerResponse{500, "text/plain", "handler failed", {}, {}, false};
    }
    // Asio never clears a slot after the operation bound to it completes; a
    // stale handler would point at the handler's destroyed timer.
    session.cancel.slot().clear();
    if (session.stopped) break;
    if (response.drop_connection) {
      error_code ignored;
      socket.close(ignored);
      break;
    }

    const bool keep_alive = message.keep_alive() && !handler_failed && !stopping.load();
    const bool head_only = message.method() == bhttp::verb::head;
    format_head(head, response.status, response.content_type, response.body.size(),
                response.extra_header_name, response.extra_header_value, keep_alive,
                message.version() < 11);
    const std::array buffers{net::const_buffer(head.data(), head.size()),
                             net::buffer(head_only ? std::string_view{} : response.body)};
    std::tie(ec, n) = co_await net::async_write(socket, buffers, use_tuple);
    if (ec || !keep_alive) break;
  }
  if (!session.stopped && socket.is_open()) {
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
  }
}

Server::Server(ServerOptions options, ServerHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() {
  stop();
  wait();
}

error_code Server::listen() {
  auto& impl = *impl_;
  const auto parts = split_listen(impl.options.listen);
  if (!parts) return make_error_code(boost::system::errc::invalid_argument);
  auto& context = impl.workers.front()->context;

  error_code ec;
  tcp::endpoint endpoint;
  if (const auto address = net::ip::make_address(parts->first, ec); !ec) {
    endpoint = tcp::endpoint(address, parts->second);
  } else {
    tcp::resolver resolver(context);
    const auto results = resolver.resolve(parts->first, std::to_string(parts->second),
                                          tcp::resolver::passive, ec);
    if (ec) return ec;
    if (results.empty()) return make_error_code(boost::system::errc::invalid_argument);
    endpoint = results.begin()->endpoint();
  }

  tcp::acceptor acceptor(context);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(impl.options.backlog, ec);
  if (ec) return ec;
  impl.endpoint = acceptor.local_endpoint(ec);
  if (ec) return ec;
  impl.acceptor.emplace(std::move(acceptor));
  return {};
}

tcp::endpoint Server::local_endpoint() const { return impl_->endpoint; }

void Server::start() {
  auto& impl = *impl_;
  if (impl.started) return;
  impl.started = true;
  if (impl.acceptor) net::co_spawn(impl.workers.front()->context, impl.accept_loop(), net::detached);
  for (auto& worker : impl.workers) {
    worker->work.emplace(worker->context.get_executor());
    worker->thread = std::thread([&context = worker->context] { context.run(); });
  }
}

void Server::wait() {
  auto& impl = *impl_;
  if (!impl.started || impl.joined) return;
  for (auto& worker : impl.workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  impl.joined = true;
}

void Server::run() {
  start();
  wait();
}

void Server::stop() {
  auto& impl = *impl_;
  if (impl.stopping.exchange(true)) return;
  // Everything below runs on the thread that owns it: no locks, no races with
  // the connections' own use of their sockets.
  net::post(impl.workers.front()->context, [&impl] {
    if (impl.acceptor) {
      error_code ignored;
      impl.acceptor->close(ignored);
    }
  });
  for (auto& worker : impl.workers) {
    net::post(worker->context, [&w = *worker] {
      for (Session& session : w.sessions) session.stop();
      w.work.reset();
    });
  }
}

}  // namespace conveyor::http
