#include "partner/stats.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace conveyor::partner {
namespace {

TEST(ShardedStringSet, InsertReportsWhetherTheValueIsNew) {
  ShardedStringSet set;
  EXPECT_TRUE(set.insert("a"));
  EXPECT_FALSE(set.insert("a"));
  EXPECT_TRUE(set.insert(""));
  EXPECT_FALSE(set.insert(""));
  const std::string big(100'000, 'x');  // larger than a shared chunk
  EXPECT_TRUE(set.insert(big));
  EXPECT_FALSE(set.insert(big));
  EXPECT_EQ(set.size(), 3u);
  auto values = set.values();
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<std::string>{"", "a", big}));
}

TEST(ShardedStringSet, IsExactUnderConcurrentInserts) {
  constexpr unsigned kThreads = 8;
  constexpr unsigned kKeys = 20'000;
  ShardedStringSet set;
  std::atomic<unsigned> fresh{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (unsigned i = 0; i < kKeys; ++i) {
        if (set.insert(fmt::format("key-{}", (i + t * 997) % kKeys))) fresh.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(fresh.load(), kKeys);
  EXPECT_EQ(set.size(), kKeys);
}

TEST(ShardedStringSet, HoldsAMillionKeys) {
  ShardedStringSet set;
  for (unsigned i = 0; i < 1'000'000; ++i) {
    ASSERT_TRUE(set.insert(fmt::format("00000000-0000-4000-8000-{:012}", i)));
  }
  EXPECT_FALSE(set.insert("00000000-0000-4000-8000-000000999999"));
  EXPECT_EQ(set.size(), 1'000'000u);
}

TEST(Stats, CountsOutcomesKeysAndInFlight) {
  Stats stats(false);
  for (int i = 0; i < 6; ++i) stats.received();
  EXPECT_EQ(stats.snapshot().in_flight, 6u);
  stats.answered_ok("a", "x");
  stats.answered_ok("a", "x");
  stats.answered_ok("", "x");  // no key: neither unique nor duplicate
  stats.answered_failed();
  stats.answered_ok("b", "y");
  stats.abandoned();
  EXPECT_EQ(stats.snapshot(), (StatsSnapshot{6, 4, 1, 2, 1, 0}));
  EXPECT_TRUE(stats.bodies().empty());
}

TEST(Stats, FailedAnswersDoNotClaimTheirKey) {
  Stats stats(false);
  stats.received();
  stats.received();
  stats.answered_failed();   // key "a" answered 503
  stats.answered_ok("a", "");  // the retry succeeds: first OK for "a"
  EXPECT_EQ(stats.snapshot(), (StatsSnapshot{2, 1, 1, 1, 0, 0}));
}

TEST(Stats, RecordsDistinctBodiesWhenAsked) {
  Stats stats(true);
  for (const char* body : {"x", "y", "x"}) {
    stats.received();
    stats.answered_ok("", body);
  }
  auto bodies = stats.bodies();
  std::sort(bodies.begin(), bodies.end());
  EXPECT_EQ(bodies, (std::vector<std::string>{"x", "y"}));
}

TEST(Stats, JsonHasEveryFieldInOrder) {
  EXPECT_EQ(to_json(StatsSnapshot{1, 2, 3, 4, 5, 6}),
            R"({"requests":1,"ok":2,"failed":3,"unique_keys":4,"duplicates":5,"in_flight":6})");
}

}  // namespace
}  // namespace conveyor::partner
