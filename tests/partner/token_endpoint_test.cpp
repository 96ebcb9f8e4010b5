// The simulator's OAuth2 token endpoint (--oauth-client ID:SECRET): client
// credentials in, random bearer tokens out, and every other POST refused 401
// without a live one; GET /stats counts tokens issued and 401s answered.
#include "partner/simulator.h"

#include <gtest/gtest.h>

#include <string>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "http/basic_auth.h"
#include "partner/test_client.h"
#include "support/child_process.h"

namespace conveyor::partner {
namespace {

using namespace std::chrono_literals;
using testing::Reply;
using testing::TestClient;

class OAuthSimulator : public ::testing::Test {
 protected:
  void start(std::chrono::seconds ttl = std::chrono::seconds(3600)) {
    SimulatorOptions options;
    options.oauth_client = "carrier-a:s3cret pass";
    options.token_ttl = ttl;
    simulator_ = std::make_unique<Simulator>(options);
    ASSERT_FALSE(simulator_->start());
    client_ = std::make_unique<TestClient>(io_, simulator_->local_endpoint());
    ASSERT_FALSE(client_->connect_error());
  }

  // One POST with the given Authorization header (none when empty).
  Reply post(std::string_view target, std::string_view body, std::string_view authorization,
             std::string_view content_type = "application/json") {
    std::string request = fmt::format("POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {}\r\n", target,
                                      content_type);
    if (!authorization.empty()) request += fmt::format("Authorization: {}\r\n", authorization);
    request += fmt::format("Idempotency-Key: k-{}\r\nContent-Length: {}\r\n\r\n", ++sent_, body.size());
    request += body;
    if (auto ec = client_->send_raw(request)) return Reply{ec, 0, {}, {}};
    return client_->receive();
  }

  Reply token_request(std::string_view id, std::string_view secret,
                      std::string_view body = "grant_type=client_credentials") {
    return post("/oauth/token", body, http::basic_authorization(id, secret), "application/x-www-form-urlencoded");
  }

  boost::json::object stats() {
    const Reply reply = client_->request("GET", "/stats");
    EXPECT_EQ(reply.status, 200u);
    return boost::json::parse(reply.body).as_object();
  }

  boost::asio::io_context io_;
  std::unique_ptr<Simulator> simulator_;
  std::unique_ptr<TestClient> client_;
  int sent_ = 0;
};

TEST_F(OAuthSimulator, IssuesBearerTokensThatEveryOtherPostNeeds) {
  start();
  // The id and secret are form-encoded inside Basic (RFC 6749 §2.3.1): the space as '+'.
  const Reply issued = token_request("carrier-a", "s3cret+pass");
  ASSERT_FALSE(issued.error) << issued.error.message();
  ASSERT_EQ(issued.status, 200u) << issued.body;
  const auto answer = boost::json::parse(issued.body).as_object();
  const std::string token(answer.at("access_token").as_string());
  EXPECT_EQ(token.size(), 48u);
  EXPECT_EQ(answer.at("token_type").as_string(), "Bearer");
  EXPECT_EQ(answer.at("expires_in").as_int64(), 3600);
  const Reply second = token_request("carrier-a", "s3cret+pass");
  EXPECT_NE(boost::json::parse(second.body).as_object().at("access_token").as_string(), token);  // random

  EXPECT_EQ(post("/shipments", "{}", "Bearer " + token).status, 200u);
  const Reply none = post("/shipments", "{}", "");
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(none.message["WWW-Authenticate"], R"(Bearer error="invalid_token")");
  EXPECT_EQ(post("/shipments", "{}", "Bearer " + token + "x").status, 401u);
  EXPECT_EQ(post("/shipments", "{}", "Basic " + token).status, 401u);

  const auto counts = stats();
  EXPECT_EQ(counts.at("tokens_issued").as_int64(), 2);
  EXPECT_EQ(counts.at("unauthorized").as_int64(), 3);
  EXPECT_EQ(counts.at("requests").as_int64(), 1);  // a refused call is not a request the partner handled
  EXPECT_EQ(counts.at("ok").as_int64(), 1);
}

TEST_F(OAuthSimulator, RefusesWrongClientCredentialsAndOtherGrants) {
  start();
  for (const auto& [id, secret] : {std::pair{"carrier-a", "wrong"}, {"carrier-b", "s3cret+pass"}, {"carrier-a", ""}}) {
    const Reply refused = token_request(id, secret);
    EXPECT_EQ(refused.status, 401u) << id << ":" << secret;
    EXPECT_EQ(refused.body, R"({"error":"invalid_client"})");
  }
  EXPECT_EQ(post("/oauth/token", "grant_type=client_credentials", "", "application/x-www-form-urlencoded").status,
            401u);
  EXPECT_EQ(token_request("carrier-a", "s3cret+pass", "grant_type=password").status, 400u);
  // Client credentials as form fields are accepted too.
  const Reply in_body = post("/oauth/token", "grant_type=client_credentials&client_id=carrier-a&client_secret=s3cret%20pass",
                             "", "application/x-www-form-urlencoded");
  EXPECT_EQ(in_body.status, 200u) << in_body.body;
  const auto counts = stats();
  EXPECT_EQ(counts.at("tokens_issued").as_int64(), 1);
  EXPECT_EQ(counts.at("unauthorized").as_int64(), 4);
}

TEST_F(OAuthSimulator, TokensExpireAfterTheirTtl) {
  start(std::chrono::seconds(1));
  const Reply issued = token_request("carrier-a", "s3cret+pass");
  ASSERT_EQ(issued.status, 200u);
  const std::string bearer = "Bearer " + std::string(boost::json::parse(issued.body).as_object().at("access_token").as_string());
  EXPECT_EQ(boost::json::parse(issued.body).as_object().at("expires_in").as_int64(), 1);
  const auto issued_at = std::chrono::steady_clock::now();
  const Reply fresh = post("/shipments", "{}", bearer);
  if (std::chrono::steady_clock::now() - issued_at < 900ms) {
    EXPECT_EQ(fresh.status, 200u);
  }
  EXPECT_TRUE(conveyor::testing::wait_until([&] { return post("/shipments", "{}", bearer).status == 401u; }, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - issued_at, 1s);
}

TEST(OAuthSimulatorOptions, BadClientOrTtlIsInvalid) {
  for (const auto& [client, ttl] : {std::pair{"no-colon", 60}, {":secret", 60}, {"id:", 60}, {"id:secret", 0}}) {
    SimulatorOptions options;
    options.oauth_client = client;
    options.token_ttl = std::chrono::seconds(ttl);
    Simulator simulator(options);
    EXPECT_EQ(simulator.start(), boost::system::errc::invalid_argument) << client << " " << ttl;
  }
}

}  // namespace
}  // namespace conveyor::partner
