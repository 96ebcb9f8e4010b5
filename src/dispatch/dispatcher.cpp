#include "dispatch/dispatcher.h"

#include <algorithm>
#include <exception>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/failure_class.h"
#include "queue/message_problem.h"

namespace conveyor::dispatch {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

static_assert(metrics::DeliveryStats::kCallResults == std::size(http::all_failure_classes));

// Shortest idle sleep: right after the queue runs dry it is likely refilled
// soon, so poll fast first and back off towards idle_poll.
constexpr Duration kFirstIdle{2};
constexpr Duration kFirstErrorBackoff{50};
constexpr Duration kMaxErrorBackoff{2000};

// A delivery must never fail silently: an exception escaping one is a bug, so
// it propagates out of io_context::run() and ends the process loudly.
void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

}  // namespace

Dispatcher::Dispatcher(asio::any_io_executor executor, queue::QueueBackend& backend, Partner& partner,
                       DispatcherOptions options)
    : executor_(std::move(executor)),
      backend_(backend),
      partner_(partner),
      options_(options),
      wakeup_(executor_),
      // Lease only when a worthwhile batch of slots is free: one round trip
      // per freed slot would cost more than the delivery itself.
      refill_threshold_(std::clamp<std::size_t>(options.concurrency / 8, 1, options.fetch_batch)),
      byte_refill_threshold_(std::clamp<std::size_t>(options.max_in_flight_bytes / 8, 1, options.fetch_max_bytes)),
      policy_(options.policy),
      circuit_(options.circuit) {
  idle_.reserve(options_.concurrency);
}

asio::awaitable<void> Dispatcher::run() {
  backend_.on_failure([this](const std::string& why) { fail(why); });
  for (std::size_t i = 0; i < options_.concurrency; ++i) {
    ++couriers_;
    asio::co_spawn(executor_, courier(), rethrow);
  }

  Duration idle = kFirstIdle;
  Duration error_backoff = kFirstErrorBackoff;
  while (!stopping_) {
    if (!circuit_.admits_work(std::chrono::steady_clock::now())) {
      // The partner is down: take no new work until a probe may go, or the probe's answer.
      const bool open = circuit_.state() == CircuitBreaker::State::open;
      co_await sleep_until_woken(open ? circuit_.reopens_at() : std::chrono::steady_clock::time_point::max());
      continue;
    }
    const std::size_t free = options_.concurrency - in_flight();
    if (free < refill_threshold_) {
      co_await sleep_until_woken(std::chrono::steady_clock::time_point::max());
      continue;
    }
    if (in_flight() > 0 && bytes_free() < byte_refill_threshold_) {
      waiting_for_bytes_ = true;  // a courier wakes us once enough bytes are settled
      co_await sleep_until_woken(std::chrono::steady_clock::time_point::max());
      waiting_for_bytes_ = false;
      continue;
    }
    // Half-open, one message is the probe: leasing more would only give them back.
    const bool probing = circuit_.state() != CircuitBreaker::State::closed;
    auto leased = co_await backend_.lease(
        {probing ? 1 : std::min(free, options_.fetch_batch),
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
      co_await sleep_until_woken(std::chrono::steady_clock::now() + error_backoff);
      error_backoff = std::min(error_backoff * 2, kMaxErrorBackoff);
      continue;
    }
    error_backoff = kFirstErrorBackoff;
    stats_.dead_lettered.add(backend_.take_dead_lettered());
    if (leased->empty()) {
      if (options_.until_empty && in_flight() == 0) {
        // Only our own outcomes can be pending here; write them before asking,
        // or our acknowledged messages would still count as in flight.
        if (auto ec = co_await backend_.flush()) spdlog::warn("cannot write outcomes: {}", ec.message());
        auto backlog = co_await backend_.backlog();
        if (backlog && backlog->empty()) break;
      }
      co_await sleep_until_woken(std::chrono::steady_clock::now() + idle);
      idle = std::min(idle * 2, std::max(options_.idle_poll, kFirstIdle));
      continue;
    }
    idle = kFirstIdle;
    stats_.leased.add(leased->size());
    for (auto& lease : *leased) {
      held_bytes_ += lease.body.size();
      ready_.push_back(std::move(lease));
    }
    stats_.in_flight.set(in_flight());
    stats_.peak_in_flight.raise_to(in_flight());
    dispatch_ready();
  }

  // Couriers finish what is leased (or release it, when abandoning), then leave.
  closing_ = true;
  dispatch_ready();
  while (couriers_ > 0) co_await sleep_until_woken(std::chrono::steady_clock::time_point::max());
  backend_.on_failure(nullptr);
  if (failure_.empty()) {
    if (auto ec = co_await backend_.shutdown()) spdlog::warn("cannot write final outcomes: {}", ec.message());
  }
  if (!failure_.empty()) {
    throw std::runtime_error(fmt::format("queue backend failed: {}; unsettled leases come back when they expire",
                                         failure_));
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
    asio::steady_timer* timer = idle_.back();
    idle_.pop_back();
    timer->cancel();
  }
}

asio::awaitable<void> Dispatcher::courier() {
  asio::steady_timer parked(executor_);
  while (true) {
    if (ready_.empty()) {
      if (closing_) break;
      idle_.push_back(&parked);
      parked.expires_at(std::chrono::steady_clock::time_point::max());
      error_code woken;  // cancelled means woken by dispatch_ready()
      co_await parked.async_wait(asio::redirect_error(asio::use_awaitable, woken));
      continue;
    }
    queue::Lease lease = std::move(ready_.front());
    ready_.pop_front();
    const std::size_t size = lease.body.size();
    const auto started = std::chrono::steady_clock::now();  // one clock read per message
    if (abandoning_) {
      backend_.release(lease);
      stats_.released.add();
    } else if (auto problem = queue::message_problem(lease.body, options_.max_message_bytes)) {
      dead_letter(lease, queue::DeadLetter{.reason = std::move(*problem), .status = 0, .response = {}});
    } else if (!circuit_.allow(started)) {
      // Not attempted: back to the queue at once for whoever can reach the partner.
      backend_.release(lease);
      stats_.released.add();
    } else {
      ++delivering_;
      // Inline rather than a nested coroutine: no frame allocated per message.
      auto answer = co_await partner_.deliver(lease.body, lease.id);
      settle(lease, answer, started);
      --delivering_;
    }
    held_bytes_ -= size;
    stats_.in_flight.set(in_flight());
    // Wake run() only when this completion changes what it would do.
    if (in_flight() == 0 || options_.concurrency - in_flight() == refill_threshold_ ||
        (waiting_for_bytes_ && bytes_free() >= byte_refill_threshold_)) {
      wake();
    }
  }
  if (--couriers_ == 0) wake();
}

void Dispatcher::settle(const queue::Lease& lease, const Result<PartnerAnswer>& answer,
                        std::chrono::steady_clock::time_point started) {
  const bool delivered = answer && answer->delivered();
  if (abandoning_ && !delivered) {
    backend_.release(lease);
    stats_.released.add();
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  stats_.call_results[static_cast<std::size_t>(http::classify(answer))].add();
  stats_.call_duration.record(std::chrono::duration_cast<std::chrono::microseconds>(now - started));
  const auto circuit_was = circuit_.state();
  circuit_.record(!answer || answer->status == 429 || answer->status >= 500, now);
  if (circuit_.state() != circuit_was || circuit_.state() == CircuitBreaker::State::half_open) wake();
  if (circuit_.state() != circuit_was) stats_.circuit_open.set(circuit_.state() != CircuitBreaker::State::closed);

  const Verdict verdict = policy_.judge(lease.attempt, answer);
  switch (verdict.kind) {
    case Verdict::Kind::acknowledge:
      backend_.acknowledge(lease);
      stats_.delivered.add();
      stats_.latency.record(std::chrono::duration_cast<std::chrono::microseconds>(now - started));
      return;
    case Verdict::Kind::retry:
      // Scheduled in the queue, not held here: a worker that dies meanwhile loses nothing.
      backend_.retry_later(lease, verdict.delay);
      stats_.failed.add();
      stats_.retried.add();
      spdlog::debug("message {}: {}; retry in {}", lease.id, verdict.failure, format_duration(verdict.delay));
      return;
    case Verdict::Kind::dead_letter:
      stats_.failed.add();
      dead_letter(lease, verdict.dead_letter);
      return;
  }
}

void Dispatcher::dead_letter(const queue::Lease& lease, const queue::DeadLetter& why) {
  backend_.dead_letter(lease, why);
  stats_.dead_lettered.add();
  spdlog::warn("message {} dead-lettered after {} attempt(s): {}", lease.id, lease.attempt, why.reason);
}

asio::awaitable<void> Dispatcher::sleep_until_woken(std::chrono::steady_clock::time_point deadline) {
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
