#include "queue/redis/redis_admin.h"

#include <string_view>

#include "queue/redis/key_order.h"
#include "queue/redis/redis_queue.h"

namespace conveyor::queue {
namespace {

// KEYS: list, dead, dead_bodies, dead_reasons, dead_bytes. ARGV: ids, or none for all.
// The bodies' bytes leave the dead set's byte counter, which never goes below 0.
const redis::Script& requeue_script() {
  static const redis::Script script(R"lua(
local ids = ARGV
if #ids == 0 then ids = redis.call('ZRANGE', KEYS[2], 0, -1) end
local moved = 0
local freed = 0
for _, id in ipairs(ids) do
  local body = redis.call('HGET', KEYS[3], id)
  if body then
    redis.call('RPUSH', KEYS[1], body)
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('ZREM', KEYS[2], id)
    moved = moved + 1
    freed = freed + #body
  end
end
if freed > 0 then
  local left = tonumber(redis.call('GET', KEYS[5]) or 0) - freed
  if left > 0 then redis.call('SET', KEYS[5], string.format('%.0f', left)) else redis.call('DEL', KEYS[5]) end
end
return moved
)lua");
  return script;
}

// KEYS: dead, dead_bodies, dead_reasons, dead_bytes.
const redis::Script& purge_script() {
  static const redis::Script script(R"lua(
local n = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return n
)lua");
  return script;
}

Result<std::int64_t> integer_of(const Result<redis::Reply>& reply) {
  if (!reply) return reply.error();
  if (reply->type != redis::Reply::Type::integer) return make_error_code(Error::redis_unexpected);
  return reply->integer;
}

}  // namespace

RedisAdmin::RedisAdmin(std::unique_ptr<redis::Connection> connection, std::vector<std::string> shards,
                       KeyLayout layout)
    : connection_(std::move(connection)), shards_(std::move(shards)), layout_(layout) {}

boost::asio::awaitable<Result<std::vector<ShardCounts>>> RedisAdmin::counts() {
  std::vector<ShardCounts> out;
  for (const std::string& shard : shards_) {
    const auto k = RedisQueue::keys_of(shard, layout_);
    // Released messages wait in the delayed set with score 0, and parked ones behind their
    // ordering key (key_order.h): they count as waiting.
    const std::vector<std::vector<std::string_view>> commands = {
        {"LLEN", k.list},  {"ZCARD", k.leases}, {"ZCARD", k.delayed}, {"ZCOUNT", k.delayed, "0", "0"},
        {"ZCARD", k.dead}, {"GET", k.order_waiting}};
    auto replies = co_await connection_->pipeline(commands);
    if (!replies) co_return replies.error();
    for (std::size_t i = 0; i < 5; ++i) {
      if ((*replies)[i].type != redis::Reply::Type::integer) co_return make_error_code(Error::redis_unexpected);
    }
    const auto parked = parked_count((*replies)[5]);
    if (!parked) co_return parked.error();
    const auto& r = *replies;
    out.push_back({.shard = shard,
                   .waiting = static_cast<std::size_t>(r[0].integer + r[3].integer) + *parked,
                   .in_flight = static_cast<std::size_t>(r[1].integer),
                   .delayed = static_cast<std::size_t>(r[2].integer - r[3].integer),
                   .dead = static_cast<std::size_t>(r[4].integer)});
  }
  co_return out;
}

namespace {
// KEYS: dead_bodies. ARGV: max bytes, ids. The first max bytes of each body (false if missing).
// A body over 64 KiB is not even loaded (a dead set may hold 20 MiB giants, read every few
// seconds by every worker's status sampler): it is described by its size instead.
constexpr std::string_view kBodyPrefixes = R"lua(
local out = {}
local cut = tonumber(ARGV[1])
for i = 2, #ARGV do
  local size = redis.call('HSTRLEN', KEYS[1], ARGV[i])
  if size == 0 and redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    out[i - 1] = false
  elseif size <= cut then
    out[i - 1] = redis.call('HGET', KEYS[1], ARGV[i])
  elseif size <= 65536 then
    out[i - 1] = string.sub(redis.call('HGET', KEYS[1], ARGV[i]), 1, cut)
  else
    out[i - 1] = '(a body of ' .. size .. ' bytes: conveyor dlq list shows it whole)'
  end
end
return out
)lua";
}  // namespace

boost::asio::awaitable<Result<std::vector<DeadMessage>>> RedisAdmin::dead_letters(std::size_t limit,
                                                                                 std::size_t body_bytes) {
  std::vector<DeadMessage> out;
  for (const std::string& shard : shards_) {
    if (out.size() >= limit) break;
    const auto k = RedisQueue::keys_of(shard, layout_);
    const std::string stop = std::to_string(limit - out.size() - 1);
    const std::vector<std::string_view> range = {"ZRANGE", k.dead, "0", stop};
    auto ids = co_await connection_->command(range);
    if (!ids) co_return ids.error();
    if (ids->type != redis::Reply::Type::array) co_return make_error_code(Error::redis_unexpected);
    if (ids->elements.empty()) continue;
    // Bodies (each cut to body_bytes inside Redis) and reasons of every id in one round trip.
    const std::string cut = std::to_string(std::min<std::size_t>(body_bytes, std::size_t{1} << 52));
    std::vector<std::vector<std::string_view>> commands = {
        {"EVAL", kBodyPrefixes, "1", k.dead_bodies, cut}, {"HMGET", k.dead_reasons}};
    for (const auto& id : ids->elements) {
      commands[0].push_back(id.string);
      commands[1].push_back(id.string);
    }
    auto replies = co_await connection_->pipeline(commands);
    if (!replies) co_return replies.error();
    const auto& bodies = (*replies)[0].elements;
    const auto& reasons = (*replies)[1].elements;
    if (bodies.size() != ids->elements.size() || reasons.size() != ids->elements.size()) {
      co_return make_error_code(Error::redis_unexpected);
    }
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      out.push_back({.id = ids->elements[i].string, .body = bodies[i].string, .reason = reasons[i].string});
    }
  }
  co_return out;
}

boost::asio::awaitable<Result<std::size_t>> RedisAdmin::requeue(std::span<const std::string> ids) {
  std::size_t moved = 0;
  for (const std::string& shard : shards_) {
    const auto k = RedisQueue::keys_of(shard, layout_);
    const std::vector<std::string_view> keys = {k.list, k.dead, k.dead_bodies, k.dead_reasons, k.dead_bytes};
    const std::vector<std::string_view> args(ids.begin(), ids.end());
    auto n = integer_of(co_await requeue_script().run(*connection_, keys, args));
    if (!n) co_return n.error();
    moved += static_cast<std::size_t>(*n);
  }
  co_return moved;
}

boost::asio::awaitable<Result<std::size_t>> RedisAdmin::purge() {
  std::size_t purged = 0;
  for (const std::string& shard : shards_) {
    const auto k = RedisQueue::keys_of(shard, layout_);
    const std::vector<std::string_view> keys = {k.dead, k.dead_bodies, k.dead_reasons, k.dead_bytes};
    auto n = integer_of(co_await purge_script().run(*connection_, keys, {}));
    if (!n) co_return n.error();
    purged += static_cast<std::size_t>(*n);
  }
  co_return purged;
}

}  // namespace conveyor::queue
