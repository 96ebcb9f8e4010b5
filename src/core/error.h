// Conveyor's own error codes, carried in boost::system::error_code so that
// hot paths return errors as values next to Asio's and Beast's.
// Classification into retryable / permanent happens where outcomes are decided.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace conveyor {

using boost::system::error_code;
template <class T>
using Result = boost::system::result<T, error_code>;

enum class Error {
  ok = 0,
  redis_protocol = 1,    // the server sent bytes hiredis could not parse
  redis_reply,           // the server answered with an error reply
  redis_unexpected,      // a reply of a type the caller did not expect
  connection_closed,     // the peer or we closed the connection
  bad_url,               // a URL that cannot be used
  http_protocol,         // the partner answered with malformed HTTP
  shutting_down,         // the operation was refused because we are stopping
  backend_failed,        // a queue backend broke for good; its lane must stop
};

const boost::system::error_category& conveyor_category() noexcept;

inline error_code make_error_code(Error e) noexcept {
  return {static_cast<int>(e), conveyor_category()};
}

}  // namespace conveyor

template <>
struct boost::system::is_error_code_enum<conveyor::Error> : std::true_type {};
