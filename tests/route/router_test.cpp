// The router: first match wins, "no route" when nothing takes a message, and no JSON parse at all
// for a single plain route.
#include "route/router.h"

#include <gtest/gtest.h>

#include <thread>

#include "route/routes_file.h"

namespace conveyor::route {
namespace {

std::optional<std::string> no_variables(std::string_view) { return std::nullopt; }

Router router(std::string_view toml) { return Router(parse_routes(toml, "routes.toml", no_variables)); }

constexpr std::string_view kRoutes = R"(
[[route]]
name = "a"
match = { field = "partner", equals = ["a", "acme"] }
url = "https://a.example/v2/shipments/{p}"
order_by = "shipment"

[[route]]
name = "numbers"
match = { field = "partner", equals = [7, true] }
url = "https://n.example/x"

[[route]]
name = "a-again"
match = { field = "partner", equals = "a" }
url = "https://other.example/"

[[route]]
name = "default"
url = "http://127.0.0.1:9/default"
)";

TEST(Router, FirstMatchWins) {
  const Router r = router(kRoutes);
  auto routed = r.route(R"({"partner": "a", "p": "S/1", "shipment": "S1"})");
  ASSERT_TRUE(routed.ok()) << routed.failure;
  EXPECT_EQ(routed.route, 0u);  // not "a-again", which matches too but comes later
  EXPECT_EQ(routed.target, "/v2/shipments/S%2F1");
  EXPECT_EQ(routed.order_key, "S1");

  routed = r.route(R"({"partner": "acme", "p": 5, "shipment": 12})");
  EXPECT_EQ(routed.route, 0u);
  EXPECT_EQ(routed.order_key, "12");  // numbers by their JSON text

  routed = r.route(R"({"partner": "acme", "p": 5})");
  EXPECT_EQ(routed.route, 0u);
  EXPECT_EQ(routed.order_key, "");  // order_by field absent: unordered

  EXPECT_EQ(r.route(R"({"partner": 7})").route, 1u);
  EXPECT_EQ(r.route(R"({"partner": true})").route, 1u);
  EXPECT_EQ(r.route(R"({"partner": "7"})").route, 1u);  // compared as text
  EXPECT_EQ(r.route(R"({"partner": "b"})").route, 3u);
  EXPECT_EQ(r.route(R"({"partner": ["a"]})").route, 3u);  // an array matches nothing
  EXPECT_EQ(r.route(R"({"other": 1})").route, 3u);
  EXPECT_EQ(r.route(R"({"partner": "b"})").target, "") << "a plain URL: the route's own target, no copy";
}

TEST(Router, NoRouteAndUnfillableUrlsAreFailuresWithReasons) {
  const Router r = router(R"(
[[route]]
name = "a"
match = { field = "partner", equals = "a" }
url = "https://a.example/{p}"
)");
  EXPECT_EQ(r.route(R"({"partner": "b"})").failure, "no route");
  EXPECT_EQ(r.route(R"({"partner": "a"})").failure, "field \"p\" for the URL is missing");
  EXPECT_EQ(r.route(R"([1, 2])").failure, "message is not a JSON object");
  EXPECT_EQ(r.route("not json").failure, "message is not a JSON object");
  EXPECT_EQ(Router({}).route("{}").failure, "no route");
}

// A single plain route must cost no JSON parse: proven by a body that is not JSON at all.
TEST(Router, APlainRouteNeverParsesTheBody) {
  config::Settings s;
  s.target_url = "http://127.0.0.1:9/shipments?x=1";
  const Router r({single_route(s)});
  for (std::string_view body : {"not json at all", "[1,2]", "{\"truncated\": ", ""}) {
    const auto routed = r.route(body);
    ASSERT_TRUE(routed.ok()) << routed.failure;
    EXPECT_EQ(routed.route, 0u);
    EXPECT_EQ(routed.target, "") << "a plain URL: the route's own target";
    EXPECT_EQ(routed.order_key, "");
  }
  // A plain catch-all placed first routes without a parse, whatever follows it.
  const Router first_plain(parse_routes("[[route]]\nname = \"all\"\nurl = \"http://h/x\"\n", "r.toml", no_variables));
  EXPECT_TRUE(first_plain.route("not json").ok());
  // With ORDER_KEY the field is needed: then a body that is not an object is a failure.
  s.order_key = "k";
  const Router ordered({single_route(s)});
  EXPECT_EQ(ordered.route("not json").failure, "message is not a JSON object");
  EXPECT_EQ(ordered.route(R"({"k": "v"})").order_key, "v");
}

TEST(Router, ConcurrentConstCallsAgree) {
  const Router r = router(kRoutes);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string id = std::to_string(t * 10000 + i);
        const auto routed = r.route(R"({"partner": "a", "p": ")" + id + R"(", "shipment": ")" + id + "\"}");
        if (routed.route != 0 || routed.target != "/v2/shipments/" + id || routed.order_key != id) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace conveyor::route
