// ShardedQueue and ShardedProducer over in-memory shards: fairness, skipping
// empty shards, routing outcomes (parks too) home, and the stable shard choice by key.
#include "queue/sharded_queue.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <map>

#include "queue/sharded_producer.h"
#include "queue/shards.h"
#include "support/in_memory_queue.h"

namespace conveyor::queue {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::InMemoryQueue;

template <class T>
T run(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> out;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    out = std::move(value);
  });
  io.restart();
  io.run_for(10s);
  EXPECT_TRUE(out) << "did not complete";
  return out ? std::move(*out) : T{};
}

struct Shards {
  explicit Shards(std::vector<std::size_t> sizes, std::chrono::milliseconds idle_poll = 100ms) {
    std::vector<std::unique_ptr<QueueBackend>> backends;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      auto shard = std::make_unique<InMemoryQueue>(sizes[i], "s" + std::to_string(i));
      raw.push_back(shard.get());
      backends.push_back(std::move(shard));
    }
    queue = std::make_unique<ShardedQueue>(std::move(backends), idle_poll);
  }
  std::vector<InMemoryQueue*> raw;
  std::unique_ptr<ShardedQueue> queue;
};

TEST(ShardNames, OneShardIsTheChannelItself) {
  EXPECT_EQ(shard_names("shipments", 1), std::vector<std::string>{"shipments"});
  EXPECT_EQ(shard_names("shipments", 3), (std::vector<std::string>{"shipments:0", "shipments:1", "shipments:2"}));
}

TEST(ShardedQueue, SplitsEachLeaseEvenlyAndTagsTheShard) {
  asio::io_context io;
  Shards s({100, 100, 100, 100});
  auto leased = run(io, s.queue->lease(40));
  ASSERT_TRUE(leased);
  ASSERT_EQ(leased->size(), 40u);
  std::map<std::uint32_t, int> per_shard;
  for (const auto& l : *leased) {
    ++per_shard[l.shard];
    EXPECT_EQ(l.id.rfind("s" + std::to_string(l.shard), 0), 0u) << "tagged with the wrong shard: " << l.id;
  }
  EXPECT_EQ(per_shard, (std::map<std::uint32_t, int>{{0, 10}, {1, 10}, {2, 10}, {3, 10}}));
}

TEST(ShardedQueue, RotatesTheStartSoSmallLeasesAreFair) {
  asio::io_context io;
  Shards s({50, 50, 50});
  std::map<std::uint32_t, int> per_shard;
  for (int i = 0; i < 30; ++i) {
    auto leased = run(io, s.queue->lease(1));
    ASSERT_TRUE(leased);
    ASSERT_EQ(leased->size(), 1u);
    ++per_shard[leased->front().shard];
  }
  EXPECT_EQ(per_shard, (std::map<std::uint32_t, int>{{0, 10}, {1, 10}, {2, 10}}));
}

TEST(ShardedQueue, AnEmptyShardIsSkippedNotPolledEveryTime) {
  asio::io_context io;
  Shards s({1000, 0}, 1s);
  std::size_t got = 0;
  for (int i = 0; i < 50; ++i) {
    auto leased = run(io, s.queue->lease(10));
    ASSERT_TRUE(leased);
    got += leased->size();
  }
  EXPECT_GE(got, 450u);                 // the full shard keeps delivering
  EXPECT_LE(s.raw[1]->lease_calls, 5u);  // the empty one is asked only after its pause
}

TEST(ShardedQueue, AnEmptyShardThatSaysItHasMessagesIsAskedAtOnce) {
  asio::io_context io;
  Shards s({0, 0}, 1h);
  std::size_t told = 0;
  s.queue->on_ready([&] { ++told; });
  for (int i = 0; i < 3; ++i) {  // both shards empty: paused, the longest pause is an hour
    auto leased = run(io, s.queue->lease(10));
    ASSERT_TRUE(leased);
    EXPECT_TRUE(leased->empty());
  }
  const std::size_t asked = s.raw[1]->lease_calls;
  s.raw[1]->arrive(4);
  EXPECT_EQ(told, 1u);  // the caller hears it through the sharded queue
  auto leased = run(io, s.queue->lease(10));
  ASSERT_TRUE(leased);
  EXPECT_EQ(leased->size(), 4u);  // not skipped for the rest of its pause
  EXPECT_EQ(s.raw[1]->lease_calls, asked + 1);
  for (const auto& lease : *leased) EXPECT_EQ(lease.shard, 1u);
  s.queue->on_ready(nullptr);
  s.raw[1]->arrive(1);
  EXPECT_EQ(told, 1u);  // reset: nobody is called
}

TEST(ShardedQueue, OutcomesGoBackToTheirShard) {
  asio::io_context io;
  Shards s({10, 10});
  auto leased = run(io, s.queue->lease(20));
  ASSERT_TRUE(leased);
  ASSERT_EQ(leased->size(), 20u);
  for (const auto& l : *leased) {
    if (l.shard == 0) s.queue->acknowledge(l);
    else s.queue->release(l);
  }
  EXPECT_EQ(s.raw[0]->acknowledged.size(), 10u);
  EXPECT_TRUE(s.raw[0]->released.empty());
  EXPECT_EQ(s.raw[1]->released.size(), 10u);
  EXPECT_TRUE(s.raw[1]->acknowledged.empty());
}

TEST(ShardedQueue, AParkGoesBackToItsShardUnattempted) {
  asio::io_context io;
  Shards s({1, 1});
  auto leased = run(io, s.queue->lease(2));
  ASSERT_TRUE(leased);
  ASSERT_EQ(leased->size(), 2u);
  const Lease parked = (*leased)[0].shard == 1 ? (*leased)[0] : (*leased)[1];
  s.queue->park(parked, 250ms);
  EXPECT_TRUE(s.raw[0]->parked_bodies.empty());
  ASSERT_EQ(s.raw[1]->parked_bodies.size(), 1u);
  EXPECT_EQ(s.raw[1]->park_delays.at(0), 250ms);
  // The fake keeps time: the message is due again after its 250 ms.
  auto again = run(io, s.queue->lease(2));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (again && again->empty() && std::chrono::steady_clock::now() < deadline) again = run(io, s.queue->lease(2));
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].shard, 1u);
  EXPECT_EQ((*again)[0].id, parked.id);
  EXPECT_EQ((*again)[0].attempt, 1u) << "waiting is not an attempt";
}

TEST(ShardedQueue, BacklogSumsShards) {
  asio::io_context io;
  Shards s({3, 4, 5});
  auto leased = run(io, s.queue->lease(3));
  ASSERT_TRUE(leased);
  auto backlog = run(io, s.queue->backlog());
  ASSERT_TRUE(backlog);
  EXPECT_EQ(backlog->waiting, 9u);
  EXPECT_EQ(backlog->in_flight, 3u);
}

TEST(ShardedQueue, FailsOnlyWhenEveryShardFails) {
  asio::io_context io;
  Shards s({10, 0});
  s.raw[0]->failures_left = 1;
  auto leased = run(io, s.queue->lease(10));
  EXPECT_TRUE(leased);  // shard 1 answered (empty): not an error
  Shards t({10, 10});
  t.raw[0]->failures_left = 1;
  t.raw[1]->failures_left = 1;
  EXPECT_FALSE(run(io, t.queue->lease(10)));
}

TEST(ShardByKey, SameValueSameShardAndStableAcrossRuns) {
  const auto a = shard_by_key(R"({"p":"+5511900000001","i":1})", "p", 8);
  const auto b = shard_by_key(R"({"i":2,"p":"+5511900000001"})", "p", 8);
  ASSERT_TRUE(a);
  EXPECT_EQ(a, b);
  // FNV-1a 64 of "abc" is 0xe71fa2190541574b: a fixed, documented choice.
  EXPECT_EQ(shard_by_key(R"({"k":"abc"})", "k", 1000), 0xe71fa2190541574bull % 1000);
  EXPECT_EQ(shard_by_key(R"({"k":7})", "k", 1000), shard_by_key(R"({"k":7})", "k", 1000));
  EXPECT_EQ(shard_by_key(R"({"x":1})", "k", 8), std::nullopt);
  EXPECT_EQ(shard_by_key("not json", "k", 8), std::nullopt);
  EXPECT_EQ(shard_by_key("[1]", "k", 8), std::nullopt);
}

// Records every batch it is asked to store.
class RecordingProducer final : public Producer {
 public:
  asio::awaitable<error_code> publish(std::span<const std::string_view> bodies) override {
    for (auto b : bodies) stored.emplace_back(b);
    co_return error_code{};
  }
  std::size_t max_message_bytes() const override { return limit; }
  std::vector<std::string> stored;
  std::size_t limit = 1000;
};

TEST(ShardedProducer, RoundRobinWithoutAKeyAndByKeyWithOne) {
  asio::io_context io;
  std::vector<RecordingProducer*> raw;
  auto make = [&raw] {
    std::vector<std::unique_ptr<Producer>> shards;
    raw.clear();
    for (int i = 0; i < 3; ++i) {
      auto p = std::make_unique<RecordingProducer>();
      raw.push_back(p.get());
      shards.push_back(std::move(p));
    }
    return shards;
  };
  const std::vector<std::string> messages = {R"({"p":"a","i":1})", R"({"p":"b","i":2})", R"({"p":"a","i":3})",
                                             R"({"p":"c","i":4})", R"({"p":"a","i":5})", R"({"p":"b","i":6})"};
  const std::vector<std::string_view> views(messages.begin(), messages.end());

  ShardedProducer round_robin(make(), "");
  EXPECT_FALSE(run(io, round_robin.publish(views)));
  for (auto* shard : raw) EXPECT_EQ(shard->stored.size(), 2u);

  ShardedProducer by_key(make(), "p");
  EXPECT_FALSE(run(io, by_key.publish(views)));
  const std::size_t a = *shard_by_key(messages[0], "p", 3);
  EXPECT_EQ(raw[a]->stored.front(), messages[0]);
  std::vector<std::string> a_messages;
  for (const auto& m : raw[a]->stored) {
    if (m.find(R"("p":"a")") != std::string::npos) a_messages.push_back(m);
  }
  EXPECT_EQ(a_messages, (std::vector<std::string>{messages[0], messages[2], messages[4]}));  // in order
}

}  // namespace
}  // namespace conveyor::queue
