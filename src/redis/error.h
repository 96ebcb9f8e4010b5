// Why a Redis connection could not be set up, beyond what Asio and OpenSSL
// already name (refused, timed out, certificate verify failed): the server
// refused our login or our database, or (redis+sentinel://) no sentinel named
// a master, or the server named is not one (yet). The codes carry no server
// text and no password; Connection::connect can hand back the server's own words.
#pragma once

#include <boost/system/error_code.hpp>

namespace conveyor::redis {

enum class ConnectError {
  auth_failed = 1,  // AUTH answered with an error (wrong password, unknown user)
  select_failed,    // SELECT answered with an error (database out of range)
  no_master,        // no sentinel answered with the master's address
  not_master,       // the server the sentinels named does not say ROLE master
};

const boost::system::error_category& connect_category() noexcept;

inline boost::system::error_code make_error_code(ConnectError e) noexcept {
  return {static_cast<int>(e), connect_category()};
}

}  // namespace conveyor::redis

template <>
struct boost::system::is_error_code_enum<conveyor::redis::ConnectError> : std::true_type {};
