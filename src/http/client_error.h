// The HTTP client's own error codes: the failures Asio and Beast cannot name
// precisely (which deadline passed; a body over the limit rather than a
// malformed one). Plain values in boost::system::error_code, usable from any
// thread. Both timeouts compare equal to errc::timed_out as a condition.
#pragma once

#include <boost/system/error_code.hpp>

namespace conveyor::http {

enum class ClientError {
  connect_timeout = 1,  // no connection (lookup, TCP connect, TLS handshake) within connect_timeout
  request_timeout,      // no complete answer within request_timeout
  response_too_large,   // the response's head or body exceeds the client's limits
};

const boost::system::error_category& client_error_category() noexcept;

inline boost::system::error_code make_error_code(ClientError e) noexcept {
  return {static_cast<int>(e), client_error_category()};
}

}  // namespace conveyor::http

template <>
struct boost::system::is_error_code_enum<conveyor::http::ClientError> : std::true_type {};
