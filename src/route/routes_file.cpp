#include "route/routes_file.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "config/config_error.h"
#include "config/key_suggestion.h"

namespace conveyor::route {
namespace {

using config::ConfigError;

constexpr std::array<std::string_view, 19> kRouteKeys = {
    "name",       "match",           "url",          "headers",        "auth",             "concurrency",
    "rate",       "burst",           "rate_scope",   "adaptive",       "order_by",         "request_timeout",
    "connect_timeout", "retry_base", "retry_max_delay", "max_attempts", "retry_statuses", "circuit_failures",
    "circuit_cooldown"};
constexpr std::array<std::string_view, 2> kMatchKeys = {"field", "equals"};
constexpr std::array<std::string_view, 5> kAuthKeys = {"type", "token_url", "client_id", "client_secret", "scope"};
constexpr std::array<std::string_view, 1> kTopKeys = {"route"};
// Headers the HTTP client writes itself: a route setting them would send them twice or break framing.
constexpr std::array<std::string_view, 5> kClientHeaders = {"host", "content-length", "transfer-encoding",
                                                            "connection", "content-type"};

std::string unknown_key(std::string_view key, std::span<const std::string_view> known) {
  if (auto meant = config::closest_key(key, known)) {
    return fmt::format("unknown key \"{}\"; did you mean \"{}\"?", key, *meant);
  }
  return fmt::format("unknown key \"{}\" (known: {})", key, fmt::join(known, ", "));
}

const char* type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date or time";
  }
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Reads one route, throwing ConfigError("ROUTES_FILE: route \"NAME\": KEY: ...").
class RouteReader {
 public:
  RouteReader(const toml::table& table, std::string label, const VariableLookup& lookup)
      : table_(table), label_(std::move(label)), lookup_(lookup) {}

  [[noreturn]] void fail(std::string_view key, std::string_view what) const {
    throw ConfigError(fmt::format("ROUTES_FILE: {}: {}: {}", label_, key, what));
  }

  RouteSpec read() {
    RouteSpec r;
    for (auto&& [key, node] : table_) {
      (void)node;
      if (std::find(kRouteKeys.begin(), kRouteKeys.end(), key.str()) == kRouteKeys.end()) {
        throw ConfigError(fmt::format("ROUTES_FILE: {}: {}", label_, unknown_key(key.str(), kRouteKeys)));
      }
    }
    r.name = *string("name");  // checked by the caller, which names the route

    if (const toml::node* m = table_.get("match")) r.match = read_match(*m);
    read_url(r);
    if (const toml::node* h = table_.get("headers")) r.headers = read_headers(*h);
    if (const toml::node* a = table_.get("auth")) r.auth = read_auth(*a);
    if (r.auth.type == Auth::Type::oauth2_client_credentials) {
      for (const auto& header : r.headers) {
        if (lower(header.name) == "authorization") {
          fail("headers", "an Authorization header and auth = oauth2_client_credentials both set it; keep one");
        }
      }
    }
    if (const toml::node* c = table_.get("concurrency")) {
      r.concurrency = whole("concurrency", *c, 1, 1'000'000, "0 is not a limit; leave concurrency out for none");
    }
    read_rate(r);
    if (const toml::node* a = table_.get("adaptive")) {
      const auto* b = a->as_boolean();
      if (!b) fail("adaptive", fmt::format("expected true or false, got {}", type_name(*a)));
      r.adaptive = b->get();
    }
    if (auto order = string("order_by")) {
      if (order->empty()) fail("order_by", "expected a field name, got an empty string");
      r.order_by = *order;
    }
    read_overrides(r.overrides);
    return r;
  }

 private:
  // The key's string, nullopt when absent; another type fails.
  std::optional<std::string> string(std::string_view key) const {
    const toml::node* node = table_.get(key);
    if (!node) return std::nullopt;
    return string_of(key, *node);
  }
  std::string string_of(std::string_view key, const toml::node& node) const {
    const auto* s = node.as_string();
    if (!s) fail(key, fmt::format("expected a string, got {}", type_name(node)));
    return s->get();
  }

  std::size_t whole(std::string_view key, const toml::node& node, std::int64_t min, std::int64_t max,
                    std::string_view below_min = {}) const {
    const auto* i = node.as_integer();
    if (!i) fail(key, fmt::format("expected a whole number, got {}", type_name(node)));
    const std::int64_t n = i->get();
    if (n < min && !below_min.empty()) fail(key, below_min);
    if (n < min || n > max) fail(key, fmt::format("expected a whole number from {} to {}, got {}", min, max, n));
    return static_cast<std::size_t>(n);
  }

  // ${NAME} replaced by its value; `shown`, if given, gets the text with the ${NAME}s that stand in the
  // query (after the first '?') kept by name, since secrets such as api keys often travel there.
  std::string expand(std::string_view key, std::string_view text, std::string* shown = nullptr) const {
    std::string out;
    bool in_query = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '?') in_query = true;
      if (c != '$' || i + 1 == text.size() || (text[i + 1] != '{' && text[i + 1] != '$')) {
        out.push_back(c);
        if (shown) shown->push_back(c);
        continue;
      }
      if (text[i + 1] == '$') {  // "$$": a literal '$'
        out.push_back('$');
        if (shown) shown->push_back('$');
        ++i;
        continue;
      }
      const auto close = text.find('}', i + 2);
      if (close == std::string_view::npos) fail(key, "a \"${\" without its \"}\" (write $$ for a literal $)");
      const std::string_view name = text.substr(i + 2, close - i - 2);
      const bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
                         std::all_of(name.begin(), name.end(), [](char n) {
                           return std::isalnum(static_cast<unsigned char>(n)) || n == '_';
                         });
      if (!valid) fail(key, fmt::format("\"${{{}}}\" is not a variable name (letters, digits and _)", name));
      auto value = lookup_(name);
      if (!value) fail(key, fmt::format("${{{}}} is not set (in the environment or the .env file)", name));
      out += *value;
      if (shown) *shown += in_query ? fmt::format("${{{}}}", name) : *value;
      i = close;
    }
    return out;
  }

  Match read_match(const toml::node& node) const {
    const auto* table = node.as_table();
    if (!table) fail("match", fmt::format("expected a table {{ field = \"...\", equals = [...] }}, got {}", type_name(node)));
    for (auto&& [key, value] : *table) {
      (void)value;
      if (std::find(kMatchKeys.begin(), kMatchKeys.end(), key.str()) == kMatchKeys.end()) {
        fail("match", unknown_key(key.str(), kMatchKeys));
      }
    }
    Match m;
    const toml::node* field = table->get("field");
    if (!field) fail("match", "field: required (the message's top-level field to compare)");
    m.field = string_of("match.field", *field);
    if (m.field.empty()) fail("match.field", "expected a field name, got an empty string");
    const toml::node* equals = table->get("equals");
    if (!equals) fail("match", "equals: required (the values that select this route)");
    auto add = [&](const toml::node& v) {
      if (const auto* s = v.as_string()) m.equals.push_back(s->get());
      else if (const auto* i = v.as_integer()) m.equals.push_back(fmt::format("{}", i->get()));
      else if (const auto* b = v.as_boolean()) m.equals.push_back(b->get() ? "true" : "false");
      else fail("match.equals", fmt::format("expected strings, whole numbers or booleans, got {}", type_name(v)));
    };
    if (const auto* list = equals->as_array()) {
      for (const toml::node& v : *list) add(v);
      if (m.equals.empty()) fail("match.equals", "an empty list matches nothing");
    } else {
      add(*equals);
    }
    return m;
  }

  void read_url(RouteSpec& r) const {
    auto url = string("url");
    if (!url) fail("url", "required");
    r.url = expand("url", *url, &r.url_shown);
    std::string why;
    auto parsed = parse_url_template(r.url, &why);
    if (!parsed) fail("url", why);
    r.url_template = std::move(*parsed);
  }

  std::vector<Header> read_headers(const toml::node& node) const {
    const auto* table = node.as_table();
    if (!table) fail("headers", fmt::format("expected a table {{ \"Name\" = \"value\" }}, got {}", type_name(node)));
    std::vector<Header> headers;
    for (auto&& [key, value] : *table) {
      const std::string name(key.str());
      const std::string where = fmt::format("headers.{}", name);
      if (name.empty() || !std::all_of(name.begin(), name.end(), token_char)) {
        fail("headers", fmt::format("\"{}\" is not an HTTP header name", name));
      }
      if (std::find(kClientHeaders.begin(), kClientHeaders.end(), lower(name)) != kClientHeaders.end()) {
        fail(where, "Conveyor writes this header itself");
      }
      const auto* s = value.as_string();
      if (!s) fail(where, fmt::format("expected a string, got {}", type_name(value)));
      Header header{name, expand(where, s->get())};
      // The value is not quoted: it may be a secret.
      if (header.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        fail(where, "the value has a line break or NUL, which would break the request");
      }
      headers.push_back(std::move(header));
    }
    return headers;
  }

  Auth read_auth(const toml::node& node) const {
    const auto* table = node.as_table();
    if (!table) fail("auth", fmt::format("expected a table {{ type = \"oauth2_client_credentials\", ... }}, got {}", type_name(node)));
    for (auto&& [key, value] : *table) {
      (void)value;
      if (std::find(kAuthKeys.begin(), kAuthKeys.end(), key.str()) == kAuthKeys.end()) {
        fail("auth", unknown_key(key.str(), kAuthKeys));
      }
    }
    auto field = [&](std::string_view key) -> std::optional<std::string> {
      const toml::node* n = table->get(key);
      if (!n) return std::nullopt;
      const std::string where = fmt::format("auth.{}", key);
      return expand(where, string_of(where, *n));
    };
    Auth auth;
    const auto type = field("type");
    if (!type) fail("auth.type", "required: \"oauth2_client_credentials\" or \"none\"");
    if (*type == "none") {
      if (table->size() > 1) fail("auth", "type = \"none\" takes no other keys");
      return auth;
    }
    if (*type != "oauth2_client_credentials") {
      fail("auth.type", fmt::format("expected \"oauth2_client_credentials\" or \"none\", got '{}'", *type));
    }
    auth.type = Auth::Type::oauth2_client_credentials;
    for (auto [key, target] : {std::pair{"token_url", &auth.token_url}, {"client_id", &auth.client_id},
                               {"client_secret", &auth.client_secret}}) {
      auto value = field(key);
      if (!value || value->empty()) fail(fmt::format("auth.{}", key), "required with oauth2_client_credentials");
      *target = std::move(*value);
    }
    auth.scope = field("scope").value_or("");
    std::string why;
    auto token_url = parse_url_template(auth.token_url, &why);
    if (!token_url) fail("auth.token_url", why);
    if (token_url->has_placeholders()) fail("auth.token_url", "placeholders are for the route's url only");
    return auth;
  }

  void read_rate(RouteSpec& r) const {
    const toml::node* rate = table_.get("rate");
    const toml::node* burst = table_.get("burst");
    const toml::node* scope = table_.get("rate_scope");
    if (!rate) {
      if (burst) fail("burst", "needs a rate");
      if (scope) fail("rate_scope", "needs a rate");
      return;
    }
    Rate out;
    if (const auto* s = rate->as_string()) {
      auto per_second = parse_rate(s->get());
      if (!per_second) fail("rate", fmt::format("expected calls per time like \"500/s\", \"30/m\" or \"1000/h\", got '{}'", s->get()));
      out.per_second = *per_second;
    } else {
      fail("rate", fmt::format("expected a string like \"500/s\", \"30/m\" or \"1000/h\", got {}", type_name(*rate)));
    }
    out.burst = std::max(1.0, out.per_second);
    if (burst) {
      std::optional<double> b = burst->value<double>();  // an integer or a float
      if (!b || (!burst->is_integer() && !burst->is_floating_point())) {
        fail("burst", fmt::format("expected a number of calls, got {}", type_name(*burst)));
      }
      if (!(*b >= 1) || !std::isfinite(*b)) fail("burst", fmt::format("must be at least 1, got {}", *b));
      out.burst = *b;
    }
    if (scope) {
      const std::string text = string_of("rate_scope", *scope);
      if (text == "process") out.scope = RateScope::process;
      else if (text == "cluster") out.scope = RateScope::cluster;
      else fail("rate_scope", fmt::format("expected \"process\" or \"cluster\", got '{}'", text));
    }
    r.rate = out;
  }

  std::optional<Duration> duration(std::string_view key, bool positive) const {
    const toml::node* node = table_.get(key);
    if (!node) return std::nullopt;
    const auto* s = node->as_string();
    if (!s) fail(key, fmt::format("expected a duration string like \"5s\" or \"250ms\", got {}", type_name(*node)));
    auto d = parse_duration(s->get());
    if (!d) fail(key, fmt::format("expected a duration like \"5s\" or \"250ms\", got '{}'", s->get()));
    if (positive && d->count() <= 0) fail(key, fmt::format("must be longer than 0, got '{}'", s->get()));
    return d;
  }

  void read_overrides(PolicyOverrides& o) const {
    o.request_timeout = duration("request_timeout", true);
    o.connect_timeout = duration("connect_timeout", true);
    o.retry_base = duration("retry_base", false);
    o.retry_max_delay = duration("retry_max_delay", false);
    o.circuit_cooldown = duration("circuit_cooldown", false);
    if (const toml::node* n = table_.get("max_attempts")) o.max_attempts = whole("max_attempts", *n, 1, 1000);
    if (const toml::node* n = table_.get("circuit_failures")) {
      o.circuit_failures = whole("circuit_failures", *n, 1, 1'000'000);
    }
    if (auto statuses = string("retry_statuses")) {
      if (statuses->empty()) fail("retry_statuses", "expected statuses like \"429,5xx\", got an empty string");
      o.retry_statuses = std::move(*statuses);
    }
  }

  const toml::table& table_;
  std::string label_;
  const VariableLookup& lookup_;
};

std::string position(std::string_view origin, const toml::source_region& where) {
  return fmt::format("{}:{}:{}", origin, where.begin.line, where.begin.column);
}

}  // namespace

std::optional<double> parse_rate(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view count = trim(text.substr(0, slash));
  const std::string_view unit = trim(text.substr(slash + 1));
  double seconds = 0;
  if (unit == "s") seconds = 1;
  else if (unit == "m") seconds = 60;
  else if (unit == "h") seconds = 3600;
  else return std::nullopt;
  if (count.empty() || count.find_first_not_of("0123456789.") != std::string_view::npos) return std::nullopt;
  double n = 0;
  const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
  if (ec != std::errc{} || end != count.data() + count.size() || !(n > 0) || !std::isfinite(n)) return std::nullopt;
  return n / seconds;
}

std::vector<RouteSpec> parse_routes(std::string_view text, std::string_view origin, const VariableLookup& lookup) {
  toml::table doc;
  try {
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("ROUTES_FILE: {}: {}", position(origin, e.source()), e.description()));
  }
  for (auto&& [key, node] : doc) {
    if (key.str() != "route") {
      throw ConfigError(fmt::format("ROUTES_FILE: {}: {}", position(origin, node.source()),
                                    unknown_key(key.str(), kTopKeys)));
    }
  }
  const toml::array* routes = doc["route"].as_array();
  if (!routes || routes->empty()) {
    const std::string where = doc.get("route") ? position(origin, doc.get("route")->source()) : std::string(origin);
    throw ConfigError(fmt::format("ROUTES_FILE: {}: route: expected one or more [[route]] tables", where));
  }

  std::vector<RouteSpec> out;
  std::optional<std::string> catch_all;  // the first route without a match
  for (std::size_t i = 0; i < routes->size(); ++i) {
    const toml::node& node = *routes->get(i);
    const toml::table* table = node.as_table();
    const std::string unnamed = fmt::format("route #{}", i + 1);
    if (!table) throw ConfigError(fmt::format("ROUTES_FILE: {}: expected a [[route]] table", unnamed));
    const toml::node* name_node = table->get("name");
    if (!name_node) throw ConfigError(fmt::format("ROUTES_FILE: {}: name: required", unnamed));
    const auto* name = name_node->as_string();
    if (!name) {
      throw ConfigError(fmt::format("ROUTES_FILE: {}: name: expected a string, got {}", unnamed, type_name(*name_node)));
    }
    // Names label metrics and key Redis state: keep them short and plain.
    const std::string& n = name->get();
    if (n.empty() || n.size() > 64 || !std::all_of(n.begin(), n.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        })) {
      throw ConfigError(fmt::format(
          "ROUTES_FILE: {}: name: expected 1 to 64 letters, digits, '-', '_' or '.', got '{}'", unnamed, n));
    }
    const std::string label = fmt::format("route \"{}\"", n);
    for (const auto& earlier : out) {
      if (earlier.name == n) throw ConfigError(fmt::format("ROUTES_FILE: {}: name: a second route of this name", label));
    }
    RouteSpec spec = RouteReader(*table, label, lookup).read();
    if (catch_all) {
      throw ConfigError(fmt::format(
          "ROUTES_FILE: {}: match: unreachable: route \"{}\" before it has no match and takes every message", label,
          *catch_all));
    }
    if (!spec.match) catch_all = spec.name;
    out.push_back(std::move(spec));
  }
  return out;
}

std::vector<RouteSpec> load_routes(const std::filesystem::path& path, const VariableLookup& lookup) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("ROUTES_FILE: cannot read {}", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_routes(text.str(), path.string(), lookup);
}

RouteSpec single_route(const config::Settings& settings) {
  RouteSpec r;
  r.name = "default";
  r.url = settings.target_url;
  r.url_shown = settings.target_url;
  std::string why;
  auto parsed = parse_url_template(r.url, &why);
  if (!parsed) throw ConfigError(fmt::format("TARGET_URL: {}", why));
  r.url_template = std::move(*parsed);
  r.order_by = settings.order_key;
  if (!settings.partner_authorization.empty()) r.headers.push_back({"Authorization", settings.partner_authorization});
  return r;
}

}  // namespace conveyor::route
