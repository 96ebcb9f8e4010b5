// A process's local share of a cluster-wide rate limit (flow/cluster_rate_limiter.h): lanes take
// grants from it synchronously, as from a RateLimiter, and it refills itself from Redis on its
// own executor, one batch (50 ms of the rate, at most half the burst) per round trip, and only
// while lanes want more. So a lane never waits on Redis inside a call to take(), and the Redis
// cost is a few round trips a second per process, not one per call.
//
// Accuracy: grants held here are at most one batch and expire one batch-time after they arrive;
// the limit kept in Redis has its burst lowered by one batch. Calls started from this reservoir in
// any window of T seconds therefore stay within rate × T + burst, summed over every process.
// When Redis cannot be reached, nothing is granted (the route holds; it never runs unlimited) and
// the failure is logged through an OutageLog.
//
// Threads: take() from any lane; the refills run on `executor` (one thread). Held by shared_ptr:
// the refill coroutine keeps it alive; stop() ends it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "flow/cluster_rate_limiter.h"
#include "flow/rate_limiter.h"
#include "redis/endpoint.h"

namespace conveyor::flow {

class RateReservoir : public std::enable_shared_from_this<RateReservoir> {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws std::invalid_argument for a bad rate (start-up only).
  static std::shared_ptr<RateReservoir> create(boost::asio::any_io_executor executor, redis::Endpoint endpoint,
                                               std::string route, const Rate& rate,
                                               std::chrono::milliseconds connect_timeout);

  Grant take(std::size_t wanted, Clock::time_point now = Clock::now());
  // Ends the refills (on the executor); later takes grant nothing new.
  void stop();

  const Rate& rate() const { return rate_; }
  std::size_t batch() const { return batch_; }

 private:
  RateReservoir(boost::asio::any_io_executor executor, redis::Endpoint endpoint, std::string route, const Rate& rate,
                std::chrono::milliseconds connect_timeout);
  boost::asio::awaitable<void> refill();

  const boost::asio::any_io_executor executor_;
  const redis::Endpoint endpoint_;
  const Rate rate_;
  const std::size_t batch_;
  const Clock::duration batch_time_;  // how long held grants stay good
  const ClusterRateLimiter limiter_;   // the Redis side, with the burst lowered by one batch
  const std::chrono::milliseconds connect_timeout_;
  boost::asio::steady_timer timer_;

  std::mutex mutex_;  // guards what follows
  std::size_t held_ = 0;
  Clock::time_point held_until_{};
  Clock::time_point next_from_redis_{};  // Redis said: nothing before this
  bool wanted_ = false;                  // a take came up short since the last refill
  bool refilling_ = false;
  bool stopped_ = false;
};

}  // namespace conveyor::flow
