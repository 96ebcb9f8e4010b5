// Classifies one HTTP partner call into the dispatcher's Outcome (dispatch/outcome.h): a 2xx is
// accepted; a status in the route's RETRY_STATUSES is a retry (with its Retry-After, if any); any
// other status is refused; a transport failure is unreachable. 429, 503 and timeouts are also
// overload signals for the route's flow control. Pure: callable from any thread.
#pragma once

#include <chrono>

#include "core/error.h"
#include "dispatch/outcome.h"
#include "http/failure_class.h"
#include "http/partner_response.h"
#include "http/retryable_statuses.h"

namespace conveyor::route {

struct HttpOutcomeRules {
  http::RetryableStatuses retryable = *http::RetryableStatuses::parse("408,425,429,5xx");
  http::CallTimeouts timeouts;  // named by timeout reasons: CONNECT_TIMEOUT, REQUEST_TIMEOUT
};

// `now` reads an HTTP-date Retry-After. Outcome::result is the call's http::FailureClass.
dispatch::Outcome classify_call(const Result<http::PartnerResponse>& call, const HttpOutcomeRules& rules,
                                std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace conveyor::route
