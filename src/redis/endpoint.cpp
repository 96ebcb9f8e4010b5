#include "redis/endpoint.h"

#include "redis/sentinel.h"

#include <charconv>
#include <limits>

#include <boost/url.hpp>
#include <fmt/format.h>

namespace conveyor::redis {
namespace {

Result<Endpoint> reject(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return make_error_code(Error::bad_url);
}

template <class Int>
bool parse_number(std::string_view text, Int& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

std::string Endpoint::to_string() const {
  if (!sentinels.empty()) return sentinel_url(*this);
  boost::urls::url u;
  u.set_scheme(tls ? "rediss" : "redis");
  if (!username.empty() || !password.empty()) {
    u.set_user(username);
    u.set_password(password.empty() ? "" : "***");
  }
  u.set_host_address(host);
  u.set_port_number(port);
  u.set_path(fmt::format("/{}", db));  // not "/" + std::to_string(db): GCC 12 -O3 sees a false -Wrestrict
  if (tls && !tls_ca_file.empty()) u.params().append({"ca_file", tls_ca_file});
  if (tls && !tls_verify) u.params().append({"verify", "false"});
  return std::string(u.buffer());
}

Result<Endpoint> parse_endpoint(std::string_view text, std::string* why) {
  // Reasons name the part that is wrong but never echo the URL: it may carry
  // a password.
  if (is_sentinel_url(text)) return parse_sentinel_url(text, why);
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return reject(why, "not a URL of the form redis://[[user]:password@]host[:port][/db]");
  const boost::urls::url_view u = *parsed;

  Endpoint e;
  if (u.scheme_id() != boost::urls::scheme::unknown || (u.scheme() != "redis" && u.scheme() != "rediss")) {
    return reject(why, fmt::format("scheme must be redis:// or rediss://, not {}://", u.scheme()));
  }
  e.tls = u.scheme() == "rediss";

  if (!u.has_authority() || u.encoded_host().empty()) return reject(why, "the URL has no host");
  e.host = u.host_address();
  if (u.has_port()) {
    unsigned port = 0;
    if (!parse_number(u.port(), port) || port == 0 || port > 65535) {
      return reject(why, "the port must be a number from 1 to 65535");
    }
    e.port = static_cast<std::uint16_t>(port);
  }
  if (u.has_userinfo()) {
    if (u.has_password()) {
      e.username = u.user();
      e.password = u.password();
    } else {
      e.password = u.user();  // redis-cli's reading of "redis://secret@host"
    }
  }

  const std::string path = u.path();
  if (!path.empty() && path != "/") {
    const std::string_view db = std::string_view(path).substr(1);
    if (path.front() != '/' || !parse_number(db, e.db) || e.db < 0) {
      return reject(why, "the path must be a database number, as in /0");
    }
  }

  for (const auto& param : u.params()) {
    if (param.key == "ca_file") {
      e.tls_ca_file = param.value;
      if (e.tls_ca_file.empty()) return reject(why, "ca_file needs a path");
    } else if (param.key == "verify") {
      if (param.value == "true" || param.value == "1") e.tls_verify = true;
      else if (param.value == "false" || param.value == "0") e.tls_verify = false;
      else return reject(why, "verify must be true or false");
    } else {
      return reject(why, fmt::format("unknown URL parameter '{}' (known: ca_file, verify)", param.key));
    }
  }
  if (!e.tls && (!e.tls_ca_file.empty() || !e.tls_verify)) {
    return reject(why, "ca_file and verify apply to rediss:// only");
  }
  if (u.has_fragment()) return reject(why, "the URL must not have a #fragment");
  return e;
}

}  // namespace conveyor::redis
