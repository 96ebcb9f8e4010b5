#include "flow/cluster_rate_limiter.h"

#include <algorithm>
#include <array>
#include <utility>

namespace conveyor::flow {
namespace {

// KEYS[1]: the TAT in microseconds of Redis TIME. ARGV: interval µs, tolerance µs, wanted.
// Returns {granted, µs from now until the next unit fits (0 when all were granted)}.
// Lua numbers are doubles: TIME in µs (~1.7e15) is exact below 2^53; the TAT is written with
// %.0f, since Redis' own number-to-string (%.14g) would round it.
const redis::Script& take_script() {
  static const redis::Script script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or 0)
if tat < now then tat = now end
local room = math.floor((now + tolerance - tat) / interval)
if room < 0 then room = 0 end
local granted = math.min(wanted, room)
tat = tat + granted * interval
if granted > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
end
local wait = 0
if granted < wanted then wait = math.max(0, tat + interval - tolerance - now) end
return {granted, wait}
)lua");
  return script;
}

}  // namespace

ClusterRateLimiter::ClusterRateLimiter(std::string route, const Rate& rate)
    : ClusterRateLimiter(std::move(route), rate, GcraConstants::of(rate, 1e6)) {}

ClusterRateLimiter::ClusterRateLimiter(std::string route, const Rate& rate, const GcraConstants& gcra)
    : rate_(rate), key_(key_of(route)), interval_(std::to_string(gcra.interval)),
      tolerance_(std::to_string(gcra.tolerance)) {}

std::string ClusterRateLimiter::key_of(std::string_view route) {
  std::string key = "conveyor:rate:{";
  key.append(route);
  key.push_back('}');
  return key;
}

boost::asio::awaitable<Result<Grant>> ClusterRateLimiter::take(redis::Connection& connection,
                                                               std::size_t wanted) const {
  if (wanted == 0) co_return Grant{0, std::chrono::steady_clock::now()};
  const std::string count = std::to_string(wanted);
  const std::array<std::string_view, 1> keys{key_};
  const std::array<std::string_view, 3> args{interval_, tolerance_, count};
  auto reply = co_await take_script().run(connection, keys, args);
  const auto arrived = std::chrono::steady_clock::now();
  if (!reply) co_return reply.error();
  if (reply->is_error()) co_return make_error_code(Error::redis_reply);
  if (reply->type != redis::Reply::Type::array || reply->elements.size() != 2 ||
      reply->elements[0].type != redis::Reply::Type::integer ||
      reply->elements[1].type != redis::Reply::Type::integer || reply->elements[0].integer < 0 ||
      static_cast<std::size_t>(reply->elements[0].integer) > wanted) {
    co_return make_error_code(Error::redis_unexpected);
  }
  Grant grant{static_cast<std::size_t>(reply->elements[0].integer), arrived};
  if (grant.granted < wanted) grant.retry_at += std::chrono::microseconds(std::max<std::int64_t>(0, reply->elements[1].integer));
  co_return grant;
}

}  // namespace conveyor::flow
