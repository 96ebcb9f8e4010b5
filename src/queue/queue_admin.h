// What an operator sees and does with a channel, whatever the backend: how much work waits,
// runs, is delayed or is dead, and the dead letters themselves (list, requeue to the queue with a
// fresh attempt count, purge). For `conveyor stats` and `conveyor dlq`; not for hot paths.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/error.h"

namespace conveyor::queue {

struct ShardCounts {
  std::string shard;          // the shard's name or queue URL
  std::size_t waiting = 0;    // ready for any worker
  std::size_t in_flight = 0;  // leased by some worker (including expired leases not yet taken back)
  std::size_t delayed = 0;    // waiting for a retry's time
  std::size_t dead = 0;       // in the dead-letter queue
};

struct DeadMessage {
  std::string id;      // what requeue --id takes
  std::string body;    // untouched, as the producer wrote it
  std::string reason;  // JSON: reason, status, response, attempts, dead_at
};

class QueueAdmin {
 public:
  virtual ~QueueAdmin() = default;
  virtual boost::asio::awaitable<Result<std::vector<ShardCounts>>> counts() = 0;
  // The oldest dead letters first, at most `limit`, each body cut to its first `body_bytes`
  // (a dead set may hold giants of many MiB that must never be read whole by a worker).
  virtual boost::asio::awaitable<Result<std::vector<DeadMessage>>> dead_letters(std::size_t limit,
                                                                                std::size_t body_bytes) = 0;
  // Whether dead_letters() only reads (Redis). On SQS reading a message hides it and counts a
  // receive, so a listing every few seconds would race with requeue and purge: a status page must
  // not list them there (`conveyor dlq list` does, on demand).
  virtual bool lists_without_side_effects() const = 0;
  // Back onto the queue, body untouched and attempts counted afresh; `ids` empty: all of them.
  // Returns how many were requeued (unknown ids are skipped).
  virtual boost::asio::awaitable<Result<std::size_t>> requeue(std::span<const std::string> ids) = 0;
  // Deletes every dead letter; returns how many.
  virtual boost::asio::awaitable<Result<std::size_t>> purge() = 0;
};

}  // namespace conveyor::queue
