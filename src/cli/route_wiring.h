// Turns the routes (a ROUTES_FILE, or the single route of TARGET_URL) into what `conveyor work`
// runs: one Router and one RouteGate per route shared by the process's lanes (each gate built
// from flow/: a GCRA rate limit in this process or through Redis, an adaptive concurrency limit),
// each route's delivery policy and circuit with its overrides applied, and for each lane the HTTP
// routes (a connection pool per route). Start-up only, on the main thread; a bad route value
// throws ConfigError naming the route and the key.
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "config/settings.h"
#include "dispatch/dispatcher.h"
#include "auth/oauth2_token.h"
#include "flow/rate_reservoir.h"
#include "queue/redis/key_order.h"
#include "route/http/http_routes.h"
#include "route/router.h"
#include "route/route_spec.h"

namespace conveyor::cli {

class ProcessRoutes {
 public:
  // `control`: the executor that refills cluster-scope rate limits (one thread, outliving the lanes).
  ProcessRoutes(const config::Settings& settings, const config::Layers& layers,
                boost::asio::any_io_executor control);
  ~ProcessRoutes();  // stops the cluster-scope refills

  // The dispatcher's view of the routes, gates included (shared by every lane).
  const std::vector<dispatch::RouteOptions>& options() const { return options_; }
  // One lane's HTTP routes, `share` of CONCURRENCY; throws ConfigError for an unusable URL.
  std::unique_ptr<route::HttpRoutes> lane_routes(boost::asio::any_io_executor lane, std::size_t share) const;
  const std::vector<route::RouteSpec>& specs() const { return router_->routes(); }
  // The routes as the queue's per-key ordering rules (the same first-match, and each route's order_by).
  std::vector<queue::OrderRule> order_rules() const;
  // "http://partner/x" for one route, "3 routes (a, b, default)" for several.
  std::string describe() const;

 private:
  const config::Settings& settings_;
  std::shared_ptr<const route::Router> router_;
  std::vector<dispatch::RouteOptions> options_;
  std::vector<route::HttpOutcomeRules> rules_;
  std::vector<std::shared_ptr<flow::RateReservoir>> reservoirs_;
  std::vector<std::shared_ptr<auth::OAuth2TokenSource>> tokens_;  // by route; null: no OAuth2
};

}  // namespace conveyor::cli
