#include "redis/endpoint.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include <boost/url.hpp>
#include <fmt/format.h>

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
  const std::size_t scheme_end = text.find("://");
  const bool tls = text.starts_with("rediss+");
  const std::size_t authority_begin = scheme_end + 3;
  const std::size_t authority_end = std::min(text.find_first_of("/?#", authority_begin), text.size());
  const std::string_view authority = text.substr(authority_begin, authority_end - authority_begin);
  const std::size_t at = authority.rfind('@');
  const std::size_t hosts_begin = at == std::string_view::npos ? 0 : at + 1;
  const std::string_view hosts = authority.substr(hosts_begin);
  std::vector<std::string_view> seed_texts;
  for (std::size_t begin = 0; begin <= hosts.size();) {
    const std::size_t comma = std::min(hosts.find(',', begin), hosts.size());
    seed_texts.push_back(hosts.substr(begin, comma - begin));
    begin = comma + 1;
  }
  std::string first(tls ? "rediss://" : "redis://");
  first.append(authority.substr(0, hosts_begin));
  first.append(seed_texts.front());
  first.append(text.substr(authority_end));
  auto e = parse_single(first, why);
  if (!e) return e;
  if (e->db != 0) return reject(why, "a Redis Cluster has database 0 only: leave the path out, or /0");
  e->cluster = true;
  e->seeds.push_back({e->host, e->port});
  for (std::size_t i = 1; i < seed_texts.size(); ++i) {
    auto seed = boost::urls::parse_authority(seed_texts[i]);
    if (!seed || seed->has_userinfo() || seed->encoded_host().empty()) {
      return reject(why, "each seed of a cluster URL must be host:port, separated by commas");
    }
    NodeAddress node{seed->host_address(), 6379};
    if (seed->has_port()) {
      unsigned port = 0;
      if (!parse_number(seed->port(), port) || port == 0 || port > 65535) {
        return reject(why, "the port must be a number from 1 to 65535");
      }
      node.port = static_cast<std::uint16_t>(port);
    }
    e->seeds.push_back(std::move(node));
  }
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
