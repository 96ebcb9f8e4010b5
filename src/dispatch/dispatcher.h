// The dispatcher of one lane (one thread, one io_context): leases messages
// from its queue backend, runs up to `concurrency` partner deliveries at once,
// and reports each outcome back to the backend as the delivery policy rules:
// acknowledge, retry later, or dead-letter (poison messages never reach the
// partner). A circuit breaker stops calls and leasing while the partner is
// down. It never holds more than `concurrency` messages, whatever the backlog
// or fault, nor more body bytes than `max_in_flight_bytes` (plus one message),
// and knows nothing of Redis, SQS or HTTP. If the backend breaks for good
// (QueueBackend::on_failure), the lane stops: calls in flight are abandoned
// and run() ends with that error.
//
// Ownership: the backend and partner must outlive the dispatcher; run() must
// have completed before any of the three is destroyed. Every member function
// is called on the lane's executor only.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/duration.h"
#include "dispatch/circuit_breaker.h"
#include "dispatch/delivery_policy.h"
#include "dispatch/partner.h"
#include "metrics/delivery_stats.h"
#include "queue/queue_backend.h"

namespace conveyor::dispatch {

struct DispatcherOptions {
  std::size_t concurrency = 1000;  // deliveries in flight in this lane
  std::size_t fetch_batch = 500;   // most messages per lease call
  Duration idle_poll{100};         // longest sleep while the queue is empty
  bool until_empty = false;        // stop once the shared queue has no work left
  std::size_t max_message_bytes = 262'144;  // larger messages are poison
  std::size_t fetch_max_bytes = 4 << 20;    // most body bytes per lease call (at least one message)
  // Most body bytes held at once (leased, waiting or in a call). A lease call may pass what is
  // left by one message, so the lane holds at most this plus max_message_bytes.
  std::size_t max_in_flight_bytes = 32 << 20;
  DeliveryPolicyOptions policy;
  CircuitOptions circuit;
};

class Dispatcher {
 public:
  Dispatcher(boost::asio::any_io_executor executor, queue::QueueBackend& backend, Partner& partner,
             DispatcherOptions options);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Delivers until stop(), or with until_empty until the queue (every
  // worker's share) is empty; then waits for its own deliveries to end and
  // flushes their outcomes. Throws std::runtime_error if the backend broke for good.
  boost::asio::awaitable<void> run();

  // Stop leasing; deliveries in flight run to their end.
  void stop();
  // Past the shutdown deadline: abort deliveries in flight and give their
  // messages back to the queue at once.
  void abandon();

  const metrics::DeliveryStats& stats() const { return stats_; }

 private:
  // One of `concurrency` long-lived delivery coroutines: it takes leased
  // messages from ready_ one at a time and parks on its own timer when there
  // are none. Long-lived rather than one coroutine per message, because a
  // frame allocated and freed per message was a tenth of the worker's CPU.
  boost::asio::awaitable<void> courier();
  // Records the outcome of one delivery with the backend and the stats.
  void settle(const queue::Lease& lease, const Result<PartnerAnswer>& answer,
              std::chrono::steady_clock::time_point started);
  void dead_letter(const queue::Lease& lease, const queue::DeadLetter& why);
  boost::asio::awaitable<void> sleep_until_woken(std::chrono::steady_clock::time_point deadline);
  void wake();
  void dispatch_ready();
  // The backend broke for good: stop as abandon() does, and make run() throw `why`.
  void fail(const std::string& why);
  std::size_t in_flight() const { return delivering_ + ready_.size(); }
  std::size_t bytes_free() const {
    return options_.max_in_flight_bytes > held_bytes_ ? options_.max_in_flight_bytes - held_bytes_ : 0;
  }

  boost::asio::any_io_executor executor_;
  queue::QueueBackend& backend_;
  Partner& partner_;
  DispatcherOptions options_;
  boost::asio::steady_timer wakeup_;  // cancelled to wake run(): slots freed, or stop
  std::size_t refill_threshold_;
  std::size_t byte_refill_threshold_;  // lease once this many body bytes are free
  std::size_t held_bytes_ = 0;         // bodies leased and not yet settled
  bool waiting_for_bytes_ = false;     // run() sleeps until bytes are freed
  std::string failure_;                // why the backend broke, if it did
  std::deque<queue::Lease> ready_;                  // leased, not yet picked up by a courier
  std::vector<boost::asio::steady_timer*> idle_;    // parked couriers, woken by cancelling
  std::size_t delivering_ = 0;                      // couriers inside a partner call
  std::size_t couriers_ = 0;                        // couriers still running
  bool stopping_ = false;
  bool closing_ = false;  // couriers leave once ready_ is empty
  bool abandoning_ = false;
  metrics::DeliveryStats stats_;
  DeliveryPolicy policy_;
  CircuitBreaker circuit_;
};

}  // namespace conveyor::dispatch
