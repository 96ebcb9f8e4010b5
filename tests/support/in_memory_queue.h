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

  boost::asio::awaitable<Result<std::vector<queue::Lease>>> lease(std::size_t max) override {
    ++lease_calls;
    largest_lease = std::max(largest_lease, max);
    if (failures_left > 0) {
      --failures_left;
      co_return make_error_code(Error::connection_closed);
    }
    std::vector<queue::Lease> out;
    while (out.size() < max && !waiting.empty()) {
      queue::Lease l;
      l.id = prefix_ + "id-" + std::to_string(next_id++);
      l.body = std::move(waiting.front());
      waiting.pop_front();
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
  }
  void retry_later(const queue::Lease& l, std::chrono::milliseconds) override { retried.push_back(l.body); }
  boost::asio::awaitable<error_code> flush() override {
    ++flushes;
    co_return error_code{};
  }
  boost::asio::awaitable<Result<queue::Backlog>> backlog() override {
    co_return queue::Backlog{waiting.size(), leased.size()};
  }

  std::deque<std::string> waiting;
  std::map<std::string, std::string> leased;
  std::vector<std::string> acknowledged, released, retried;
  std::size_t next_id = 0, lease_calls = 0, largest_lease = 0, flushes = 0;
  int failures_left = 0;

 private:
  std::string prefix_;
};

}  // namespace conveyor::testing
