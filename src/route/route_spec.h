// One route of a routes file after validation (routes_file.h builds it): which messages it takes,
// where and how they go, and the limits that apply to them. Plain data, no behaviour: the router
// picks routes, the dispatcher enforces their limits. Values in `headers` and `auth.client_secret`
// may be secrets: never log them. Copyable; immutable once built, so any thread may read it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "route/url_template.h"

namespace conveyor::route {

// The route takes a message whose top-level `field`, in text form (route/url_template.h scalar_text),
// equals one of `equals`.
struct Match {
  std::string field;
  std::vector<std::string> equals;
};

struct Header {
  std::string name;
  std::string value;  // may be a secret
};

struct Auth {
  enum class Type { none, oauth2_client_credentials };
  Type type = Type::none;
  std::string token_url;      // oauth2: where the token is asked for (http or https)
  std::string client_id;
  std::string client_secret;  // secret
  std::string scope;          // optional: empty sends none
};

enum class RateScope { process, cluster };

// Over any window of T seconds, at most per_second × T + burst calls start.
struct Rate {
  double per_second = 0;  // > 0; "500/s", "30/m", "1000/h" and "2.5/s" are all read into calls per second
  double burst = 1;       // >= 1; default: one second's worth (per_second), at least 1
  RateScope scope = RateScope::process;
};

// Per-route delivery policy: each set one overrides the process's setting of the same name.
struct PolicyOverrides {
  std::optional<Duration> request_timeout;   // > 0
  std::optional<Duration> connect_timeout;   // > 0
  std::optional<Duration> retry_base;
  std::optional<Duration> retry_max_delay;
  std::optional<Duration> circuit_cooldown;
  std::optional<std::size_t> max_attempts;      // 1 .. 1000
  std::optional<std::size_t> circuit_failures;  // >= 1
  std::optional<std::string> retry_statuses;    // as RETRY_STATUSES; checked by the dispatch layer's parser
};

struct RouteSpec {
  std::string name;
  std::optional<Match> match;  // none: a catch-all route, which takes every message that reaches it
  std::string url;             // after ${VAR} expansion
  std::string url_shown;       // the url for display: any ${VAR} in its query shown by name, not value
  UrlTemplate url_template;    // `url` parsed
  std::vector<Header> headers;
  Auth auth;
  std::size_t concurrency = 0;  // calls in flight on this route per process; 0: no per-route limit
  std::optional<Rate> rate;     // none: unlimited
  bool adaptive = false;        // find the concurrency the partner sustains, within [1, concurrency]
  std::string order_by;         // field whose equal values are delivered one at a time, in order; empty: none
  PolicyOverrides overrides;
};

}  // namespace conveyor::route
