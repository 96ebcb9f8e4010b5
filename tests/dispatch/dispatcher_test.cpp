// The dispatcher against an in-memory queue and a scripted partner: what is
// tested here is the dispatcher's own policy (bounded in-flight, outcomes,
// stop and abandon), not Redis or HTTP, which have their own suites.
#include "dispatch/dispatcher.h"

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

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Answers after `delay` with the status `answer(body)` picks; tracks how many
// calls overlap. cancel_all() fails every waiting call at once.
class ScriptedPartner final : public Partner {
 public:
  ScriptedPartner(asio::io_context& io, std::chrono::milliseconds delay) : io_(io), delay_(delay) {}

  asio::awaitable<Result<PartnerAnswer>> deliver(std::string_view body, std::string_view key) override {
    ++calls;
    keys.insert(std::string(key));
    ++running;
    max_running = std::max(max_running, running);
    asio::steady_timer timer(io_, delay_);
    timers_.insert(&timer);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    timers_.erase(&timer);
    --running;
    if (ec) co_return make_error_code(Error::shutting_down);
    co_return PartnerAnswer{answer(body), "", ""};
  }
  void cancel_all() override {
    for (auto* t : timers_) t->cancel();
  }

  std::function<unsigned(std::string_view)> answer = [](std::string_view) { return 200u; };
  std::size_t calls = 0, running = 0, max_running = 0;
  std::set<std::string> keys;

 private:
  asio::io_context& io_;
  std::chrono::milliseconds delay_;
  std::set<asio::steady_timer*> timers_;
};

// Runs a dispatcher's run() on `io`, advancing the loop on demand.
class Running {
 public:
  Running(asio::io_context& io, Dispatcher& d) : io_(io) {
    asio::co_spawn(io, d.run(), [this](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      done_ = true;
    });
  }
  // Runs the loop until `condition` holds or `bound` passes; true if it held.
  template <class Condition>
  bool until(Condition condition, std::chrono::seconds bound = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!condition() && std::chrono::steady_clock::now() < deadline) io_.run_for(1ms);
    return condition();
  }
  bool finishes(std::chrono::seconds bound = 20s) {
    return until([this] { return done_; }, bound);
  }
  bool done() const { return done_; }

 private:
  asio::io_context& io_;
  bool done_ = false;
};

bool run_to_completion(asio::io_context& io, Dispatcher& d) { return Running(io, d).finishes(); }

TEST(Dispatcher, DeliversEveryMessageOnceAndNeverExceedsConcurrency) {
  asio::io_context io;
  InMemoryQueue queue(2000);
  ScriptedPartner partner(io, 2ms);
  Dispatcher d(io.get_executor(), queue, partner, {.concurrency = 64, .fetch_batch = 50, .idle_poll = 10ms, .until_empty = true});
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
  Dispatcher d(io.get_executor(), queue, partner, {.concurrency = 800, .fetch_batch = 500, .idle_poll = 10ms, .until_empty = true});
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 5000u);
  // Refill waits for at least concurrency/8 = 100 free slots.
  EXPECT_LE(queue.lease_calls, 5000u / 100 + 20);
}

TEST(Dispatcher, FailedDeliveriesAreLeftLeasedNotAcknowledged) {
  asio::io_context io;
  InMemoryQueue queue(100);
  ScriptedPartner partner(io, 1ms);
  partner.answer = [](std::string_view body) {
    return body.find("7}") != std::string_view::npos ? 503u : 200u;  // i ending in 7
  };
  Dispatcher d(io.get_executor(), queue, partner, {.concurrency = 10, .fetch_batch = 10, .idle_poll = 5ms, .until_empty = false});
  Running running(io, d);
  ASSERT_TRUE(running.until([&] { return partner.calls == 100; }));
  d.stop();
  ASSERT_TRUE(running.finishes());
  EXPECT_EQ(queue.acknowledged.size(), 90u);
  EXPECT_EQ(queue.leased.size(), 10u);  // still leased: they come back when the lease expires
  for (const auto& [id, body] : queue.leased) EXPECT_NE(body.find("7}"), std::string::npos) << body;
  EXPECT_EQ(d.stats().failed.get(), 10u);
}

TEST(Dispatcher, StopFinishesInFlightAndLeasesNothingMore) {
  asio::io_context io;
  InMemoryQueue queue(1000);
  ScriptedPartner partner(io, 50ms);
  Dispatcher d(io.get_executor(), queue, partner, {.concurrency = 100, .fetch_batch = 100, .idle_poll = 10ms, .until_empty = false});
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
  Dispatcher d(io.get_executor(), queue, partner, {.concurrency = 200, .fetch_batch = 100, .idle_poll = 10ms, .until_empty = false});
  Running running(io, d);
  ASSERT_TRUE(running.until([&] { return partner.running == 200; }));
  d.stop();
  io.run_for(20ms);
  EXPECT_FALSE(running.done());  // stop alone waits for the calls
  d.abandon();
  ASSERT_TRUE(running.finishes());
  EXPECT_EQ(queue.released.size(), 200u);
  EXPECT_TRUE(queue.acknowledged.empty());
  EXPECT_EQ(d.stats().released.get(), 200u);
}

TEST(Dispatcher, KeepsGoingAfterTheQueueFailsToLease) {
  asio::io_context io;
  InMemoryQueue queue(50);
  queue.failures_left = 3;
  ScriptedPartner partner(io, 1ms);
  Dispatcher d(io.get_executor(), queue, partner, {.concurrency = 10, .fetch_batch = 10, .idle_poll = 10ms, .until_empty = true});
  ASSERT_TRUE(run_to_completion(io, d));
  EXPECT_EQ(queue.acknowledged.size(), 50u);
  EXPECT_EQ(queue.failures_left, 0);
}

TEST(Dispatcher, UntilEmptyWaitsForOtherWorkersLeases) {
  asio::io_context io;
  InMemoryQueue queue(0);
  queue.leased.emplace("someone-else", "{}");  // another worker's lease, still running
  ScriptedPartner partner(io, 1ms);
  Dispatcher d(io.get_executor(), queue, partner, {.concurrency = 10, .fetch_batch = 10, .idle_poll = 5ms, .until_empty = true});
  Running running(io, d);
  io.run_for(100ms);
  EXPECT_FALSE(running.done());
  queue.leased.clear();  // the other worker acknowledged it
  EXPECT_TRUE(running.finishes());
}

}  // namespace
}  // namespace conveyor::dispatch
