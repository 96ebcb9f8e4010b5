// How SQS writes (sends, deletions, visibility changes) retry what failed for reasons retrying can
// fix (throttling, a dropped connection, an entry the service failed on its side): exponential
// backoff (100 ms doubling up to 5 s, each pause drawn between half and all of that), and at most 6 attempts in all, so a write
// to a service that stays down ends, and its caller decides what that costs.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>

namespace conveyor::sqs {

class WriteRetry {
 public:
  static constexpr unsigned max_attempts = 6;

  // The pause before the next attempt, or nullopt once every attempt is spent.
  std::optional<std::chrono::milliseconds> next() {
    if (++attempts_ >= max_attempts) return std::nullopt;
    const auto cap = std::min<long long>(100LL << (attempts_ - 1), 5'000);
    thread_local std::minstd_rand random{std::random_device{}()};
    return std::chrono::milliseconds(std::uniform_int_distribution<long long>(cap / 2, cap)(random));
  }
  unsigned attempts() const { return attempts_; }

 private:
  unsigned attempts_ = 0;  // attempts made so far, counting the first
};

}  // namespace conveyor::sqs
