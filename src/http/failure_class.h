// How one partner call ended, as one word from a fixed list: a transport failure's kind, or the
// status class of an answer. Dead-letter reasons, log lines and the partner-request metric all
// use these labels, so they agree. Pure functions of values: callable from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "http/partner_response.h"

namespace conveyor::http {

enum class FailureClass : std::uint8_t {
  dns_error,        // the partner's host name did not resolve
  connect_timeout,  // no connection (lookup, TCP, TLS handshake) within CONNECT_TIMEOUT
  refused,          // the connection was refused, or the host or network is unreachable
  timeout,          // no answer within REQUEST_TIMEOUT
  reset,            // the connection was reset or closed before a full answer (and any other
                    // socket failure: the reason carries the system's words)
  tls_error,        // TLS handshake or certificate failure
  malformed,        // the answer was not valid HTTP
  too_large,        // the answer's head or body was over the client's limits
  status_2xx,       // answered: the class of the status
  status_3xx,
  status_4xx,
  status_5xx,
};

inline constexpr FailureClass all_failure_classes[] = {
    FailureClass::dns_error, FailureClass::connect_timeout, FailureClass::refused,    FailureClass::timeout,
    FailureClass::reset,     FailureClass::tls_error,       FailureClass::malformed,  FailureClass::too_large,
    FailureClass::status_2xx, FailureClass::status_3xx,     FailureClass::status_4xx, FailureClass::status_5xx};

// "dns_error", "connect_timeout", …, "2xx", "3xx", "4xx", "5xx": stable, metric-label safe.
std::string_view label(FailureClass c) noexcept;

// The class of a failed call. `ec` must be an error: PartnerClient's documented codes, or the
// Asio, Beast and OpenSSL codes they stand for. Codes of no known kind are `reset`.
FailureClass classify(const error_code& ec) noexcept;
// The class of an answer: 2xx..5xx; a status outside 200-599 is `malformed`.
FailureClass classify(unsigned status) noexcept;
FailureClass classify(const Result<PartnerResponse>& call) noexcept;

// The deadlines a timeout's description names.
struct CallTimeouts {
  std::chrono::milliseconds connect{5'000};  // CONNECT_TIMEOUT
  std::chrono::milliseconds request{10'000};  // REQUEST_TIMEOUT
};

// One line for logs and dead-letter reasons, the label first: "timeout: no answer within
// REQUEST_TIMEOUT (10s)", "refused: Connection refused", "dns_error: Host not found (authoritative)".
std::string describe(const error_code& ec, const CallTimeouts& timeouts);

}  // namespace conveyor::http
