#include "redis/sentinel.h"

// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// of an Asio awaitable (operator new and delete are both Asio's own).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <array>
#include <charconv>
#include <vector>

#include <boost/url.hpp>
#include <fmt/format.h>

#include "redis/connection.h"
#include "redis/error.h"
#include "redis/node_list.h"

namespace conveyor::redis {
namespace {

namespace asio = boost::asio;

constexpr std::string_view kPlain = "redis+sentinel://";
constexpr std::string_view kTls = "rediss+sentinel://";
// Stands for the host list while the rest of the URL is read as a redis:// URL.
constexpr std::string_view kPlaceholder = "sentinels.invalid";
constexpr std::uint16_t kSentinelPort = 26379;  // a sentinel listed without a port

Result<Endpoint> reject(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return make_error_code(Error::bad_url);
}

bool parse_port(std::string_view text, std::uint16_t& out) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || port == 0 || port > 65535) return false;
  out = static_cast<std::uint16_t>(port);
  return true;
}

// "host", "host:port", "[v6]" or "[v6]:port".
std::string host_port(const std::string& host, std::uint16_t port) {
  return host.find(':') == std::string::npos ? fmt::format("{}:{}", host, port) : fmt::format("[{}]:{}", host, port);
}

}  // namespace

bool is_sentinel_url(std::string_view url) { return url.starts_with(kPlain) || url.starts_with(kTls); }

Result<Endpoint> parse_sentinel_url(std::string_view text, std::string* why) {
  // Reasons never echo the URL: it may carry a password.
  if (!is_sentinel_url(text)) return reject(why, "scheme must be redis+sentinel:// or rediss+sentinel://");
  const bool tls = text.starts_with(kTls);
  const UrlParts parts = split_url(text.substr(tls ? kTls.size() : kPlain.size()));
  const std::string_view userinfo = parts.userinfo;
  const NodeList list = parse_node_list(parts.hosts, kSentinelPort);
  if (list.bad) {
    return reject(why, fmt::format("sentinel {} of the URL is not host[:port] with a port from 1 to 65535", list.bad));
  }
  std::vector<NodeAddress> sentinels = list.nodes;
  if (sentinels.empty()) return reject(why, "the URL names no sentinel: redis+sentinel://host[:port][,...]/MASTER_NAME");

  // The path: /MASTER_NAME, then an optional /db.
  std::string_view tail = parts.rest;
  const std::size_t path_end = std::min(tail.find_first_of("?#"), tail.size());
  std::string_view path = tail.substr(0, path_end);
  tail.remove_prefix(path_end);
  if (path.starts_with('/')) path.remove_prefix(1);
  const std::size_t slash = std::min(path.find('/'), path.size());
  const std::string_view name = path.substr(0, slash);
  const std::string_view db = path.substr(slash);
  if (name.empty()) return reject(why, "the URL names no master: redis+sentinel://host[:port][,...]/MASTER_NAME");
  const auto decoded = boost::urls::make_pct_string_view(name);
  if (!decoded) return reject(why, "the master name is not a valid URL path segment");

  // Everything else (login, database, TLS parameters) reads as in a redis:// URL.
  std::string reason;
  auto endpoint = parse_endpoint(fmt::format("{}://{}{}{}{}", tls ? "rediss" : "redis", userinfo, kPlaceholder, db, tail),
                                 &reason);
  if (!endpoint) return reject(why, reason);
  endpoint->host.clear();
  endpoint->sentinels = std::move(sentinels);
  endpoint->master_name = decoded->decode();
  return endpoint;
}

std::string sentinel_url(const Endpoint& endpoint) {
  Endpoint shown = endpoint;
  shown.sentinels.clear();
  shown.host = kPlaceholder;
  boost::urls::url u(shown.to_string());
  u.set_scheme(endpoint.tls ? "rediss+sentinel" : "redis+sentinel");
  u.remove_port();
  u.set_path(fmt::format("/{}/{}", endpoint.master_name, endpoint.db));
  std::string text(u.buffer());
  std::string hosts;
  for (const auto& sentinel : endpoint.sentinels) {
    if (!hosts.empty()) hosts += ',';
    hosts += host_port(sentinel.host, sentinel.port);
  }
  text.replace(text.find(kPlaceholder), kPlaceholder.size(), hosts);
  return text;
}

asio::awaitable<Result<Endpoint>> resolve_master(asio::any_io_executor executor, const Endpoint& endpoint,
                                                 std::chrono::milliseconds timeout, std::string* why) {
  std::string answers;  // what each sentinel said, for `why`
  for (const auto& sentinel : endpoint.sentinels) {
    Endpoint ask;
    ask.host = sentinel.host;
    ask.port = sentinel.port;
    ask.password = endpoint.sentinel_password;
    ask.tls = endpoint.tls;
    ask.tls_ca_file = endpoint.tls_ca_file;
    ask.tls_verify = endpoint.tls_verify;
    ask.reply_timeout = timeout;
    const std::string where = host_port(sentinel.host, sentinel.port);
    auto said = [&](std::string_view what) { answers += fmt::format("{}sentinel {}: {}", answers.empty() ? "" : "; ", where, what); };

    std::string reason;
    auto connection = co_await Connection::connect(executor, ask, timeout, &reason);
    if (!connection) {
      said(reason.empty() ? connection.error().message() : reason);
      continue;
    }
    const std::array<std::string_view, 3> question = {"SENTINEL", "get-master-addr-by-name", endpoint.master_name};
    auto reply = co_await (*connection)->command(question);
    if (!reply) {
      said(fmt::format("lost the connection: {}", reply.error().message()));
      continue;
    }
    if (reply->is_error()) {
      said(reply->string);
      continue;
    }
    if (reply->is_nil()) {
      said(fmt::format("knows no master named '{}'", endpoint.master_name));
      continue;
    }
    Endpoint master = endpoint;
    master.sentinels.clear();
    if (reply->type != Reply::Type::array || reply->elements.size() != 2 ||
        reply->elements[0].type != Reply::Type::string || reply->elements[0].string.empty() ||
        reply->elements[1].type != Reply::Type::string || !parse_port(reply->elements[1].string, master.port)) {
      said("an answer of the wrong shape");
      continue;
    }
    master.host = std::move(reply->elements[0].string);
    co_return master;
  }
  if (why) *why = fmt::format("no sentinel named the master '{}': {}", endpoint.master_name, answers);
  co_return make_error_code(ConnectError::no_master);
}

}  // namespace conveyor::redis
