#include "http/failure_class.h"

#include <fmt/format.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "core/duration.h"
#include "http/client_error.h"

namespace conveyor::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

bool in_category(const error_code& ec, const boost::system::error_category& category) {
  return ec.category() == category;
}

}  // namespace

std::string_view label(FailureClass c) noexcept {
  switch (c) {
    case FailureClass::dns_error: return "dns_error";
    case FailureClass::connect_timeout: return "connect_timeout";
    case FailureClass::refused: return "refused";
    case FailureClass::timeout: return "timeout";
    case FailureClass::reset: return "reset";
    case FailureClass::tls_error: return "tls_error";
    case FailureClass::malformed: return "malformed";
    case FailureClass::too_large: return "too_large";
    case FailureClass::status_2xx: return "2xx";
    case FailureClass::status_3xx: return "3xx";
    case FailureClass::status_4xx: return "4xx";
    case FailureClass::status_5xx: return "5xx";
  }
  return "reset";  // unreachable: every enumerator is listed
}

FailureClass classify(const error_code& ec) noexcept {
  if (ec == ClientError::connect_timeout) return FailureClass::connect_timeout;
  if (ec == ClientError::request_timeout) return FailureClass::timeout;
  if (ec == ClientError::response_too_large) return FailureClass::too_large;
  if (ec == asio::error::timed_out || ec == boost::beast::error::timeout) return FailureClass::timeout;

  if (in_category(ec, asio::error::get_netdb_category()) || in_category(ec, asio::error::get_addrinfo_category())) {
    return FailureClass::dns_error;
  }
  if (ec == asio::error::connection_refused || ec == asio::error::network_unreachable ||
      ec == asio::error::host_unreachable || ec == asio::error::network_down) {
    return FailureClass::refused;
  }

  // Cut off mid-answer: at the socket, in TLS, or as Beast or we saw it.
  if (ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
      ec == asio::error::broken_pipe || ec == asio::error::eof || ec == Error::connection_closed ||
      ec == asio::ssl::error::stream_truncated || ec == bhttp::error::end_of_stream ||
      ec == bhttp::error::partial_message) {
    return FailureClass::reset;
  }
  if (in_category(ec, asio::error::get_ssl_category()) || in_category(ec, asio::ssl::error::get_stream_category())) {
    return FailureClass::tls_error;
  }

  if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return FailureClass::too_large;
  }
  if (ec == Error::http_protocol || in_category(ec, bhttp::make_error_code(bhttp::error::bad_version).category())) {
    return FailureClass::malformed;
  }
  return FailureClass::reset;
}

FailureClass classify(unsigned status) noexcept {
  if (status >= 200 && status < 300) return FailureClass::status_2xx;
  if (status >= 300 && status < 400) return FailureClass::status_3xx;
  if (status >= 400 && status < 500) return FailureClass::status_4xx;
  if (status >= 500 && status < 600) return FailureClass::status_5xx;
  return FailureClass::malformed;
}

FailureClass classify(const Result<PartnerResponse>& call) noexcept {
  return call ? classify(call->status) : classify(call.error());
}

std::string describe(const error_code& ec, const CallTimeouts& timeouts) {
  const FailureClass c = classify(ec);
  switch (c) {
    case FailureClass::timeout:
      return fmt::format("timeout: no answer within REQUEST_TIMEOUT ({})", format_duration(timeouts.request));
    case FailureClass::connect_timeout:
      return fmt::format("connect_timeout: no connection within CONNECT_TIMEOUT ({})",
                         format_duration(timeouts.connect));
    default:
      return fmt::format("{}: {}", label(c), ec.message());
  }
}

}  // namespace conveyor::http
