#include "route/http/http_routes.h"

#include <fmt/format.h>

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
  if (route.token) co_return co_await deliver_with_token(route, routing, body, idempotency_key);
  auto call = co_await post(route, routing.target, body, idempotency_key);
  co_return classify_call(call, route.rules);
}

// Not a coroutine: the client's own awaitable, so a delivery costs no frame here.
boost::asio::awaitable<Result<http::PartnerResponse>> HttpRoutes::post(HttpRoute& route, const std::string& target,
                                                                      std::string_view body, std::string_view key) {
  // The route's own URL (no placeholders) takes the client's prebuilt request head.
  if (target.empty()) return route.client->post(body, key);
  return route.client->post(target, body, key, {});
}

boost::asio::awaitable<dispatch::Outcome> HttpRoutes::deliver_with_token(HttpRoute& route,
                                                                         const dispatch::Routing& routing,
                                                                         std::string_view body, std::string_view key) {
  auth::TokenPtr token = route.token->current();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!token || attempt > 0) {
      auto fetched = co_await route.token->token();
      if (!fetched) {
        dispatch::Outcome out;
        out.kind = dispatch::Outcome::Kind::unreachable;
        out.result = static_cast<std::uint8_t>(http::FailureClass::refused);
        out.failure = fmt::format("no access token: {}", fetched.error().message);
        co_return out;
      }
      token = *fetched;
    }
    const http::HeaderField authorization{"Authorization", token->authorization};
    auto call = co_await route.client->post(routing.target, body, key, std::span(&authorization, 1));
    // A 401 may mean the token was revoked or expired early: a fresh one, and one more try.
    if (attempt == 0 && call && call->status == 401) {
      route.token->invalidate(token);
      continue;
    }
    co_return classify_call(call, route.rules);
  }
  co_return dispatch::Outcome{};  // not reached: the second attempt always returns
}

void HttpRoutes::cancel_all() {
  for (auto& route : routes_) route.client->cancel_all();
}

}  // namespace conveyor::route
