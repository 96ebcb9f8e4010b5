// The Redis queue against a real redis-server: reliable fetch in FIFO order,
// ids and bodies stable across attempts, outcomes that only the lease holder
// can apply, parking that uses no attempt, batched writes, and two workers
// that never share a message.
#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "queue/redis/dead_retention.h"
#include "queue/redis/redis_queue.h"
#include "redis/endpoint.h"
#include "support/child_process.h"
#include "support/coroutine.h"
#include "support/redis_server.h"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using conveyor::error_code;
using conveyor::Result;
using conveyor::queue::Backlog;
using conveyor::queue::DeadLetter;
using conveyor::queue::Lease;
using conveyor::queue::RedisQueue;
using conveyor::testing::RedisServer;
using conveyor::testing::run_coroutine;

const std::string kChannel = "jobs";

// A queue with blocking helpers, each running the io_context until done.
class Worker {
 public:
  Worker(const RedisServer& server, std::chrono::milliseconds lease_timeout,
         std::size_t max_message_bytes = SIZE_MAX)
      : queue_(io_.get_executor(), conveyor::redis::parse_endpoint(server.url()).value(), kChannel, lease_timeout,
               2s, conveyor::queue::DeadLetterRetention{}, max_message_bytes) {}

  RedisQueue& queue() { return queue_; }

  Result<std::vector<Lease>> try_lease(conveyor::queue::LeaseLimits max) {
    std::optional<Result<std::vector<Lease>>> out;
    run_coroutine(io_, [&]() -> asio::awaitable<void> { out = co_await queue_.lease(max); });
    return out ? std::move(*out) : Result<std::vector<Lease>>(make_error_code(asio::error::timed_out));
  }

  std::vector<Lease> lease(conveyor::queue::LeaseLimits max) {
    auto leased = try_lease(max);
    EXPECT_TRUE(leased) << leased.error().message();
    return leased ? std::move(*leased) : std::vector<Lease>{};
  }

  // Leases until something comes (a retry or park falling due, an expired lease), or `limit` passed.
  std::vector<Lease> lease_when_due(std::size_t max, std::chrono::milliseconds limit = 5s) {
    std::vector<Lease> leased;
    conveyor::testing::wait_until(
        [&] {
          leased = lease(max);
          return !leased.empty();
        },
        limit, 5ms);
    return leased;
  }

  error_code flush() {
    error_code ec = asio::error::timed_out;
    run_coroutine(io_, [&]() -> asio::awaitable<void> { ec = co_await queue_.flush(); });
    return ec;
  }

  Backlog backlog() {
    Backlog out;
    run_coroutine(io_, [&]() -> asio::awaitable<void> {
      auto backlog = co_await queue_.backlog();
      CO_ASSERT(backlog);
      out = *backlog;
    });
    return out;
  }

 private:
  asio::io_context io_;  // declared first: the queue must go before it
  RedisQueue queue_;
};

void push(const RedisServer& server, const std::vector<std::string>& bodies) {
  for (std::size_t begin = 0; begin < bodies.size(); begin += 500) {
    std::vector<std::string> command = {"RPUSH", kChannel};
    const auto end = std::min(bodies.size(), begin + 500);
    command.insert(command.end(), bodies.begin() + static_cast<std::ptrdiff_t>(begin),
                   bodies.begin() + static_cast<std::ptrdiff_t>(end));
    server.query(command);
  }
}

std::vector<std::string> numbered(std::size_t n, const std::string& stem = "message") {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(R"({")" + stem + R"(":)" + std::to_string(i) + "}");
  return out;
}

class RedisQueueTest : public ::testing::Test {
 protected:
  RedisServer server;
};

TEST_F(RedisQueueTest, LeasesInFifoOrderAndTakesMessagesOffTheList) {
  std::vector<std::string> bodies = numbered(10);
  bodies[1] = std::string("bin\0ary\xff\r\n", 11);
  push(server, bodies);
  Worker worker(server, 60s);

  const auto first = worker.lease(4);
  ASSERT_EQ(first.size(), 4u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_FALSE(first[i].id.empty());
    ids.insert(first[i].id);
    EXPECT_TRUE(first[i].body == bodies[i]) << i;
    EXPECT_EQ(first[i].attempt, 1u);
    EXPECT_FALSE(first[i].receipt.empty());
    EXPECT_TRUE(server.query({"HGET", kChannel + ":bodies", first[i].id}) == bodies[i]);
    EXPECT_EQ(server.query({"HGET", kChannel + ":attempts", first[i].id}), "1");
    EXPECT_EQ(server.query({"ZSCORE", kChannel + ":leases", first[i].id}), first[i].receipt);
  }
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(server.integer({"LLEN", kChannel}), 6);
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":leases"}), 4);

  const auto rest = worker.lease(100);
  ASSERT_EQ(rest.size(), 6u);
  for (std::size_t i = 0; i < rest.size(); ++i) {
    EXPECT_TRUE(rest[i].body == bodies[4 + i]);
    EXPECT_TRUE(ids.insert(rest[i].id).second) << "id reused: " << rest[i].id;
  }
  EXPECT_EQ(server.integer({"EXISTS", kChannel}), 0);
  EXPECT_TRUE(worker.lease(10).empty());
}

TEST_F(RedisQueueTest, EmptyQueueLeasesNothing) {
  Worker worker(server, 60s);
  EXPECT_TRUE(worker.lease(10).empty());
  EXPECT_TRUE(worker.lease(0).empty());
  EXPECT_TRUE(worker.backlog().empty());
}

TEST_F(RedisQueueTest, AcknowledgeRemovesTheMessageForGood) {
  push(server, numbered(5));
  Worker worker(server, 60s);
  const auto leases = worker.lease(3);
  ASSERT_EQ(leases.size(), 3u);
  for (const auto& lease : leases) worker.queue().acknowledge(lease);
  EXPECT_FALSE(worker.flush());
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":leases"}), 0);
  EXPECT_EQ(server.integer({"HLEN", kChannel + ":bodies"}), 0);
  EXPECT_EQ(server.integer({"HLEN", kChannel + ":attempts"}), 0);
  EXPECT_EQ(server.integer({"LLEN", kChannel}), 2);
  // A second ack of the same lease (say, after a lost reply) changes nothing.
  worker.queue().acknowledge(leases[0]);
  EXPECT_FALSE(worker.flush());
  EXPECT_EQ(server.integer({"LLEN", kChannel}), 2);
}

TEST_F(RedisQueueTest, ExpiredLeaseComesBackWithTheSameIdAndBody) {
  push(server, {R"({"order":42})"});
  Worker slow(server, 200ms);
  Worker other(server, 60s);
  const auto first = slow.lease(1);
  ASSERT_EQ(first.size(), 1u);

  std::vector<Lease> again;
  ASSERT_TRUE(conveyor::testing::wait_until(
      [&] {
        again = other.lease(1);
        return !again.empty();
      },
      5s));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_EQ(again[0].body, first[0].body);
  EXPECT_EQ(again[0].attempt, 2u);
  EXPECT_NE(again[0].receipt, first[0].receipt);

  // The first holder lost its lease: its late release must not disturb the
  // new holder.
  slow.queue().release(first[0]);
  slow.queue().retry_later(first[0], 0ms);
  EXPECT_FALSE(slow.flush());
  EXPECT_EQ(server.query({"ZSCORE", kChannel + ":leases", first[0].id}), again[0].receipt);
  EXPECT_EQ(server.query({"HGET", kChannel + ":attempts", first[0].id}), "2");
}

TEST_F(RedisQueueTest, ReleaseMakesTheMessageLeasableAtOnceWithoutCountingAnAttempt) {
  push(server, {"a", "b"});
  Worker worker(server, 60s);
  const auto first = worker.lease(1);
  ASSERT_EQ(first.size(), 1u);
  worker.queue().release(first[0]);
  EXPECT_FALSE(worker.flush());
  EXPECT_EQ(server.query({"ZSCORE", kChannel + ":leases", first[0].id}), "(nil)");  // no longer held
  EXPECT_EQ(server.query({"ZSCORE", kChannel + ":delayed", first[0].id}), "0");     // due at once

  const auto again = worker.lease(1);  // released work goes before the list
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_EQ(again[0].body, "a");
  EXPECT_EQ(again[0].attempt, 1u);
  EXPECT_EQ(server.integer({"LLEN", kChannel}), 1);
}

TEST_F(RedisQueueTest, OutcomesWithAStaleReceiptDoNothing) {
  push(server, {"a"});
  Worker worker(server, 60s);
  const auto leases = worker.lease(1);
  ASSERT_EQ(leases.size(), 1u);
  Lease stale = leases[0];
  stale.receipt = std::to_string(std::stoll(stale.receipt) - 1);
  worker.queue().release(stale);
  worker.queue().retry_later(stale, 0ms);
  EXPECT_FALSE(worker.flush());
  EXPECT_EQ(server.query({"ZSCORE", kChannel + ":leases", stale.id}), leases[0].receipt);
  EXPECT_EQ(server.query({"HGET", kChannel + ":attempts", stale.id}), "1");
  EXPECT_TRUE(worker.lease(1).empty());
}

TEST_F(RedisQueueTest, RetryLaterDelaysTheNextAttempt) {
  push(server, {"a"});
  Worker worker(server, 60s);
  const auto first = worker.lease(1);
  ASSERT_EQ(first.size(), 1u);
  const auto start = std::chrono::steady_clock::now();
  worker.queue().retry_later(first[0], 500ms);
  EXPECT_FALSE(worker.flush());
  EXPECT_EQ(server.query({"ZSCORE", kChannel + ":leases", first[0].id}), "(nil)");  // not held: waiting its time
  EXPECT_LT(std::stoll(server.query({"ZSCORE", kChannel + ":delayed", first[0].id})), std::stoll(first[0].receipt));
  EXPECT_TRUE(worker.lease(1).empty()) << "not due yet";

  std::vector<Lease> again;
  ASSERT_TRUE(conveyor::testing::wait_until(
      [&] {
        again = worker.lease(1);
        return !again.empty();
      },
      5s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 450ms);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_EQ(again[0].body, "a");
  EXPECT_EQ(again[0].attempt, 2u);
}

// Parking is waiting, not trying: however often a message is parked, it comes back with its id and
// its attempt number, never before its delay, and meanwhile it waits instead of being in flight.
TEST_F(RedisQueueTest, AParkedMessageComesBackWithTheSameIdAndAttemptEveryTime) {
  push(server, {"a"});
  Worker worker(server, 60s);
  const auto first = worker.lease(1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(first[0].attempt, 1u);
  Lease current = first[0];
  for (int round = 0; round < 12; ++round) {  // more than any MAX_ATTEMPTS in use
    const auto parked_at = std::chrono::steady_clock::now();
    worker.queue().park(current, 100ms);
    ASSERT_FALSE(worker.flush());
    const auto backlog = worker.backlog();
    EXPECT_EQ(backlog.in_flight, 0u) << "round " << round;
    EXPECT_EQ(backlog.waiting, 1u) << "round " << round;
    EXPECT_EQ(server.query({"HGET", kChannel + ":attempts", current.id}), "0") << "round " << round;

    const auto again = worker.lease_when_due(1);
    ASSERT_EQ(again.size(), 1u) << "round " << round;
    EXPECT_GE(std::chrono::steady_clock::now() - parked_at, 100ms) << "round " << round;
    EXPECT_EQ(again[0].id, first[0].id);
    EXPECT_EQ(again[0].body, "a");
    EXPECT_EQ(again[0].attempt, 1u) << "round " << round;
    current = again[0];
  }
  // A real attempt still counts.
  worker.queue().retry_later(current, 0ms);
  ASSERT_FALSE(worker.flush());
  const auto retried = worker.lease(1);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].attempt, 2u);
}

TEST_F(RedisQueueTest, ParkingALeaseWeNoLongerHoldDoesNothing) {
  push(server, {"a"});
  Worker slow(server, 200ms);
  Worker other(server, 60s);
  const auto first = slow.lease(1);
  ASSERT_EQ(first.size(), 1u);
  const auto taken = other.lease_when_due(1);
  ASSERT_EQ(taken.size(), 1u);
  ASSERT_EQ(taken[0].attempt, 2u);

  slow.queue().park(first[0], 0ms);  // the lease expired and was taken over
  EXPECT_FALSE(slow.flush());
  EXPECT_EQ(server.query({"ZSCORE", kChannel + ":leases", first[0].id}), taken[0].receipt);
  EXPECT_EQ(server.query({"ZSCORE", kChannel + ":delayed", first[0].id}), "(nil)");
  EXPECT_EQ(server.query({"HGET", kChannel + ":attempts", first[0].id}), "2");

  other.queue().park(taken[0], 0ms);
  other.queue().park(taken[0], 0ms);  // twice: the second finds it parked already
  EXPECT_FALSE(other.flush());
  EXPECT_EQ(server.query({"HGET", kChannel + ":attempts", first[0].id}), "1");
  const auto again = other.lease(1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2u);
}

TEST_F(RedisQueueTest, ADeadLetterKeepsTheUntouchedBodyBesideItsReason) {
  const std::string body = "{\"p\":\"+55\",\"weird\":\"\\u00e9\\n\"}";
  push(server, {body, "b"});
  Worker worker(server, 60s);
  const auto leases = worker.lease(2);
  ASSERT_EQ(leases.size(), 2u);
  worker.queue().dead_letter(leases[0], DeadLetter{.reason = "partner answered 400", .status = 400,
                                                   .response = std::string("no\x01such\xff phone")});
  Lease stale = leases[1];
  stale.receipt = "1";  // someone else's lease now: nothing happens
  worker.queue().dead_letter(stale, DeadLetter{.reason = "x", .status = 0, .response = {}});
  EXPECT_FALSE(worker.flush());

  const auto keys = RedisQueue::keys_of(kChannel);
  EXPECT_EQ(server.query({"HGET", keys.dead_bodies, leases[0].id}), body);
  EXPECT_EQ(server.integer({"ZCARD", keys.dead}), 1);
  EXPECT_EQ(server.query({"ZSCORE", keys.leases, leases[0].id}), "(nil)");
  EXPECT_EQ(server.query({"HGET", keys.bodies, leases[0].id}), "(nil)");
  EXPECT_EQ(server.query({"HGET", keys.attempts, leases[0].id}), "(nil)");
  const auto reason = boost::json::parse(server.query({"HGET", keys.dead_reasons, leases[0].id})).as_object();
  EXPECT_EQ(reason.at("reason"), "partner answered 400");
  EXPECT_EQ(reason.at("status"), 400);
  EXPECT_EQ(reason.at("response"), "no\\x01such\\xff phone");
  EXPECT_EQ(reason.at("attempts"), 1);
  EXPECT_FALSE(reason.at("dead_at").as_string().empty());
  EXPECT_EQ(server.query({"ZSCORE", keys.leases, leases[1].id}), leases[1].receipt);  // untouched
}

TEST_F(RedisQueueTest, BacklogCountsWaitingAndInFlight) {
  push(server, numbered(10));
  Worker worker(server, 60s);
  const auto leases = worker.lease(4);
  ASSERT_EQ(leases.size(), 4u);
  auto backlog = worker.backlog();
  EXPECT_EQ(backlog.waiting, 6u);
  EXPECT_EQ(backlog.in_flight, 4u);
  worker.queue().acknowledge(leases[0]);
  worker.queue().acknowledge(leases[1]);
  EXPECT_FALSE(worker.flush());
  backlog = worker.backlog();
  EXPECT_EQ(backlog.waiting, 6u);
  EXPECT_EQ(backlog.in_flight, 2u);
}

long long evalsha_calls(const RedisServer& server) {
  const std::string stats = server.query({"INFO", "commandstats"});
  const auto at = stats.find("cmdstat_evalsha:calls=");
  return at == std::string::npos ? 0 : std::atoll(stats.c_str() + at + 22);
}

TEST_F(RedisQueueTest, ManyOutcomesAreWrittenInFewScriptCalls) {
  constexpr std::size_t kMessages = 5000;
  push(server, numbered(kMessages));
  Worker worker(server, 60s);
  const auto leases = worker.lease(kMessages);
  ASSERT_EQ(leases.size(), kMessages);
  const long long calls_before = evalsha_calls(server);
  for (std::size_t i = 0; i < leases.size(); ++i) {
    if (i % 10 == 0) worker.queue().retry_later(leases[i], 60s);
    else worker.queue().acknowledge(leases[i]);
  }
  EXPECT_FALSE(worker.flush());
  EXPECT_LE(evalsha_calls(server) - calls_before, 10) << "outcomes must be batched";
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":leases"}), 0);
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":delayed"}), 500);
  EXPECT_EQ(server.integer({"HLEN", kChannel + ":bodies"}), 500);
}

TEST_F(RedisQueueTest, ThousandsOfParksAreWrittenInAHandfulOfScriptCalls) {
  constexpr std::size_t kMessages = 5000;
  push(server, numbered(kMessages));
  Worker worker(server, 60s);
  const auto leases = worker.lease(kMessages);
  ASSERT_EQ(leases.size(), kMessages);
  const long long calls_before = evalsha_calls(server);
  for (std::size_t i = 0; i < leases.size(); ++i) {
    if (i % 10 == 0) worker.queue().retry_later(leases[i], 60s);
    else worker.queue().park(leases[i], 60s);
  }
  EXPECT_FALSE(worker.flush());
  EXPECT_LE(evalsha_calls(server) - calls_before, 5) << "parks must be batched with the retries";
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":leases"}), 0);
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":delayed"}), static_cast<long long>(kMessages));
  const std::string unattempted = server.query({"EVAL",
      "local n = 0 for _, v in ipairs(redis.call('HVALS', KEYS[1])) do if v == '0' then n = n + 1 end end return n",
      "1", kChannel + ":attempts"});
  EXPECT_EQ(unattempted, std::to_string(kMessages - kMessages / 10)) << "a parked message used no attempt";
}

TEST_F(RedisQueueTest, TwoWorkersNeverHoldTheSameMessage) {
  constexpr std::size_t kMessages = 2000;
  const auto bodies = numbered(kMessages);
  push(server, bodies);

  struct Taken {
    std::vector<Lease> leases;
    bool failed = false;
  };
  Taken taken[2];
  auto work = [&](Taken& out) {
    Worker worker(server, 60s);
    for (int round = 0; round < 1000; ++round) {  // bounded: 2000 / 7 rounds suffice
      auto batch = worker.try_lease(7);
      if (!batch) {
        out.failed = true;
        return;
      }
      if (batch->empty()) break;
      for (auto& lease : *batch) {
        worker.queue().acknowledge(lease);
        out.leases.push_back(std::move(lease));
      }
    }
    if (worker.flush()) out.failed = true;
  };
  std::thread first(work, std::ref(taken[0]));
  std::thread second(work, std::ref(taken[1]));
  first.join();
  second.join();

  EXPECT_FALSE(taken[0].failed);
  EXPECT_FALSE(taken[1].failed);
  EXPECT_GT(taken[0].leases.size(), 0u);
  EXPECT_GT(taken[1].leases.size(), 0u);
  std::set<std::string> ids;
  std::multiset<std::string> seen_bodies;
  for (const auto& t : taken) {
    for (const auto& lease : t.leases) {
      EXPECT_TRUE(ids.insert(lease.id).second) << "leased twice: " << lease.id;
      EXPECT_EQ(lease.attempt, 1u);
      seen_bodies.insert(lease.body);
    }
  }
  EXPECT_EQ(ids.size(), kMessages);
  EXPECT_EQ(seen_bodies, std::multiset<std::string>(bodies.begin(), bodies.end()));
  EXPECT_EQ(server.integer({"HLEN", kChannel + ":bodies"}), 0);
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":leases"}), 0);
}

TEST(RedisQueueOutage, KeepsOutcomesAcrossAReconnect) {
  RedisServer server({"--appendonly", "yes", "--appendfsync", "always"});
  push(server, numbered(3));
  Worker worker(server, 60s);
  const auto leases = worker.lease(3);
  ASSERT_EQ(leases.size(), 3u);

  server.kill();
  for (const auto& lease : leases) worker.queue().acknowledge(lease);
  auto refused = worker.try_lease(1);
  EXPECT_FALSE(refused) << "lease() reports the outage so the caller can back off";

  server.restart();
  EXPECT_FALSE(worker.flush());
  EXPECT_EQ(server.integer({"HLEN", kChannel + ":bodies"}), 0);
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":leases"}), 0);
  push(server, {"after"});
  ASSERT_TRUE(conveyor::testing::wait_until([&] { return worker.try_lease(1).has_value(); }, 10s, 50ms));
}

TEST_F(RedisQueueTest, AMessageOverTheSizeLimitIsDeadLetteredInPlaceAndNeverLeased) {
  const std::string giant = R"({"label":")" + std::string(5000, 'x') + R"("})";
  push(server, {R"({"i":0})", giant, R"({"i":1})", giant});
  Worker worker(server, 60s, 1000);

  const auto leases = worker.lease(10);
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].body, R"({"i":0})");
  EXPECT_EQ(leases[1].body, R"({"i":1})");
  EXPECT_EQ(server.integer({"LLEN", kChannel}), 0);
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":leases"}), 2);

  // Both giants sit in the dead set, bodies untouched, with the reason, counted by size.
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":dead"}), 2);
  EXPECT_EQ(server.integer({"HLEN", kChannel + ":dead:bodies"}), 2);
  EXPECT_EQ(server.query({"GET", kChannel + ":dead:bytes"}), std::to_string(2 * giant.size()));
  EXPECT_EQ(server.integer({"HLEN", kChannel + ":bodies"}), 2) << "only the leased messages have bodies";
  const std::string members = server.query({"EVAL",
      "local out = {} for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
      "out[#out + 1] = redis.call('HGET', KEYS[2], id) .. '|' .. redis.call('HGET', KEYS[3], id) end "
      "return table.concat(out, '\\n')", "3", kChannel + ":dead", kChannel + ":dead:bodies", kChannel + ":dead:reasons"});
  const auto first_line = members.substr(0, members.find('\n'));
  EXPECT_EQ(first_line.substr(0, giant.size()), giant);
  const auto reason = boost::json::parse(first_line.substr(giant.size() + 1)).as_object();
  EXPECT_EQ(reason.at("reason").as_string(),
            "message of " + std::to_string(giant.size()) + " bytes exceeds MAX_MESSAGE_BYTES (1000)");
  EXPECT_EQ(reason.at("status").as_int64(), 0);
  EXPECT_EQ(reason.at("attempts").as_int64(), 0);
}

TEST_F(RedisQueueTest, OnlyGiantsAheadStillLetsTheNextLeaseFindWork) {
  const std::string giant(3000, 'g');
  std::vector<std::string> bodies(20, giant);
  bodies.push_back(R"({"after":"giants"})");
  push(server, bodies);
  Worker worker(server, 60s, 1000);
  // Each call copies at most about its byte budget inside Redis; lease() goes on past the giants.
  const auto leases = worker.lease({10, 10'000});
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].body, R"({"after":"giants"})");
  EXPECT_EQ(server.integer({"ZCARD", kChannel + ":dead"}), 20);
}

TEST_F(RedisQueueTest, ALeaseIsBoundedInBytesButAlwaysTakesOneMessage) {
  std::vector<std::string> bodies;
  for (int i = 0; i < 10; ++i) bodies.push_back(R"({"i":)" + std::to_string(i) + ",\"pad\":\"" + std::string(80, 'p') + "\"}");
  push(server, bodies);  // 10 messages of 98 bytes
  Worker worker(server, 60s);

  const auto three = worker.lease({10, 300});
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[2].body, bodies[2]);
  const auto one = worker.lease({10, 1});
  ASSERT_EQ(one.size(), 1u) << "a budget smaller than a message still moves one";
  EXPECT_EQ(one[0].body, bodies[3]);
  const auto rest = worker.lease({100, 100'000});
  ASSERT_EQ(rest.size(), 6u);
  EXPECT_EQ(rest.front().body, bodies[4]) << "a message the budget did not take keeps its place";

  // Retries due again obey the budget too.
  for (const auto& lease : three) worker.queue().retry_later(lease, 0ms);
  ASSERT_FALSE(worker.flush());
  const auto retried = worker.lease({10, 150});
  EXPECT_EQ(retried.size(), 1u);
}

TEST_F(RedisQueueTest, AFailingOutcomeWriterFailsTheQueueInsteadOfHanging) {
  push(server, numbered(3));
  Worker worker(server, 2s);
  std::string heard;
  worker.queue().on_failure([&](const std::string& why) { heard = why; });
  worker.queue().set_write_hook([] { throw std::runtime_error("bug in the writer"); });

  const auto leases = worker.lease(3);
  ASSERT_EQ(leases.size(), 3u);
  worker.queue().acknowledge(leases[0]);
  const error_code flushed = worker.flush();  // timed_out if flush() hangs
  EXPECT_EQ(flushed, conveyor::make_error_code(conveyor::Error::backend_failed)) << flushed.message();
  EXPECT_NE(heard.find("bug in the writer"), std::string::npos) << heard;
  auto refused = worker.try_lease(1);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), conveyor::make_error_code(conveyor::Error::backend_failed));

  // Nothing is lost: the leases expire and any other worker takes them.
  Worker other(server, 60s);
  std::vector<Lease> again;
  ASSERT_TRUE(conveyor::testing::wait_until([&] {
    auto batch = other.lease(3);
    again.insert(again.end(), batch.begin(), batch.end());
    return again.size() == 3;
  }, 10s, 100ms));
  EXPECT_EQ(again[0].attempt, 2u);
}

}  // namespace
