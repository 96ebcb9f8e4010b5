// Per-key ordering in the Redis queue, against a real redis-server: one message per key in
// delivery (the holder), the later ones parked in the key's wait list without an attempt; the key
// handed on by acknowledge and dead-letter, kept by a retry, a release and an expired lease; the
// backlog counting what is parked. Other keys, keyless messages and queues without rules flow freely.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "queue/redis/dead_retention.h"
#include "queue/redis/key_order.h"
#include "queue/redis/redis_admin.h"
#include "queue/redis/redis_queue.h"
#include "redis/connection.h"
#include "redis/endpoint.h"
#include "support/child_process.h"
#include "support/coroutine.h"
#include "support/redis_server.h"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using conveyor::queue::Backlog;
using conveyor::queue::DeadLetter;
using conveyor::queue::Lease;
using conveyor::queue::OrderRule;
using conveyor::queue::RedisQueue;
using conveyor::testing::RedisServer;
using conveyor::testing::run_coroutine;

const std::string kChannel = "jobs";
const RedisQueue::Keys kKeys = RedisQueue::keys_of(kChannel);

// A queue ordered by `rules`, with blocking helpers that run the io_context until done.
class OrderedWorker {
 public:
  OrderedWorker(const RedisServer& server, std::vector<OrderRule> rules,
                std::chrono::milliseconds lease_timeout = 60s, std::size_t max_message_bytes = SIZE_MAX)
      : queue_(io_.get_executor(), conveyor::redis::parse_endpoint(server.url()).value(), kChannel, lease_timeout, 2s,
               conveyor::queue::DeadLetterRetention{}, max_message_bytes, rules) {}

  RedisQueue& queue() { return queue_; }

  std::vector<Lease> lease(std::size_t max = 100) {
    std::optional<conveyor::Result<std::vector<Lease>>> out;
    run_coroutine(io_, [&]() -> asio::awaitable<void> { out = co_await queue_.lease(max); });
    EXPECT_TRUE(out && *out) << (out ? out->error().message() : "no answer");
    return out && *out ? std::move(**out) : std::vector<Lease>{};
  }

  void flush() {
    conveyor::error_code ec = asio::error::timed_out;
    run_coroutine(io_, [&]() -> asio::awaitable<void> { ec = co_await queue_.flush(); });
    EXPECT_FALSE(ec) << ec.message();
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

  // The waiting figure `conveyor stats` shows for the channel.
  std::size_t stats_waiting(const RedisServer& server) {
    std::size_t waiting = 0;
    with_admin(server, [&](conveyor::queue::RedisAdmin& admin) -> asio::awaitable<void> {
      auto counts = co_await admin.counts();
      CO_ASSERT(counts);
      waiting = counts->front().waiting;
    });
    return waiting;
  }

  // `conveyor dlq requeue --all`.
  void requeue_dead_letters(const RedisServer& server) {
    with_admin(server, [&](conveyor::queue::RedisAdmin& admin) -> asio::awaitable<void> {
      auto moved = co_await admin.requeue({});
      CO_ASSERT(moved);
    });
  }

 private:
  void with_admin(const RedisServer& server,
                  std::function<asio::awaitable<void>(conveyor::queue::RedisAdmin&)> body) {
    run_coroutine(io_, [&]() -> asio::awaitable<void> {
      auto connection = co_await conveyor::redis::Connection::connect(
          io_.get_executor(), conveyor::redis::parse_endpoint(server.url()).value(), 2s);
      CO_ASSERT(connection);
      conveyor::queue::RedisAdmin admin(std::move(*connection), {kChannel});
      co_await body(admin);
    });
  }

 private:
  asio::io_context io_;  // declared first: the queue must go before it
  RedisQueue queue_;
};

std::vector<OrderRule> by(const std::string& field) { return conveyor::queue::order_by_field(field); }

// {"k":"<key>","n":<n>}
std::string message(const std::string& key, int n) { return R"({"k":")" + key + R"(","n":)" + std::to_string(n) + "}"; }

std::vector<std::string> bodies_of(const std::vector<Lease>& leases) {
  std::vector<std::string> out;
  for (const Lease& lease : leases) out.push_back(lease.body);
  return out;
}

class KeyOrderTest : public ::testing::Test {
 protected:
  void push(const std::vector<std::string>& bodies) {
    std::vector<std::string> command = {"RPUSH", kChannel};
    command.insert(command.end(), bodies.begin(), bodies.end());
    server.query(command);
  }
  long long parked() const { return std::atoll(server.query({"GET", kKeys.order_waiting}).c_str()); }

  RedisServer server;
};

TEST_F(KeyOrderTest, LaterMessagesOfAHeldKeyWaitWithoutAnAttemptWhileOtherKeysFlow) {
  push({message("a", 1), message("a", 2), message("b", 1), message("a", 3), message("b", 2)});
  OrderedWorker worker(server, by("k"));
  const auto leases = worker.lease();
  ASSERT_EQ(bodies_of(leases), (std::vector<std::string>{message("a", 1), message("b", 1)}));
  EXPECT_EQ(server.query({"HGET", kKeys.order_holders, "a"}), leases[0].id);
  EXPECT_EQ(server.query({"HGET", kKeys.order_holders, "b"}), leases[1].id);
  EXPECT_EQ(server.query({"HGET", kKeys.order_key_of, leases[0].id}), "a");
  const auto waiting_a = server.list({"LRANGE", kKeys.order_wait + "a", "0", "-1"});
  ASSERT_EQ(waiting_a.size(), 2u);
  EXPECT_EQ(server.query({"HGET", kKeys.bodies, waiting_a[0]}), message("a", 2));
  EXPECT_EQ(server.query({"HGET", kKeys.bodies, waiting_a[1]}), message("a", 3));
  EXPECT_EQ(server.query({"HGET", kKeys.attempts, waiting_a[0]}), "(nil)") << "waiting is not an attempt";
  EXPECT_EQ(server.query({"ZSCORE", kKeys.leases, waiting_a[0]}), "(nil)") << "a waiting message is not in flight";
  EXPECT_EQ(server.integer({"LLEN", kKeys.order_wait + "b"}), 1);
  EXPECT_EQ(parked(), 3);
  EXPECT_EQ(server.integer({"LLEN", kChannel}), 0);
  EXPECT_TRUE(worker.lease().empty()) << "nothing else is ready";

  const Backlog backlog = worker.backlog();
  EXPECT_EQ(backlog.waiting, 3u) << "parked messages are work left: --until-empty waits for them";
  EXPECT_EQ(backlog.in_flight, 2u);
  EXPECT_EQ(worker.stats_waiting(server), 3u);
}

TEST_F(KeyOrderTest, AcknowledgingTheHolderHandsItsKeyToTheNextInQueueOrder) {
  push({message("a", 1), message("a", 2), message("a", 3)});
  OrderedWorker worker(server, by("k"));
  for (int n = 1; n <= 3; ++n) {
    const auto leases = worker.lease();
    ASSERT_EQ(bodies_of(leases), std::vector<std::string>{message("a", n)});
    EXPECT_EQ(leases[0].attempt, 1u) << "a message that waited starts at its first attempt";
    EXPECT_EQ(server.query({"HGET", kKeys.order_holders, "a"}), leases[0].id);
    EXPECT_TRUE(worker.lease().empty()) << "message " << n + 1 << " must wait for " << n;
    worker.queue().acknowledge(leases[0]);
    worker.flush();
  }
  EXPECT_EQ(server.integer({"EXISTS", kKeys.order_holders, kKeys.order_key_of, kKeys.order_wait + "a"}), 0)
      << "the key is free and nothing is left behind";
  EXPECT_EQ(parked(), 0);
  EXPECT_TRUE(worker.backlog().empty());
}

TEST_F(KeyOrderTest, ARetryHoldsBackOnlyTheLaterMessagesOfItsKey) {
  push({message("a", 1), message("a", 2), message("b", 1)});
  OrderedWorker worker(server, by("k"));
  auto leases = worker.lease();
  ASSERT_EQ(bodies_of(leases), (std::vector<std::string>{message("a", 1), message("b", 1)}));
  worker.queue().retry_later(leases[0], 0ms);  // due at once: it must still come before a2
  worker.queue().acknowledge(leases[1]);
  worker.flush();
  push({message("b", 2)});
  leases = worker.lease();
  ASSERT_EQ(bodies_of(leases), (std::vector<std::string>{message("a", 1), message("b", 2)}));
  EXPECT_EQ(leases[0].attempt, 2u);
  EXPECT_EQ(server.integer({"LLEN", kKeys.order_wait + "a"}), 1);

  worker.queue().retry_later(leases[0], 60s);  // a long backoff still holds a2 back
  worker.flush();
  EXPECT_TRUE(worker.lease().empty());
  EXPECT_EQ(worker.backlog().waiting, 2u) << "the retry and a2";
}

TEST_F(KeyOrderTest, ADeadLetterHandsItsKeyOnAndTakesItsTurnAgainWhenRequeued) {
  push({message("a", 1), message("a", 2)});
  OrderedWorker worker(server, by("k"));
  auto leases = worker.lease();
  ASSERT_EQ(leases.size(), 1u);
  worker.queue().dead_letter(leases[0], DeadLetter{.reason = "partner answered 400", .status = 400, .response = {}});
  worker.flush();
  EXPECT_EQ(server.integer({"ZCARD", kKeys.dead}), 1);
  EXPECT_EQ(server.query({"HGET", kKeys.order_key_of, leases[0].id}), "(nil)") << "the dead set holds no key";
  const auto second = worker.lease();
  ASSERT_EQ(bodies_of(second), std::vector<std::string>{message("a", 2)});
  EXPECT_EQ(server.query({"HGET", kKeys.order_holders, "a"}), second[0].id);
  EXPECT_EQ(parked(), 0);

  worker.requeue_dead_letters(server);  // conveyor dlq requeue --all
  EXPECT_TRUE(worker.lease().empty()) << "a1 is back, behind a2 which holds the key";
  EXPECT_EQ(parked(), 1);
  worker.queue().acknowledge(second[0]);
  worker.flush();
  leases = worker.lease();
  ASSERT_EQ(bodies_of(leases), std::vector<std::string>{message("a", 1)});
  EXPECT_EQ(leases[0].attempt, 1u) << "attempts counted afresh";
}

TEST_F(KeyOrderTest, AReleasedHolderKeepsItsKey) {
  push({message("a", 1), message("a", 2)});
  OrderedWorker worker(server, by("k"));
  auto leases = worker.lease();
  ASSERT_EQ(leases.size(), 1u);
  worker.queue().release(leases[0]);  // shutdown
  worker.flush();
  leases = worker.lease();
  ASSERT_EQ(bodies_of(leases), std::vector<std::string>{message("a", 1)});
  EXPECT_EQ(leases[0].attempt, 1u);
}

TEST_F(KeyOrderTest, AnExpiredLeaseTakenOverKeepsHoldingItsKey) {
  push({message("a", 1), message("a", 2)});
  OrderedWorker dead(server, by("k"), 300ms);
  const auto first = dead.lease();
  ASSERT_EQ(first.size(), 1u);
  OrderedWorker alive(server, by("k"), 60s);
  std::vector<Lease> taken;
  ASSERT_TRUE(conveyor::testing::wait_until([&] {
    taken = alive.lease();
    return !taken.empty();
  }, 10s));
  ASSERT_EQ(bodies_of(taken), std::vector<std::string>{message("a", 1)}) << "a2 never overtakes the expired a1";
  EXPECT_EQ(taken[0].id, first[0].id);
  EXPECT_EQ(taken[0].attempt, 2u);
  EXPECT_TRUE(alive.lease().empty());
  alive.queue().acknowledge(taken[0]);
  alive.flush();
  EXPECT_EQ(bodies_of(alive.lease()), std::vector<std::string>{message("a", 2)});
}

TEST_F(KeyOrderTest, AHolderWhoseMessageVanishedFreesItsKeyForTheNextArrival) {
  push({message("a", 1), message("a", 2)});
  OrderedWorker worker(server, by("k"));
  const auto leases = worker.lease();
  ASSERT_EQ(leases.size(), 1u);
  // Deleted by hand, behind the queue's back: nothing will ever settle a1.
  server.query({"ZREM", kKeys.leases, leases[0].id});
  server.query({"HDEL", kKeys.bodies, leases[0].id});
  push({message("a", 3)});
  // a3 meets the vanished holder: the key passes to a2, and a3 queues behind it.
  EXPECT_EQ(bodies_of(worker.lease()), std::vector<std::string>{message("a", 2)});
  EXPECT_EQ(server.list({"LRANGE", kKeys.order_wait + "a", "0", "-1"}).size(), 1u);
  EXPECT_EQ(parked(), 1);
}

TEST_F(KeyOrderTest, AHolderWhoseMessageVanishedIsFoundWhenNothingElseIsReady) {
  push({message("a", 1), message("a", 2), message("a", 3)});
  OrderedWorker worker(server, by("k"));
  const auto leases = worker.lease();
  ASSERT_EQ(leases.size(), 1u);
  server.query({"ZREM", kKeys.leases, leases[0].id});  // gone, and no new message of its key comes
  server.query({"HDEL", kKeys.bodies, leases[0].id});
  EXPECT_TRUE(worker.lease().empty()) << "this call finds the vanished holder and hands its key on";
  EXPECT_EQ(bodies_of(worker.lease()), std::vector<std::string>{message("a", 2)});
  EXPECT_EQ(parked(), 1);
}

TEST_F(KeyOrderTest, KeylessMessagesAndOtherRoutesFlowFreely) {
  const std::vector<OrderRule> rules = {{.field = "p", .equals = {"x", "7"}, .order_by = "k"},
                                        {.field = "", .equals = {}, .order_by = ""}};
  const std::vector<std::string> bodies = {
      R"({"p":"x","k":"a"})", R"({"p":"x","k":"a","second":true})",  // ordered: the second waits
      R"({"p":7,"k":"a","third":true})",                              // a number matches as text
      R"({"p":"y","k":"a"})", R"({"p":"y","k":"a"})",                 // another route: not ordered
      R"({"p":"x"})", "not json", R"(["p","x"])", R"({"p":"x","k":null})"};
  push(bodies);
  OrderedWorker worker(server, rules);
  const auto leased = bodies_of(worker.lease());
  EXPECT_EQ(leased, (std::vector<std::string>{bodies[0], bodies[3], bodies[4], bodies[5], bodies[6], bodies[7],
                                              bodies[8]}));
  EXPECT_EQ(parked(), 2);
}

TEST_F(KeyOrderTest, NumbersAndBooleansAreKeysByTheirText) {
  push({R"({"k":12345678901234})", R"({"k":12345678901234.0})", R"({"k":12345678901235})", R"({"k":true})",
        R"({"k":true})", R"({"k":"true"})"});
  OrderedWorker worker(server, by("k"));
  EXPECT_EQ(bodies_of(worker.lease()),
            (std::vector<std::string>{R"({"k":12345678901234})", R"({"k":12345678901235})", R"({"k":true})"}));
  EXPECT_EQ(server.query({"HEXISTS", kKeys.order_holders, "12345678901234"}), "1");
  EXPECT_EQ(parked(), 3) << "the same number written twice, true twice, and \"true\"";
}

TEST_F(KeyOrderTest, AGiantIsDeadLetteredWithoutTakingItsKey) {
  const std::string giant = R"({"k":"a","pad":")" + std::string(200, 'x') + R"("})";
  push({giant, message("a", 1)});
  OrderedWorker worker(server, by("k"), 60s, 100);
  EXPECT_EQ(bodies_of(worker.lease()), std::vector<std::string>{message("a", 1)});
  EXPECT_EQ(server.integer({"ZCARD", kKeys.dead}), 1);
}

TEST_F(KeyOrderTest, WithoutRulesNothingWaitsAndNoOrderingKeyIsWritten) {
  push({message("a", 1), message("a", 2)});
  OrderedWorker worker(server, by(""));
  const auto leases = worker.lease();
  EXPECT_EQ(leases.size(), 2u);
  for (const Lease& lease : leases) worker.queue().acknowledge(lease);
  worker.flush();
  EXPECT_EQ(server.integer({"EXISTS", kKeys.order_holders, kKeys.order_key_of, kKeys.order_waiting}), 0);
  EXPECT_TRUE(worker.backlog().empty());
}

TEST_F(KeyOrderTest, WorkersWithoutRulesStillHandOnTheKeysOfMessagesLeasedWithThem) {
  // Ordering turned off while messages wait: acknowledgements still free them, one by one.
  push({message("a", 1), message("a", 2)});
  OrderedWorker ordered(server, by("k"));
  const auto first = ordered.lease();
  ASSERT_EQ(first.size(), 1u);
  OrderedWorker plain(server, {});
  plain.queue().acknowledge(first[0]);
  plain.flush();
  EXPECT_EQ(bodies_of(plain.lease()), std::vector<std::string>{message("a", 2)});
  EXPECT_EQ(parked(), 0);
}

TEST(OrderRulesJson, NoRuleThatOrdersIsNoRules) {
  EXPECT_EQ(conveyor::queue::order_rules_json({}), "");
  EXPECT_EQ(conveyor::queue::order_rules_json({{.field = "p", .equals = {"a"}, .order_by = ""}}), "");
  EXPECT_EQ(conveyor::queue::order_rules_json(by("shipment")),
            R"([{"field":"","equals":[],"order_by":"shipment"}])");
}

}  // namespace
