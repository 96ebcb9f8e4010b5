// An in-memory QueueBackend for unit tests of what sits above the queue
// seam (dispatcher, sharding): messages "{\"i\":N}", leases recorded by id,
// every outcome recorded, and a switch to make the next lease calls fail.
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "queue/queue_backend.h"

namespace conveyor::testing {

class InMemoryQueue final : public queue::QueueBackend {
 public:
  // `prefix` tells shards apart: bodies are {"i":N} or {"s":"prefix","i":N}.
  explicit InMemoryQueue(std::size_t messages, std::string prefix = "") : prefix_(std::move(prefix)) {
    for (std::size_t i = 0; i < messages; ++i) {
      waiting.push_back(prefix_.empty() ? "{\"i\":" + std::to_string(i) + "}"
                                        : "{\"s\":\"" + prefix_ + "\",\"i\":" + std::to_string(i) + "}");
    }
  }

  boost::asio::awaitable<Result<std::vector<queue::Lease>>> lease(queue::LeaseLimits limits) override {
    const std::size_t max = limits.messages;
    ++lease_calls;
    largest_lease = std::max(largest_lease, max);
    smallest_byte_budget = std::min(smallest_byte_budget, limits.bytes);
    if (failures_left > 0) {
      --failures_left;
      co_return make_error_code(Error::connection_closed);
    }
    // Parked messages whose time has come go first, oldest due first.
    const auto now = std::chrono::steady_clock::now();
    while (!parked.empty() && parked.begin()->first <= now) {
      waiting.push_front(parked.begin()->second);
      parked.erase(parked.begin());
    }
    std::vector<queue::Lease> out;
    std::size_t bytes = 0;
    while (out.size() < max && !waiting.empty()) {
      if (!out.empty() && bytes + waiting.front().size() > limits.bytes) break;
      bytes += waiting.front().size();
      queue::Lease l;
      l.body = std::move(waiting.front());
      waiting.pop_front();
      auto& seen = ids_by_body[l.body];
      if (seen.empty()) seen = prefix_ + "id-" + std::to_string(next_id++);
      l.id = seen;
      l.attempt = ++attempts[l.body];
      leased.emplace(l.id, l.body);
      out.push_back(std::move(l));
    }
    co_return out;
  }
  void acknowledge(const queue::Lease& l) override {
    acknowledged.push_back(l.body);
    leased.erase(l.id);
  }
  void release(const queue::Lease& l) override {
    released.push_back(l.body);
    leased.erase(l.id);
    --attempts[l.body];  // not attempted
    waiting.push_front(l.body);
  }
  // A retry comes back at once: the fake does not keep time (the policy's delays are tested on
  // their own); `retry_delays` records what was asked.
  void retry_later(const queue::Lease& l, std::chrono::milliseconds delay) override {
    retried.push_back(l.body);
    retry_delays.push_back(delay);
    leased.erase(l.id);
    waiting.push_back(l.body);
  }
  // Parking keeps time (unlike retries): the message comes back once `delay` has passed, not
  // counted as an attempt: leased again, it has the same id and attempt. `parked_bodies` and
  // `park_delays` record the calls.
  void park(const queue::Lease& l, std::chrono::milliseconds delay) override {
    ++parks;
    parked_bodies.push_back(l.body);
    park_delays.push_back(delay);
    leased.erase(l.id);
    --attempts[l.body];  // not attempted
    parked.emplace(std::chrono::steady_clock::now() + delay, l.body);
  }
  void dead_letter(const queue::Lease& l, const queue::DeadLetter& why) override {
    dead.emplace_back(l.body, why);
    leased.erase(l.id);
  }
  boost::asio::awaitable<error_code> flush() override {
    ++flushes;
    co_return error_code{};
  }
  boost::asio::awaitable<Result<queue::Backlog>> backlog() override {
    co_return queue::Backlog{waiting.size() + parked.size(), leased.size()};
  }
  void on_failure(FailureHandler handler) override { failure_handler = std::move(handler); }

  // Breaks the fake for good, as a backend whose outcome writer died: the handler hears it.
  void break_for_good(const std::string& why) {
    if (failure_handler) failure_handler(why);
  }
  FailureHandler failure_handler;

  // Adds `n` messages and says so, as a backend that receives ahead does (SQS): the handler hears it.
  void arrive(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) waiting.push_back("{\"late\":" + std::to_string(i) + "}");
    if (ready_handler) ready_handler();
  }
  void on_ready(ReadyHandler handler) override { ready_handler = std::move(handler); }
  ReadyHandler ready_handler;

  std::deque<std::string> waiting;
  std::map<std::string, std::string> leased;
  std::vector<std::string> acknowledged, released, retried, parked_bodies;
  std::vector<std::chrono::milliseconds> retry_delays, park_delays;
  std::vector<std::pair<std::string, queue::DeadLetter>> dead;
  std::multimap<std::chrono::steady_clock::time_point, std::string> parked;  // due time -> body
  std::size_t parks = 0;
  std::map<std::string, std::uint32_t> attempts;   // by body
  std::map<std::string, std::string> ids_by_body;  // a message keeps its id
  std::size_t next_id = 0, lease_calls = 0, largest_lease = 0, flushes = 0, smallest_byte_budget = SIZE_MAX;
  int failures_left = 0;

 private:
  std::string prefix_;
};

}  // namespace conveyor::testing
