#include "queue/redis/dead_retention.h"

// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// of an Asio awaitable (operator new and delete are both Asio's own).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

namespace conveyor::queue {
namespace {

// KEYS: dead, dead_bodies, dead_reasons, dead_bytes. ARGV: max_len, max_age_ms, max_bytes, most
// (0: no limit). Walks the oldest `most` entries and stops at the first one no limit condemns: the
// set is sorted by age, and removing an entry only brings the count and the bytes down.
const redis::Script& trim_script() {
  static const redis::Script script(R"lua(
local max_len = tonumber(ARGV[1])
local max_age = tonumber(ARGV[2])
local max_bytes = tonumber(ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
local bytes = tonumber(redis.call('GET', KEYS[4]) or 0)
local cutoff = nil
if max_age > 0 then
  local t = redis.call('TIME')
  cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - max_age
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[4]) - 1, 'WITHSCORES')
local trimmed = 0
local freed = 0
for i = 1, #oldest, 2 do
  local over = (max_len > 0 and count > max_len) or (max_bytes > 0 and bytes - freed > max_bytes)
      or (cutoff ~= nil and tonumber(oldest[i + 1]) < cutoff)
  if not over then break end
  local id = oldest[i]
  freed = freed + redis.call('HSTRLEN', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  count = count - 1
  trimmed = trimmed + 1
end
if freed > 0 then
  if bytes - freed > 0 then
    redis.call('SET', KEYS[4], string.format('%.0f', bytes - freed))
  else
    redis.call('DEL', KEYS[4])
  end
end
return trimmed
)lua");
  return script;
}

}  // namespace

boost::asio::awaitable<Result<std::size_t>> trim_dead_letters(redis::Connection& connection,
                                                              const RedisQueue::Keys& keys,
                                                              const DeadLetterRetention& retention,
                                                              std::size_t most) {
  if (!retention.limited() || most == 0) co_return std::size_t{0};
  const std::vector<std::string_view> script_keys = {keys.dead, keys.dead_bodies, keys.dead_reasons, keys.dead_bytes};
  const std::string max_len = std::to_string(retention.max_len);
  const std::string max_age = std::to_string(std::max<Duration::rep>(0, retention.max_age.count()));
  const std::string max_bytes = std::to_string(retention.max_bytes);
  const std::string bound = std::to_string(most);
  const std::vector<std::string_view> args = {max_len, max_age, max_bytes, bound};
  auto reply = co_await trim_script().run(connection, script_keys, args);
  if (!reply) co_return reply.error();
  if (reply->is_error()) {
    spdlog::warn("redis queue {}: trimming dead letters failed: {}", keys.list, reply->string);
    co_return make_error_code(Error::redis_reply);
  }
  if (reply->type != redis::Reply::Type::integer || reply->integer < 0) co_return make_error_code(Error::redis_unexpected);
  co_return static_cast<std::size_t>(reply->integer);
}

boost::asio::awaitable<Result<std::size_t>> enforce_retention(redis::Connection& connection,
                                                              const RedisQueue::Keys& keys,
                                                              const DeadLetterRetention& retention,
                                                              std::size_t added) {
  std::size_t budget = added + kTrimPerCall;
  std::size_t trimmed = 0;
  while (budget > 0) {
    const std::size_t most = std::min(budget, kTrimPerCall);
    auto n = co_await trim_dead_letters(connection, keys, retention, most);
    if (!n) co_return n.error();
    trimmed += *n;
    budget -= most;
    if (*n < most) break;  // within the limits now
  }
  co_return trimmed;
}

}  // namespace conveyor::queue
