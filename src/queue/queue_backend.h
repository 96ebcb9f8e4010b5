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
#include <cstdint>
#include <functional>
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

// How much one lease() call may hand out: at most `messages` messages whose bodies total at most
// `bytes`, except that a call that finds work always returns at least one message (so a message
// larger than `bytes` still moves; MAX_MESSAGE_BYTES bounds it). Converts from a plain count.
struct LeaseLimits {
  LeaseLimits(std::size_t messages, std::size_t bytes = SIZE_MAX) : messages(messages), bytes(bytes) {}  // NOLINT
  std::size_t messages;
  std::size_t bytes;
};

class QueueBackend {
 public:
  virtual ~QueueBackend() = default;

  // Leases up to `limits` of messages; an empty vector means nothing is ready now.
  // Fails only when the queue cannot be reached, or with Error::backend_failed once the backend
  // has broken for good (see failure handler below): the caller must then stop.
  virtual boost::asio::awaitable<Result<std::vector<Lease>>> lease(LeaseLimits limits) = 0;

  // Delivered: remove the message for good.
  virtual void acknowledge(const Lease& lease) = 0;
  // Give the message back at once, for any worker (used on shutdown).
  virtual void release(const Lease& lease) = 0;
  // Make the message due again no earlier than `delay` from now.
  virtual void retry_later(const Lease& lease, std::chrono::milliseconds delay) = 0;
  // Not attempted: the message's route cannot take it now (rate-limited, paused, full, its circuit
  // open). Give it back, due no earlier than `delay` from now, without counting an attempt: waiting
  // never uses up MAX_ATTEMPTS. Its id (the Idempotency-Key) stays the same.
  virtual void park(const Lease& lease, std::chrono::milliseconds delay) = 0;
  // Take the message out of delivery for good, its body untouched, beside `why`.
  virtual void dead_letter(const Lease& lease, const DeadLetter& why) = 0;

  // Writes every outcome recorded so far; completes when they are durable.
  virtual boost::asio::awaitable<error_code> flush() = 0;

  // Called once, after the last lease() and once every lease is settled: anything the backend
  // took from the queue ahead of demand goes back at once, then everything recorded is written.
  virtual boost::asio::awaitable<error_code> shutdown() { co_return co_await flush(); }

  // The shared queue's remaining work (all workers, all shards).
  virtual boost::asio::awaitable<Result<Backlog>> backlog() = 0;

  // Called at most once, on the backend's executor, if the backend breaks for good (a bug in its
  // outcome writer, say): outcomes recorded afterwards are lost, so the lane must stop; its leases
  // come back to any worker when they expire. The handler must outlive the backend or be reset.
  using FailureHandler = std::function<void(const std::string& why)>;
  virtual void on_failure(FailureHandler handler) { (void)handler; }

  // Called on the backend's executor when messages become ready to lease without a round trip:
  // a backend that receives ahead of lease() (SQS's long polls) calls it when its buffer stops
  // being empty, so a caller that found nothing need not poll. Backends whose lease() asks the
  // queue itself never call it. The handler must outlive the backend or be reset.
  using ReadyHandler = std::function<void()>;
  virtual void on_ready(ReadyHandler handler) { (void)handler; }

  // Messages the backend dead-lettered by itself since the last call, without handing them out
  // (on Redis: messages over MAX_MESSAGE_BYTES, moved to the dead set by the lease script).
  virtual std::size_t take_dead_lettered() { return 0; }
};

}  // namespace conveyor::queue
