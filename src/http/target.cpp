#include "http/target.h"

#include <fmt/format.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>

namespace conveyor::http {
namespace {

Result<Target> fail(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return error_code(Error::bad_url);
}

}  // namespace

std::string Target::to_string() const {
  return fmt::format("{}://{}{}", tls ? "https" : "http", host_header, request_target);
}

Result<Target> parse_target(std::string_view text, std::string* why) {
  // parse_uri (not parse_absolute_uri) so that a fragment is accepted and
  // dropped, as curl does: it is never sent to a server.
  auto parsed = boost::urls::parse_uri(boost::urls::string_view(text.data(), text.size()));
  if (!parsed) {
    return fail(why, fmt::format("not a valid absolute URL ({})", parsed.error().message()));
  }
  const boost::urls::url_view url = *parsed;

  Target target;
  switch (url.scheme_id()) {
    case boost::urls::scheme::http:
      target.tls = false;
      break;
    case boost::urls::scheme::https:
      target.tls = true;
      break;
    default:
      return fail(why, fmt::format("unsupported scheme \"{}\" (only http and https)",
                                   std::string_view(url.scheme())));
  }
  if (url.has_userinfo()) {
    return fail(why, "user info in the URL is not supported; pass credentials as a header");
  }
  switch (url.host_type()) {
    case boost::urls::host_type::name:
      target.host_is_ip = false;
      break;
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      target.host_is_ip = true;
      break;
    default:
      return fail(why, "the URL has no usable host");
  }
  target.host = url.host_address();
  if (target.host.empty()) return fail(why, "the URL has an empty host");

  const std::string_view port = url.port();
  if (port.empty()) {
    target.port = target.tls ? 443 : 80;
  } else {
    // Not url.port_number(): it silently wraps values above 65535.
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return fail(why, fmt::format("invalid port \"{}\"", port));
    }
    target.port = static_cast<std::uint16_t>(value);
  }
  target.host_header = std::string_view(url.encoded_host());
  if (!port.empty()) {
    target.host_header += ':';
    target.host_header += port;
  }

  target.request_target = std::string_view(url.encoded_path());
  if (target.request_target.empty()) target.request_target.push_back('/');  // = "/": GCC 12 -O3, false -Wrestrict
  if (target.request_target.front() != '/') return fail(why, "the URL path must be absolute");
  if (url.has_query()) {
    target.request_target += '?';
    target.request_target += std::string_view(url.encoded_query());
  }
  return target;
}

}  // namespace conveyor::http
