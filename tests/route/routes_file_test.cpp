// The routes file: what it accepts, and that every refusal names the route and the key.
#include "route/routes_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "config/config_error.h"
#include "support/temp_path.h"

namespace conveyor::route {
namespace {

const std::map<std::string, std::string, std::less<>> kVariables = {
    {"CARRIER_A_KEY", "s3cr3t-key"}, {"TARGET_URL", "http://127.0.0.1:9/default"},
    {"TOKEN_SECRET", "t0ken-secret"}, {"QUERY_KEY", "qk-123"}, {"HOST", "api.b.example"}};

std::optional<std::string> lookup(std::string_view name) {
  if (auto it = kVariables.find(name); it != kVariables.end()) return it->second;
  return std::nullopt;
}

std::vector<RouteSpec> parse(std::string_view toml) { return parse_routes(toml, "routes.toml", lookup); }

// The ConfigError's message for `toml`, or "" if it was accepted.
std::string refusal(std::string_view toml) {
  try {
    parse(toml);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << toml;
  return "";
}

TEST(RoutesFile, ReadsTheIssuesExample) {
  const auto routes = parse(R"(
[[route]]
name = "carrier-a"
match = { field = "partner", equals = ["a", "acme"] }
url = "https://api.carrier-a.example/v2/shipments/{p}"
headers = { "X-Api-Key" = "${CARRIER_A_KEY}" }
concurrency = 2000
rate = "500/s"
burst = 50
rate_scope = "cluster"
adaptive = true
request_timeout = "5s"
order_by = "shipment"

[[route]]
name = "default"
url = "${TARGET_URL}"
)");
  ASSERT_EQ(routes.size(), 2u);
  const RouteSpec& a = routes[0];
  EXPECT_EQ(a.name, "carrier-a");
  ASSERT_TRUE(a.match);
  EXPECT_EQ(a.match->field, "partner");
  EXPECT_EQ(a.match->equals, (std::vector<std::string>{"a", "acme"}));
  EXPECT_EQ(a.url, "https://api.carrier-a.example/v2/shipments/{p}");
  EXPECT_EQ(a.url_template.origin(), "https://api.carrier-a.example");
  ASSERT_EQ(a.headers.size(), 1u);
  EXPECT_EQ(a.headers[0].name, "X-Api-Key");
  EXPECT_EQ(a.headers[0].value, "s3cr3t-key");
  EXPECT_EQ(a.concurrency, 2000u);
  ASSERT_TRUE(a.rate);
  EXPECT_DOUBLE_EQ(a.rate->per_second, 500);
  EXPECT_DOUBLE_EQ(a.rate->burst, 50);
  EXPECT_EQ(a.rate->scope, RateScope::cluster);
  EXPECT_TRUE(a.adaptive);
  EXPECT_EQ(a.order_by, "shipment");
  EXPECT_EQ(a.overrides.request_timeout, std::chrono::seconds(5));
  EXPECT_FALSE(a.overrides.connect_timeout);
  EXPECT_FALSE(a.overrides.max_attempts);

  const RouteSpec& d = routes[1];
  EXPECT_FALSE(d.match);
  EXPECT_EQ(d.url, "http://127.0.0.1:9/default");
  EXPECT_EQ(d.concurrency, 0u);
  EXPECT_FALSE(d.rate);
  EXPECT_FALSE(d.adaptive);
  EXPECT_EQ(d.auth.type, Auth::Type::none);
}

TEST(RoutesFile, RatesAndTheirBurstDefault) {
  EXPECT_DOUBLE_EQ(*parse_rate("500/s"), 500);
  EXPECT_DOUBLE_EQ(*parse_rate("30/m"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_rate("1800/h"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_rate("2.5/s"), 2.5);
  EXPECT_DOUBLE_EQ(*parse_rate(" 10 / s "), 10);
  for (auto bad : {"", "500", "500/d", "/s", "0/s", "-1/s", "1e3/s", "x/s", "500/sec", "nan/s"}) {
    EXPECT_FALSE(parse_rate(bad)) << bad;
  }
  auto route = [](std::string_view extra) {
    return parse(std::string("[[route]]\nname = \"r\"\nurl = \"http://h/\"\n") + std::string(extra))[0];
  };
  EXPECT_DOUBLE_EQ(route("rate = \"500/s\"").rate->burst, 500);  // one second's worth
  EXPECT_DOUBLE_EQ(route("rate = \"30/m\"").rate->burst, 1);     // at least 1
  EXPECT_EQ(route("rate = \"30/m\"").rate->scope, RateScope::process);
  EXPECT_DOUBLE_EQ(route("rate = \"1/s\"\nburst = 2.5").rate->burst, 2.5);
}

TEST(RoutesFile, EveryDeliveryPolicyKeyMayBeOverridden) {
  const auto r = parse(R"([[route]]
name = "r"
url = "http://h/"
request_timeout = "5s"
connect_timeout = "200ms"
retry_base = "2s"
retry_max_delay = "1m"
circuit_cooldown = "3s"
max_attempts = 4
circuit_failures = 7
retry_statuses = "429,5xx"
)")[0];
  EXPECT_EQ(r.overrides.request_timeout, std::chrono::seconds(5));
  EXPECT_EQ(r.overrides.connect_timeout, std::chrono::milliseconds(200));
  EXPECT_EQ(r.overrides.retry_base, std::chrono::seconds(2));
  EXPECT_EQ(r.overrides.retry_max_delay, std::chrono::minutes(1));
  EXPECT_EQ(r.overrides.circuit_cooldown, std::chrono::seconds(3));
  EXPECT_EQ(r.overrides.max_attempts, 4u);
  EXPECT_EQ(r.overrides.circuit_failures, 7u);
  EXPECT_EQ(r.overrides.retry_statuses, "429,5xx");
}

TEST(RoutesFile, Oauth2ClientCredentials) {
  const auto r = parse(R"([[route]]
name = "ups"
url = "https://${HOST}/ship?key=${QUERY_KEY}"
auth = { type = "oauth2_client_credentials", token_url = "https://auth.example/token", client_id = "me", client_secret = "${TOKEN_SECRET}", scope = "ship" }
)")[0];
  EXPECT_EQ(r.auth.type, Auth::Type::oauth2_client_credentials);
  EXPECT_EQ(r.auth.token_url, "https://auth.example/token");
  EXPECT_EQ(r.auth.client_id, "me");
  EXPECT_EQ(r.auth.client_secret, "t0ken-secret");
  EXPECT_EQ(r.auth.scope, "ship");
  EXPECT_EQ(r.url, "https://api.b.example/ship?key=qk-123");
  // A ${VAR} in the query may be an api key: shown by name only.
  EXPECT_EQ(r.url_shown, "https://api.b.example/ship?key=${QUERY_KEY}");
}

TEST(RoutesFile, DollarDollarIsALiteralDollar) {
  const auto r = parse("[[route]]\nname = \"r\"\nurl = \"http://h/\"\nheaders = { X = \"a$$b$c\" }\n")[0];
  EXPECT_EQ(r.headers[0].value, "a$b$c");
}

// Each refusal: the exact message starts with ROUTES_FILE, names the route and the key.
TEST(RoutesFile, EveryRefusalNamesTheRouteAndTheKey) {
  const std::string head = "[[route]]\nname = \"r\"\n";
  const std::string url = "url = \"http://h/\"\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {head + url + "concurency = 3\n",
       "ROUTES_FILE: route \"r\": unknown key \"concurency\"; did you mean \"concurrency\"?"},
      {head + url + "colour = 3\n", "ROUTES_FILE: route \"r\": unknown key \"colour\" (known: name, match, url, "
                                    "headers, auth, concurrency, rate, burst, rate_scope, adaptive, order_by, "
                                    "request_timeout, connect_timeout, retry_base, retry_max_delay, max_attempts, "
                                    "retry_statuses, circuit_failures, circuit_cooldown)"},
      {head, "ROUTES_FILE: route \"r\": url: required"},
      {head + "url = 5\n", "ROUTES_FILE: route \"r\": url: expected a string, got an integer"},
      {head + "url = \"ftp://h/\"\n", "ROUTES_FILE: route \"r\": url: unsupported scheme \"ftp\" (only http and https)"},
      {head + "url = \"https://{h}/x\"\n",
       "ROUTES_FILE: route \"r\": url: placeholders may fill only the path and the query"},
      {head + "url = \"https://h:{port}/x\"\n",
       "ROUTES_FILE: route \"r\": url: placeholders may fill only the path and the query"},
      {head + "url = \"${NOT_SET}\"\n",
       "ROUTES_FILE: route \"r\": url: ${NOT_SET} is not set (in the environment or the .env file)"},
      {head + "url = \"http://h/${A\"\n",
       "ROUTES_FILE: route \"r\": url: a \"${\" without its \"}\" (write $$ for a literal $)"},
      {head + url + "headers = { X = \"${NOPE}\" }\n",
       "ROUTES_FILE: route \"r\": headers.X: ${NOPE} is not set (in the environment or the .env file)"},
      {head + url + "headers = { X = 1 }\n", "ROUTES_FILE: route \"r\": headers.X: expected a string, got an integer"},
      {head + url + "headers = { \"Bad Name\" = \"v\" }\n",
       "ROUTES_FILE: route \"r\": headers: \"Bad Name\" is not an HTTP header name"},
      {head + url + "headers = { Host = \"v\" }\n",
       "ROUTES_FILE: route \"r\": headers.Host: Conveyor writes this header itself"},
      {head + url + "headers = { X = \"a\\r\\nInjected: 1\" }\n",
       "ROUTES_FILE: route \"r\": headers.X: the value has a line break or NUL, which would break the request"},
      {head + url + "headers = \"X: 1\"\n",
       "ROUTES_FILE: route \"r\": headers: expected a table { \"Name\" = \"value\" }, got a string"},
      {head + url + "concurrency = 0\n",
       "ROUTES_FILE: route \"r\": concurrency: 0 is not a limit; leave concurrency out for none"},
      {head + url + "concurrency = \"10\"\n", "ROUTES_FILE: route \"r\": concurrency: expected a whole number, got a string"},
      {head + url + "concurrency = 2000000\n",
       "ROUTES_FILE: route \"r\": concurrency: expected a whole number from 1 to 1000000, got 2000000"},
      {head + url + "rate = \"5 per second\"\n",
       "ROUTES_FILE: route \"r\": rate: expected calls per time like \"500/s\", \"30/m\" or \"1000/h\", got '5 per second'"},
      {head + url + "rate = \"0/s\"\n",
       "ROUTES_FILE: route \"r\": rate: expected calls per time like \"500/s\", \"30/m\" or \"1000/h\", got '0/s'"},
      {head + url + "rate = 500\n",
       "ROUTES_FILE: route \"r\": rate: expected a string like \"500/s\", \"30/m\" or \"1000/h\", got an integer"},
      {head + url + "rate = \"5/s\"\nburst = 0\n", "ROUTES_FILE: route \"r\": burst: must be at least 1, got 0"},
      {head + url + "rate = \"5/s\"\nburst = \"x\"\n", "ROUTES_FILE: route \"r\": burst: expected a number of calls, got a string"},
      {head + url + "burst = 5\n", "ROUTES_FILE: route \"r\": burst: needs a rate"},
      {head + url + "rate_scope = \"cluster\"\n", "ROUTES_FILE: route \"r\": rate_scope: needs a rate"},
      {head + url + "rate = \"5/s\"\nrate_scope = \"global\"\n",
       "ROUTES_FILE: route \"r\": rate_scope: expected \"process\" or \"cluster\", got 'global'"},
      {head + url + "adaptive = \"yes\"\n", "ROUTES_FILE: route \"r\": adaptive: expected true or false, got a string"},
      {head + url + "order_by = \"\"\n", "ROUTES_FILE: route \"r\": order_by: expected a field name, got an empty string"},
      {head + url + "request_timeout = \"soon\"\n",
       "ROUTES_FILE: route \"r\": request_timeout: expected a duration like \"5s\" or \"250ms\", got 'soon'"},
      {head + url + "request_timeout = 5\n",
       "ROUTES_FILE: route \"r\": request_timeout: expected a duration string like \"5s\" or \"250ms\", got an integer"},
      {head + url + "connect_timeout = \"0s\"\n", "ROUTES_FILE: route \"r\": connect_timeout: must be longer than 0, got '0s'"},
      {head + url + "max_attempts = 0\n",
       "ROUTES_FILE: route \"r\": max_attempts: expected a whole number from 1 to 1000, got 0"},
      {head + url + "circuit_failures = 0\n",
       "ROUTES_FILE: route \"r\": circuit_failures: expected a whole number from 1 to 1000000, got 0"},
      {head + url + "retry_statuses = \"\"\n",
       "ROUTES_FILE: route \"r\": retry_statuses: expected statuses like \"429,5xx\", got an empty string"},
      {head + url + "match = { field = \"p\" }\n",
       "ROUTES_FILE: route \"r\": match: equals: required (the values that select this route)"},
      {head + url + "match = { equals = [\"a\"] }\n",
       "ROUTES_FILE: route \"r\": match: field: required (the message's top-level field to compare)"},
      {head + url + "match = { field = \"p\", equal = [\"a\"] }\n",
       "ROUTES_FILE: route \"r\": match: unknown key \"equal\"; did you mean \"equals\"?"},
      {head + url + "match = { field = \"p\", equals = [] }\n",
       "ROUTES_FILE: route \"r\": match.equals: an empty list matches nothing"},
      {head + url + "match = { field = \"p\", equals = [1.5] }\n",
       "ROUTES_FILE: route \"r\": match.equals: expected strings, whole numbers or booleans, got a number"},
      {head + url + "match = \"p\"\n",
       "ROUTES_FILE: route \"r\": match: expected a table { field = \"...\", equals = [...] }, got a string"},
      {head + url + "auth = { type = \"basic\" }\n",
       "ROUTES_FILE: route \"r\": auth.type: expected \"oauth2_client_credentials\" or \"none\", got 'basic'"},
      {head + url + "auth = { type = \"oauth2_client_credentials\", client_id = \"a\", client_secret = \"b\" }\n",
       "ROUTES_FILE: route \"r\": auth.token_url: required with oauth2_client_credentials"},
      {head + url + "auth = { type = \"oauth2_client_credentials\", token_url = \"https://a/t\", client_id = \"a\" }\n",
       "ROUTES_FILE: route \"r\": auth.client_secret: required with oauth2_client_credentials"},
      {head + url + "auth = { type = \"oauth2_client_credentials\", token_url = \"https://a/t\", client_id = \"a\", "
                    "client_secret = \"${NOPE}\" }\n",
       "ROUTES_FILE: route \"r\": auth.client_secret: ${NOPE} is not set (in the environment or the .env file)"},
      {head + url + "auth = { type = \"oauth2_client_credentials\", token_url = \"ftp://a/t\", client_id = \"a\", "
                    "client_secret = \"b\" }\n",
       "ROUTES_FILE: route \"r\": auth.token_url: unsupported scheme \"ftp\" (only http and https)"},
      {head + url + "auth = { type = \"oauth2_client_credentials\", token_url = \"https://a/t\", client_id = \"a\", "
                    "client_secret = \"b\", scopes = \"x\" }\n",
       "ROUTES_FILE: route \"r\": auth: unknown key \"scopes\"; did you mean \"scope\"?"},
      {head + url + "headers = { Authorization = \"Bearer x\" }\nauth = { type = \"oauth2_client_credentials\", "
                    "token_url = \"https://a/t\", client_id = \"a\", client_secret = \"b\" }\n",
       "ROUTES_FILE: route \"r\": headers: an Authorization header and auth = oauth2_client_credentials both set it; keep one"},
      // Names.
      {"[[route]]\n" + url, "ROUTES_FILE: route #1: name: required"},
      {"[[route]]\nname = 3\n" + url, "ROUTES_FILE: route #1: name: expected a string, got an integer"},
      {"[[route]]\nname = \"a b\"\n" + url,
       "ROUTES_FILE: route #1: name: expected 1 to 64 letters, digits, '-', '_' or '.', got 'a b'"},
      {head + "match = { field = \"p\", equals = \"x\" }\n" + url + head + url,
       "ROUTES_FILE: route \"r\": name: a second route of this name"},
      // A route after a catch-all can never be reached.
      {"[[route]]\nname = \"all\"\n" + url + head + "match = { field = \"p\", equals = \"x\" }\n" + url,
       "ROUTES_FILE: route \"r\": match: unreachable: route \"all\" before it has no match and takes every message"},
      // The file as a whole.
      {"", "ROUTES_FILE: routes.toml: route: expected one or more [[route]] tables"},
      {"[route]\nname = \"r\"\n", "ROUTES_FILE: routes.toml:1:1: route: expected one or more [[route]] tables"},
      {"[[routes]]\nname = \"r\"\n", "ROUTES_FILE: routes.toml:1:1: unknown key \"routes\"; did you mean \"route\"?"},
  };
  for (const auto& [toml, expected] : cases) EXPECT_EQ(refusal(toml), expected) << toml;
}

TEST(RoutesFile, ASyntaxErrorNamesFileLineAndColumn) {
  const std::string message = refusal("[[route]]\nname = \"r\"\nurl = \"http://h/\n");
  EXPECT_EQ(message.rfind("ROUTES_FILE: routes.toml:3:", 0), 0u) << message;
}

TEST(RoutesFile, NoRefusalShowsASecretsValue) {
  for (const std::string toml : {
           "[[route]]\nname = \"r\"\nurl = \"ftp://h/?k=${CARRIER_A_KEY}\"\n",
           "[[route]]\nname = \"r\"\nurl = \"http://h/\"\nheaders = { X = \"${CARRIER_A_KEY}\\n\" }\n",
           "[[route]]\nname = \"r\"\nurl = \"http://h/\"\nauth = { type = \"oauth2_client_credentials\", token_url "
           "= \"ftp://${CARRIER_A_KEY}\", client_id = \"a\", client_secret = \"b\" }\n",
       }) {
    const std::string message = refusal(toml);
    EXPECT_FALSE(message.empty());
    EXPECT_EQ(message.find("s3cr3t"), std::string::npos) << message;
  }
}

TEST(RoutesFile, LoadReadsAFileAndAMissingOneFails) {
  const std::string path = conveyor::testing::temp_path("routes_file_test.toml");
  {
    std::ofstream out(path);
    out << "[[route]]\nname = \"only\"\nurl = \"http://h/x\"\n";
  }
  const auto routes = load_routes(path, lookup);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].name, "only");
  try {
    load_routes("/nonexistent/routes.toml", lookup);
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_STREQ(e.what(), "ROUTES_FILE: cannot read /nonexistent/routes.toml");
  }
}

TEST(RoutesFile, SingleRouteFromTargetUrl) {
  config::Settings s;
  s.target_url = "http://127.0.0.1:9/shipments";
  auto r = single_route(s);
  EXPECT_EQ(r.name, "default");
  EXPECT_FALSE(r.match);
  EXPECT_EQ(r.url_template.fixed_target(), "/shipments");
  EXPECT_TRUE(r.headers.empty());
  EXPECT_TRUE(r.order_by.empty());
  s.order_key = "shipment";
  s.partner_authorization = "Bearer x";
  r = single_route(s);
  EXPECT_EQ(r.order_by, "shipment");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].name, "Authorization");
  EXPECT_EQ(r.headers[0].value, "Bearer x");
  s.target_url = "https://{h}/x";
  try {
    single_route(s);
    ADD_FAILURE() << "accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_STREQ(e.what(), "TARGET_URL: placeholders may fill only the path and the query");
  }
}

}  // namespace
}  // namespace conveyor::route
