// The partner's HTTP API as seen by one thread: POSTs JSON bodies to one URL
// (or to per-request targets on its origin) over a bounded pool of keep-alive connections (TLS verified by default).
// Every post() ends within the request timeout with a response or an error.
//
// One PartnerClient belongs to one io_context (thread) and is only used from
// it: no locks. It knows nothing of queues; classifying responses (retry,
// give up) is the caller's job, helped by http/failure_class.h, which names
// every error below. Only counters() may be read from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "http/header_field.h"
#include "http/partner_response.h"
#include "http/target.h"

namespace conveyor::http {

struct PartnerClientOptions {
  std::string url;  // http:// or https://; path and query are the request target
  std::chrono::milliseconds connect_timeout{5'000};   // TCP connect + TLS handshake
  std::chrono::milliseconds request_timeout{30'000};  // whole post(): wait + connect + write + read
  std::size_t max_connections = 512;                  // open or opening, at most
  std::size_t max_response_body = 64 * 1024;          // a larger body is an error (too large), read no further
  // The status decides: once a 2xx's status line and headers have arrived,
  // post() returns it whatever its body then does (over max_response_body,
  // cut off, past the deadline, malformed); the connection is then closed,
  // never reused. On for the partner (a 200 with a 1 MiB label is a yes);
  // off where the body is the answer (the SQS client).
  bool accept_2xx_at_headers = false;
  std::size_t keep_body = PartnerResponse::body_prefix_limit;  // body bytes kept in the response
  std::string content_type = "application/json";      // of every request body
  std::string tls_ca_file;           // PEM CA bundle used instead of the system's default paths
  bool tls_insecure = false;         // skip certificate and host name checks: tests only
  std::vector<HeaderField> headers;  // sent on every request, e.g. Authorization
};

// Monotonic totals and one gauge; a snapshot, cheap to take from any thread.
struct PartnerClientCounters {
  std::uint64_t connections_opened = 0;  // successful connects (and TLS handshakes)
  std::uint64_t connections_open = 0;    // open right now, idle or busy
  std::uint64_t connections_reused = 0;  // requests sent on an already used connection
  std::uint64_t stale_retries = 0;       // idle connections found closed and retried fresh
  std::uint64_t connect_failures = 0;
};

class PartnerClient {
 public:
  // Throws std::invalid_argument for a bad URL, header or limit, and
  // std::runtime_error when the TLS settings cannot be loaded (CA file).
  // `executor` must be the single-threaded io_context this client lives on.
  PartnerClient(boost::asio::any_io_executor executor, PartnerClientOptions options);
  // Closes idle connections. The client must outlive every post() in flight.
  ~PartnerClient();
  PartnerClient(const PartnerClient&) = delete;
  PartnerClient& operator=(const PartnerClient&) = delete;

  // Sends `body` byte for byte as application/json with the Idempotency-Key
  // header. `body` and `idempotency_key` must stay valid until it completes.
  // Any HTTP status is a successful Result (with accept_2xx_at_headers, a
  // 2xx as soon as its head has arrived). Errors, by their FailureClass:
  //   dns_error        host_not_found and the other netdb / addrinfo codes
  //   connect_timeout  ClientError::connect_timeout: connect_timeout passed first
  //                    (lookup, TCP connect, TLS handshake)
  //   refused          connection_refused, host_unreachable, network_unreachable
  //   timeout          ClientError::request_timeout: request_timeout passed (any
  //                    stage, waiting for a connection included)
  //   reset            Error::connection_closed (closed before a full response),
  //                    connection_reset, broken_pipe
  //   tls_error        OpenSSL's codes (handshake, certificate, host name)
  //   malformed        Error::http_protocol: not valid HTTP
  //   too_large        ClientError::response_too_large: head or body over the limits
  // and two that are our own doing (classified reset, the fallback):
  //   boost::system::errc::invalid_argument  a key unusable as a header value, or
  //                                          (overloads below) a bad target or header
  //   boost::asio::error::operation_aborted  cancel_all() or a cancelled coroutine
  boost::asio::awaitable<Result<PartnerResponse>> post(std::string_view body,
                                                       std::string_view idempotency_key);

  // The same, to `target` on this client's origin (scheme, host and port stay
  // those of options.url: the pool is per origin) and with `headers` sent after
  // the Idempotency-Key, e.g. a route's "Authorization: Bearer …". `target` is
  // origin-form, path and query already percent-encoded by the caller
  // ("/v2/shipments/A%2F1?ref=x"); empty means the URL's own target, which costs
  // nothing more than post(body, key). Everything must stay valid until it
  // completes. Fails with errc::invalid_argument, before any I/O, for a target
  // that is not origin-form (no leading '/', a space, control or non-ASCII
  // byte, '#', a bad %-escape), an empty or unusable key, or a header that is
  // not valid HTTP or names one the client sets itself (Host, Content-Type,
  // Content-Length, Transfer-Encoding, Connection, Idempotency-Key); otherwise
  // exactly the errors above.
  boost::asio::awaitable<Result<PartnerResponse>> post(std::string_view target, std::string_view body,
                                                       std::string_view idempotency_key,
                                                       std::span<const HeaderField> headers);

  // The same, with per-request header lines instead of the Idempotency-Key
  // (e.g. signed API calls: X-Amz-Date, Authorization). A header name or
  // value that is not valid HTTP, or a header the client sets itself, fails
  // with errc::invalid_argument.
  boost::asio::awaitable<Result<PartnerResponse>> post(std::string_view body,
                                                       std::span<const HeaderField> headers);

  // Fails every post() in progress at once (with operation_aborted or a
  // closed-socket error) and closes every connection; later posts open new
  // ones. For shutdowns past their deadline.
  void cancel_all();

  PartnerClientCounters counters() const noexcept;
  const Target& target() const noexcept;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;  // also held by lookups and posts in flight: safe teardown order
};

}  // namespace conveyor::http
