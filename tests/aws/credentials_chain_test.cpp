// The chain's order (the first source that yields wins, one that applies and fails ends it), the
// message when none yields, and temporary credentials refreshed before they expire, from stand-in
// endpoints on 127.0.0.1 and temporary shared files.
#include "aws/credentials_chain.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "aws/refreshing_credentials.h"
#include "support/credentials_stand_in.h"
#include "support/temp_path.h"

namespace conveyor::aws {
namespace {

using testing::CredentialsStandIn;
using testing::SeenRequest;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Polls `done` until it holds or `limit` passes; a condition with a deadline, not a sleep.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

Credentials numbered(std::size_t n) {
  return {"ASIA" + std::to_string(n), "secret-" + std::to_string(n), "session-" + std::to_string(n)};
}

// Every source pointed away from this machine's real ones: an empty HOME, no IMDS.
ChainSettings isolated(const std::string& home) {
  ChainSettings settings;
  settings.region = "eu-west-1";
  settings.home = home;
  settings.imds_disabled = true;
  return settings;
}

class CredentialsChain : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::remove_all(home_);
    std::filesystem::create_directories(home_ + "/.aws");
  }
  void TearDown() override { std::filesystem::remove_all(home_); }
  void write(const std::string& relative, std::string_view text) { std::ofstream(home_ + "/" + relative) << text; }

  const std::string home_ = testing::temp_path("chain-home");
};

// A container agent answering credentials n, valid for an hour.
CredentialsStandIn hour_long_agent() {
  return CredentialsStandIn([](const SeenRequest&, std::size_t n) {
    return testing::json_answer(200, testing::credentials_json(numbered(n), std::chrono::system_clock::now() + 1h));
  });
}

TEST_F(CredentialsChain, TheEnvironmentBeatsTheProfileWhichBeatsTheContainer) {
  CredentialsStandIn agent([](const SeenRequest&, std::size_t n) {
    return testing::json_answer(200, testing::credentials_json(numbered(n), std::chrono::system_clock::now() + 1h));
  });
  write(".aws/credentials", "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n");
  ChainSettings settings = isolated(home_);
  settings.container_full_uri = agent.url("/creds");
  settings.environment = {"AKIDENV", "env-secret", ""};

  auto provider = resolve_credentials(settings);
  EXPECT_EQ(provider->source(), "environment");
  EXPECT_EQ(provider->current()->access_key_id, "AKIDENV");

  settings.environment = {};
  provider = resolve_credentials(settings);
  EXPECT_EQ(provider->source(), "profile 'default'");
  EXPECT_EQ(provider->current()->access_key_id, "AKIDPROFILE");
  EXPECT_TRUE(agent.requests().empty()) << "a later source was asked";

  std::filesystem::remove(home_ + "/.aws/credentials");
  provider = resolve_credentials(settings);
  EXPECT_EQ(provider->source(), "container endpoint");
  EXPECT_EQ(provider->current()->access_key_id, "ASIA0");
  EXPECT_NE(dynamic_cast<RefreshingCredentials*>(provider.get()), nullptr) << "temporary credentials are refreshed";
}

TEST_F(CredentialsChain, WebIdentityBeatsTheContainer) {
  CredentialsStandIn sts([](const SeenRequest&, std::size_t) {
    return testing::text_answer(200, testing::sts_answer(numbered(7), std::chrono::system_clock::now() + 1h));
  });
  CredentialsStandIn agent([](const SeenRequest&, std::size_t) { return testing::json_answer(500, "{}"); });
  write("token", "web-token");
  ChainSettings settings = isolated(home_);
  settings.web_identity_token_file = home_ + "/token";
  settings.role_arn = "arn:aws:iam::1:role/r";
  settings.sts_endpoint = sts.url();
  settings.container_full_uri = agent.url("/creds");
  const auto provider = resolve_credentials(settings);
  EXPECT_EQ(provider->source(), "web identity");
  EXPECT_EQ(provider->current()->access_key_id, "ASIA7");
  EXPECT_TRUE(agent.requests().empty());
}

TEST_F(CredentialsChain, ASourceThatAppliesAndFailsEndsTheWalkWithoutSecrets) {
  CredentialsStandIn agent = hour_long_agent();
  ChainSettings settings = isolated(home_);
  settings.web_identity_token_file = home_ + "/missing-token";
  settings.role_arn = "arn:aws:iam::1:role/r";
  settings.container_full_uri = agent.url("/creds");
  settings.container_authorization_token = "never-shown-token";
  try {
    resolve_credentials(settings);
    ADD_FAILURE() << "resolved";
  } catch (const NoCredentialsError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("AWS credentials from web identity: token file " + home_ +
                                              "/missing-token cannot be read",
                                          0),
              0u)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("never-shown-token"), std::string::npos);
  }
  EXPECT_TRUE(agent.requests().empty()) << "fell through to the container endpoint";
}

TEST_F(CredentialsChain, NoneYieldingNamesEverySourceTried) {
  try {
    resolve_credentials(isolated(home_));
    ADD_FAILURE() << "resolved";
  } catch (const NoCredentialsError& e) {
    EXPECT_EQ(std::string(e.what()),
              "no AWS credentials found; tried environment (AWS_ACCESS_KEY_ID not set); profile 'default' (not found in " +
                  home_ + "/.aws/credentials or " + home_ +
                  "/.aws/config); web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set); container "
                  "endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set); EC2 instance metadata "
                  "(AWS_EC2_METADATA_DISABLED=true)");
  }
}

TEST(CredentialsRefresh, RefreshesAFewMinutesBeforeExpiryOrHalfWayForShortLives) {
  EXPECT_EQ(RefreshingCredentials::refresh_after(1h), 55min);
  EXPECT_EQ(RefreshingCredentials::refresh_after(6h), 5h + 55min);
  EXPECT_EQ(RefreshingCredentials::refresh_after(4s), 2s);
  EXPECT_EQ(RefreshingCredentials::refresh_after(8min), 4min);
}

TEST_F(CredentialsChain, ShortLivedCredentialsAreRefreshedBeforeTheyExpire) {
  // Each answer's set expires 4 s after it is issued (whole seconds: 3 to 4 s of life).
  CredentialsStandIn agent([](const SeenRequest&, std::size_t n) {
    return testing::json_answer(200, testing::credentials_json(numbered(n), std::chrono::system_clock::now() + 4s));
  });
  ChainSettings settings = isolated(home_);
  settings.container_full_uri = agent.url("/creds");
  const auto started = Clock::now();
  const auto provider = resolve_credentials(settings);
  const CredentialsPtr first = provider->current();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->access_key_id, "ASIA0");

  // The second fetch comes, and current() moves to its set, before the first set expires.
  ASSERT_TRUE(agent.wait_for(2, 3s)) << "no refresh before the first set expired";
  EXPECT_LT(Clock::now() - started, 3s);
  ASSERT_TRUE(eventually([&] { return provider->current() && provider->current()->access_key_id == "ASIA1"; }, 1s));
  EXPECT_EQ(first->access_key_id, "ASIA0") << "a snapshot already handed out never changes";
  EXPECT_GE(dynamic_cast<RefreshingCredentials&>(*provider).counters().refreshes, 1u);
}

TEST_F(CredentialsChain, AFailingRefreshKeepsTheSetUntilItExpiresThenRecovers) {
  // The first set lives 3 s at most; the next two fetches fail; the fourth succeeds.
  CredentialsStandIn agent([](const SeenRequest&, std::size_t n) {
    if (n == 1 || n == 2) return testing::json_answer(500, R"({"Code":"Unavailable","Message":"try later"})");
    return testing::json_answer(200, testing::credentials_json(numbered(n), std::chrono::system_clock::now() +
                                                                                 (n == 0 ? 3s : 1h)));
  });
  ChainSettings settings = isolated(home_);
  settings.container_full_uri = agent.url("/creds");
  const auto provider = resolve_credentials(settings);
  ASSERT_EQ(provider->current()->access_key_id, "ASIA0");
  ASSERT_TRUE(agent.wait_for(2, 5s));
  EXPECT_TRUE(provider->current()) << "the old set was dropped before it expired";
  EXPECT_TRUE(eventually([&] { return provider->current() == nullptr; }, 5s)) << "an expired set is still handed out";
  EXPECT_TRUE(eventually([&] { return provider->current() && provider->current()->access_key_id == "ASIA3"; }, 10s));
  EXPECT_EQ(dynamic_cast<RefreshingCredentials&>(*provider).counters().failures, 2u);
}

TEST(CredentialsExpiration, Iso8601AsAwsWritesIt) {
  using std::chrono::sys_days;
  using namespace std::chrono;
  const auto expected = sys_days(2026y / November / 30) + 9h + 5min + 7s;
  EXPECT_EQ(parse_expiration("2026-11-30T09:05:07Z"), expected);
  EXPECT_EQ(parse_expiration("2026-11-30T09:05:07.123Z"), expected);
  EXPECT_EQ(parse_expiration("2026-11-30T09:05:07+00:00"), expected);
  EXPECT_EQ(parse_expiration("2026-11-30 09:05:07Z"), std::nullopt);
  EXPECT_EQ(parse_expiration("2026-02-30T09:05:07Z"), std::nullopt);
  EXPECT_EQ(parse_expiration("2026-11-30T09:05:07+02:00"), std::nullopt);
  EXPECT_EQ(parse_expiration(""), std::nullopt);
}

}  // namespace
}  // namespace conveyor::aws
