// Where the partner API lives: parsed once from an http:// or https:// URL
// into what a client needs per connection (host and port to connect to, TLS
// or not) and per request (Host header, origin-form request target).
// Parsing never throws; anything else fails with Error::bad_url and a reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace conveyor::http {

struct Target {
  bool tls = false;            // https://
  std::string host;            // for DNS, SNI and certificate checks: no brackets, decoded
  bool host_is_ip = false;     // an IPv4 or IPv6 literal (no SNI; IP SAN checks)
  std::uint16_t port = 0;      // explicit, or 80 / 443 by scheme
  std::string host_header;     // the Host header value, as written in the URL
  std::string request_target;  // path + query, at least "/"; never the fragment

  // "https://host:port/path?query", for logs.
  std::string to_string() const;
};

// Accepts only absolute http/https URLs with a host; rejects user info
// (credentials belong in an Authorization header, where they are not logged).
Result<Target> parse_target(std::string_view url, std::string* why = nullptr);

}  // namespace conveyor::http
