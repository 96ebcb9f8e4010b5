// An HTTP/1.1 server for the partner simulator and tests: keep-alive
// connections whose requests are answered one at a time, in order, by an
// awaitable handler that never sees Beast. `threads` share-nothing threads each
// run their own io_context; a connection lives on one thread from accept to
// close. stop() closes the acceptor and every connection, cancels handler waits
// bound to ServerRequest::cancellation_slot(), and lets the threads return.
//
// Why one acceptor handing sockets round-robin (async_accept on the next
// thread's io_context) rather than one SO_REUSEPORT acceptor per thread: with
// port 0 there is exactly one bound port to report, connections spread evenly
// and deterministically (consecutive connections land on different threads,
// which tests rely on), and no connection waits in the kernel queue of a busy
// thread. Accepting is cheap next to the requests a keep-alive connection
// carries, so one accepting thread is not the bottleneck.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "core/error.h"

namespace conveyor::http {

// One parsed request, valid until the handler's awaitable completes.
class ServerRequest {
 public:
  // How header() finds a header in whatever holds them (type-erased so that
  // the parser's types stay in server.cpp and tests can build requests).
  using HeaderLookup = std::string_view (*)(const void* headers, std::string_view name);

  ServerRequest(std::string_view method, std::string_view target, std::string_view body,
                HeaderLookup lookup = nullptr, const void* headers = nullptr,
                boost::asio::cancellation_slot cancellation_slot = {})
      : method_(method),
        target_(target),
        body_(body),
        lookup_(lookup),
        headers_(headers),
        cancellation_slot_(cancellation_slot) {}

  std::string_view method() const { return method_; }  // "GET", "POST", ...
  std::string_view target() const { return target_; }  // "/path?query"
  std::string_view path() const { return target_.substr(0, target_.find('?')); }
  std::string_view body() const { return body_; }
  // Case-insensitive; "" when absent.
  std::string_view header(std::string_view name) const {
    return lookup_ ? lookup_(headers_, name) : std::string_view{};
  }
  std::string_view idempotency_key() const { return header("Idempotency-Key"); }

  // A handler that waits (timers) binds its waits to this slot, so that
  // Server::stop() can end them instead of waiting them out. Asio leaves the
  // slot pointing at the operation after it completes: clear() it once the
  // wait is over if the waited-on object dies before handle() returns.
  boost::asio::cancellation_slot cancellation_slot() const { return cancellation_slot_; }

 private:
  std::string_view method_;
  std::string_view target_;
  std::string_view body_;
  HeaderLookup lookup_;
  const void* headers_;
  boost::asio::cancellation_slot cancellation_slot_;
};

struct ServerResponse {
  unsigned status = 200;
  std::string_view content_type = "application/json";  // static storage, e.g. a literal
  std::string body;
  // One optional extra header such as Retry-After; empty name means none.
  std::string_view extra_header_name;  // static storage
  std::string extra_header_value;
  // Close the connection without answering (a simulated partner crash).
  bool drop_connection = false;
};

// Implemented by the application. Called on the connection's thread; may
// co_await (e.g. a timer on `co_await boost::asio::this_coro::executor`).
// An exception escaping handle() is answered 500 and closes the connection.
class ServerHandler {
 public:
  virtual boost::asio::awaitable<ServerResponse> handle(const ServerRequest& request) = 0;

 protected:
  ~ServerHandler() = default;
};

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port or [v6]:port; port 0 picks a free one
  unsigned threads = 1;                // 0 means one per hardware thread
  int backlog = 65535;                 // the kernel caps it at net.core.somaxconn
  std::size_t body_limit = 4 * 1024 * 1024;
};

class Server {
 public:
  // `handler` must outlive the server.
  Server(ServerOptions options, ServerHandler& handler);
  ~Server();  // stop() and wait()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (synchronously); errors are values: a malformed
  // `listen` gives invalid_argument, a taken port address_in_use.
  error_code listen();
  // The bound address (with the real port) once listen() succeeded.
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Starts the threads and returns; listen() first.
  void start();
  // Blocks until stop() has ended every connection and the threads returned.
  // One waiting thread at a time, never one of the server's own.
  void wait();
  // start() + wait().
  void run();
  // Thread-safe, idempotent, returns at once; callable from a handler.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace conveyor::http
