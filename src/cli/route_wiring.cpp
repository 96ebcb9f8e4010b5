#include "cli/route_wiring.h"

#include <algorithm>

#include <fmt/format.h>

#include "cli/routes_command.h"
#include "config/config_error.h"
#include "flow/adaptive_limit.h"
#include "flow/rate_limiter.h"
#include "http/retryable_statuses.h"
#include "redis/endpoint.h"
#include "route/routes_file.h"

namespace conveyor::cli {
namespace {

// flow/'s limiters behind dispatch/'s interfaces (the dispatcher knows neither Redis nor GCRA).
class ProcessRate final : public dispatch::RateLimit {
 public:
  explicit ProcessRate(const flow::Rate& rate) : limiter_(rate) {}
  dispatch::RateGrant take(std::size_t wanted, dispatch::SteadyTime now) override {
    const flow::Grant g = limiter_.take(wanted, now);
    return {g.granted, g.retry_at};
  }
  double per_second() const override { return limiter_.rate().per_second; }

 private:
  flow::RateLimiter limiter_;
};

class ClusterRate final : public dispatch::RateLimit {
 public:
  explicit ClusterRate(std::shared_ptr<flow::RateReservoir> reservoir) : reservoir_(std::move(reservoir)) {}
  dispatch::RateGrant take(std::size_t wanted, dispatch::SteadyTime now) override {
    const flow::Grant g = reservoir_->take(wanted, now);
    return {g.granted, g.retry_at};
  }
  double per_second() const override { return reservoir_->rate().per_second; }

 private:
  std::shared_ptr<flow::RateReservoir> reservoir_;
};

class Adaptive final : public dispatch::ConcurrencyLimit {
 public:
  explicit Adaptive(std::size_t max) : limit_(max) {}
  std::size_t limit() const override { return limit_.limit(); }
  void record(std::chrono::microseconds latency, bool overload, std::size_t in_flight) override {
    limit_.on_result(latency, overload ? flow::Signal::overload : flow::Signal::ok, in_flight);
  }

 private:
  flow::AdaptiveLimit limit_;
};

std::string route_key(const route::RouteSpec& r, std::string_view key) {
  return fmt::format("ROUTES_FILE: route \"{}\": {}", r.name, key);
}

}  // namespace

ProcessRoutes::ProcessRoutes(const config::Settings& settings, const config::Layers& layers,
                             boost::asio::any_io_executor control)
    : settings_(settings) {
  std::vector<route::RouteSpec> specs = settings.routes_file.empty()
                                            ? std::vector<route::RouteSpec>{route::single_route(settings)}
                                            : route::load_routes(settings.routes_file, routes_lookup(layers));
  for (const route::RouteSpec& r : specs) {
    const auto& o = r.overrides;
    dispatch::RouteOptions options;
    options.name = r.name;
    options.policy = {.retry_base = o.retry_base.value_or(settings.retry_base),
                      .retry_max_delay = o.retry_max_delay.value_or(settings.retry_max_delay),
                      .max_attempts = static_cast<std::uint32_t>(o.max_attempts.value_or(settings.max_attempts))};
    const Duration cooldown = o.circuit_cooldown.value_or(settings.circuit_cooldown);
    options.circuit = {.threshold = static_cast<std::uint32_t>(o.circuit_failures.value_or(settings.circuit_failures)),
                       .cooldown = cooldown,
                       .max_cooldown = std::max(cooldown, Duration(30'000))};

    std::string why;
    const std::string statuses = o.retry_statuses.value_or(settings.retry_statuses);
    auto retryable = http::RetryableStatuses::parse(statuses, &why);
    if (!retryable) {
      throw config::ConfigError(o.retry_statuses ? fmt::format("{}: {}", route_key(r, "retry_statuses"), why)
                                                 : fmt::format("RETRY_STATUSES: {}", why));
    }
    // A call must end before its lease does, or another worker takes the message mid-call.
    if (o.request_timeout && *o.request_timeout >= settings.lease_timeout) {
      throw config::ConfigError(fmt::format("{}: must be shorter than LEASE_TIMEOUT ({}), got {}",
                                            route_key(r, "request_timeout"), format_duration(settings.lease_timeout),
                                            format_duration(*o.request_timeout)));
    }
    rules_.push_back({.retryable = *retryable,
                      .timeouts = {o.connect_timeout.value_or(settings.connect_timeout),
                                   o.request_timeout.value_or(settings.request_timeout)}});

    std::unique_ptr<dispatch::RateLimit> rate;
    if (r.rate) {
      const flow::Rate gcra{.per_second = r.rate->per_second, .burst = r.rate->burst};
      try {
        if (r.rate->scope == route::RateScope::cluster) {
          std::string bad;
          auto endpoint = redis::parse_endpoint(settings.redis_url, &bad);
          if (!endpoint) throw config::ConfigError(fmt::format("REDIS_URL: {} (rate_scope = \"cluster\" of route \"{}\" needs it)", bad, r.name));
          endpoint->sentinel_password = settings.redis_sentinel_password;
          auto reservoir = flow::RateReservoir::create(control, *endpoint, r.name, gcra, settings.connect_timeout);
          reservoirs_.push_back(reservoir);
          rate = std::make_unique<ClusterRate>(std::move(reservoir));
        } else {
          rate = std::make_unique<ProcessRate>(gcra);
        }
      } catch (const std::invalid_argument& e) {
        throw config::ConfigError(fmt::format("{}: {}", route_key(r, "rate"), e.what()));
      }
    }
    std::shared_ptr<auth::OAuth2TokenSource> token;
    if (r.auth.type == route::Auth::Type::oauth2_client_credentials) {
      try {
        token = std::make_shared<auth::OAuth2TokenSource>(auth::OAuth2Options{
            .token_url = r.auth.token_url,
            .client_id = r.auth.client_id,
            .client_secret = r.auth.client_secret,
            .scope = r.auth.scope,
            .client_auth = auth::OAuth2Options::ClientAuth::basic,
            .connect_timeout = rules_.back().timeouts.connect,
            .request_timeout = rules_.back().timeouts.request,
            .tls_ca_file = settings.partner_ca_file,
            .tls_insecure = !settings.partner_tls_verify});
      } catch (const std::exception& e) {
        throw config::ConfigError(fmt::format("{}: {}", route_key(r, "auth.token_url"), e.what()));
      }
    }
    tokens_.push_back(std::move(token));
    std::unique_ptr<dispatch::ConcurrencyLimit> adaptive;
    if (r.adaptive) adaptive = std::make_unique<Adaptive>(r.concurrency > 0 ? r.concurrency : settings.concurrency);
    // Every route has a gate, even without limits of its own: a partner's Retry-After pauses it.
    options.gate = std::make_shared<dispatch::RouteGate>(r.name, r.concurrency, std::move(rate), std::move(adaptive));
    options_.push_back(std::move(options));
  }
  router_ = std::make_shared<const route::Router>(std::move(specs));
}

ProcessRoutes::~ProcessRoutes() {
  for (auto& reservoir : reservoirs_) reservoir->stop();
}

std::unique_ptr<route::HttpRoutes> ProcessRoutes::lane_routes(boost::asio::any_io_executor lane,
                                                              std::size_t share) const {
  std::vector<route::HttpRoute> routes;
  const auto& specs = router_->routes();
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const route::RouteSpec& r = specs[i];
    http::PartnerClientOptions o;
    const auto& t = r.url_template;
    o.url = t.has_placeholders() ? t.origin() + "/" : t.origin() + t.fixed_target();
    o.connect_timeout = rules_[i].timeouts.connect;
    o.request_timeout = rules_[i].timeouts.request;
    o.max_connections = r.concurrency > 0 ? std::min(share, r.concurrency) : share;
    o.tls_ca_file = settings_.partner_ca_file;
    o.tls_insecure = !settings_.partner_tls_verify;
    o.accept_2xx_at_headers = true;  // the status decides: a 2xx with a huge body is still a yes
    for (const auto& h : r.headers) o.headers.push_back({h.name, h.value});
    try {
      routes.push_back(route::HttpRoute{.client = std::make_unique<http::PartnerClient>(lane, std::move(o)),
                                        .rules = rules_[i],
                                        .token = tokens_[i]});
    } catch (const std::exception& e) {
      throw config::ConfigError(settings_.routes_file.empty() ? fmt::format("TARGET_URL: {}", e.what())
                                                              : fmt::format("{}: {}", route_key(r, "url"), e.what()));
    }
  }
  route::HttpRoutes::RouteFn router;
  if (specs.size() > 1 || specs.front().url_template.has_placeholders()) {
    router = [router = router_](std::string_view body) {
      route::Routed routed = router->route(body);
      return dispatch::Routing{.route = static_cast<std::uint32_t>(routed.route),
                               .target = std::move(routed.target),
                               .failure = std::move(routed.failure)};
    };
  }
  return std::make_unique<route::HttpRoutes>(std::move(routes), std::move(router));
}

std::vector<queue::OrderRule> ProcessRoutes::order_rules() const {
  std::vector<queue::OrderRule> rules;
  for (const auto& r : router_->routes()) {
    rules.push_back({.field = r.match ? r.match->field : std::string(),
                     .equals = r.match ? r.match->equals : std::vector<std::string>{},
                     .order_by = r.order_by});
  }
  return rules;
}

std::string ProcessRoutes::describe() const {
  const auto& specs = router_->routes();
  if (specs.size() == 1) return specs.front().url_shown.empty() ? specs.front().url : specs.front().url_shown;
  std::string names;
  for (const auto& r : specs) names += (names.empty() ? "" : ", ") + r.name;
  return fmt::format("{} routes ({})", specs.size(), names);
}

}  // namespace conveyor::cli
