// The delivery policy: what becomes of a message after one attempt, from its classified outcome
// (dispatch/outcome.h). Accepted is acknowledged. A retry or an unreachable partner is tried again
// later, with exponential backoff and full jitter, never before the partner's own Retry-After (up
// to 12 h), until MAX_ATTEMPTS; then, or at once when refused (retrying cannot help a 400), the
// message is dead-lettered with the reason the adapter wrote ("timeout: no answer within
// REQUEST_TIMEOUT (10s)"). Protocol-free and pure: no I/O, no clock, so every rule is unit-tested.
// One instance per route per lane.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

#include "core/duration.h"
#include "dispatch/outcome.h"
#include "queue/dead_letter.h"

namespace conveyor::dispatch {

struct DeliveryPolicyOptions {
  Duration retry_base{1'000};        // backoff of the first retry (before jitter)
  Duration retry_max_delay{300'000}; // no backoff is longer (Retry-After may be, up to 12 h)
  std::uint32_t max_attempts = 10;   // attempts in all, the first included
};

struct Verdict {
  enum class Kind { acknowledge, retry, dead_letter };
  Kind kind = Kind::acknowledge;
  std::chrono::milliseconds delay{0};  // retry: the earliest next attempt, from now
  std::string failure;                 // retry, dead_letter: what happened, e.g. "partner answered 503",
                                       // "refused: Connection refused"
  queue::DeadLetter dead_letter;       // dead_letter: why
};

class DeliveryPolicy {
 public:
  explicit DeliveryPolicy(DeliveryPolicyOptions options);

  // `attempt`: which attempt this was (1 = the first).
  Verdict judge(std::uint32_t attempt, const Outcome& outcome);

  // The backoff before attempt `attempt + 1`, drawn uniformly from [0, min(max, base * 2^(attempt-1))].
  std::chrono::milliseconds backoff(std::uint32_t attempt);

  const DeliveryPolicyOptions& options() const { return options_; }

 private:
  DeliveryPolicyOptions options_;
  std::minstd_rand random_;
};

}  // namespace conveyor::dispatch
