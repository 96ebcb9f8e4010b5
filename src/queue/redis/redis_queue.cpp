#include "queue/redis/redis_queue.h"

// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// of an Asio awaitable (operator new and delete are both Asio's own).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <algorithm>
#include <functional>
#include <optional>
#include <random>
#include <string_view>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/outage_log.h"
#include "queue/redis/dead_retention.h"
#include "queue/redis/key_order.h"
#include "redis/connection.h"
#include "redis/slot.h"

namespace conveyor::queue {
namespace {

// Now in UTC as ISO 8601, as DeadLetter::to_json writes `dead_at`.
std::string utc_timestamp() {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", now);
}

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::chrono::milliseconds kFirstBackoff = 50ms;
constexpr std::chrono::milliseconds kMaxBackoff = 2s;
// Outcomes per script call: keeps one call well under Lua's stack limits and
// Redis busy for at most a few milliseconds, even after a long outage.
constexpr std::size_t kOutcomesPerCall = 2000;
// Lua numbers are doubles: sizes beyond 2^53 could not be compared exactly.
constexpr std::size_t kLuaNumberLimit = std::size_t{1} << 53;
// Lease calls in a row that only buried giants or parked messages behind their keys before
// lease() reports "nothing ready".
constexpr int kBuryOnlyRounds = 8;

// KEYS: list, leases, bodies, attempts, delayed, dead, dead_bodies, dead_reasons, dead_bytes,
// order_holders, order_key_of, order_waiting, order_sweep.
// ARGV: max, lease_ms, id_prefix, max_bytes, max_message_bytes, dead_at, order rules ("" for none),
// the wait lists' prefix. Returns (buried, parked, then (id, body, attempt, deadline) x n).
// Oldest work first: messages due in the delayed set (released, or retries whose time has come),
// then expired leases (a worker died), then new messages off the list, one LPOP at a time so that
// no more than one message is ever held beyond the budget. The bodies returned total at most max_bytes, except that the
// first one always goes. A message over max_message_bytes never leaves Redis: it is moved to
// the dead set in place ("buried"), with its reason, and counted in the dead bytes.
// With order rules, a new message whose key another message holds is not leased but "parked": its
// body is stored under its id, which goes to the end of its key's wait list (key_order.h). A call
// that leases nothing while messages are parked checks a few holders (order_sweep).
const redis::Script& lease_script() {
  static const redis::Script script(std::string(order_lua()) + R"lua(
local O = {leases = KEYS[2], delayed = KEYS[5], holders = KEYS[10], key_of = KEYS[11], waiting = KEYS[12],
           wait = ARGV[8]}
local rules = nil
if ARGV[7] ~= '' then rules = cjson.decode(ARGV[7]) end
local max = tonumber(ARGV[1])
local max_bytes = tonumber(ARGV[4])
local max_message = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = now + tonumber(ARGV[2])
local out = {0, 0}
local n = 0
local bytes = 0
local buried = 0
local parked = 0
local function bury(id, body)
  redis.call('HSET', KEYS[7], id, body)
  redis.call('HSET', KEYS[8], id, cjson.encode({
    reason = 'message of ' .. #body .. ' bytes exceeds MAX_MESSAGE_BYTES (' .. max_message .. ')',
    status = 0, response = '', attempts = 0, dead_at = ARGV[6]}))
  redis.call('ZADD', KEYS[6], now, id)
  redis.call('INCRBY', KEYS[9], #body)
  buried = buried + 1
end
local function give(id, body, attempt)
  n = n + 1
  bytes = bytes + #body
  out[#out + 1] = id
  out[#out + 1] = body
  out[#out + 1] = attempt
  out[#out + 1] = deadline
end
-- One entry of the delayed or lease set; false once the byte budget is spent (it stays due).
local function take(id, from)
  local size = redis.call('HSTRLEN', KEYS[3], id)
  if n > 0 and bytes + size > max_bytes then return false end
  redis.call('ZREM', from, id)
  local body = redis.call('HGET', KEYS[3], id)
  if not body then
    -- nothing to deliver: forget it
    redis.call('HDEL', KEYS[4], id)
    order_release(O, id)
    return true
  end
  if #body > max_message then
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    order_release(O, id)
    bury(id, body)
    return true
  end
  redis.call('ZADD', KEYS[2], deadline, id)
  give(id, body, redis.call('HINCRBY', KEYS[4], id, 1))
  return true
end
local function drain(from)
  if n >= max then return true end
  for _, id in ipairs(redis.call('ZRANGE', from, '-inf', now, 'BYSCORE', 'LIMIT', 0, max - n)) do
    if not take(id, from) then return false end
  end
  return true
end
if drain(KEYS[5]) and drain(KEYS[2]) then
  -- Buried bytes count against the budget too, so that one call never copies more than
  -- about max_bytes inside Redis, whatever the producers pushed.
  local popped = 0
  local touched = bytes
  while n < max and popped < max and touched < max_bytes do
    local body = redis.call('LPOP', KEYS[1])
    if not body then break end
    popped = popped + 1
    local id = ARGV[3] .. ':' .. popped
    if #body > max_message then
      bury(id, body)
      touched = touched + #body
    elseif n > 0 and bytes + #body > max_bytes then
      redis.call('LPUSH', KEYS[1], body)  -- back to the head: order kept
      break
    else
      local key = rules and order_key(rules, body)
      local holder = key and redis.call('HGET', KEYS[10], key)
      if holder and not order_alive(O, holder) then
        -- its message vanished (keys deleted by hand): the key passes on as if it were delivered
        redis.call('HDEL', KEYS[11], holder)
        order_pass_on(O, key)
        holder = redis.call('HGET', KEYS[10], key)
      end
      redis.call('HSET', KEYS[3], id, body)
      touched = touched + #body
      if holder then
        redis.call('HSET', KEYS[11], id, key)
        redis.call('RPUSH', O.wait .. key, id)
        redis.call('INCR', KEYS[12])
        parked = parked + 1
      else
        if key then
          redis.call('HSET', KEYS[10], key, id)
          redis.call('HSET', KEYS[11], id, key)
        end
        redis.call('HSET', KEYS[4], id, 1)
        redis.call('ZADD', KEYS[2], deadline, id)
        give(id, body, 1)
      end
    end
  end
end
if n == 0 and rules and tonumber(redis.call('GET', KEYS[12]) or 0) > 0 then
  order_sweep(O, KEYS[13])
end
out[1] = buried
out[2] = parked
return out
)lua");
  return script;
}

// KEYS: leases, bodies, attempts, delayed, order_holders, order_key_of, order_waiting.
// ARGV: the wait lists' prefix, then ids. unpack() is bounded by Lua's C stack (about 8000
// values), hence the slices. A delivered message that holds its ordering key hands it on; while
// no message has a key (no ordering) that costs one EXISTS per call.
const redis::Script& acknowledge_script() {
  static const redis::Script script(std::string(order_lua()) + R"lua(
local step = 500
for i = 2, #ARGV, step do
  local j = math.min(i + step - 1, #ARGV)
  redis.call('ZREM', KEYS[1], unpack(ARGV, i, j))
  redis.call('ZREM', KEYS[4], unpack(ARGV, i, j))
  redis.call('HDEL', KEYS[2], unpack(ARGV, i, j))
  redis.call('HDEL', KEYS[3], unpack(ARGV, i, j))
end
if redis.call('EXISTS', KEYS[6]) == 1 then
  local O = {leases = KEYS[1], delayed = KEYS[4], holders = KEYS[5], key_of = KEYS[6], waiting = KEYS[7],
             wait = ARGV[1]}
  for i = 2, #ARGV do order_release(O, ARGV[i]) end
end
return #ARGV - 1
)lua");
  return script;
}

// KEYS: leases, attempts, delayed. ARGV: (id, receipt) x n. Only a lease we
// still hold is given back, due at once; it was not attempted, so its attempt
// count goes back down.
const redis::Script& release_script() {
  static const redis::Script script(R"lua(
local released = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('ZADD', KEYS[3], 0, ARGV[i])
    redis.call('HINCRBY', KEYS[2], ARGV[i], -1)
    released = released + 1
  end
end
return released
)lua");
  return script;
}

// KEYS: leases, delayed, attempts. ARGV: (id, receipt, delay_ms, unattempted) x n. Only a lease
// we still hold moves to the delayed set, due after its delay. A parked message (unattempted
// "1") was not attempted: its attempt count goes back down, as on release. A due time after a
// delay is rounded up to the millisecond, so the message is never due before the delay passed.
const redis::Script& retry_script() {
  static const redis::Script script(R"lua(
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local delayed = 0
for i = 1, #ARGV, 4 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    local delay_us = tonumber(ARGV[i + 2]) * 1000
    local due = delay_us > 0 and math.ceil((now_us + delay_us) / 1000) or math.floor(now_us / 1000)
    redis.call('ZADD', KEYS[2], due, ARGV[i])
    if ARGV[i + 3] == '1' then redis.call('HINCRBY', KEYS[3], ARGV[i], -1) end
    delayed = delayed + 1
  end
end
return delayed
)lua");
  return script;
}

// KEYS: leases, bodies, attempts, dead, dead_bodies, dead_reasons, dead_bytes, delayed,
// order_holders, order_key_of, order_waiting. ARGV: the wait lists' prefix, then
// (id, receipt, reason_json) x n. Only a lease we still hold: the body moves untouched beside its
// reason, the dead set scores it by Redis time, and its size counts in dead_bytes. It hands its
// ordering key on, so a dead letter never holds a key (trimming or purging the dead set cannot
// strand one).
const redis::Script& dead_letter_script() {
  static const redis::Script script(std::string(order_lua()) + R"lua(
local O = {leases = KEYS[1], delayed = KEYS[8], holders = KEYS[9], key_of = KEYS[10], waiting = KEYS[11],
           wait = ARGV[1]}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local moved = 0
for i = 2, #ARGV, 3 do
  local id = ARGV[i]
  local score = redis.call('ZSCORE', KEYS[1], id)
  local body = redis.call('HGET', KEYS[2], id)
  if score and tonumber(score) == tonumber(ARGV[i + 1]) and body then
    redis.call('INCRBY', KEYS[7], #body)
    redis.call('HSET', KEYS[5], id, body)
    redis.call('HSET', KEYS[6], id, ARGV[i + 2])
    redis.call('ZADD', KEYS[4], now, id)
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    order_release(O, id)
    moved = moved + 1
  end
end
return moved
)lua");
  return script;
}

// Outcomes of one kind, flattened into script arguments.
struct Outcomes {
  std::vector<std::string> args;
  std::size_t per_outcome = 1;
  bool empty() const { return args.empty(); }
};

}  // namespace

struct RedisQueue::State {
  State(asio::any_io_executor executor, redis::Endpoint endpoint, const std::string& channel,
        std::chrono::milliseconds lease_timeout, std::chrono::milliseconds connect_timeout,
        const DeadLetterRetention& retention, std::size_t max_message_bytes, const std::vector<OrderRule>& order)
      : executor(executor),
        endpoint(std::move(endpoint)),
        keys(keys_of(channel, key_layout_of(this->endpoint))),
        lease_ms(std::to_string(std::max<std::int64_t>(1, lease_timeout.count()))),
        max_message_bytes(std::to_string(std::min<std::size_t>(max_message_bytes, kLuaNumberLimit))),
        connect_timeout(connect_timeout),
        retention(retention),
        order_rules(order_rules_json(order)),
        connect_done(executor, asio::steady_timer::time_point::max()),
        outcome_recorded(executor, asio::steady_timer::time_point::max()),
        batch_written(executor, asio::steady_timer::time_point::max()),
        retry_pause(executor),
        outage(fmt::format("redis (queue {})", channel)),
        random(std::random_device{}()) {
    acks.per_outcome = 1;
    releases.per_outcome = 2;
    retries.per_outcome = 4;  // retries and parks
    dead_letters.per_outcome = 3;
  }

  asio::any_io_executor executor;
  const redis::Endpoint endpoint;
  const Keys keys;
  const std::string lease_ms;
  const std::string max_message_bytes;
  const std::chrono::milliseconds connect_timeout;
  const DeadLetterRetention retention;
  const std::string order_rules;  // the lease script's rules (key_order.h); "" for none

  // The connection, rebuilt on demand. Shared so that a caller keeps the one
  // it is using alive even if another caller replaces it meanwhile.
  std::shared_ptr<redis::Connection> connection;
  bool connecting = false;
  asio::steady_timer connect_done;  // cancelled when a connect attempt ends
  error_code last_error;
  std::string last_why;
  Clock::time_point next_attempt{};
  std::chrono::milliseconds backoff = kFirstBackoff;

  // Outcomes recorded and not yet handed to the flusher.
  Outcomes acks, releases, retries, dead_letters;
  std::uint64_t recorded = 0;  // outcomes recorded so far
  std::uint64_t written = 0;   // every outcome up to this count is in Redis
  bool flusher_waiting = false;
  asio::steady_timer outcome_recorded;  // wakes the idle flusher
  asio::steady_timer batch_written;     // wakes flush() callers
  asio::steady_timer retry_pause;       // the flusher's wait after a failure

  // The one voice of this connection's failures (the dispatcher above stays quiet): a line per
  // failed attempt for a minute, then one a minute, and one when a lease succeeds again.
  OutageLog outage;

  bool stopping = false;
  std::mt19937_64 random;

  // Set once the flusher has broken for good: every later call fails with backend_failed.
  std::string failure;
  FailureHandler on_failure;
  std::function<void()> before_write;  // test seam, see set_write_hook()
  std::size_t buried = 0;              // giants dead-lettered by the lease script, not yet taken

  // The flusher ended with an exception: outcomes can no longer be written, so the lane must
  // stop; flush() callers wake with the error rather than wait for ever.
  void fail(std::string why) {
    if (!failure.empty()) return;
    failure = std::move(why);
    spdlog::error("redis queue {}: {}", keys.list, failure);
    stop();
    if (on_failure) on_failure(failure);
  }

  void failed(std::string_view reason, std::optional<std::chrono::milliseconds> retry_in = std::nullopt) {
    if (auto line = outage.failed(Clock::now(), reason, retry_in)) spdlog::warn("{}", *line);
  }
  void succeeded() {
    if (auto line = outage.succeeded(Clock::now())) spdlog::info("{}", *line);
  }

  // A retry, or a park (`unattempted`): both go through the retry script in one batch.
  void record_delay(const Lease& lease, std::chrono::milliseconds delay, bool unattempted) {
    retries.args.push_back(lease.id);
    retries.args.push_back(lease.receipt);
    retries.args.push_back(std::to_string(std::max<std::int64_t>(0, delay.count())));
    retries.args.emplace_back(unattempted ? "1" : "0");
    record();
  }

  void record() {
    ++recorded;
    if (flusher_waiting) outcome_recorded.cancel();
  }

  void stop() {
    stopping = true;
    connect_done.cancel();
    outcome_recorded.cancel();
    batch_written.cancel();
    retry_pause.cancel();
    if (connection) connection->close();
  }

  // A fresh random id prefix per lease call: ids unique without shared state.
  std::string id_prefix() { return fmt::format("{:016x}", random()); }

  // The live connection, or a new one. Never waits out the backoff: while
  // backing off it answers with the last error, so lease() fails fast.
  static asio::awaitable<Result<std::shared_ptr<redis::Connection>>> acquire(std::shared_ptr<State> self) {
    if (!self->failure.empty()) co_return make_error_code(Error::backend_failed);
    if (self->stopping) co_return make_error_code(Error::shutting_down);
    if (self->connection && self->connection->is_open()) co_return self->connection;
    if (self->connecting) {  // share the attempt in progress
      co_await self->connect_done.async_wait(use_tuple);
      if (self->stopping) co_return make_error_code(Error::shutting_down);
      if (self->connection && self->connection->is_open()) co_return self->connection;
      co_return self->last_error ? self->last_error : make_error_code(Error::connection_closed);
    }
    self->connection.reset();
    if (Clock::now() < self->next_attempt) co_return self->last_error;

    self->connecting = true;
    std::string why;
    auto connected = co_await redis::Connection::connect(self->executor, self->endpoint, self->connect_timeout, &why);
    self->connecting = false;
    self->connect_done.cancel();
    if (self->stopping) co_return make_error_code(Error::shutting_down);
    if (!connected) {
      self->last_error = connected.error();
      self->last_why = why.empty() ? connected.error().message() : why;
      self->next_attempt = Clock::now() + self->backoff;
      self->failed(self->last_why, self->backoff);
      self->backoff = std::min(self->backoff * 2, kMaxBackoff);
      co_return self->last_error;
    }
    if (self->last_error) spdlog::debug("redis queue {}: reconnected", self->keys.list);
    self->last_error = {};
    self->last_why.clear();
    self->backoff = kFirstBackoff;
    self->connection = std::move(*connected);
    co_return self->connection;
  }

  // Runs `script` over `outcomes` in slices of kOutcomesPerCall, each slice's arguments after `head`.
  static asio::awaitable<error_code> write(redis::Connection& connection, const redis::Script& script,
                                           const std::vector<std::string_view>& keys, const Outcomes& outcomes,
                                           const std::string& channel, std::string_view head = {}) {
    const std::size_t slice = kOutcomesPerCall * outcomes.per_outcome;
    for (std::size_t begin = 0; begin < outcomes.args.size(); begin += slice) {
      const std::size_t end = std::min(outcomes.args.size(), begin + slice);
      std::vector<std::string_view> args;
      args.reserve(end - begin + 1);
      if (!head.empty()) args.push_back(head);
      args.insert(args.end(), outcomes.args.begin() + static_cast<std::ptrdiff_t>(begin),
                  outcomes.args.begin() + static_cast<std::ptrdiff_t>(end));
      auto reply = co_await script.run(connection, keys, args);
      if (!reply) co_return reply.error();
      if (reply->is_error()) {
        spdlog::warn("redis queue {}: writing outcomes failed: {}", channel, reply->string);
        co_return make_error_code(Error::redis_reply);
      }
    }
    co_return error_code{};
  }

  // The one flusher: takes everything recorded, writes it, and only then
  // takes the next batch. A failed batch is kept and written again (the
  // scripts are idempotent) after a growing pause.
  static asio::awaitable<void> flusher(std::shared_ptr<State> self) {
    std::chrono::milliseconds pause = kFirstBackoff;
    while (!self->stopping) {
      if (self->acks.empty() && self->releases.empty() && self->retries.empty() && self->dead_letters.empty()) {
        self->flusher_waiting = true;
        co_await self->outcome_recorded.async_wait(use_tuple);
        self->flusher_waiting = false;
        continue;
      }
      const Outcomes acks = std::exchange(self->acks, Outcomes{{}, 1});
      const Outcomes releases = std::exchange(self->releases, Outcomes{{}, 2});
      const Outcomes retries = std::exchange(self->retries, Outcomes{{}, 4});
      const Outcomes dead_letters = std::exchange(self->dead_letters, Outcomes{{}, 3});
      const std::uint64_t upto = self->recorded;
      while (!self->stopping) {
        const error_code ec = co_await write_batch(self, acks, releases, retries, dead_letters);
        if (!ec) break;
        self->retry_pause.expires_after(pause);
        co_await self->retry_pause.async_wait(use_tuple);
        pause = std::min(pause * 2, kMaxBackoff);
      }
      if (self->stopping) break;
      pause = kFirstBackoff;
      self->written = upto;
      self->batch_written.cancel();
    }
  }

  static asio::awaitable<error_code> write_batch(std::shared_ptr<State> self, const Outcomes& acks,
                                                 const Outcomes& releases, const Outcomes& retries,
                                                 const Outcomes& dead_letters) {
    if (self->before_write) self->before_write();
    auto connection = co_await acquire(self);
    if (!connection) co_return connection.error();
    redis::Connection& c = **connection;
    const Keys& k = self->keys;
    if (!acks.empty()) {
      const std::vector<std::string_view> keys = {k.leases,        k.bodies,       k.attempts,     k.delayed,
                                                  k.order_holders, k.order_key_of, k.order_waiting};
      if (auto ec = co_await write(c, acknowledge_script(), keys, acks, k.list, k.order_wait)) co_return ec;
    }
    if (!releases.empty()) {
      const std::vector<std::string_view> keys = {k.leases, k.attempts, k.delayed};
      if (auto ec = co_await write(c, release_script(), keys, releases, k.list)) co_return ec;
    }
    if (!retries.empty()) {
      const std::vector<std::string_view> keys = {k.leases, k.delayed, k.attempts};
      if (auto ec = co_await write(c, retry_script(), keys, retries, k.list)) co_return ec;
    }
    if (!dead_letters.empty()) {
      const std::vector<std::string_view> keys = {k.leases,       k.bodies,        k.attempts,     k.dead,
                                                  k.dead_bodies,  k.dead_reasons,  k.dead_bytes,   k.delayed,
                                                  k.order_holders, k.order_key_of, k.order_waiting};
      if (auto ec = co_await write(c, dead_letter_script(), keys, dead_letters, k.list, k.order_wait)) co_return ec;
      const std::size_t added = dead_letters.args.size() / dead_letters.per_outcome;
      if (auto trimmed = co_await enforce_retention(c, k, self->retention, added); !trimmed) co_return trimmed.error();
    }
    co_return error_code{};
  }
};

KeyLayout key_layout_of(const redis::Endpoint& endpoint) {
  return endpoint.cluster ? KeyLayout::hash_tagged : KeyLayout::plain;
}

RedisQueue::Keys RedisQueue::keys_of(const std::string& list, KeyLayout layout) {
  const bool tagged = layout == KeyLayout::hash_tagged && redis::hash_tag(list) == list;
  const std::string channel = tagged ? "{" + list + "}" : list;
  return {.list = list,
          .leases = channel + ":leases",
          .bodies = channel + ":bodies",
          .attempts = channel + ":attempts",
          .delayed = channel + ":delayed",
          .dead = channel + ":dead",
          .dead_bodies = channel + ":dead:bodies",
          .dead_reasons = channel + ":dead:reasons",
          .dead_bytes = channel + ":dead:bytes",
          .order_holders = channel + ":order:holders",
          .order_key_of = channel + ":order:key_of",
          .order_waiting = channel + ":order:waiting",
          .order_sweep = channel + ":order:sweep",
          .order_wait = channel + ":order:wait:"};
}

RedisQueue::RedisQueue(asio::any_io_executor executor, redis::Endpoint endpoint, std::string channel,
                       std::chrono::milliseconds lease_timeout, std::chrono::milliseconds connect_timeout,
                       const DeadLetterRetention& retention, std::size_t max_message_bytes,
                       const std::vector<OrderRule>& order)
    : state_(std::make_shared<State>(executor, std::move(endpoint), channel, lease_timeout, connect_timeout,
                                     retention, max_message_bytes, order)) {
  // The flusher never ends while the queue lives unless something threw in it. Then nothing
  // recorded can be written any more: the queue fails for good and its lane is told, instead
  // of flush() waiting for ever.
  asio::co_spawn(executor, State::flusher(state_), [weak = std::weak_ptr<State>(state_)](std::exception_ptr e) {
    if (!e) return;
    std::string why = "outcome writer stopped";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& error) {
      why += fmt::format(": {}", error.what());
    } catch (...) {
      why += ": unknown exception";
    }
    if (auto state = weak.lock()) state->fail(std::move(why));
  });
}

RedisQueue::~RedisQueue() { state_->stop(); }

// Member coroutines copy state_ first and never touch `this` again: the queue
// may be destroyed while they are suspended.

asio::awaitable<error_code> RedisQueue::connect(std::string* why) {
  auto state = state_;
  auto connection = co_await State::acquire(state);
  if (connection) co_return error_code{};
  if (why) *why = state->last_why.empty() ? connection.error().message() : state->last_why;
  co_return connection.error();
}

asio::awaitable<Result<std::vector<Lease>>> RedisQueue::lease(LeaseLimits limits) {
  auto state = state_;
  if (limits.messages == 0) co_return std::vector<Lease>{};
  auto connection = co_await State::acquire(state);
  if (!connection) co_return connection.error();

  const Keys& k = state->keys;
  const std::vector<std::string_view> keys = {k.list,          k.leases,       k.bodies,       k.attempts,
                                              k.delayed,       k.dead,         k.dead_bodies,  k.dead_reasons,
                                              k.dead_bytes,    k.order_holders, k.order_key_of, k.order_waiting,
                                              k.order_sweep};
  const std::string count = std::to_string(limits.messages);
  const std::string max_bytes = std::to_string(std::clamp<std::size_t>(limits.bytes, 1, kLuaNumberLimit));
  const std::string dead_at = utc_timestamp();
  std::optional<redis::Reply> reply;
  for (int round = 0; round < kBuryOnlyRounds; ++round) {
    const std::string prefix = state->id_prefix();
    const std::vector<std::string_view> args = {count,   state->lease_ms,    prefix,      max_bytes,
                                                state->max_message_bytes, dead_at, state->order_rules, k.order_wait};
    auto answer = co_await lease_script().run(**connection, keys, args);
    if (!answer) {
      state->failed(fmt::format("lost the connection: {}", answer.error().message()));
      co_return answer.error();
    }
    if (answer->is_error()) {
      // Say, a key that became a string mid-run: retried like an outage, and logged like one.
      state->failed(fmt::format("lease failed: {}", answer->string));
      co_return make_error_code(Error::redis_reply);
    }
    if (answer->type != redis::Reply::Type::array || answer->elements.size() % 4 != 2 ||
        answer->elements[0].type != redis::Reply::Type::integer ||
        answer->elements[1].type != redis::Reply::Type::integer) {
      state->failed("lease failed: a reply of the wrong shape");
      co_return make_error_code(Error::redis_unexpected);
    }
    const std::int64_t buried = answer->elements[0].integer;
    if (buried > 0) {
      state->buried += static_cast<std::size_t>(buried);
      spdlog::warn("redis queue {}: {} message(s) over MAX_MESSAGE_BYTES ({}) dead-lettered in place", k.list,
                   buried, state->max_message_bytes);
      // Giants are dead letters like any other: the dead set keeps to its retention.
      auto trimmed = co_await enforce_retention(**connection, k, state->retention, static_cast<std::size_t>(buried));
      if (!trimmed) spdlog::warn("redis queue {}: cannot trim the dead set: {}", k.list, trimmed.error().message());
    }
    const std::int64_t parked = answer->elements[1].integer;
    reply = std::move(*answer);
    // Only giants met, or messages parked behind their keys: the list may hold more work behind.
    if ((buried == 0 && parked == 0) || reply->elements.size() > 2) break;
  }
  state->succeeded();

  std::vector<Lease> leases;
  leases.reserve(reply->elements.size() / 4);
  for (std::size_t i = 2; i < reply->elements.size(); i += 4) {
    auto& e = reply->elements;
    if (e[i].type != redis::Reply::Type::string || e[i + 1].type != redis::Reply::Type::string ||
        e[i + 2].type != redis::Reply::Type::integer || e[i + 3].type != redis::Reply::Type::integer) {
      co_return make_error_code(Error::redis_unexpected);
    }
    Lease lease;
    lease.id = std::move(e[i].string);
    lease.body = std::move(e[i + 1].string);
    lease.attempt = static_cast<std::uint32_t>(std::max<std::int64_t>(1, e[i + 2].integer));
    lease.receipt = std::to_string(e[i + 3].integer);
    leases.push_back(std::move(lease));
  }
  co_return leases;
}

void RedisQueue::acknowledge(const Lease& lease) {
  state_->acks.args.push_back(lease.id);
  state_->record();
}

void RedisQueue::release(const Lease& lease) {
  state_->releases.args.push_back(lease.id);
  state_->releases.args.push_back(lease.receipt);
  state_->record();
}

void RedisQueue::retry_later(const Lease& lease, std::chrono::milliseconds delay) {
  state_->record_delay(lease, delay, false);
}

void RedisQueue::park(const Lease& lease, std::chrono::milliseconds delay) { state_->record_delay(lease, delay, true); }

void RedisQueue::dead_letter(const Lease& lease, const DeadLetter& why) {
  state_->dead_letters.args.push_back(lease.id);
  state_->dead_letters.args.push_back(lease.receipt);
  state_->dead_letters.args.push_back(why.to_json(lease.attempt));
  state_->record();
}

asio::awaitable<error_code> RedisQueue::flush() {
  auto state = state_;
  const std::uint64_t target = state->recorded;
  while (state->written < target) {
    if (!state->failure.empty()) co_return make_error_code(Error::backend_failed);
    if (state->stopping) co_return make_error_code(Error::shutting_down);
    co_await state->batch_written.async_wait(use_tuple);
    // The same wait ends for a new batch and for the caller's cancellation.
    auto cancellation = co_await asio::this_coro::cancellation_state;
    if (cancellation.cancelled() != asio::cancellation_type::none) {
      co_return make_error_code(asio::error::operation_aborted);
    }
  }
  co_return error_code{};
}

void RedisQueue::on_failure(FailureHandler handler) { state_->on_failure = std::move(handler); }

std::size_t RedisQueue::take_dead_lettered() { return std::exchange(state_->buried, 0); }

void RedisQueue::set_write_hook(std::function<void()> hook) { state_->before_write = std::move(hook); }

asio::awaitable<Result<Backlog>> RedisQueue::backlog() {
  auto state = state_;
  auto connection = co_await State::acquire(state);
  if (!connection) co_return connection.error();
  const std::vector<std::vector<std::string_view>> commands = {{"LLEN", state->keys.list},
                                                               {"ZCARD", state->keys.leases},
                                                               {"ZCARD", state->keys.delayed},
                                                               {"GET", state->keys.order_waiting}};
  auto replies = co_await (*connection)->pipeline(commands);
  if (!replies) co_return replies.error();
  for (const auto& reply : *replies) {
    if (reply.is_error()) co_return make_error_code(Error::redis_reply);
  }
  for (std::size_t i = 0; i < 3; ++i) {
    if ((*replies)[i].type != redis::Reply::Type::integer) co_return make_error_code(Error::redis_unexpected);
  }
  auto parked = parked_count((*replies)[3]);
  if (!parked) co_return parked.error();
  Backlog backlog;
  // Delayed retries and messages waiting behind their ordering key are work left too: an
  // until-empty run waits for them.
  backlog.waiting = static_cast<std::size_t>((*replies)[0].integer + (*replies)[2].integer) + *parked;
  backlog.in_flight = static_cast<std::size_t>((*replies)[1].integer);
  co_return backlog;
}

}  // namespace conveyor::queue
