#include "route/http/http_outcome.h"

#include <fmt/format.h>

#include "http/retry_after.h"

namespace conveyor::route {

dispatch::Outcome classify_call(const Result<http::PartnerResponse>& call, const HttpOutcomeRules& rules,
                                std::chrono::system_clock::time_point now) {
  using Kind = dispatch::Outcome::Kind;
  dispatch::Outcome out;
  const http::FailureClass c = http::classify(call);
  out.result = static_cast<std::uint8_t>(c);
  if (!call) {
    out.kind = Kind::unreachable;
    out.overload = c == http::FailureClass::timeout;
    out.failure = http::describe(call.error(), rules.timeouts);
    return out;
  }
  if (call->delivered()) return out;
  const unsigned status = call->status;
  out.status = status;
  out.response = call->body_prefix;
  out.failure = fmt::format("partner answered {}", status);
  out.overload = status == 429 || status == 503;
  if (!rules.retryable.contains(status)) {
    out.kind = Kind::refused;
    return out;
  }
  out.kind = Kind::retry;
  if (!call->retry_after.empty()) out.retry_after = http::parse_retry_after(call->retry_after, now);
  return out;
}

}  // namespace conveyor::route
