// The routes of one lane over HTTP: the dispatcher's Partner seam (dispatch/partner.h) in
// production. Each route has its own pool of keep-alive connections to its origin (an
// http::PartnerClient), its own static headers and outcome rules; a router (route/router.h)
// says which route takes a message and fills its request target. Calls are classified into
// dispatch::Outcome here (route/http/http_outcome.h), so the dispatcher knows no HTTP. A route
// with OAuth2 sends its bearer token, and on a 401 refreshes it and tries once more; a token
// that cannot be had makes the call unreachable (retried later), naming the token URL.
// One instance per lane, used from its io_context only.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "dispatch/partner.h"
#include "auth/oauth2_token.h"
#include "http/client.h"
#include "route/http/http_outcome.h"

namespace conveyor::route {

struct HttpRoute {
  std::unique_ptr<http::PartnerClient> client;  // to the route's origin; its options carry static headers
  HttpOutcomeRules rules;
  // OAuth2 client credentials: a bearer token on every call; a 401 gets a fresh token and one
  // more try. Shared by the process's lanes (thread-safe); null: no such auth.
  std::shared_ptr<auth::OAuth2TokenSource> token;
};

class HttpRoutes final : public dispatch::Partner {
 public:
  // Which route takes a body; called on the lane's thread. Null: every message takes route 0.
  using RouteFn = std::function<dispatch::Routing(std::string_view body)>;

  HttpRoutes(std::vector<HttpRoute> routes, RouteFn router);

  dispatch::Routing route(std::string_view body) override;
  boost::asio::awaitable<dispatch::Outcome> deliver(const dispatch::Routing& routing, std::string_view body,
                                                    std::string_view idempotency_key) override;
  void cancel_all() override;

  std::size_t size() const { return routes_.size(); }
  http::PartnerClient& client(std::size_t route) { return *routes_[route].client; }

 private:
  boost::asio::awaitable<Result<http::PartnerResponse>> post(HttpRoute& route, const std::string& target,
                                                             std::string_view body, std::string_view key);
  boost::asio::awaitable<dispatch::Outcome> deliver_with_token(HttpRoute& route, const dispatch::Routing& routing,
                                                               std::string_view body, std::string_view key);

  std::vector<HttpRoute> routes_;
  RouteFn router_;
};

}  // namespace conveyor::route
