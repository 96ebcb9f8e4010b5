// How one delivery ended, as the dispatcher needs it: classified by the partner's adapter, which
// knows the protocol (HTTP statuses, Retry-After, transport errors), so the dispatcher and its
// delivery policy know none. Plain data; the adapter fills it on the lane's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace conveyor::dispatch {

struct Outcome {
  enum class Kind : std::uint8_t {
    accepted,     // delivered: acknowledge
    retry,        // the partner answered and a later attempt may succeed (HTTP: 408, 425, 429, 5xx)
    refused,      // the partner answered no for good (HTTP: any other non-2xx): dead-letter at once
    unreachable,  // no answer (refused connection, timeout, reset…): try again later
  };
  Kind kind = Kind::accepted;
  // The partner says it is overloaded (HTTP: 429, 503, a timeout): the route's adaptive concurrency
  // backs off, and the route's circuit counts it as a failure, as it does every retry/unreachable.
  bool overload = false;
  // The partner asked not to be called before this much time has passed (HTTP: Retry-After on a
  // retry): the whole route pauses, and the message waits at least this long.
  std::optional<std::chrono::milliseconds> retry_after;
  std::uint8_t result = 0;  // the adapter's label for the call metric (an index of its own fixed list)
  std::string failure;      // not accepted: one line, e.g. "partner answered 503", "timeout: no answer within …"
  unsigned status = 0;      // for dead letters: the partner's status, 0 when it did not answer
  std::string response;     // for dead letters: the first bytes of its answer

  bool delivered() const { return kind == Kind::accepted; }
};

}  // namespace conveyor::dispatch
