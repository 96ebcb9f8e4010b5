#include "dispatch/delivery_policy.h"

#include <algorithm>

#include <fmt/format.h>

namespace conveyor::dispatch {
namespace {

constexpr std::chrono::hours kLongestRetryAfter{12};

}  // namespace

DeliveryPolicy::DeliveryPolicy(DeliveryPolicyOptions options)
    : options_(std::move(options)), random_(std::random_device{}()) {
  options_.max_attempts = std::max<std::uint32_t>(options_.max_attempts, 1);
}

std::chrono::milliseconds DeliveryPolicy::backoff(std::uint32_t attempt) {
  const auto base = std::max<long long>(options_.retry_base.count(), 0);
  const auto cap = std::max<long long>(options_.retry_max_delay.count(), 0);
  const unsigned doublings = std::min<std::uint32_t>(attempt > 0 ? attempt - 1 : 0, 40);
  const long long ceiling = base > (cap >> doublings) ? cap : std::min(cap, base << doublings);
  return std::chrono::milliseconds(std::uniform_int_distribution<long long>(0, ceiling)(random_));
}

Verdict DeliveryPolicy::judge(std::uint32_t attempt, const Outcome& outcome) {
  if (outcome.delivered()) return {};

  Verdict verdict;
  queue::DeadLetter& why = verdict.dead_letter;
  why.status = outcome.status;
  why.response = outcome.response.substr(0, queue::DeadLetter::response_limit);
  verdict.failure = outcome.failure;
  if (outcome.kind == Outcome::Kind::refused) {
    verdict.kind = Verdict::Kind::dead_letter;
    why.reason = outcome.failure;  // retrying cannot help
    return verdict;
  }
  if (attempt >= options_.max_attempts) {
    verdict.kind = Verdict::Kind::dead_letter;
    why.reason = fmt::format("gave up after {} attempts; last: {}", attempt, outcome.failure);
    return verdict;
  }
  verdict.kind = Verdict::Kind::retry;
  verdict.delay = backoff(attempt);
  if (outcome.retry_after) {
    verdict.delay = std::max(verdict.delay, std::min<std::chrono::milliseconds>(*outcome.retry_after, kLongestRetryAfter));
  }
  return verdict;
}

}  // namespace conveyor::dispatch
