#include "redis/endpoint.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include <boost/url.hpp>
#include <fmt/format.h>

#include "redis/node_list.h"
#include "redis/sentinel.h"

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

Endpoint Endpoint::at(const NodeAddress& node) const {
  Endpoint out = *this;
  out.host = node.host;
  out.port = node.port;
  out.cluster = false;
  out.seeds.clear();
  return out;
}

std::string Endpoint::to_string() const {
  if (!sentinels.empty()) return sentinel_url(*this);
  boost::urls::url u;
  u.set_scheme(tls ? (cluster ? "rediss+cluster" : "rediss") : (cluster ? "redis+cluster" : "redis"));
  if (!username.empty() || !password.empty()) {
    u.set_user(username);
    u.set_password(password.empty() ? "" : "***");
  }
  u.set_host_address(host);
  u.set_port_number(port);
  if (!cluster) u.set_path(fmt::format("/{}", db));  // not "/" + std::to_string(db): GCC 12 -O3 sees a false -Wrestrict
  if (tls && !tls_ca_file.empty()) u.params().append({"ca_file", tls_ca_file});
  if (tls && !tls_verify) u.params().append({"verify", "false"});
  std::string out(u.buffer());
  if (cluster && seeds.size() > 1) {
    // The other seeds go right after the first one's port.
    std::string more;
    for (std::size_t i = 1; i < seeds.size(); ++i) {
      const bool v6 = seeds[i].host.find(':') != std::string::npos;
      more += v6 ? fmt::format(",[{}]:{}", seeds[i].host, seeds[i].port) : fmt::format(",{}:{}", seeds[i].host, seeds[i].port);
    }
    out.insert(out.size() - u.encoded_resource().size(), more);
  }
  return out;
}

namespace {

Result<Endpoint> parse_single(std::string_view text, std::string* why);

// redis+cluster://[userinfo@]seed[,seed...][/0][?params]: the first seed goes through the
// one-node parser (userinfo, TLS parameters), the others are host:port each.
Result<Endpoint> parse_cluster(std::string_view text, std::string* why) {
  const bool tls = text.starts_with("rediss+");
  const UrlParts parts = split_url(text.substr(text.find("://") + 3));
  const NodeList seeds = parse_node_list(parts.hosts, 6379);
  if (seeds.bad) return reject(why, "each seed of a cluster URL must be host[:port] (port 1 to 65535), separated by commas");
  if (seeds.nodes.empty()) return reject(why, "the URL has no host");
  // The first seed with the credentials and options reads as a single Redis URL.
  const std::string_view first_seed = parts.hosts.substr(0, std::min(parts.hosts.find(','), parts.hosts.size()));
  std::string first(tls ? "rediss://" : "redis://");
  first.append(parts.userinfo);
  first.append(first_seed);
  first.append(parts.rest);
  auto e = parse_single(first, why);
  if (!e) return e;
  if (e->db != 0) return reject(why, "a Redis Cluster has database 0 only: leave the path out, or /0");
  e->cluster = true;
  e->seeds = seeds.nodes;
  return e;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view text, std::string* why) {
  if (text.starts_with("redis+cluster://") || text.starts_with("rediss+cluster://")) return parse_cluster(text, why);
  return parse_single(text, why);
}

namespace {

Result<Endpoint> parse_single(std::string_view text, std::string* why) {
  // Reasons name the part that is wrong but never echo the URL: it may carry
  // a password.
  if (is_sentinel_url(text)) return parse_sentinel_url(text, why);
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return reject(why, "not a URL of the form redis://[[user]:password@]host[:port][/db]");
  const boost::urls::url_view u = *parsed;

  Endpoint e;
  if (u.scheme_id() != boost::urls::scheme::unknown || (u.scheme() != "redis" && u.scheme() != "rediss")) {
    return reject(why, fmt::format("scheme must be redis://, rediss://, redis+cluster:// or rediss+cluster://, not {}://",
                                   u.scheme()));
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

}  // namespace

}  // namespace conveyor::redis
