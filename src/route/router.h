// Picks each message's route: the first route whose match takes it, in file order, and fills that
// route's URL and order key from the message. The body is parsed as JSON only when a route it reaches
// needs a field (a match, a {placeholder}, order_by), and at most once: with the single plain route of
// TARGET_URL, routing costs no JSON parse at all. Immutable after construction: lanes share one
// Router, and route() is safe from any number of threads at once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "route/route_spec.h"

namespace conveyor::route {

// Where one message goes, or why it goes nowhere (then dead-letter it with `failure` as the reason).
struct Routed {
  std::size_t route = 0;   // index into routes(): the route taken, also when its URL could not be filled
  std::string target;      // request target (path + query) on the route's origin; empty: the route's
                           // URL has no placeholders, use its own (no copy per message)
  std::string order_key;   // the route's order_by field in text form; empty: no order_by, or the field absent
  std::string failure;     // "no route", "message is not a JSON object", or the URL's reason; empty: routed
  bool ok() const { return failure.empty(); }
};

class Router {
 public:
  explicit Router(std::vector<RouteSpec> routes);

  // First match wins: a route without `match` takes every message; one with it takes a message
  // whose top-level field, in text form, equals one of its values (a message without the field,
  // or where it is null, an object or an array, does not match).
  Routed route(std::string_view body) const;

  const std::vector<RouteSpec>& routes() const { return routes_; }

 private:
  std::vector<RouteSpec> routes_;
};

}  // namespace conveyor::route
