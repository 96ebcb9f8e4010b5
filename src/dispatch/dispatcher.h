// The dispatcher of one lane (one thread, one io_context): leases messages
// from its queue backend, runs up to `concurrency` partner deliveries at once,
// and reports each outcome back to the backend. It never holds more than
// `concurrency` messages, whatever the backlog, and knows nothing of Redis,
// SQS or HTTP.
//
// Ownership: the backend and partner must outlive the dispatcher; run() must
// have completed before any of the three is destroyed. Every member function
// is called on the lane's executor only.
#pragma once

#include <chrono>
#include <cstddef>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/duration.h"
#include "dispatch/partner.h"
#include "metrics/delivery_stats.h"
#include "queue/queue_backend.h"

namespace conveyor::dispatch {

struct DispatcherOptions {
  std::size_t concurrency = 1000;  // deliveries in flight in this lane
  std::size_t fetch_batch = 500;   // most messages per lease call
  Duration idle_poll{100};         // longest sleep while the queue is empty
  bool until_empty = false;        // stop once the shared queue has no work left
};

class Dispatcher {
 public:
  Dispatcher(boost::asio::any_io_executor executor, queue::QueueBackend& backend, Partner& partner,
             DispatcherOptions options);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Delivers until stop(), or with until_empty until the queue (every
  // worker's share) is empty; then waits for its own deliveries to end and
  // flushes their outcomes. Completes with the first unrecoverable error, if any.
  boost::asio::awaitable<void> run();

  // Stop leasing; deliveries in flight run to their end.
  void stop();
  // Past the shutdown deadline: abort deliveries in flight and give their
  // messages back to the queue at once.
  void abandon();

  const metrics::DeliveryStats& stats() const { return stats_; }

 private:
  boost::asio::awaitable<void> deliver(queue::Lease lease);
  boost::asio::awaitable<void> sleep_until_woken(std::chrono::steady_clock::time_point deadline);
  void wake();

  boost::asio::any_io_executor executor_;
  queue::QueueBackend& backend_;
  Partner& partner_;
  DispatcherOptions options_;
  boost::asio::steady_timer wakeup_;  // cancelled to wake run(): slots freed, or stop
  std::size_t refill_threshold_;
  std::size_t in_flight_ = 0;
  bool stopping_ = false;
  bool abandoning_ = false;
  metrics::DeliveryStats stats_;
};

}  // namespace conveyor::dispatch
