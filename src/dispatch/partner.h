// The seam between the dispatcher and whatever delivers a message: the real
// HTTP partner client in production, a scripted fake in unit tests. One
// instance per lane (io_context); each call completes exactly once.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "core/error.h"
#include "http/partner_response.h"

namespace conveyor::dispatch {

// The partner's answer to one delivery (plain data shared with the HTTP
// client, so an adapter can forward the client's awaitable without a frame
// of its own). Transport failures (connect, timeout, reset) are errors.
using PartnerAnswer = http::PartnerResponse;

class Partner {
 public:
  virtual ~Partner() = default;
  virtual boost::asio::awaitable<Result<PartnerAnswer>> deliver(std::string_view body,
                                                                std::string_view idempotency_key) = 0;
  // Aborts every call in progress (they complete with an error) so a
  // shutdown past its deadline does not wait for slow partners.
  virtual void cancel_all() = 0;
};

}  // namespace conveyor::dispatch
