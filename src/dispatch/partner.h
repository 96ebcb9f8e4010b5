// The seam between the dispatcher and whatever delivers a message: the HTTP routes in production
// (route/http/), a scripted fake in unit tests. A partner has one or more routes; it says which
// route takes a message, delivers it there, and classifies the result (dispatch/outcome.h), so
// the dispatcher knows no protocol. One instance per lane (io_context), called from it only;
// each deliver() completes exactly once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "dispatch/outcome.h"

namespace conveyor::dispatch {

// Where one message goes: a route's index, and whatever the route took from the message to
// address it (e.g. the request target filled from its fields; empty for a fixed URL).
struct Routing {
  std::uint32_t route = 0;
  std::string target;
  std::string failure;  // not empty: no route takes it, and why ("no route"): dead-letter it
  bool routed() const { return failure.empty(); }
};

class Partner {
 public:
  virtual ~Partner() = default;
  // Which route takes `body` (first match wins). Cheap when there is nothing to match on.
  virtual Routing route(std::string_view body) = 0;
  // Delivers `body` on `routing`'s route. Everything passed must stay valid until it completes.
  virtual boost::asio::awaitable<Outcome> deliver(const Routing& routing, std::string_view body,
                                                  std::string_view idempotency_key) = 0;
  // Aborts every call in progress (they complete as unreachable) so a shutdown past its deadline
  // does not wait for slow partners.
  virtual void cancel_all() = 0;
};

}  // namespace conveyor::dispatch
