// The delivery policy: what becomes of a message after one attempt. A 2xx is acknowledged. A
// retryable failure (by default 408, 425, 429, 5xx, and any transport failure: refused, reset,
// timed out) is tried again later, with exponential backoff and full jitter, never before the
// partner's Retry-After, until MAX_ATTEMPTS; then, or at once for any other status (retrying
// cannot help a 400), the message is dead-lettered with the reason. A failure is described once,
// by http/failure_class.h ("timeout: no answer within REQUEST_TIMEOUT (10s)"), for both the dead
// letter and the logs. Pure: no I/O, no clock of its own, so every rule is unit-tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.h"
#include "core/error.h"
#include "dispatch/partner.h"
#include "http/failure_class.h"
#include "queue/dead_letter.h"

namespace conveyor::dispatch {

// Which HTTP statuses are worth retrying, parsed from a list like "408,425,429,5xx".
class RetryableStatuses {
 public:
  // nullopt (with `why`) for a list that is not comma-separated codes (100-599) or Nxx classes.
  static std::optional<RetryableStatuses> parse(std::string_view list, std::string* why = nullptr);
  bool contains(unsigned status) const;

 private:
  std::vector<std::pair<unsigned, unsigned>> ranges_;  // inclusive
};

struct DeliveryPolicyOptions {
  Duration retry_base{1'000};        // backoff of the first retry (before jitter)
  Duration retry_max_delay{300'000}; // no backoff is longer (Retry-After may be, up to 12 h)
  std::uint32_t max_attempts = 10;   // attempts in all, the first included
  RetryableStatuses retryable = *RetryableStatuses::parse("408,425,429,5xx");
  http::CallTimeouts timeouts;       // named by timeout reasons: CONNECT_TIMEOUT, REQUEST_TIMEOUT
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

  // `attempt`: which attempt this was (1 = the first). `now` reads an HTTP-date Retry-After.
  Verdict judge(std::uint32_t attempt, const Result<PartnerAnswer>& answer,
                std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

  // The backoff before attempt `attempt + 1`, drawn uniformly from [0, min(max, base * 2^(attempt-1))].
  std::chrono::milliseconds backoff(std::uint32_t attempt);

  const DeliveryPolicyOptions& options() const { return options_; }

 private:
  DeliveryPolicyOptions options_;
  std::minstd_rand random_;
};

// A Retry-After value, delay-seconds or an HTTP-date, as a delay from `now` (a date in the past
// is 0); nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

}  // namespace conveyor::dispatch
