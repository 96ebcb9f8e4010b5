// `conveyor routes check`: prints the resolved routes with every secret masked, and a bad file
// fails with one line naming the route and the key, exit code 2.
#include <gtest/gtest.h>

#include <fstream>

#include "support/conveyor_harness.h"
#include "support/temp_path.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

const std::vector<std::string> kSecrets = {"CARRIER_A_KEY=hunter2-header", "QUERY_KEY=hunter2-query",
                                           "TOKEN_SECRET=hunter2-token", "TARGET_URL=http://127.0.0.1:9/x"};

TEST(RoutesCheck, PrintsTheRoutesWithSecretsMasked) {
  const std::string path = write_file("routes-check.toml", R"(
[[route]]
name = "carrier-a"
match = { field = "partner", equals = ["a", "acme"] }
url = "https://api.carrier-a.example/v2/shipments/{p}?key=${QUERY_KEY}"
headers = { "X-Api-Key" = "${CARRIER_A_KEY}", "X-Plain" = "not-secret-but-masked" }
auth = { type = "oauth2_client_credentials", token_url = "https://auth.example/token", client_id = "me", client_secret = "${TOKEN_SECRET}", scope = "ship" }
concurrency = 2000
rate = "500/s"
burst = 50
rate_scope = "cluster"
adaptive = true
order_by = "shipment"
request_timeout = "5s"
max_attempts = 3

[[route]]
name = "default"
url = "${TARGET_URL}"
)");
  const auto run = run_conveyor({"routes", "check", path}, 20s, kSecrets);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.find("hunter2"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("not-secret-but-masked"), std::string::npos) << run.output;
  for (const char* expected : {
           "route 1 \"carrier-a\"\n",
           "  match             partner = \"a\" or \"acme\"\n",
           "  url               https://api.carrier-a.example/v2/shipments/{p}?key=${QUERY_KEY}\n",
           "  header            X-Api-Key: ***\n",
           "  header            X-Plain: ***\n",
           "  auth              oauth2_client_credentials, token_url https://auth.example/token, client_id me, "
           "client_secret ***, scope ship\n",
           "  concurrency       2000\n",
           "  rate              500/s, burst 50, scope cluster\n",
           "  adaptive          true\n",
           "  order_by          shipment\n",
           "  request_timeout   5s\n",
           "  max_attempts      3\n",
           "route 2 \"default\"\n",
           "  match             every message (catch-all)\n",
           "  url               http://127.0.0.1:9/x\n",
           "  concurrency       no per-route limit\n",
           "  rate              unlimited\n",
       }) {
    EXPECT_NE(run.output.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << run.output;
  }
}

TEST(RoutesCheck, TheFileMayComeFromRoutesFile) {
  const std::string path = write_file("routes-check-env.toml", "[[route]]\nname = \"only\"\nmatch = { field = \"p\", equals = \"a\" }\nurl = \"http://h/x\"\n");
  auto run = run_conveyor({"routes", "check"}, 20s, {"ROUTES_FILE=" + path});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("route 1 \"only\""), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("dead-lettered with the reason \"no route\""), std::string::npos) << run.output;
  run = run_conveyor({"routes", "check", "--routes", path}, 20s);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  run = run_conveyor({"routes", "check"}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: ROUTES_FILE: no routes file: give routes check FILE, or set --routes or ROUTES_FILE\n");
}

TEST(RoutesCheck, ABadFileFailsNamingTheRouteAndTheKey) {
  const std::string path = write_file("routes-check-bad.toml", R"(
[[route]]
name = "carrier-a"
url = "https://api.carrier-a.example/x"
headers = { "X-Api-Key" = "${CARRIER_A_KEY}" }
rate = "fast"
)");
  auto run = run_conveyor({"routes", "check", path}, 20s, kSecrets);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output,
            "conveyor: ROUTES_FILE: route \"carrier-a\": rate: expected calls per time like \"500/s\", \"30/m\" or "
            "\"1000/h\", got 'fast'\n");

  const std::string unset = write_file("routes-check-unset.toml",
                                       "[[route]]\nname = \"b\"\nurl = \"http://h/\"\nheaders = { K = \"${UNSET_VAR_X}\" }\n");
  run = run_conveyor({"routes", "check", unset}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output,
            "conveyor: ROUTES_FILE: route \"b\": headers.K: ${UNSET_VAR_X} is not set (in the environment or the .env "
            "file)\n");

  run = run_conveyor({"routes", "check", "/nonexistent/routes.toml"}, 20s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "conveyor: ROUTES_FILE: cannot read /nonexistent/routes.toml\n");
}

TEST(RoutesCheck, VariablesComeFromTheEnvFileToo) {
  const std::string env = write_file("routes-check.env", "PARTNER_B_URL=http://127.0.0.1:9/from-env-file\n");
  const std::string path = write_file("routes-check-vars.toml", "[[route]]\nname = \"b\"\nurl = \"${PARTNER_B_URL}\"\n");
  const auto run = run_conveyor({"--env-file", env, "routes", "check", path}, 20s);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("http://127.0.0.1:9/from-env-file"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace conveyor::testing
