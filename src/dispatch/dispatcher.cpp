#include "dispatch/dispatcher.h"

#include <algorithm>
#include <exception>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace conveyor::dispatch {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

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
      refill_threshold_(std::clamp<std::size_t>(options.concurrency / 8, 1, options.fetch_batch)) {}

asio::awaitable<void> Dispatcher::run() {
  Duration idle = kFirstIdle;
  Duration error_backoff = kFirstErrorBackoff;
  while (!stopping_) {
    const std::size_t free = options_.concurrency - in_flight_;
    if (free < refill_threshold_) {
      co_await sleep_until_woken(std::chrono::steady_clock::time_point::max());
      continue;
    }
    auto leased = co_await backend_.lease(std::min(free, options_.fetch_batch));
    if (!leased) {
      spdlog::warn("cannot lease messages: {}; retrying in {}", leased.error().message(),
                   format_duration(error_backoff));
      co_await sleep_until_woken(std::chrono::steady_clock::now() + error_backoff);
      error_backoff = std::min(error_backoff * 2, kMaxErrorBackoff);
      continue;
    }
    error_backoff = kFirstErrorBackoff;
    if (leased->empty()) {
      if (options_.until_empty && in_flight_ == 0) {
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
      ++in_flight_;
      asio::co_spawn(executor_, deliver(std::move(lease)), rethrow);
    }
    stats_.in_flight.set(in_flight_);
    stats_.peak_in_flight.raise_to(in_flight_);
  }
  while (in_flight_ > 0) co_await sleep_until_woken(std::chrono::steady_clock::time_point::max());
  if (auto ec = co_await backend_.flush()) spdlog::warn("cannot write final outcomes: {}", ec.message());
}

asio::awaitable<void> Dispatcher::deliver(queue::Lease lease) {
  const auto started = std::chrono::steady_clock::now();
  auto answer = co_await partner_.deliver(lease.body, lease.id);
  if (answer && answer->delivered()) {
    backend_.acknowledge(lease);
    stats_.delivered.add();
    stats_.latency.record(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started));
  } else if (abandoning_) {
    backend_.release(lease);
    stats_.released.add();
  } else {
    // Not lost: the lease stays in the queue and the message comes back to
    // any worker when it expires.
    stats_.failed.add();
    if (answer) {
      spdlog::debug("message {}: partner answered {}", lease.id, answer->status);
    } else {
      spdlog::debug("message {}: {}", lease.id, answer.error().message());
    }
  }
  --in_flight_;
  stats_.in_flight.set(in_flight_);
  // Wake run() only when this completion changes what it would do.
  if (in_flight_ == 0 || options_.concurrency - in_flight_ == refill_threshold_) wake();
}

asio::awaitable<void> Dispatcher::sleep_until_woken(std::chrono::steady_clock::time_point deadline) {
  wakeup_.expires_at(deadline);
  boost::system::error_code ignored;  // cancelled means woken
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
