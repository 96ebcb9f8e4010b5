#include "queue/redis/key_order.h"

#include <algorithm>
#include <charconv>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace conveyor::queue {

std::string order_rules_json(const std::vector<OrderRule>& rules) {
  const bool orders = std::any_of(rules.begin(), rules.end(), [](const OrderRule& r) { return !r.order_by.empty(); });
  if (!orders) return {};
  boost::json::array out;
  for (const OrderRule& rule : rules) {
    boost::json::array equals;
    for (const std::string& value : rule.equals) equals.emplace_back(value);
    out.emplace_back(
        boost::json::object{{"field", rule.field}, {"equals", std::move(equals)}, {"order_by", rule.order_by}});
  }
  return boost::json::serialize(out);
}

std::vector<OrderRule> order_by_field(const std::string& field) {
  if (field.empty()) return {};
  return {OrderRule{.field = {}, .equals = {}, .order_by = field}};
}

std::string_view order_lua() {
  // A top-level value's text: a string as it is, an integer without exponent, other numbers as
  // %.17g when %.15g does not give them back, booleans as true/false; anything else (object,
  // array, null) is no text. cjson.decode runs under pcall: a body that is not JSON has no key.
  static constexpr std::string_view lua = R"lua(
local function order_text(v)
  local t = type(v)
  if t == 'string' then return v end
  if t == 'boolean' then return tostring(v) end
  if t ~= 'number' or v ~= v then return nil end
  local s = string.format('%.15g', v)
  if tonumber(s) ~= v then s = string.format('%.17g', v) end
  return s
end
local function order_key(rules, body)
  local ok, message = pcall(cjson.decode, body)
  if not ok or type(message) ~= 'table' then return nil end
  for _, rule in ipairs(rules) do
    local hit = type(rule.field) ~= 'string' or rule.field == ''
    if not hit then
      local value = order_text(message[rule.field])
      if value and type(rule.equals) == 'table' then
        for _, wanted in ipairs(rule.equals) do
          if wanted == value then hit = true break end
        end
      end
    end
    if hit then
      if type(rule.order_by) ~= 'string' or rule.order_by == '' then return nil end
      return order_text(message[rule.order_by])
    end
  end
  return nil
end
local function order_alive(O, id)
  return redis.call('ZSCORE', O.leases, id) or redis.call('ZSCORE', O.delayed, id)
end
local function order_pass_on(O, key)
  local next_id = redis.call('LPOP', O.wait .. key)
  if next_id then
    redis.call('HSET', O.holders, key, next_id)
    redis.call('ZADD', O.delayed, 0, next_id)
    redis.call('DECR', O.waiting)
  else
    redis.call('HDEL', O.holders, key)
  end
end
local function order_sweep(O, cursor_key)
  local scan = redis.call('HSCAN', O.holders, redis.call('GET', cursor_key) or '0', 'COUNT', 20)
  redis.call('SET', cursor_key, scan[1])
  local found = scan[2]
  for i = 1, #found, 2 do
    if not order_alive(O, found[i + 1]) then
      redis.call('HDEL', O.key_of, found[i + 1])
      order_pass_on(O, found[i])
    end
  end
end
local function order_release(O, id)
  local key = redis.call('HGET', O.key_of, id)
  if not key then return end
  redis.call('HDEL', O.key_of, id)
  if redis.call('HGET', O.holders, key) == id then order_pass_on(O, key) end
end
)lua";
  return lua;
}

Result<std::size_t> parked_count(const redis::Reply& reply) {
  if (reply.is_nil()) return std::size_t{0};
  if (reply.type == redis::Reply::Type::integer) {
    return static_cast<std::size_t>(std::max<std::int64_t>(0, reply.integer));
  }
  if (reply.type != redis::Reply::Type::string) return make_error_code(Error::redis_unexpected);
  std::int64_t n = 0;
  const char* end = reply.string.data() + reply.string.size();
  if (std::from_chars(reply.string.data(), end, n).ptr != end) return make_error_code(Error::redis_unexpected);
  return static_cast<std::size_t>(std::max<std::int64_t>(0, n));
}

}  // namespace conveyor::queue
