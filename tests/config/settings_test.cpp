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

TEST(Settings, QueueIsCaseInsensitive) {
  Layers layers;
  layers.env_file = {{"QUEUE", "sqs"}};
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

}  // namespace
}  // namespace conveyor::config
