// HTTP Basic credentials (RFC 7617): building the header value a client sends
// and reading the one a server receives, plus a constant-time comparison for
// secrets. Pure functions, callable from any thread; nothing here logs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace conveyor::http {

struct BasicCredentials {
  std::string user;
  std::string password;  // a secret: never logged
};

// "Basic " + base64(user ":" password). The caller encodes the parts first if
// its protocol asks for it (OAuth2 form-encodes them, RFC 6749 §2.3.1).
std::string basic_authorization(std::string_view user, std::string_view password);

// The user and password of a "Basic …" header value; nullopt if it is not
// one (another scheme, bad base64, no colon, over 4 KiB).
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header);

// Equal, in a time that does not depend on where the strings differ.
bool same_secret(std::string_view given, std::string_view expected);

}  // namespace conveyor::http
