// A route's URL with `{field}` placeholders, e.g. https://api.example:8443/v2/shipments/{p}?ref={ref}:
// parsed once at start, expanded per message into the request target (path + query). Placeholders may
// fill only the path and the query, never the scheme, host, port or user info, and every value is
// percent-encoded, so a message can never point a request at another server nor add a path segment.
// Immutable after parsing; expand() is const and safe from any number of threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/error.h"

namespace conveyor::route {

// What expand() gives: the request target, or why the message cannot fill the URL.
struct Expanded {
  std::string target;   // "/v2/shipments/A%2F1?ref=x"; empty on failure
  std::string failure;  // e.g. `field "p" for the URL is missing`; empty on success
  bool ok() const { return failure.empty(); }
};

class UrlTemplate {
 public:
  UrlTemplate() = default;  // "no URL": origin() empty; parse_url_template makes real ones

  bool tls() const { return tls_; }                     // https://
  const std::string& host() const { return host_; }     // for DNS, SNI and certificates: decoded, no brackets
  std::uint16_t port() const { return port_; }          // explicit, or 80 / 443 by scheme
  const std::string& origin() const { return origin_; } // "https://api.example:8443", as written (one pool per origin)
  const std::string& text() const { return text_; }     // the whole template, as parsed

  // The fields the placeholders name, in order of appearance (repeats kept once).
  const std::vector<std::string>& fields() const { return fields_; }
  bool has_placeholders() const { return !fields_.empty(); }

  // The request target with each placeholder filled from the message's top-level field of its name:
  // strings as they are, numbers as their JSON text (integers in decimal, others in shortest form),
  // true/false; every byte but RFC 3986's unreserved ones (A-Z a-z 0-9 - . _ ~) percent-encoded, so
  // "/" "?" "#" "@" "%" and non-ASCII are too. Fails, naming the field, when the field is missing,
  // null, an object or an array, or when in the path it is empty, "." or "..".
  Expanded expand(const boost::json::object& message) const;

  // For a URL without placeholders, its target (path + query, at least "/"); else empty.
  const std::string& fixed_target() const { return fixed_target_; }

 private:
  friend Result<UrlTemplate> parse_url_template(std::string_view, std::string*);
  struct Piece {
    std::string text;          // a literal, or the field a placeholder names
    bool placeholder = false;
    bool in_path = false;      // a placeholder in the path (where "", "." and ".." are refused)
  };
  bool tls_ = false;
  std::string host_;
  std::uint16_t port_ = 0;
  std::string origin_;
  std::string text_;
  std::vector<std::string> fields_;
  std::vector<Piece> pieces_;  // the target: literal and placeholder pieces, in order
  std::string fixed_target_;   // without placeholders: the target itself
};

// Accepts an absolute http(s) URL with a host, no user info (credentials belong in a header) and no
// fragment; `{name}` (letters, digits, '_', '-', '.') only in the path and the query. Otherwise
// Error::bad_url with the reason in `why`, e.g. "placeholders may fill only the path and the query".
Result<UrlTemplate> parse_url_template(std::string_view url, std::string* why = nullptr);

// The JSON text of a scalar for URLs, matching and ordering: a string as it is, an integer in
// decimal, another number in its shortest round-trip form, true/false. False for null, objects and arrays.
bool scalar_text(const boost::json::value& value, std::string& out);

}  // namespace conveyor::route
