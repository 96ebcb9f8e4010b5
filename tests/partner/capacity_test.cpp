// The simulator's capacity mode (--capacity), measured with real clients, one connection and
// thread each, all in flight at once: up to the capacity each call takes the delay, past it the
// k-th answer takes delay × (k / capacity)² (throughput falls), past twice it the answer is 503
// at once; and the partner recovers when the load is gone.
#include <algorithm>
#include <barrier>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "partner/simulator.h"
#include "partner/test_client.h"

namespace conveyor::partner {
namespace {

using namespace std::chrono_literals;
using testing::Reply;
using testing::TestClient;
using Clock = std::chrono::steady_clock;

struct Answer {
  unsigned status = 0;
  Clock::duration latency{};
};

// `count` POSTs sent at once, each from its own thread and connection.
std::vector<Answer> post_at_once(const boost::asio::ip::tcp::endpoint& endpoint, std::size_t count) {
  std::vector<Answer> answers(count);
  std::barrier ready(static_cast<std::ptrdiff_t>(count));
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      boost::asio::io_context io;
      TestClient client(io, endpoint);
      ready.arrive_and_wait();  // every connection is open before the first POST
      const auto sent = Clock::now();
      const Reply reply = client.request("POST", "/deliver", R"({"n":1})", "key-" + std::to_string(i));
      answers[i] = {reply.error ? 0u : reply.status, Clock::now() - sent};
    });
  }
  for (auto& t : threads) t.join();
  return answers;
}

TEST(SimulatorCapacity, PastTheCapacityLatencyGrowsWithTheSquareOfTheLoadAndPastTwiceIt503) {
  SimulatorOptions options;
  options.delay = 300ms;
  options.capacity = 10;
  options.threads = 2;
  Simulator simulator(options);
  ASSERT_FALSE(simulator.start());

  auto answers = post_at_once(simulator.local_endpoint(), 25);
  std::vector<Clock::duration> ok;
  std::size_t refused = 0;
  for (const auto& a : answers) {
    if (a.status == 200) {
      ok.push_back(a.latency);
    } else {
      EXPECT_EQ(a.status, 503u);
      EXPECT_LT(a.latency, 150ms) << "a 503 past twice the capacity comes at once";
      ++refused;
    }
  }
  EXPECT_EQ(refused, 5u);  // arrivals 21..25
  ASSERT_EQ(ok.size(), 20u);
  std::sort(ok.begin(), ok.end());
  // The k-th fastest answer took at least delay × max(1, (k / 10)²): 300 ms for the first ten,
  // then 363 ms … 1,200 ms. The first ten were not slowed beyond the delay.
  for (std::size_t k = 1; k <= ok.size(); ++k) {
    const double load = std::max(1.0, static_cast<double>(k) / 10.0);
    EXPECT_GE(ok[k - 1], std::chrono::duration_cast<Clock::duration>(300ms * load * load) - 1ms) << "k = " << k;
  }
  EXPECT_LT(ok[9], 300ms + 250ms);
  // Throughput fell: 10 calls in 0.3 s at the capacity, 20 calls took 1.2 s past it.
  EXPECT_GE(ok.back(), 1200ms - 1ms);

  // The load is gone (every call counted out, 503s too): a call takes the plain delay again.
  ASSERT_EQ(simulator.stats().in_flight, 0u);
  answers = post_at_once(simulator.local_endpoint(), 10);
  for (const auto& a : answers) {
    EXPECT_EQ(a.status, 200u);
    EXPECT_LT(a.latency, 300ms + 250ms);
  }
}

}  // namespace
}  // namespace conveyor::partner
