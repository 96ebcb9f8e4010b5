// The dispatcher of one lane (one thread, one io_context): leases messages from its queue backend,
// asks the partner which route takes each one, and runs up to `concurrency` deliveries at once,
// each route within its own limits; it reports each outcome back to the backend as the route's
// delivery policy rules: acknowledge, retry later, or dead-letter (poison messages and messages
// no route takes never reach the partner).
//
// Flow control, per route: a process-wide RouteGate (concurrency or adaptive limit, rate limit,
// Retry-After pause) and this lane's own circuit breaker. A message whose route cannot take it
// now waits in the lane only briefly (a small per-route hold, about a second of the route's
// pace, outside the in-flight budget); the rest are parked back in the queue, due when the route
// is expected to take them, without counting an attempt. So a slow, limited, paused or broken
// route never holds the in-flight budget the others need (no head-of-line blocking). When every
// route is closed to new work, the lane stops leasing until one opens.
//
// It never runs more than `concurrency` calls, nor holds more admitted messages than `concurrency`
// plus a prefetch of the refill threshold (concurrency / 8, at most one lease batch: ready for the
// courier that frees next), plus one lease batch (a batch is sized up by the share that recent batches set aside for closed
// routes, so open routes still fill their slots in one round trip), plus the routes' holds; nor more body
// bytes than `max_in_flight_bytes` (plus one message), and knows nothing of Redis, SQS or HTTP. If
// the backend breaks for good (QueueBackend::on_failure), the lane stops: calls in flight are
// abandoned and run() ends with that error.
//
// Ownership: the backend and partner must outlive the dispatcher; run() must have completed before
// any of the three is destroyed (or the io_context stopped for good). REQUIRES: the dispatcher is destroyed
// before its io_context: it holds its parked couriers. Every member function is called on the lane's executor only,
// except stats() and route_stats(), whose counters any thread may read.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/duration.h"
#include "dispatch/circuit_breaker.h"
#include "dispatch/delivery_policy.h"
#include "dispatch/partner.h"
#include "dispatch/route_gate.h"
#include "metrics/delivery_stats.h"
#include "queue/queue_backend.h"

namespace conveyor::dispatch {

// One route as the dispatcher sees it, in the order of the partner's routes.
struct RouteOptions {
  std::string name = "default";
  DeliveryPolicyOptions policy;
  CircuitOptions circuit;
  std::shared_ptr<RouteGate> gate;  // shared by the process's lanes; null: no limits of its own
};

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
  std::size_t lanes = 1;  // lanes sharing the routes' gates: this lane's share of a route's pace
  // The routes; empty: one route "default" with `policy` and `circuit` and no limits of its own.
  std::vector<RouteOptions> routes;
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

  // Stop leasing; deliveries in flight run to their end, messages waiting for their route go back.
  void stop();
  // Past the shutdown deadline: abort deliveries in flight and give their
  // messages back to the queue at once.
  void abandon();

  // This lane's totals, and each route's share of them (same order as the partner's routes).
  const metrics::DeliveryStats& stats() const { return stats_; }
  std::size_t route_count() const { return routes_.size(); }
  const metrics::DeliveryStats& route_stats(std::size_t route) const { return routes_[route]->stats; }
  const std::string& route_name(std::size_t route) const { return routes_[route]->options.name; }
  // Dead letters of this lane that no route owns (poison, no route): stats().dead_lettered is
  // these plus every route's.
  std::uint64_t unrouted_dead_lettered() const { return unrouted_dead_lettered_.get(); }

 private:
  using Clock = std::chrono::steady_clock;

  // A leased message and where it goes.
  struct Job {
    queue::Lease lease;
    Routing routing;
  };
  // One route in this lane.
  struct Route {
    explicit Route(RouteOptions o) : options(std::move(o)), policy(options.policy), circuit(options.circuit) {}
    RouteOptions options;
    DeliveryPolicy policy;
    CircuitBreaker circuit;
    std::deque<Job> waiting;        // routed, not yet admitted by the gate
    Clock::time_point retry_at{};   // when its waiting jobs are worth another admission
    metrics::DeliveryStats stats;
  };

  // One of `concurrency` long-lived delivery coroutines: it takes admitted jobs from ready_ one
  // at a time and parks on its own timer when there are none. Long-lived rather than one
  // coroutine per message, because a frame allocated and freed per message was a tenth of the
  // worker's CPU.
  boost::asio::awaitable<void> courier();
  // A freshly leased message: dead-lettered if poison or if no route takes it, else waits for its route.
  void intake(queue::Lease lease);
  // Moves what `route`'s gate admits now to ready_; parks what would wait too long.
  void admit(Route& route, Clock::time_point now);
  void admit_all(Clock::time_point now);
  // How many jobs `route` may hold in this lane while they wait for it.
  std::size_t hold_limit(const Route& route, Clock::time_point now) const;
  // Gives `job` back to the queue unattempted, due after `delay`.
  void park(Route& route, Job job, std::chrono::milliseconds delay);
  // Is every route closed to new work (circuit open, paused, hold full)? Then leasing waits.
  bool every_route_closed(Clock::time_point now) const;
  Clock::time_point next_admission() const;
  // Records the outcome of one delivery with the backend and the stats.
  void settle(Route& route, const queue::Lease& lease, const Outcome& outcome, Clock::time_point started);
  void dead_letter(Route* route, const queue::Lease& lease, const queue::DeadLetter& why);
  void release(Route& route, const queue::Lease& lease);
  void release_waiting();
  boost::asio::awaitable<void> sleep_until_woken(Clock::time_point deadline);
  void wake();
  void dispatch_ready();
  // The backend broke for good: stop as abandon() does, and make run() throw `why`.
  void fail(const std::string& why);
  std::size_t active() const { return delivering_ + ready_.size(); }
  // Most jobs admitted at once: every courier busy and refill_threshold_ ready for the next free one.
  std::size_t window() const { return options_.concurrency + refill_threshold_; }
  std::size_t held() const { return active() + waiting_; }
  std::size_t bytes_free() const {
    return options_.max_in_flight_bytes > held_bytes_ ? options_.max_in_flight_bytes - held_bytes_ : 0;
  }
  void count_in_flight();

  boost::asio::any_io_executor executor_;
  queue::QueueBackend& backend_;
  Partner& partner_;
  DispatcherOptions options_;
  std::vector<std::unique_ptr<Route>> routes_;
  boost::asio::steady_timer wakeup_;  // cancelled to wake run(): slots freed, or stop
  std::size_t refill_threshold_;
  std::size_t byte_refill_threshold_;  // lease once this many body bytes are free
  std::size_t held_bytes_ = 0;         // bodies leased and not yet settled
  bool waiting_for_bytes_ = false;     // run() sleeps until bytes are freed
  bool sleeping_for_messages_ = false; // run() found the queue empty and sleeps until on_ready or idle
  bool messages_ready_ = false;        // the backend said it has messages since the last empty lease
  std::string failure_;                // why the backend broke, if it did
  std::deque<std::pair<Job, Route*>> ready_;        // admitted, not yet picked up by a courier
  std::vector<boost::asio::any_completion_handler<void()>> idle_;  // parked couriers, woken by posting these
  std::size_t delivering_ = 0;                      // couriers inside a partner call
  std::size_t waiting_ = 0;                         // jobs in the routes' holds
  double admitted_share_ = 1.0;  // of recent lease batches, the share that went straight to a call
  std::size_t couriers_ = 0;                        // couriers still running
  bool stopping_ = false;
  bool closing_ = false;  // couriers leave once ready_ is empty
  bool abandoning_ = false;
  metrics::DeliveryStats stats_;
  metrics::Counter unrouted_dead_lettered_;
};

}  // namespace conveyor::dispatch
