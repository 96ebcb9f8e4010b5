#include "dispatch/dispatcher.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "queue/message_problem.h"

namespace conveyor::dispatch {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Shortest idle sleep: right after the queue runs dry it is likely refilled
// soon, so poll fast first and back off towards idle_poll.
constexpr Duration kFirstIdle{2};
constexpr Duration kFirstErrorBackoff{50};
constexpr Duration kMaxErrorBackoff{2000};
// A route short of slots may get one back from another lane, which cannot wake this one: look again this often.
constexpr auto kSlotPoll = 5ms;
// A route holds in the lane about this much of its own pace; what would wait longer is parked.
constexpr auto kHoldHorizon = 1s;
// Parked messages come back no later than this, and are parked again if still not wanted.
constexpr auto kLongestPark = 15min;

// A delivery must never fail silently: an exception escaping one is a bug, so
// it propagates out of io_context::run() and ends the process loudly.
void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

std::chrono::milliseconds until(std::chrono::steady_clock::time_point t, std::chrono::steady_clock::time_point now) {
  return std::max(1ms, std::chrono::ceil<std::chrono::milliseconds>(t - now));
}

}  // namespace

Dispatcher::Dispatcher(asio::any_io_executor executor, queue::QueueBackend& backend, Partner& partner,
                       DispatcherOptions options)
    : executor_(std::move(executor)),
      backend_(backend),
      partner_(partner),
      options_(std::move(options)),
      wakeup_(executor_),
      // Lease only when a worthwhile batch of slots is free: one round trip
      // per freed slot would cost more than the delivery itself.
      refill_threshold_(std::clamp<std::size_t>(options_.concurrency / 8, 1, options_.fetch_batch)),
      byte_refill_threshold_(std::clamp<std::size_t>(options_.max_in_flight_bytes / 8, 1, options_.fetch_max_bytes)) {
  if (options_.routes.empty()) {
    options_.routes.push_back(RouteOptions{.name = "default", .policy = options_.policy, .circuit = options_.circuit, .gate = nullptr});
  }
  for (const auto& r : options_.routes) routes_.push_back(std::make_unique<Route>(r));
  options_.lanes = std::max<std::size_t>(options_.lanes, 1);
  idle_.reserve(options_.concurrency);
}

asio::awaitable<void> Dispatcher::run() {
  backend_.on_failure([this](const std::string& why) { fail(why); });
  backend_.on_ready([this] {
    messages_ready_ = true;
    if (sleeping_for_messages_) wake();
  });
  for (std::size_t i = 0; i < options_.concurrency; ++i) {
    ++couriers_;
    asio::co_spawn(executor_, courier(), rethrow);
  }

  Duration idle = kFirstIdle;
  Duration error_backoff = kFirstErrorBackoff;
  while (!stopping_) {
    auto now = Clock::now();
    admit_all(now);
    if (every_route_closed(now)) {
      // Every route is closed to new work (its partner down, paused, or its hold full): take
      // nothing new until one opens, rather than lease messages only to park them.
      co_await sleep_until_woken(next_admission());
      continue;
    }
    // Room for `concurrency` calls and a prefetch of refill_threshold_ more, ready for the couriers
    // that finish while the next lease is on its way: a slot that frees waits for no round trip.
    const std::size_t free = window() - std::min(window(), active());
    if (free < refill_threshold_) {
      co_await sleep_until_woken(next_admission());
      continue;
    }
    if (held() > 0 && bytes_free() < byte_refill_threshold_) {
      waiting_for_bytes_ = true;  // a courier wakes us once enough bytes are settled
      co_await sleep_until_woken(next_admission());
      waiting_for_bytes_ = false;
      continue;
    }
    // A route's half-open circuit probes with one message: with one route, leasing more would only park them.
    const bool probing = routes_.size() == 1 && routes_[0]->circuit.state() != CircuitBreaker::State::closed;
    // When some routes are closed, part of each batch only goes back to the queue: lease enough
    // that the open routes still fill their free slots in one round trip (at most 10 x free).
    const auto wanted = static_cast<std::size_t>(std::ceil(static_cast<double>(free) / admitted_share_));
    auto leased = co_await backend_.lease(
        {probing ? 1 : std::min(wanted, options_.fetch_batch),
         std::clamp<std::size_t>(bytes_free(), 1, options_.fetch_max_bytes)});
    if (!leased) {
      if (leased.error() == Error::backend_failed) {
        fail(leased.error().message());
        break;
      }
      // The backend owns its reconnects and says what broke, once per attempt (OutageLog): a
      // second line here would only double the noise of an outage.
      spdlog::debug("cannot lease messages: {}; retrying in {}", leased.error().message(),
                    format_duration(error_backoff));
      co_await sleep_until_woken(std::min(Clock::now() + error_backoff, next_admission()));
      error_backoff = std::min(error_backoff * 2, kMaxErrorBackoff);
      continue;
    }
    error_backoff = kFirstErrorBackoff;
    const std::size_t dead_in_backend = backend_.take_dead_lettered();
    stats_.dead_lettered.add(dead_in_backend);
    unrouted_dead_lettered_.add(dead_in_backend);
    if (leased->empty()) {
      messages_ready_ = false;  // a backend that receives ahead says when it has some (on_ready)
      if (options_.until_empty && held() == 0) {
        // Only our own outcomes can be pending here; write them before asking,
        // or our acknowledged messages would still count as in flight.
        if (auto ec = co_await backend_.flush()) spdlog::warn("cannot write outcomes: {}", ec.message());
        auto backlog = co_await backend_.backlog();
        if (backlog && backlog->empty()) break;
      }
      if (!messages_ready_) {
        sleeping_for_messages_ = true;
        co_await sleep_until_woken(std::min(Clock::now() + idle, next_admission()));
        sleeping_for_messages_ = false;
      }
      idle = messages_ready_ ? kFirstIdle : std::min(idle * 2, std::max(options_.idle_poll, kFirstIdle));
      continue;
    }
    idle = kFirstIdle;
    stats_.leased.add(leased->size());
    const std::uint64_t parked_before = stats_.parked.get();
    const std::size_t waiting_before = waiting_;
    for (auto& lease : *leased) intake(std::move(lease));
    admit_all(Clock::now());
    // The share of this batch that went straight to a call (not parked, not held), smoothed.
    const double set_aside = static_cast<double>(stats_.parked.get() - parked_before) +
                             static_cast<double>(waiting_ > waiting_before ? waiting_ - waiting_before : 0);
    const double share = 1.0 - set_aside / static_cast<double>(leased->size());
    admitted_share_ = std::clamp(0.7 * admitted_share_ + 0.3 * share, 0.1, 1.0);
    count_in_flight();
    stats_.peak_in_flight.raise_to(std::min(active(), options_.concurrency));
  }

  // Couriers finish what is admitted (or release it, when abandoning), then leave; what waits
  // for its route goes back at once.
  closing_ = true;
  release_waiting();
  dispatch_ready();
  while (couriers_ > 0) co_await sleep_until_woken(Clock::time_point::max());
  backend_.on_failure(nullptr);
  backend_.on_ready(nullptr);
  if (failure_.empty()) {
    if (auto ec = co_await backend_.shutdown()) spdlog::warn("cannot write final outcomes: {}", ec.message());
  }
  if (!failure_.empty()) {
    throw std::runtime_error(fmt::format("queue backend failed: {}; unsettled leases come back when they expire",
                                         failure_));
  }
}

void Dispatcher::intake(queue::Lease lease) {
  if (auto problem = queue::message_problem(lease.body, options_.max_message_bytes)) {
    dead_letter(nullptr, lease, queue::DeadLetter{.reason = std::move(*problem), .status = 0, .response = {}});
    return;
  }
  Routing routing = partner_.route(lease.body);
  if (!routing.routed()) {
    dead_letter(nullptr, lease, queue::DeadLetter{.reason = std::move(routing.failure), .status = 0, .response = {}});
    return;
  }
  Route& route = *routes_.at(routing.route);
  held_bytes_ += lease.body.size();
  ++waiting_;
  route.waiting.push_back(Job{std::move(lease), std::move(routing)});
}

void Dispatcher::admit_all(Clock::time_point now) {
  for (auto& route : routes_) {
    if (!route->waiting.empty() && now >= route->retry_at) admit(*route, now);
  }
}

void Dispatcher::admit(Route& route, Clock::time_point now) {
  if (route.waiting.empty() || closing_) return;
  Admission a;
  std::size_t wanted = route.waiting.size();
  const bool closed = route.circuit.state() == CircuitBreaker::State::closed;
  if (!closed) wanted = route.circuit.admits_work(now) ? 1 : 0;  // half-open: one probe
  if (wanted > 0) {
    a = route.options.gate ? route.options.gate->admit(wanted, now) : Admission{.admitted = wanted};
  }
  // The probe is out only once the gate let it go (a rate-limited probe would leave the circuit
  // waiting for an answer that never comes).
  if (!closed && a.admitted > 0) route.circuit.allow(now);
  for (std::size_t i = 0; i < a.admitted; ++i) {
    ready_.emplace_back(std::move(route.waiting.front()), &route);
    route.waiting.pop_front();
    --waiting_;
  }
  if (a.admitted > 0) dispatch_ready();
  if (route.waiting.empty()) return;

  // The rest wait: in the lane if their turn is near, else parked in the queue.
  Clock::time_point next = now + kSlotPoll;
  if (!closed) {
    next = route.circuit.state() == CircuitBreaker::State::open ? route.circuit.reopens_at()
                                                                 : now + Duration(route.options.circuit.cooldown);
  } else if (a.waiting_for == Admission::Wait::rate || a.waiting_for == Admission::Wait::pause) {
    next = std::max(a.retry_at, now + 1ms);
  }
  route.retry_at = next;
  const std::size_t hold = hold_limit(route, now);
  if (route.waiting.size() <= hold) return;
  // Each parked message is due about when the route's pace reaches it: one after the other,
  // so they come back spread out, not all at once.
  const double rate = route.options.gate ? route.options.gate->rate_per_second() / static_cast<double>(options_.lanes) : 0.0;
  const auto latency = route.options.gate ? route.options.gate->typical_latency() : std::chrono::microseconds(0);
  const std::size_t limit = route.options.gate ? route.options.gate->limit() : SIZE_MAX;
  const auto base = std::max(next, now);
  std::size_t position = hold;
  while (route.waiting.size() > hold) {
    ++position;
    auto due = base;
    if (rate > 0) {
      due += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(static_cast<double>(position) / rate));
    } else if (limit != SIZE_MAX && latency.count() > 0) {
      const double per_lane = std::max(1.0, static_cast<double>(limit) / static_cast<double>(options_.lanes));
      due += std::chrono::duration_cast<Clock::duration>(latency * (static_cast<double>(position) / per_lane));
    }
    Job job = std::move(route.waiting.back());
    route.waiting.pop_back();
    --waiting_;
    park(route, std::move(job), std::min<std::chrono::milliseconds>(until(due, now), kLongestPark));
  }
}

std::size_t Dispatcher::hold_limit(const Route& route, Clock::time_point now) const {
  if (!route.circuit.admits_work(now)) return 0;  // open, or its probe is out
  const RouteGate* gate = route.options.gate.get();
  if (!gate) return options_.fetch_batch;
  if (now < gate->paused_until()) return 0;
  std::size_t hold = options_.fetch_batch;
  if (const double rate = gate->rate_per_second(); rate > 0) {
    const double per_lane = rate / static_cast<double>(options_.lanes) * std::chrono::duration<double>(kHoldHorizon).count();
    hold = std::min(hold, static_cast<std::size_t>(std::max(1.0, std::ceil(per_lane))));
  }
  if (const std::size_t limit = gate->limit(); limit != SIZE_MAX) {
    hold = std::min(hold, std::max<std::size_t>(1, limit / options_.lanes));
  }
  return hold;
}

bool Dispatcher::every_route_closed(Clock::time_point now) const {
  for (const auto& route : routes_) {
    const bool circuit_closed = route->circuit.admits_work(now);
    if (circuit_closed && route->waiting.size() < hold_limit(*route, now)) return false;
  }
  return true;
}

Dispatcher::Clock::time_point Dispatcher::next_admission() const {
  auto next = Clock::time_point::max();
  for (const auto& route : routes_) {
    if (!route->waiting.empty()) next = std::min(next, route->retry_at);
    if (route->circuit.state() == CircuitBreaker::State::open) next = std::min(next, route->circuit.reopens_at());
    // A paused route reopens by itself: the lane may be asleep because of it.
    if (route->options.gate) {
      const auto paused = route->options.gate->paused_until();
      if (paused > Clock::now()) next = std::min(next, paused);
    }
  }
  return next;
}

void Dispatcher::park(Route& route, Job job, std::chrono::milliseconds delay) {
  held_bytes_ -= job.lease.body.size();
  backend_.park(job.lease, delay);
  stats_.parked.add();
  route.stats.parked.add();
}

void Dispatcher::release(Route& route, const queue::Lease& lease) {
  backend_.release(lease);
  stats_.released.add();
  route.stats.released.add();
}

void Dispatcher::release_waiting() {
  for (auto& route : routes_) {
    for (auto& job : route->waiting) {
      held_bytes_ -= job.lease.body.size();
      release(*route, job.lease);
    }
    waiting_ -= route->waiting.size();
    route->waiting.clear();
  }
}

void Dispatcher::fail(const std::string& why) {
  if (!failure_.empty()) return;
  failure_ = why;
  abandon();
}

void Dispatcher::dispatch_ready() {
  // One parked courier per waiting message; all of them when closing, so that
  // they see there is nothing left and leave.
  std::size_t to_wake = closing_ ? idle_.size() : std::min(ready_.size(), idle_.size());
  while (to_wake-- > 0) {
    auto courier = std::move(idle_.back());
    idle_.pop_back();
    // Never resumed inline, inside our caller; the lambda runs on our executor, so the courier's
    // own (type-erased) one need not be consulted.
    asio::post(executor_, [courier = std::move(courier)]() mutable { std::move(courier)(); });
  }
}

// Calls in flight: the prefetched jobs beyond `concurrency` wait for a courier, not for a partner.
void Dispatcher::count_in_flight() {
  stats_.in_flight.set(std::min(active(), options_.concurrency));
}

asio::awaitable<void> Dispatcher::courier() {
  while (true) {
    if (ready_.empty()) {
      if (closing_) break;
      // Parked as a bare handler, woken by dispatch_ready(): no timer to arm and cancel per message.
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
          [this](auto handler) { idle_.emplace_back(std::move(handler)); }, asio::use_awaitable);
      continue;
    }
    auto [job, route] = std::move(ready_.front());
    ready_.pop_front();
    const std::size_t size = job.lease.body.size();
    const auto started = Clock::now();  // one clock read per message
    RouteGate* gate = route->options.gate.get();
    if (abandoning_) {
      if (gate) gate->cancel();
      release(*route, job.lease);
    } else {
      ++delivering_;
      route->stats.in_flight.add();
      const std::size_t route_in_flight = gate ? gate->in_flight() : 0;
      // Inline rather than a nested coroutine: no frame allocated per message.
      const Outcome outcome = co_await partner_.deliver(job.routing, job.lease.body, job.lease.id);
      const auto now = Clock::now();
      if (gate) {
        gate->finish(std::chrono::duration_cast<std::chrono::microseconds>(now - started), outcome.overload,
                     route_in_flight);
        // The partner asked for a pause: the whole route waits, not only this message.
        if (outcome.retry_after && outcome.kind == Outcome::Kind::retry) gate->pause_until(now + *outcome.retry_after);
      }
      settle(*route, job.lease, outcome, started);
      route->stats.in_flight.sub();
      --delivering_;
      admit(*route, now);  // a slot is free: a job of this route may take it
    }
    held_bytes_ -= size;
    count_in_flight();
    // Wake run() only when this completion changes what it would do.
    const std::size_t in_calls = active();
    if (in_calls == 0 || window() - std::min(window(), in_calls) == refill_threshold_ ||
        (waiting_for_bytes_ && bytes_free() >= byte_refill_threshold_)) {
      wake();
    }
  }
  if (--couriers_ == 0) wake();
}

void Dispatcher::settle(Route& route, const queue::Lease& lease, const Outcome& outcome, Clock::time_point started) {
  if (abandoning_ && !outcome.delivered()) {
    release(route, lease);
    return;
  }
  const auto now = Clock::now();
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(now - started);
  const std::size_t result = std::min<std::size_t>(outcome.result, metrics::DeliveryStats::kCallResults - 1);
  stats_.call_results[result].add();
  route.stats.call_results[result].add();
  stats_.call_duration.record(took);
  route.stats.call_duration.record(took);
  const auto circuit_was = route.circuit.state();
  route.circuit.record(outcome.kind == Outcome::Kind::retry || outcome.kind == Outcome::Kind::unreachable, now);
  if (route.circuit.state() != circuit_was || route.circuit.state() == CircuitBreaker::State::half_open) wake();
  if (route.circuit.state() != circuit_was) {
    const bool open = route.circuit.state() != CircuitBreaker::State::closed;
    const bool was_open = circuit_was != CircuitBreaker::State::closed;
    route.stats.circuit_open.set(open);
    if (open != was_open) open ? stats_.circuit_open.add() : stats_.circuit_open.sub();
  }

  const Verdict verdict = route.policy.judge(lease.attempt, outcome);
  switch (verdict.kind) {
    case Verdict::Kind::acknowledge:
      backend_.acknowledge(lease);
      stats_.delivered.add();
      route.stats.delivered.add();
      stats_.latency.record(took);
      return;
    case Verdict::Kind::retry:
      // Scheduled in the queue, not held here: a worker that dies meanwhile loses nothing.
      backend_.retry_later(lease, verdict.delay);
      stats_.failed.add();
      stats_.retried.add();
      route.stats.failed.add();
      route.stats.retried.add();
      spdlog::debug("message {}: {}; retry in {}", lease.id, verdict.failure, format_duration(verdict.delay));
      return;
    case Verdict::Kind::dead_letter:
      stats_.failed.add();
      route.stats.failed.add();
      dead_letter(&route, lease, verdict.dead_letter);
      return;
  }
}

void Dispatcher::dead_letter(Route* route, const queue::Lease& lease, const queue::DeadLetter& why) {
  backend_.dead_letter(lease, why);
  stats_.dead_lettered.add();
  route ? route->stats.dead_lettered.add() : unrouted_dead_lettered_.add();
  spdlog::warn("message {} dead-lettered after {} attempt(s): {}", lease.id, lease.attempt, why.reason);
}

asio::awaitable<void> Dispatcher::sleep_until_woken(Clock::time_point deadline) {
  wakeup_.expires_at(deadline);
  error_code ignored;  // cancelled means woken
  co_await wakeup_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

void Dispatcher::wake() { wakeup_.cancel(); }

void Dispatcher::stop() {
  stopping_ = true;
  wake();
}

void Dispatcher::abandon() {
  stopping_ = true;
  abandoning_ = true;
  partner_.cancel_all();
  wake();
}

}  // namespace conveyor::dispatch
