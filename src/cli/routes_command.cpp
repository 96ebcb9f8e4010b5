#include "cli/routes_command.h"

#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/config_error.h"

namespace conveyor::cli {
namespace {

constexpr const char* kMasked = "***";

// A URL that may carry secrets in its query (an api key): the query shown as "***".
std::string without_query(const std::string& url) {
  const auto q = url.find('?');
  return q == std::string::npos ? url : url.substr(0, q + 1) + kMasked;
}

std::string describe(const route::RouteSpec& r, std::size_t index) {
  std::string out = fmt::format("route {} \"{}\"\n", index + 1, r.name);
  auto line = [&out](std::string_view key, const std::string& value) {
    out += fmt::format("  {:<17} {}\n", key, value);
  };
  if (r.match) {
    std::vector<std::string> quoted;
    for (const auto& v : r.match->equals) quoted.push_back(fmt::format("\"{}\"", v));
    line("match", fmt::format("{} = {}", r.match->field, fmt::join(quoted, " or ")));
  } else {
    line("match", "every message (catch-all)");
  }
  line("url", r.url_shown);
  for (const auto& header : r.headers) line("header", fmt::format("{}: {}", header.name, kMasked));
  if (r.auth.type == route::Auth::Type::oauth2_client_credentials) {
    line("auth", fmt::format("oauth2_client_credentials, token_url {}, client_id {}, client_secret {}{}",
                             without_query(r.auth.token_url), r.auth.client_id, kMasked,
                             r.auth.scope.empty() ? "" : ", scope " + r.auth.scope));
  } else {
    line("auth", "none");
  }
  line("concurrency", r.concurrency == 0 ? "no per-route limit" : fmt::format("{}", r.concurrency));
  if (r.rate) {
    line("rate", fmt::format("{}/s, burst {}, scope {}", r.rate->per_second, r.rate->burst,
                             r.rate->scope == route::RateScope::cluster ? "cluster" : "process"));
  } else {
    line("rate", "unlimited");
  }
  line("adaptive", r.adaptive ? "true" : "false");
  line("order_by", r.order_by.empty() ? "(none)" : r.order_by);
  const auto& o = r.overrides;
  for (auto [key, d] : {std::pair{"request_timeout", o.request_timeout}, {"connect_timeout", o.connect_timeout},
                        {"retry_base", o.retry_base}, {"retry_max_delay", o.retry_max_delay},
                        {"circuit_cooldown", o.circuit_cooldown}}) {
    if (d) line(key, format_duration(*d));
  }
  if (o.max_attempts) line("max_attempts", fmt::format("{}", *o.max_attempts));
  if (o.circuit_failures) line("circuit_failures", fmt::format("{}", *o.circuit_failures));
  if (o.retry_statuses) line("retry_statuses", *o.retry_statuses);
  return out;
}

}  // namespace

route::VariableLookup routes_lookup(const config::Layers& layers) {
  return [flags = layers.flags, env_file = layers.env_file](std::string_view name) -> std::optional<std::string> {
    if (auto it = flags.find(name); it != flags.end()) return it->second;
    if (const char* value = std::getenv(std::string(name).c_str())) return std::string(value);
    if (auto it = env_file.find(name); it != env_file.end()) return it->second;
    return std::nullopt;
  };
}

std::string describe_routes(const std::vector<route::RouteSpec>& routes, const std::string& origin) {
  std::string out = fmt::format("{}: {} route{}; the first that matches a message takes it\n", origin,
                                routes.size(), routes.size() == 1 ? "" : "s");
  for (std::size_t i = 0; i < routes.size(); ++i) out += describe(routes[i], i);
  if (routes.empty() || routes.back().match) {
    out += "A message no route matches is dead-lettered with the reason \"no route\".\n";
  }
  return out;
}

int run_routes_check(const std::string& path, const config::Layers& layers, std::FILE* out) {
  std::string file = path;
  if (file.empty()) file = config::load_settings(layers).routes_file;
  if (file.empty()) throw config::ConfigError("ROUTES_FILE: no routes file: give routes check FILE, or set --routes or ROUTES_FILE");
  const auto routes = route::load_routes(file, routes_lookup(layers));
  const std::string text = describe_routes(routes, file);
  std::fwrite(text.data(), 1, text.size(), out);
  return 0;
}

}  // namespace conveyor::cli
