#include "config/key_suggestion.h"

#include <gtest/gtest.h>

#include "config/settings.h"

namespace conveyor::config {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("ABC", ""), 3u);
  EXPECT_EQ(edit_distance("CONCURENCY", "CONCURRENCY"), 1u);  // a missing letter
  EXPECT_EQ(edit_distance("THRAEDS", "THREADS"), 1u);         // two letters swapped
  EXPECT_EQ(edit_distance("REDIS_URI", "REDIS_URL"), 1u);
  EXPECT_EQ(edit_distance("LEASE_TIMOUT", "LEASE_TIMEOUT"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(KeySuggestion, KeysWithinTwoEditsOfAKnownKeyAreSuggested) {
  EXPECT_EQ(likely_key("CONCURENCY"), "CONCURRENCY");
  EXPECT_EQ(likely_key("CONCURRENCYY"), "CONCURRENCY");
  EXPECT_EQ(likely_key("CHANEL_NAME"), "CHANNEL_NAME");
  EXPECT_EQ(likely_key("LOGLEVEL"), "LOG_LEVEL");
  EXPECT_EQ(likely_key("FECTH_BTACH"), "FETCH_BATCH");  // two swaps
  EXPECT_EQ(likely_key("concurrency"), "CONCURRENCY");  // keys are case-sensitive: lower case is not read
  EXPECT_EQ(likely_key("QUEU"), "QUEUE");
}

TEST(KeySuggestion, KnownKeysAndUnrelatedKeysAreNotSuggested) {
  for (const KeySpec& spec : known_keys()) EXPECT_FALSE(likely_key(spec.name)) << spec.name;
  // What other programs keep in a shared .env: short names are near everything, so they need
  // to be closer than two edits.
  for (const char* key : {"PATH", "HOME", "USER", "PORT", "HOST", "TZ", "ENV", "DEBUG", "LANG", "TERM", "SHELL",
                          "NODE_ENV", "APP_ENV", "DATABASE_URL", "SECRET_KEY", "API_KEY", "SENTRY_DSN", "REDIS_HOST",
                          "REDIS_PORT", "REDIS_DB", "REDIS_PASSWORD", "AWS_PROFILE", "LOG_FILE", "LOG_FORMAT", "TIMEOUT",
                          "WORKERS", "RETRIES", "QUEUE_NAME", "BROKER_URL", "CELERY_BROKER_URL", "PYTHONPATH",
                          "WEB_CONCURRENCY", "POSTGRES_USER", "AWS_ACCOUNT_ID", "VERSION", "STAGE", "REGION"}) {
    EXPECT_FALSE(likely_key(key)) << key << " -> " << likely_key(key).value_or("");
  }
}

TEST(KeySuggestion, ClosestKeyOfAnyList) {
  constexpr std::string_view keys[] = {"concurrency", "rate", "rate_scope", "equals"};
  EXPECT_EQ(closest_key("concurency", keys), "concurrency");
  EXPECT_EQ(closest_key("RATE_SCOPE", keys), "rate_scope");  // letter case ignored
  EXPECT_EQ(closest_key("equal", keys), "equals");
  EXPECT_FALSE(closest_key("rate", keys));  // known
  EXPECT_FALSE(closest_key("rte", keys));   // too short to guess from
  EXPECT_FALSE(closest_key("colour", keys));
}

TEST(KeySuggestion, WarningsNameTheFileLineKeyAndLikelyKey) {
  const EnvFile file = parse_env_file("QUEUE=REDIS\nOTHER_APP_SETTING=1\nCONCURENCY=5\nexport THRAEDS\n", ".env");
  EXPECT_EQ(misspelt_key_warnings(file),
            (std::vector<std::string>{".env:3: unknown key CONCURENCY; did you mean CONCURRENCY?",
                                      ".env:4: unknown key THRAEDS; did you mean THREADS?"}));
}

}  // namespace
}  // namespace conveyor::config
