#include "config/settings.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config_error.h"
#include "config/env_file.h"

namespace conveyor::config {
namespace {

using namespace std::chrono_literals;

std::string error_of(const Layers& layers, std::span<const std::string_view> required = {}) {
  try {
    load_settings(layers, required);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

::testing::AssertionResult fails_with(const Layers& layers, std::string_view prefix,
                                      std::span<const std::string_view> required = {}) {
  const std::string error = error_of(layers, required);
  if (error.starts_with(prefix)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "error was: " << error;
}

TEST(Settings, DefaultsApplyWhenNothingIsSet) {
  const Settings s = load_settings({});
  EXPECT_EQ(s.queue, QueueKind::redis);
  EXPECT_EQ(s.redis_url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(s.concurrency, 1000u);
  EXPECT_EQ(s.lease_timeout, 30s);
  EXPECT_EQ(s.request_timeout, 10s);
  EXPECT_GE(s.threads, 1u);
  EXPECT_TRUE(s.partner_tls_verify);
}

TEST(Settings, LaterLayersWin) {
  Layers layers;
  layers.env_file = {{"CONCURRENCY", "10"}, {"CHANNEL_NAME", "from-file"}, {"THREADS", "3"}};
  layers.environment = {{"CONCURRENCY", "20"}, {"CHANNEL_NAME", "from-env"}};
  layers.flags = {{"CONCURRENCY", "30"}};
  const Settings s = load_settings(layers);
  EXPECT_EQ(s.concurrency, 30u);             // flag beats environment and file
  EXPECT_EQ(s.channel, "from-env");          // environment beats file
  EXPECT_EQ(s.threads, 3u);                  // file beats default
}

// The keys QUEUE=SQS cannot do without.
KeyValues sqs_keys(std::string queue = "SQS") {
  return {{"QUEUE", queue}, {"AWS_REGION", "eu-west-1"}, {"AWS_ACCESS_KEY_ID", "AKID"},
          {"AWS_SECRET_ACCESS_KEY", "very-secret-key"}};
}

TEST(Settings, QueueIsCaseInsensitive) {
  Layers layers;
  layers.env_file = sqs_keys("sqs");
  EXPECT_EQ(load_settings(layers).queue, QueueKind::sqs);
  layers.env_file = {{"QUEUE", "Redis"}};
  EXPECT_EQ(load_settings(layers).queue, QueueKind::redis);
}

TEST(Settings, ErrorsNameTheKeyAndTheValue) {
  Layers layers;
  layers.env_file = {{"QUEUE", "KAFKA"}};
  EXPECT_EQ(error_of(layers), "QUEUE: expected REDIS or SQS, got 'KAFKA'");

  layers = {};
  layers.flags = {{"CONCURRENCY", "12x"}};
  EXPECT_EQ(error_of(layers), "CONCURRENCY: expected a whole number from 1 to 1000000, got '12x'");

  layers = {};
  layers.environment = {{"LEASE_TIMEOUT", "soon"}};
  EXPECT_EQ(error_of(layers), "LEASE_TIMEOUT: expected a duration like 30s or 250ms, got 'soon'");

  layers = {};
  layers.environment = {{"PARTNER_TLS_VERIFY", "maybe"}};
  EXPECT_EQ(error_of(layers), "PARTNER_TLS_VERIFY: expected true or false, got 'maybe'");

  layers = {};
  layers.flags = {{"CONCURRENCY", "0"}};
  EXPECT_NE(error_of(layers).find("CONCURRENCY:"), std::string::npos);
}

TEST(Settings, RequiredKeysMustBeSet) {
  constexpr std::array<std::string_view, 2> required = {"CHANNEL_NAME", "TARGET_URL"};
  Layers layers;
  layers.env_file = {{"CHANNEL_NAME", "shipments"}};
  EXPECT_EQ(error_of(layers, required), "TARGET_URL: required but not set");
  layers.flags = {{"TARGET_URL", "http://127.0.0.1:1/x"}};
  EXPECT_EQ(error_of(layers, required), "no error");
}

TEST(Settings, ARoutesFileStandsInForTargetUrl) {
  constexpr std::array<std::string_view, 2> required = {"CHANNEL_NAME", "TARGET_URL"};
  Layers layers;
  layers.env_file = {{"CHANNEL_NAME", "shipments"}, {"ROUTES_FILE", "routes.toml"}, {"ORDER_KEY", "shipment"}};
  EXPECT_EQ(error_of(layers, required), "no error");
  const Settings s = load_settings(layers, required);
  EXPECT_EQ(s.routes_file, "routes.toml");
  EXPECT_EQ(s.order_key, "shipment");
  EXPECT_EQ(s.target_url, "");
}

TEST(Settings, RequestTimeoutMustBeShorterThanTheLease) {
  Layers layers;
  layers.flags = {{"LEASE_TIMEOUT", "5s"}, {"REQUEST_TIMEOUT", "5s"}};
  EXPECT_EQ(error_of(layers), "REQUEST_TIMEOUT: must be shorter than LEASE_TIMEOUT (5s), got '5s'");
}

TEST(Settings, EnvironmentPicksOnlyKnownKeys) {
  std::string a = "CHANNEL_NAME=x", b = "HOME=/root", c = "CONCURRENCY=7";
  char* env[] = {a.data(), b.data(), c.data(), nullptr};
  const KeyValues known = known_environment(env);
  EXPECT_EQ(known.size(), 2u);
  EXPECT_EQ(known.at("CHANNEL_NAME"), "x");
  EXPECT_EQ(known.at("CONCURRENCY"), "7");
}

TEST(EnvFile, ParsesTheOldDesignsFormat) {
  const KeyValues kv = parse_env_text(
      "# the old .env\n"
      "QUEUE=REDIS\n"
      "export CHANNEL_NAME = shipments \n"
      "\n"
      "REDIS_URL=\"redis://:p#ss@127.0.0.1:6379/2\"\n"
      "TARGET_URL='http://127.0.0.1:8080/push'\n"
      "CONCURRENCY=100 # trailing comment\n"
      "EMPTY=\r\n",
      ".env");
  EXPECT_EQ(kv.at("QUEUE"), "REDIS");
  EXPECT_EQ(kv.at("CHANNEL_NAME"), "shipments");
  EXPECT_EQ(kv.at("REDIS_URL"), "redis://:p#ss@127.0.0.1:6379/2");
  EXPECT_EQ(kv.at("TARGET_URL"), "http://127.0.0.1:8080/push");
  EXPECT_EQ(kv.at("CONCURRENCY"), "100");
  EXPECT_EQ(kv.at("EMPTY"), "");
}

TEST(EnvFile, MalformedLinesNameFileAndLine) {
  try {
    parse_env_text("QUEUE=REDIS\nthis is not a setting\n", "conf/.env");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "conf/.env:2: expected KEY=VALUE, got 'this is not a setting'");
  }
  EXPECT_THROW(parse_env_text("A=\"open\n", ".env"), ConfigError);
  EXPECT_THROW(read_env_file("/nonexistent/.env"), ConfigError);
}

// .env.example is the configuration reference: it must document every key.
TEST(EnvExample, DocumentsEveryKnownKey) {
  std::ifstream in(std::string(CONVEYOR_SOURCE_DIR) + "/.env.example");
  ASSERT_TRUE(in) << ".env.example is missing";
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& key : known_keys()) {
    EXPECT_NE(text.str().find(std::string(key.name) + "="), std::string::npos) << key.name << " is not in .env.example";
  }
}

TEST(SqsSettings, RegionAndCredentialsAreRequiredOnlyWithSqs) {
  Layers layers;
  EXPECT_NO_THROW(load_settings(layers));  // Redis needs none of them
  for (const char* key : {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
    layers.env_file = sqs_keys();
    layers.env_file.erase(key);
    try {
      load_settings(layers);
      ADD_FAILURE() << key << " was not required";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(key, 0), 0u) << e.what();
    }
  }
  layers.env_file = sqs_keys();
  layers.env_file.erase("AWS_REGION");
  layers.environment = {{"AWS_DEFAULT_REGION", "us-west-2"}};
  EXPECT_EQ(load_settings(layers).aws_region, "us-west-2");
  layers.environment = {{"AWS_DEFAULT_REGION", "us-west-2"}, {"AWS_REGION", "ap-south-1"}};
  EXPECT_EQ(load_settings(layers).aws_region, "ap-south-1");
}

// Issue 11: on EKS, ECS or EC2 the keys come from the AWS chain, checked when the command starts.
TEST(SqsSettings, NoKeysAreNeededTheCredentialsChainFindsThem) {
  Layers layers;
  layers.env_file = {{"QUEUE", "SQS"}, {"AWS_REGION", "eu-west-1"}};
  EXPECT_NO_THROW(load_settings(layers));
}

TEST(SqsSettings, TheChainsKeysComeFromEveryLayer) {
  Layers layers;
  layers.env_file = {{"QUEUE", "SQS"},
                     {"AWS_REGION", "eu-west-1"},
                     {"AWS_PROFILE", "from-file"},
                     {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"},
                     {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/secrets/token"},
                     {"AWS_EC2_METADATA_DISABLED", "true"}};
  char profile[] = "AWS_PROFILE=from-environment";
  char role[] = "AWS_ROLE_ARN=arn:aws:iam::1:role/r";
  char token[] = "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/token";
  char* environ[] = {profile, role, token, nullptr};
  layers.environment = known_environment(environ);
  layers.flags = {{"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"}};
  const Settings s = load_settings(layers);
  EXPECT_EQ(s.aws_profile, "from-environment");
  EXPECT_EQ(s.aws_role_arn, "arn:aws:iam::1:role/r");
  EXPECT_EQ(s.aws_web_identity_token_file, "/var/run/token");
  EXPECT_EQ(s.aws_endpoint_url_sts, "http://127.0.0.1:1");
  EXPECT_EQ(s.aws_container_credentials_full_uri, "http://169.254.170.23/v1/credentials");
  EXPECT_EQ(s.aws_container_authorization_token_file, "/var/run/secrets/token");
  EXPECT_TRUE(s.aws_ec2_metadata_disabled);

  layers.environment.erase("AWS_WEB_IDENTITY_TOKEN_FILE");
  EXPECT_TRUE(fails_with(layers, "AWS_WEB_IDENTITY_TOKEN_FILE: required when AWS_ROLE_ARN is set"));
  layers.environment = {};
  layers.flags = {{"AWS_EC2_METADATA_DISABLED", "maybe"}};
  EXPECT_TRUE(fails_with(layers, "AWS_EC2_METADATA_DISABLED: expected true or false"));
}

TEST(SqsSettings, QueueUrlsNameTheShardsAndReplaceTheChannel) {
  Layers layers;
  layers.env_file = sqs_keys();
  layers.env_file["SQS_QUEUE_URL"] = "https://sqs.eu-west-1.amazonaws.com/1/a, https://sqs.eu-west-1.amazonaws.com/1/b";
  static constexpr std::string_view required[] = {"CHANNEL_NAME"};
  const Settings settings = load_settings(layers, required);
  EXPECT_EQ(settings.sqs_queue_urls,
            (std::vector<std::string>{"https://sqs.eu-west-1.amazonaws.com/1/a", "https://sqs.eu-west-1.amazonaws.com/1/b"}));
  EXPECT_EQ(settings.shards, 2u);

  layers.flags = {{"SHARDS", "3"}};
  EXPECT_TRUE(fails_with(layers, "SHARDS: 3 disagrees"));
  layers.flags = {{"SQS_QUEUE_URL", "sqs.eu-west-1.amazonaws.com/1/a"}};
  EXPECT_TRUE(fails_with(layers, "SQS_QUEUE_URL: not an http(s)://"));
  layers.flags.clear();
  layers.env_file.erase("SQS_QUEUE_URL");
  EXPECT_TRUE(fails_with(layers, "CHANNEL_NAME: required", required));
}

TEST(SqsSettings, BoundsAreTheServicesAndErrorsShowNoSecret) {
  Layers layers;
  layers.env_file = sqs_keys();
  layers.flags = {{"SQS_WAIT_TIME", "21s"}};
  EXPECT_TRUE(fails_with(layers, "SQS_WAIT_TIME: must be from 0s to 20s"));
  layers.flags = {{"LEASE_TIMEOUT", "13h"}, {"REQUEST_TIMEOUT", "10s"}};
  EXPECT_TRUE(fails_with(layers, "LEASE_TIMEOUT: an SQS visibility timeout"));
  layers.flags = {{"SQS_ENDPOINT", "localhost:4566"}};
  try {
    load_settings(layers);
    ADD_FAILURE() << "a bad SQS_ENDPOINT was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("SQS_ENDPOINT:", 0), 0u);
    EXPECT_EQ(std::string(e.what()).find("very-secret-key"), std::string::npos);
  }
  layers.flags = {{"SQS_RECEIVERS", "many"}};
  EXPECT_TRUE(fails_with(layers, "SQS_RECEIVERS: expected a whole number"));
}

std::string_view default_of(std::string_view key) {
  for (const auto& spec : known_keys()) {
    if (spec.name == key) return spec.default_value;
  }
  return "(unknown key)";
}

TEST(DeadLetterRetentionSettings, KeysAreKnownWithSidekiqsDefaults) {
  EXPECT_EQ(default_of("DLQ_MAX_LEN"), "10000");
  EXPECT_EQ(default_of("DLQ_MAX_AGE"), "180d");
  EXPECT_EQ(default_of("DLQ_MAX_BYTES"), "268435456");
}

TEST(DeadLetterRetentionSettings, DefaultsAndZeroMeaningOff) {
  const Settings defaults = load_settings({});
  EXPECT_EQ(defaults.dlq_max_len, 10'000u);
  EXPECT_EQ(defaults.dlq_max_age, std::chrono::hours(24 * 180));
  EXPECT_EQ(defaults.dlq_max_bytes, 256u * 1024 * 1024);

  Layers layers;
  layers.env_file = {{"DLQ_MAX_LEN", "0"}, {"DLQ_MAX_AGE", "0"}, {"DLQ_MAX_BYTES", "0"}};
  const Settings off = load_settings(layers);
  EXPECT_EQ(off.dlq_max_len, 0u);
  EXPECT_EQ(off.dlq_max_age, 0ms);
  EXPECT_EQ(off.dlq_max_bytes, 0u);

  layers.env_file = {{"DLQ_MAX_LEN", "500"}, {"DLQ_MAX_AGE", "7d"}, {"DLQ_MAX_BYTES", "1048576"}};
  const Settings set = load_settings(layers);
  EXPECT_EQ(set.dlq_max_len, 500u);
  EXPECT_EQ(set.dlq_max_age, std::chrono::hours(24 * 7));
  EXPECT_EQ(set.dlq_max_bytes, 1'048'576u);
}

TEST(DeadLetterRetentionSettings, BadValuesNameTheKey) {
  Layers layers;
  layers.env_file = {{"DLQ_MAX_LEN", "-1"}};
  EXPECT_TRUE(fails_with(layers, "DLQ_MAX_LEN: expected a whole number from 0 to"));
  layers.env_file = {{"DLQ_MAX_AGE", "6 months"}};
  EXPECT_TRUE(fails_with(layers, "DLQ_MAX_AGE: expected a duration"));
  layers.env_file = {{"DLQ_MAX_BYTES", "256MiB"}};
  EXPECT_TRUE(fails_with(layers, "DLQ_MAX_BYTES: expected a whole number from 0 to"));
}

}  // namespace
}  // namespace conveyor::config
