#include "route/router.h"

#include <algorithm>
#include <optional>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace conveyor::route {
namespace {

// The body, parsed on first need (at most once per message).
class LazyMessage {
 public:
  explicit LazyMessage(std::string_view body) : body_(body) {}

  const boost::json::object* object() {
    if (!parsed_) {
      parsed_ = true;
      boost::system::error_code ec;
      value_ = boost::json::parse(body_, ec);
      if (ec) value_ = nullptr;
    }
    return value_.if_object();
  }

 private:
  std::string_view body_;
  bool parsed_ = false;
  boost::json::value value_;
};

constexpr const char* kNotAnObject = "message is not a JSON object";

}  // namespace

Router::Router(std::vector<RouteSpec> routes) : routes_(std::move(routes)) {}

Routed Router::route(std::string_view body) const {
  LazyMessage message(body);
  Routed out;
  std::string text;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const RouteSpec& r = routes_[i];
    if (r.match) {
      const boost::json::object* object = message.object();
      if (!object) {
        out.failure = kNotAnObject;
        return out;
      }
      const boost::json::value* field = object->if_contains(r.match->field);
      if (!field || !scalar_text(*field, text)) continue;
      if (std::find(r.match->equals.begin(), r.match->equals.end(), text) == r.match->equals.end()) continue;
    }
    out.route = i;
    if (!r.url_template.has_placeholders() && r.order_by.empty()) return out;  // the route's own URL
    const boost::json::object* object = message.object();
    if (!object) {
      out.failure = kNotAnObject;
      return out;
    }
    Expanded expanded = r.url_template.expand(*object);
    if (!expanded.ok()) {
      out.failure = std::move(expanded.failure);
      return out;
    }
    if (r.url_template.has_placeholders()) out.target = std::move(expanded.target);
    if (!r.order_by.empty()) {
      if (const boost::json::value* key = object->if_contains(r.order_by)) {
        if (!scalar_text(*key, out.order_key) && !key->is_null()) out.order_key = boost::json::serialize(*key);
      }
    }
    return out;
  }
  out.failure = "no route";
  return out;
}

}  // namespace conveyor::route
