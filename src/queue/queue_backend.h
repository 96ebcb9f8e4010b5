// The seam between a queue and the dispatcher: a backend hands out leased
// messages and takes back each one's outcome. The dispatcher knows nothing of
// Redis or SQS. One backend instance belongs to one io_context (thread) and is
// only called from it; it owns its own connections.
//
// Outcomes (acknowledge, release, retry later, dead-letter) are recorded at
// once and written to the queue in batches; flush()
// waits until everything recorded so far is durable in the queue. A lease
// that is never settled (crash, timeout) comes back when it expires.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/error.h"
#include "queue/dead_letter.h"
#include "queue/lease.h"

namespace conveyor::queue {

// How much is left to do, across every worker sharing the queue.
struct Backlog {
  std::size_t waiting = 0;   // not yet leased
  std::size_t in_flight = 0; // leased, including expired leases not yet re-leased
  bool empty() const { return waiting == 0 && in_flight == 0; }
};

class QueueBackend {
 public:
  virtual ~QueueBackend() = default;

  // Leases up to `max` messages; an empty vector means nothing is ready now.
  // Fails only when the queue cannot be reached.
  virtual boost::asio::awaitable<Result<std::vector<Lease>>> lease(std::size_t max) = 0;

  // Delivered: remove the message for good.
  virtual void acknowledge(const Lease& lease) = 0;
  // Give the message back at once, for any worker (used on shutdown).
  virtual void release(const Lease& lease) = 0;
  // Make the message due again no earlier than `delay` from now.
  virtual void retry_later(const Lease& lease, std::chrono::milliseconds delay) = 0;
  // Take the message out of delivery for good, its body untouched, beside `why`.
  virtual void dead_letter(const Lease& lease, const DeadLetter& why) = 0;

  // Writes every outcome recorded so far; completes when they are durable.
  virtual boost::asio::awaitable<error_code> flush() = 0;

  // Called once, after the last lease() and once every lease is settled: anything the backend
  // took from the queue ahead of demand goes back at once, then everything recorded is written.
  virtual boost::asio::awaitable<error_code> shutdown() { co_return co_await flush(); }

  // The shared queue's remaining work (all workers, all shards).
  virtual boost::asio::awaitable<Result<Backlog>> backlog() = 0;
};

}  // namespace conveyor::queue
