#include "flow/rate_reservoir.h"

#include <algorithm>
#include <cmath>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/outage_log.h"
#include "redis/connection.h"

namespace conveyor::flow {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// 50 ms of the rate, at most half the burst, at least one.
std::size_t batch_of(const Rate& rate) {
  const double by_time = std::floor(rate.per_second / 20.0);
  const double by_burst = std::floor(rate.burst / 2.0);
  return static_cast<std::size_t>(std::max(1.0, std::min(by_time, by_burst)));
}

Rate lowered(const Rate& rate, std::size_t batch) {
  return Rate{.per_second = rate.per_second, .burst = std::max(1.0, rate.burst - static_cast<double>(batch))};
}

constexpr auto kRetryShort = 2ms;     // a lane short of grants looks again this soon
constexpr auto kRedisBackoff = 200ms;  // after a failed round trip

}  // namespace

std::shared_ptr<RateReservoir> RateReservoir::create(asio::any_io_executor executor, redis::Endpoint endpoint,
                                                     std::string route, const Rate& rate,
                                                     std::chrono::milliseconds connect_timeout) {
  return std::shared_ptr<RateReservoir>(
      new RateReservoir(std::move(executor), std::move(endpoint), std::move(route), rate, connect_timeout));
}

RateReservoir::RateReservoir(asio::any_io_executor executor, redis::Endpoint endpoint, std::string route,
                             const Rate& rate, std::chrono::milliseconds connect_timeout)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      rate_(rate),
      batch_(batch_of(rate)),
      batch_time_(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(static_cast<double>(batch_) / rate.per_second))),
      limiter_(std::move(route), lowered(rate, batch_)),
      connect_timeout_(connect_timeout),
      timer_(executor_) {}

Grant RateReservoir::take(std::size_t wanted, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now >= held_until_) held_ = 0;  // too old to keep the window bound
  Grant g;
  g.granted = std::min(wanted, held_);
  held_ -= g.granted;
  g.retry_at = now;
  if (g.granted < wanted) {
    g.retry_at = std::max(now + kRetryShort, next_from_redis_);
    wanted_ = true;
    if (!refilling_ && !stopped_) {
      refilling_ = true;
      asio::co_spawn(executor_, [self = shared_from_this()] { return self->refill(); }, asio::detached);
    }
  }
  return g;
}

void RateReservoir::stop() {
  asio::post(executor_, [self = shared_from_this()] {
    {
      std::lock_guard lock(self->mutex_);
      self->stopped_ = true;
    }
    self->timer_.cancel();
  });
}

asio::awaitable<void> RateReservoir::refill() {
  std::unique_ptr<redis::Connection> connection;
  OutageLog outage(fmt::format("redis (cluster rate limit {})", limiter_.key()));
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_ || !wanted_) {
        refilling_ = false;
        co_return;
      }
      wanted_ = false;
    }
    if (!connection || !connection->is_open()) {
      std::string why;
      auto connected = co_await redis::Connection::connect(executor_, endpoint_, connect_timeout_, &why);
      if (!connected) {
        if (auto line = outage.failed(Clock::now(), why.empty() ? connected.error().message() : why, kRedisBackoff)) {
          spdlog::warn("{}", *line);
        }
        {
          std::lock_guard lock(mutex_);
          wanted_ = true;  // still wanted: try again
          next_from_redis_ = Clock::now() + kRedisBackoff;
        }
        timer_.expires_after(kRedisBackoff);
        error_code ignored;
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        continue;
      }
      connection = std::move(*connected);
    }
    auto grant = co_await limiter_.take(*connection, batch_);
    const auto now = Clock::now();
    if (!grant) {
      if (auto line = outage.failed(now, grant.error().message())) spdlog::warn("{}", *line);
      connection.reset();
      std::lock_guard lock(mutex_);
      wanted_ = true;
      next_from_redis_ = now + kRedisBackoff;
      continue;
    }
    if (auto line = outage.succeeded(now)) spdlog::info("{}", *line);
    Clock::time_point wait_until = now;
    {
      std::lock_guard lock(mutex_);
      if (grant->granted > 0) {
        held_ = grant->granted;  // what was still held has expired or is replaced: never more than a batch
        held_until_ = now + batch_time_;
      }
      if (grant->granted < batch_) {
        next_from_redis_ = grant->retry_at;
        wait_until = grant->retry_at;
        wanted_ = true;  // ask again when Redis said
      }
    }
    if (wait_until > now) {
      timer_.expires_at(wait_until);
      error_code ignored;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }
}

}  // namespace conveyor::flow
