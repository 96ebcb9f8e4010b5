// A rate limit for one route shared by every worker process and machine on one Redis: the same
// GCRA as flow/rate_limiter.h, its TAT kept in the key `conveyor:rate:{<route>}` (a hash tag, so
// it is ready for Redis Cluster) and updated by one atomic Lua script that reads the time from
// Redis TIME (worker clocks never matter) and lets the key expire as soon as it is idle again.
//
// Ownership and threads: a ClusterRateLimiter is immutable after construction and may be shared
// by every lane; each call runs on a redis::Connection the calling lane owns (one io_context,
// see redis/connection.h), which must outlive the call.
//
// Cost: one round trip to Redis per take() (EVALSHA; the script does one GET and one SET). Take
// in batches: a lane asks for what it could start now, up to max(1, rate / 20) units (50 ms worth),
// so a 2,000/s limit costs about 20 round trips a second per lane, not 2,000. Units granted and then
// not used are lost for this window (the bound still holds; the rate is merely under-used).
//
// Failure: when Redis is unreachable or answers with an error, take() returns the error and grants
// nothing. The caller decides; Conveyor holds the route (starts nothing on it) and retries, never
// running unlimited: a cluster limit is usually a contract with the partner.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "core/error.h"
#include "flow/rate_limiter.h"
#include "redis/connection.h"

namespace conveyor::flow {

class ClusterRateLimiter {
 public:
  // Throws std::invalid_argument as GcraConstants::of does (start-up only).
  ClusterRateLimiter(std::string route, const Rate& rate);

  // "conveyor:rate:{carrier-a}".
  static std::string key_of(std::string_view route);

  // Grants up to `wanted` units (0 grants nothing without a round trip). retry_at is on this
  // process's steady clock: Redis's answer "in D µs" added to the time the reply arrived. A
  // transport failure comes back as its error_code, an error reply from Redis as
  // Error::redis_reply and a reply of another shape as Error::redis_unexpected.
  boost::asio::awaitable<Result<Grant>> take(redis::Connection& connection, std::size_t wanted) const;

  const std::string& key() const { return key_; }
  const Rate& rate() const { return rate_; }

 private:
  ClusterRateLimiter(std::string route, const Rate& rate, const GcraConstants& gcra);

  const Rate rate_;
  const std::string key_;
  const std::string interval_;   // GcraConstants in microseconds (Redis TIME's unit), as the
  const std::string tolerance_;  // script's ARGV: decimal text
};

}  // namespace conveyor::flow
