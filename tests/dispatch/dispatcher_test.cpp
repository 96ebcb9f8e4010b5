// The dispatcher against an in-memory queue and a scripted partner: what is
// tested here is the dispatcher's own policy (bounded in-flight, outcomes,
// stop and abandon), not Redis or HTTP, which have their own suites.
#include "dispatch/dispatcher.h"

#include "dispatch/scripted_partner.h"
#include "support/in_memory_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace conveyor::dispatch {
namespace {

using testing::InMemoryQueue;
using namespace fixtures;

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(Dispatcher, DeliversEveryMessageOnceAndNeverExceedsConcurrency) {
  asio::io_context io;
  InMemoryQueue queue(2000);
  ScriptedPartner partner(io, 2ms);
  Dispatcher d(io.get_executor(), queue, partner, options(64, 50, 10ms, true));
  ASSERT_TRUE(run_to_completion(io, d));

  std::vector<std::string> expected;
  for (int i = 0; i < 2000; ++i) expected.push_back("{\"i\":" + std::to_string(i) + "}");
  auto got = queue.acknowledged;
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);  // every message, by content, exactly once
  EXPECT_EQ(partner.keys.size(), 2000u);
  EXPECT_LE(partner.max_running, 64u);
  EXPECT_EQ(partner.max_running, 64u);  // and the budget is actually used
  EXPECT_LE(queue.largest_lease, 50u);
  EXPECT_EQ(d.stats().delivered.get(), 2000u);
  EXPECT_EQ(d.stats().latency.count(), 2000u);
  EXPECT_EQ(d.stats().peak_in_flight.get(), 64u);
}

TEST(Dispatcher, LeasesInBatchesNotOneByOne) {
  asio::io_context io;
  InMemoryQueue queue(5000);
  ScriptedPartner partner(io, 1ms);
  Dispatcher d(io.get_executor(), queue, partner, options(800, 500, 10ms, true));
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 5000u);
  // Refill waits for at least concurrency/8 = 100 free slots.
  EXPECT_LE(queue.lease_calls, 5000u / 100 + 20);
}

bool ends_in_7(std::string_view body) { return body.find("7}") != std::string_view::npos; }

TEST(Dispatcher, RetryableFailuresAreRetriedThroughTheQueueUntilDelivered) {
  asio::io_context io;
  InMemoryQueue queue(100);
  ScriptedPartner partner(io, 1ms);
  std::map<std::string, int> seen;
  partner.answer = [&](std::string_view body) {
    // Messages ending in 7 fail twice: a 503, then a dropped connection.
    const int n = ++seen[std::string(body)];
    if (!ends_in_7(body) || n > 2) return 200u;
    return n == 1 ? 503u : 0u;
  };
  Dispatcher d(io.get_executor(), queue, partner, options(10, 10, 5ms, true));
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 100u);
  EXPECT_EQ(std::set<std::string>(queue.acknowledged.begin(), queue.acknowledged.end()).size(), 100u);
  EXPECT_EQ(queue.retried.size(), 20u);  // ten messages, two retries each, scheduled in the queue
  for (const auto& body : queue.retried) EXPECT_TRUE(ends_in_7(body)) << body;
  for (auto delay : queue.retry_delays) EXPECT_LE(delay, 5ms);  // RETRY_MAX_DELAY
  EXPECT_TRUE(queue.dead.empty());
  EXPECT_EQ(partner.keys.size(), 100u);  // one Idempotency-Key per message, whatever the attempt
  EXPECT_EQ(d.stats().failed.get(), 20u);
  EXPECT_EQ(d.stats().retried.get(), 20u);
  EXPECT_EQ(d.stats().delivered.get(), 100u);
}

TEST(Dispatcher, AStatusRetryingCannotHelpIsDeadLetteredAtOnceWithTheAnswer) {
  asio::io_context io;
  InMemoryQueue queue(100);
  ScriptedPartner partner(io, 1ms);
  partner.answer = [](std::string_view body) { return ends_in_7(body) ? 400u : 200u; };
  Dispatcher d(io.get_executor(), queue, partner, options(10, 10, 5ms, true));
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 90u);
  EXPECT_TRUE(queue.retried.empty());
  ASSERT_EQ(queue.dead.size(), 10u);
  for (const auto& [body, why] : queue.dead) {
    EXPECT_TRUE(ends_in_7(body)) << body;
    EXPECT_EQ(why.reason, "partner answered 400");
    EXPECT_EQ(why.status, 400u);
    EXPECT_EQ(why.response, "refused: " + body);
  }
  EXPECT_EQ(partner.calls, 100u);  // one attempt each
  EXPECT_EQ(d.stats().dead_lettered.get(), 10u);
}

TEST(Dispatcher, AMessageOutOfAttemptsIsDeadLetteredSayingWhy) {
  asio::io_context io;
  InMemoryQueue queue(20);
  ScriptedPartner partner(io, 1ms);
  partner.answer = [](std::string_view body) { return ends_in_7(body) ? 503u : 200u; };
  auto o = options(10, 10, 5ms, true);
  o.policy.max_attempts = 3;
  o.circuit.threshold = 0;
  Dispatcher d(io.get_executor(), queue, partner, o);
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 18u);
  ASSERT_EQ(queue.dead.size(), 2u);  // {"i":7} and {"i":17}
  for (const auto& [body, why] : queue.dead) {
    EXPECT_EQ(why.reason, "gave up after 3 attempts; last: partner answered 503");
    EXPECT_EQ(why.status, 503u);
  }
  EXPECT_EQ(partner.calls, 18u + 2u * 3u);
  EXPECT_EQ(queue.retried.size(), 4u);
}

TEST(Dispatcher, ADeadLetterCarriesThePartnersWordsForTheLastFailure) {
  asio::io_context io;
  InMemoryQueue queue(10);
  ScriptedPartner partner(io, 1ms);
  partner.answer = [](std::string_view body) { return ends_in_7(body) ? 0u : 200u; };
  partner.no_answer = "timeout: no answer within REQUEST_TIMEOUT (300ms)";
  auto o = options(10, 10, 5ms, true);
  o.policy.max_attempts = 2;
  o.circuit.threshold = 0;
  Dispatcher d(io.get_executor(), queue, partner, o);
  ASSERT_TRUE(run_to_completion(io, d));
  ASSERT_EQ(queue.dead.size(), 1u);  // {"i":7}
  EXPECT_EQ(queue.dead.begin()->second.reason,
            "gave up after 2 attempts; last: timeout: no answer within REQUEST_TIMEOUT (300ms)");
  EXPECT_EQ(queue.dead.begin()->second.status, 0u);
}

TEST(Dispatcher, PoisonIsDeadLetteredWithoutReachingThePartner) {
  asio::io_context io;
  InMemoryQueue queue(10);
  const std::vector<std::string> poison = {"not json", "[1,2,3]", "\"text\"", "{\"p\":", std::string("\xff\xfe{}", 4),
                                           "{\"big\":\"" + std::string(2000, 'x') + "\"}"};
  for (const auto& p : poison) queue.waiting.push_back(p);
  ScriptedPartner partner(io, 1ms);
  auto o = options(10, 10, 5ms, true);
  o.max_message_bytes = 1000;
  Dispatcher d(io.get_executor(), queue, partner, o);
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 10u);
  EXPECT_EQ(partner.calls, 10u);
  ASSERT_EQ(queue.dead.size(), poison.size());
  std::map<std::string, std::string> reasons;
  for (const auto& [body, why] : queue.dead) reasons[body] = why.reason;
  EXPECT_EQ(reasons.at("[1,2,3]"), "not a JSON object");
  EXPECT_EQ(reasons.at("not json").rfind("invalid JSON", 0), 0u);
  EXPECT_EQ(reasons.at(poison.back()), "message of 2010 bytes is larger than the queue accepts (1000 bytes)");
}

TEST(Dispatcher, TheCircuitOpensOnADeadPartnerAndClosesWhenItIsBack) {
  asio::io_context io;
  InMemoryQueue queue(200);
  ScriptedPartner partner(io, 1ms);
  bool down = true;
  partner.answer = [&](std::string_view) { return down ? 0u : 200u; };
  auto o = options(10, 10, 5ms, true);
  o.circuit = {.threshold = 5, .cooldown = 50ms, .max_cooldown = 100ms};
  o.policy.max_attempts = 1000;
  Dispatcher d(io.get_executor(), queue, partner, o);
  Running running(io, d);
  // One second of a dead partner: a first burst (at most the concurrency), then a probe per
  // cooldown, not a call per message per backoff.
  running.until([] { return false; }, 1s);
  EXPECT_LE(partner.calls, 10u + 5u + 25u) << "calls while the partner was down";
  EXPECT_GE(partner.calls, 5u);
  down = false;
  ASSERT_TRUE(running.finishes());
  EXPECT_EQ(queue.acknowledged.size(), 200u);
  EXPECT_TRUE(queue.dead.empty());
}

TEST(Dispatcher, StopFinishesInFlightAndLeasesNothingMore) {
  asio::io_context io;
  InMemoryQueue queue(1000);
  ScriptedPartner partner(io, 50ms);
  Dispatcher d(io.get_executor(), queue, partner, options(100, 100, 10ms, false));
  Running running(io, d);
  ASSERT_TRUE(running.until([&] { return partner.running == 100; }));
  d.stop();
  const std::size_t leased_at_stop = queue.next_id;
  ASSERT_TRUE(running.finishes());
  EXPECT_EQ(queue.next_id, leased_at_stop);             // no lease after stop
  EXPECT_EQ(queue.acknowledged.size(), leased_at_stop);  // every in-flight call finished and was acknowledged
  EXPECT_EQ(queue.waiting.size(), 1000u - leased_at_stop);
  EXPECT_GE(queue.flushes, 1u);
}

TEST(Dispatcher, AbandonGivesInFlightMessagesBack) {
  asio::io_context io;
  InMemoryQueue queue(300);
  ScriptedPartner partner(io, std::chrono::hours(1));  // never answers by itself
  Dispatcher d(io.get_executor(), queue, partner, options(200, 100, 10ms, false));
  Running running(io, d);
  ASSERT_TRUE(running.until([&] { return partner.running == 200; }));
  d.stop();
  io.run_for(20ms);
  EXPECT_FALSE(running.done());  // stop alone waits for the calls
  d.abandon();
  ASSERT_TRUE(running.finishes());
  // The 200 calls in flight and the 25 prefetched for the next free courier (concurrency / 8):
  // everything leased goes back, and nothing else was taken.
  EXPECT_EQ(queue.released.size(), 225u);
  EXPECT_EQ(queue.waiting.size(), 300u);  // every message back in the queue
  EXPECT_TRUE(queue.acknowledged.empty());
  EXPECT_EQ(d.stats().released.get(), 225u);
}

// A backend that receives ahead (SQS) says when messages arrive: the dispatcher leases them at
// once instead of at the end of its idle sleep, which has grown to seconds by then.
TEST(Dispatcher, LeasesAtOnceWhenTheQueueSaysMessagesArrived) {
  asio::io_context io;
  InMemoryQueue queue(0);
  ScriptedPartner partner(io, 1ms);
  Dispatcher d(io.get_executor(), queue, partner, options(10, 10, std::chrono::hours(1), false));
  Running running(io, d);
  // Idle sleeps double from 2 ms: after 2.1 s of an empty queue the dispatcher is in a sleep of
  // about 2 s, so a lease within the next second can only come from the wake-up.
  running.until([] { return false; }, 2100ms);
  const std::size_t asked = queue.lease_calls;
  ASSERT_TRUE(queue.ready_handler);
  queue.arrive(5);
  EXPECT_TRUE(running.until([&] { return queue.acknowledged.size() == 5; }, 1s));
  EXPECT_GT(queue.lease_calls, asked);
  d.stop();
  EXPECT_TRUE(running.finishes());
  EXPECT_FALSE(queue.ready_handler);  // reset when run() ends: the backend may outlive the dispatcher
}

TEST(Dispatcher, KeepsGoingAfterTheQueueFailsToLease) {
  asio::io_context io;
  InMemoryQueue queue(50);
  queue.failures_left = 3;
  ScriptedPartner partner(io, 1ms);
  Dispatcher d(io.get_executor(), queue, partner, options(10, 10, 10ms, true));
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 50u);
  EXPECT_EQ(queue.failures_left, 0);
}

TEST(Dispatcher, UntilEmptyWaitsForOtherWorkersLeases) {
  asio::io_context io;
  InMemoryQueue queue(0);
  queue.leased.emplace("someone-else", "{}");  // another worker's lease, still running
  ScriptedPartner partner(io, 1ms);
  Dispatcher d(io.get_executor(), queue, partner, options(10, 10, 5ms, true));
  Running running(io, d);
  io.run_for(100ms);
  EXPECT_FALSE(running.done());
  queue.leased.clear();  // the other worker acknowledged it
  EXPECT_TRUE(running.finishes());
}

// Bodies of `size` bytes each: {"i":N,"pad":"xxx..."}.
void pad_bodies(InMemoryQueue& queue, std::size_t size) {
  for (auto& body : queue.waiting) {
    body.pop_back();
    body += ",\"pad\":\"";
    body += std::string(size - body.size() - 2, 'x');
    body += "\"}";
  }
}

TEST(Dispatcher, HoldsNoMoreBodyBytesThanItsBudget) {
  asio::io_context io;
  InMemoryQueue queue(300);
  pad_bodies(queue, 1000);
  ScriptedPartner partner(io, 2ms);
  auto o = options(64, 50, 10ms, true);
  o.fetch_max_bytes = 3000;
  o.max_in_flight_bytes = 10'000;
  Dispatcher d(io.get_executor(), queue, partner, o);
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 300u);
  // 64 slots, but only 10 bodies of 1,000 bytes fit the budget, plus the one a lease may pass it by.
  EXPECT_LE(partner.max_running, 11u);
  EXPECT_GE(partner.max_running, 5u);  // and the budget is used
  EXPECT_LE(queue.smallest_byte_budget, 3000u);
  EXPECT_LE(d.stats().peak_in_flight.get(), 11u);
}

TEST(Dispatcher, AMessageLargerThanTheByteBudgetStillMoves) {
  asio::io_context io;
  InMemoryQueue queue(5);
  pad_bodies(queue, 5000);
  ScriptedPartner partner(io, 1ms);
  auto o = options(8, 8, 10ms, true);
  o.fetch_max_bytes = 1000;
  o.max_in_flight_bytes = 2000;
  Dispatcher d(io.get_executor(), queue, partner, o);
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 5u);
  EXPECT_EQ(partner.max_running, 1u);  // one at a time
}

TEST(Dispatcher, ALaneStopsWithTheErrorWhenItsQueueBreaksForGood) {
  asio::io_context io;
  InMemoryQueue queue(1000);
  ScriptedPartner partner(io, std::chrono::hours(1));  // never answers by itself
  Dispatcher d(io.get_executor(), queue, partner, options(50, 50, 10ms, false));
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, d.run(), [&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (partner.running < 50 && std::chrono::steady_clock::now() < deadline) io.run_for(1ms);
  ASSERT_EQ(partner.running, 50u);
  const std::size_t leased = queue.next_id;
  queue.break_for_good("outcome writer stopped: boom");
  while (!done && std::chrono::steady_clock::now() < deadline) io.run_for(1ms);
  ASSERT_TRUE(done) << "the lane must stop, not wait for calls that never end";
  ASSERT_TRUE(failure);
  try {
    std::rethrow_exception(failure);
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("outcome writer stopped: boom"), std::string::npos) << e.what();
  }
  EXPECT_EQ(partner.running, 0u);         // calls in flight were abandoned
  EXPECT_EQ(queue.next_id, leased);       // nothing leased after the failure
  EXPECT_TRUE(queue.acknowledged.empty());
  EXPECT_FALSE(queue.failure_handler) << "the dispatcher unregisters itself when it ends";
}

}  // namespace
}  // namespace conveyor::dispatch
