#include "route/http/http_routes.h"

namespace conveyor::route {

HttpRoutes::HttpRoutes(std::vector<HttpRoute> routes, RouteFn router)
    : routes_(std::move(routes)), router_(std::move(router)) {}

dispatch::Routing HttpRoutes::route(std::string_view body) {
  if (!router_) return {};
  return router_(body);
}

boost::asio::awaitable<dispatch::Outcome> HttpRoutes::deliver(const dispatch::Routing& routing, std::string_view body,
                                                              std::string_view idempotency_key) {
  HttpRoute& route = routes_[routing.route];
  auto call = co_await route.client->post(body, idempotency_key);
  co_return classify_call(call, route.rules);
}

void HttpRoutes::cancel_all() {
  for (auto& route : routes_) route.client->cancel_all();
}

}  // namespace conveyor::route
