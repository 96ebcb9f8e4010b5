// How much of a channel's Redis dead set is kept, and the bounded trim that enforces it (Sidekiq's
// dead set: 10,000 entries, 6 months). Each shard's C:dead is trimmed oldest-first (lowest score)
// while it holds more than max_len entries, more than max_bytes of bodies (the counter
// C:dead:bytes) or entries older than max_age by Redis TIME; 0 turns a limit off. One script call
// removes at most `most` entries, so trimming a huge set never blocks Redis for long; repeated
// calls converge. Free functions over a Connection owned by the caller, used from its io_context.
#pragma once

#include <chrono>
#include <cstddef>

#include <boost/asio/awaitable.hpp>

#include "core/duration.h"
#include "core/error.h"
#include "queue/redis/redis_queue.h"
#include "redis/connection.h"

namespace conveyor::queue {

struct DeadLetterRetention {
  std::size_t max_len = 10'000;                     // DLQ_MAX_LEN; 0: any number
  Duration max_age = std::chrono::hours(24 * 180);  // DLQ_MAX_AGE; 0: any age
  std::size_t max_bytes = 256u * 1024 * 1024;       // DLQ_MAX_BYTES, bodies only; 0: any size

  bool limited() const { return max_len > 0 || max_age.count() > 0 || max_bytes > 0; }
};

// Entries one trim call removes at most: a few milliseconds of Redis time.
inline constexpr std::size_t kTrimPerCall = 1000;

// One trim call over `keys`' dead set: removes up to `most` of the oldest entries while a limit is
// exceeded, with their bodies and reasons, and takes their bodies' bytes off C:dead:bytes (never
// below 0). Returns how many it removed; a transport failure or a Redis error reply is an error.
boost::asio::awaitable<Result<std::size_t>> trim_dead_letters(redis::Connection& connection,
                                                              const RedisQueue::Keys& keys,
                                                              const DeadLetterRetention& retention,
                                                              std::size_t most = kTrimPerCall);

// After `added` new dead letters: trim calls of kTrimPerCall until they removed `added` plus one
// call's worth, or the set is within its limits. Each batch thus trims at least what it added, and
// a set over its limits (say, retention just turned on) shrinks by a bounded step per batch.
boost::asio::awaitable<Result<std::size_t>> enforce_retention(redis::Connection& connection,
                                                              const RedisQueue::Keys& keys,
                                                              const DeadLetterRetention& retention,
                                                              std::size_t added);

}  // namespace conveyor::queue
