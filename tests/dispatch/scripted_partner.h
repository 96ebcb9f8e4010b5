// Test fixtures for the dispatcher: a scripted partner (answers after a delay with the status a
// function picks, routes by a function, counts calls per route and how they overlap) and a
// runner that advances an io_context until a condition holds. Single-threaded, like a lane.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatch/dispatcher.h"

namespace conveyor::dispatch::fixtures {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Answers after `delay` with the status `answer(body)` picks; tracks how many
// calls overlap. cancel_all() fails every waiting call at once.
class ScriptedPartner final : public Partner {
 public:
  ScriptedPartner(asio::io_context& io, std::chrono::milliseconds delay) : io_(io), delay_(delay) {}

  Routing route(std::string_view body) override { return router ? router(body) : Routing{}; }

  asio::awaitable<Outcome> deliver(const Routing& routing, std::string_view body, std::string_view key) override {
    ++calls;
    ++calls_per_route[routing.route];
    keys.insert(std::string(key));
    ++running;
    max_running = std::max(max_running, running);
    const std::size_t on_route = ++running_per_route[routing.route];
    max_running_per_route[routing.route] = std::max(max_running_per_route[routing.route], on_route);
    starts.push_back({routing.route, std::chrono::steady_clock::now()});
    asio::steady_timer timer(io_, delay_);
    timers_.insert(&timer);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    timers_.erase(&timer);
    --running;
    --running_per_route[routing.route];
    Outcome out;
    if (ec) {
      out.kind = Outcome::Kind::unreachable;
      out.failure = "cancelled";
      co_return out;
    }
    const unsigned status = answer(body);
    if (status == 0) {  // no answer at all
      out.kind = Outcome::Kind::unreachable;
      out.failure = no_answer;
      co_return out;
    }
    if (status < 300) co_return out;
    // The HTTP adapter's rules in miniature (route/http/http_outcome.h has the real ones).
    out.status = status;
    out.response = "refused: " + std::string(body);
    out.failure = "partner answered " + std::to_string(status);
    const bool retryable = status == 408 || status == 425 || status == 429 || status >= 500;
    out.kind = retryable ? Outcome::Kind::retry : Outcome::Kind::refused;
    out.overload = status == 429 || status == 503;
    if (retryable && !retry_after.empty()) out.retry_after = std::chrono::seconds(std::stoi(retry_after));
    co_return out;
  }
  void cancel_all() override {
    for (auto* t : timers_) t->cancel();
  }

  // The status for a body; 0 is a dropped connection instead of an answer.
  std::function<unsigned(std::string_view)> answer = [](std::string_view) { return 200u; };
  std::string retry_after;  // seconds, sent with every retryable answer
  std::string no_answer = "reset: Connection reset by peer";  // the failure when `answer` gives 0
  std::function<Routing(std::string_view)> router;          // null: everything takes route 0
  std::size_t calls = 0, running = 0, max_running = 0;
  std::map<std::uint32_t, std::size_t> calls_per_route, running_per_route, max_running_per_route;
  struct Start {
    std::uint32_t route;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<Start> starts;  // every call, in order
  std::set<std::string> keys;

 private:
  asio::io_context& io_;
  std::chrono::milliseconds delay_;
  std::set<asio::steady_timer*> timers_;
};

// Runs a dispatcher's run() on `io`, advancing the loop on demand.
class Running {
 public:
  Running(asio::io_context& io, Dispatcher& d) : io_(io) {
    asio::co_spawn(io, d.run(), [this](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      done_ = true;
    });
  }
  // Runs the loop until `condition` holds or `bound` passes; true if it held.
  template <class Condition>
  bool until(Condition condition, std::chrono::milliseconds bound = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!condition() && std::chrono::steady_clock::now() < deadline) io_.run_for(1ms);
    return condition();
  }
  bool finishes(std::chrono::milliseconds bound = 20s) {
    return until([this] { return done_; }, bound);
  }
  bool done() const { return done_; }

 private:
  asio::io_context& io_;
  bool done_ = false;
};

inline bool run_to_completion(asio::io_context& io, Dispatcher& d) { return Running(io, d).finishes(); }

inline DispatcherOptions options(std::size_t concurrency, std::size_t fetch_batch, Duration idle_poll, bool until_empty) {
  DispatcherOptions o;
  o.concurrency = concurrency;
  o.fetch_batch = fetch_batch;
  o.idle_poll = idle_poll;
  o.until_empty = until_empty;
  o.policy.retry_base = 1ms;
  o.policy.retry_max_delay = 5ms;
  return o;
}

}  // namespace conveyor::dispatch::fixtures
