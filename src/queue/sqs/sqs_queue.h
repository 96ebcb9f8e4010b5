// SqsQueue: Amazon SQS queues (one, or one per shard) behind queue::QueueBackend, with the same
// contract as the Redis backend: a message is deleted only after its delivery, comes back by itself if its worker dies
// (the visibility timeout is the lease), and keeps one id on every attempt (the SQS MessageId).
//
// Receiving: `receivers` long-polling ReceiveMessage loops per queue (10 messages a call) fill
// one prefetch buffer of about `prefetch` messages, and only while it has room, so a slow partner
// never makes us hold more than that beyond the dispatcher's own in-flight bound. Every shard has
// its own receivers and an empty one just waits in its long poll, so shards are read
// concurrently and fairly and an empty shard costs the others nothing. lease() never waits on the
// network: it hands out what the buffer holds (possibly nothing); Lease::shard says which queue a
// message came from, so its outcome goes back there. Receivers start on the first lease() call.
//
// Outcomes are recorded at once and written by up to `writers` concurrent batch calls of ten
// (DeleteMessageBatch; ChangeMessageVisibilityBatch for release, retry_later and extensions;
// SendMessageBatch for park).
// Failed entries that are not our fault, throttling and transport errors are retried with
// backoff, up to a bounded number of attempts; an outcome that still cannot be written only
// means its message comes back when its visibility timeout ends (at-least-once, never lost).
//
// park() re-sends the message to its own queue with SendMessageBatch (batched like the other
// outcomes), DelaySeconds = its delay up to SQS's 900 s (a longer wait is parked again when it
// comes back), and the message attributes "conveyor-id" (its id) and "conveyor-attempts" (the
// attempts it used), then deletes the original once the copy is in: a crash between the two
// duplicates it, never loses it. Receiving reads both attributes: a lease's id is conveyor-id
// when present, else the MessageId, and its attempt is conveyor-attempts plus the copy's
// ApproximateReceiveCount, which starts again from zero, so waiting uses up neither MAX_ATTEMPTS
// nor a redrive policy's maxReceiveCount. A message that cannot be re-sent (too large with the
// attributes, refused by the queue, or SQS keeps failing) is hidden for its delay in place
// instead, which counts one receive (logged at debug).
//
// dead_letter() sends the body untouched to the dead-letter queue, with the reason as the message
// attribute "conveyor-dead-letter" (JSON), and deletes it from its queue only once the DLQ has it.
//
// A message held longer than half its visibility timeout (a long call, a long prefetch wait) has
// its visibility extended, so a slow delivery is never handed to a second worker meanwhile.
//
// shutdown() stops the receivers, waiting out the long polls under way (at most wait_seconds:
// SQS completes a poll whose client left, and would hide what it returns for a visibility
// timeout), makes every prefetched or late-received message visible again at once (visibility
// 0) and flushes. One instance per io_context, used only from
// it; its coroutines share ownership of its state, so destroying it mid-flight is safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "core/error.h"
#include "queue/queue_backend.h"
#include "queue/sqs/sqs_client.h"

namespace conveyor::queue {

struct SqsQueueOptions {
  std::vector<std::string> queue_urls;          // the shards, in order
  std::chrono::seconds visibility_timeout{30};  // the lease; SQS allows 0 s to 12 h
  int wait_seconds = 10;                        // ReceiveMessage long poll, 0..20
  std::size_t receivers = 8;                    // ReceiveMessage calls in flight per queue
  std::size_t prefetch = 200;  // messages received ahead of lease(), all queues; raised to 10 per receiver
  std::size_t prefetch_bytes = 4 << 20;  // no new receive while the buffered bodies reach this
  std::size_t writers = 8;                      // delete / visibility batches in flight at once
  std::string dead_letter_url;                  // where dead letters go (required to dead-letter)
};

class SqsQueue final : public QueueBackend {
 public:
  // Throws std::invalid_argument for unusable options (see sqs::Client, and the ranges above).
  SqsQueue(boost::asio::any_io_executor executor, const sqs::ClientOptions& client, SqsQueueOptions options);
  ~SqsQueue() override;
  SqsQueue(const SqsQueue&) = delete;
  SqsQueue& operator=(const SqsQueue&) = delete;

  // Checks now that the queue exists and answers, so start-up can report a wrong URL or
  // credentials. `why` gets the service's reason (never a secret); it must outlive the call.
  boost::asio::awaitable<error_code> connect(std::string* why = nullptr);

  boost::asio::awaitable<Result<std::vector<Lease>>> lease(LeaseLimits limits) override;
  void acknowledge(const Lease& lease) override;
  void release(const Lease& lease) override;
  void retry_later(const Lease& lease, std::chrono::milliseconds delay) override;
  // Re-sends the message (see above) so that waiting counts no receive; falls back to hiding it.
  void park(const Lease& lease, std::chrono::milliseconds delay) override;
  void dead_letter(const Lease& lease, const DeadLetter& why) override;
  // Called when a receive puts messages into an empty buffer.
  void on_ready(ReadyHandler handler) override;
  boost::asio::awaitable<error_code> flush() override;
  boost::asio::awaitable<Result<Backlog>> backlog() override;
  boost::asio::awaitable<error_code> shutdown() override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace conveyor::queue
