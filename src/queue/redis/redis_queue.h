// RedisQueue: the Redis backend behind queue::QueueBackend. Producers RPUSH
// raw JSON onto a list; workers take messages under expiring leases, so a
// message is never lost (at-least-once) and keeps one id on every attempt.
//
// Design, for channel C (on a Redis Cluster, "{C}" stands for "C" in every companion key's name,
// see keys_of):
//   C            the producers' list. Never renamed, entries untouched: any
//                producer that can RPUSH can feed us.
//   C:leases     ZSET id -> lease deadline (ms): messages some worker holds.
//   C:delayed    ZSET id -> due time (ms): retries and parked messages waiting
//                for their time, and released messages (due at once, score 0).
//   C:bodies     HASH id -> body;   C:attempts  HASH id -> attempt count.
//   C:dead       ZSET id -> when it was dead-lettered (ms); C:dead:bodies
//                HASH id -> the body untouched; C:dead:reasons HASH id ->
//                JSON {reason, status, response, attempts, dead_at};
//                C:dead:bytes the bodies' total size (a counter), which
//                every path that adds or removes a dead letter keeps exact.
//                After each batch with dead letters the flusher trims the
//                dead set to its retention (dead_retention.h).
//   Per-key ordering (key_order.h; only with order rules, else never written):
//   C:order:holders  HASH ordering key -> the id delivering it now (leased,
//                or due in C:delayed: a retry keeps its key).
//   C:order:key_of   HASH id -> its ordering key, for holders and waiters.
//   C:order:wait:<key>  LIST ids parked behind the holder, in queue order;
//                their bodies are in C:bodies; no attempt is counted.
//   C:order:waiting  the parked messages' count (a counter), for backlog().
//   C:order:sweep    where the check of holders for vanished ids goes on
//                (an HSCAN cursor of C:order:holders).
// Reliable fetch happens inside one Lua script (atomic, no lost messages
// between LPOP and the ZADD): it first takes the due entries of C:delayed,
// then leases of C:leases whose deadline passed (a worker died), the oldest
// work first, then fills the rest with LPOP C count, naming each
// new message "<prefix>:<n>" where the worker passes a fresh random 64-bit
// prefix per call: ids are unique without any shared counter. A call hands
// out at most LeaseLimits::bytes of bodies (at least one message), and a
// message over max_message_bytes never leaves Redis: the script moves it to
// the dead set in place with its reason, so a giant costs the worker nothing. With order
// rules, a new message whose ordering key is held by another id is parked instead of leased;
// acknowledge and dead_letter of a holder hand its key to the first parked id, due at once
// (RPUSHed dead letters that are requeued take their turn like new ones). Time comes
// from Redis TIME inside the scripts, so worker clocks never matter (Redis 7
// replicates script effects, so TIME is allowed). A message's id is then
// fixed for life: it is the partner's Idempotency-Key.
//
// The lease receipt is the deadline we set. release, retry_later, park and
// dead_letter act only if the ZSET score still equals our receipt, i.e. we still hold the lease: a
// worker whose lease expired and was taken over cannot disturb the new
// holder. acknowledge needs no receipt: the message was delivered, so it goes
// (a late second ack is a no-op). Every outcome script is idempotent, which
// makes writing a batch again after a lost reply harmless.
//
// park is retry_later whose attempt is taken back (as release does): the
// message waits in C:delayed, not in flight, and keeps its attempt number.
//
// acknowledge/release/retry_later/park only record the outcome; one flusher
// coroutine writes everything recorded in one script call per kind, one batch
// in flight at a time while the next accumulates. That is what makes
// thousands of acks per second cost a few round trips. flush() waits until
// every outcome recorded before it is written.
//
// On a transport error the connection is rebuilt with exponential backoff
// (50 ms doubling to 2 s between attempts); recorded outcomes are kept and
// written after the reconnect; lease() and backlog() return the error at once
// so the caller can back off. The queue alone logs these failures, through
// an OutageLog (core/outage_log.h): a line per failed attempt in the first
// minute, then one a minute, and one when a lease succeeds again. If a lease
// reply is lost in transit the messages stay leased until their deadline and
// then come back (attempt + 1).
//
// An exception escaping the flusher (a bug) fails the queue for good: flush()
// and lease() return Error::backend_failed and the on_failure handler tells
// the lane, which stops; its leases expire and come back to any worker.
//
// One instance per io_context (thread), used only from it; it owns its own
// Connection. Destroying it stops the flusher: outcomes not yet flushed are
// dropped and those leases simply expire, so call flush() first on shutdown.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "core/error.h"
#include "queue/queue_backend.h"
#include "queue/redis/key_order.h"
#include "redis/endpoint.h"

namespace conveyor::queue {

struct DeadLetterRetention;  // dead_retention.h

// How a channel's companion keys are named: as they always were (one Redis), or hash-tagged on
// the list's name so that they share its slot (Redis Cluster).
enum class KeyLayout { plain, hash_tagged };
KeyLayout key_layout_of(const redis::Endpoint& endpoint);

class RedisQueue final : public QueueBackend {
 public:
  // Connects lazily, on first use. `lease_timeout`: how long a leased message
  // stays ours before it becomes leasable again. `retention`: how much of the
  // dead set is kept (copied). `max_message_bytes`: a larger message is
  // dead-lettered inside Redis by the lease script and never reaches the worker. `order`: the
  // per-key ordering rules (key_order.h); none (or none with an order_by) costs nothing. Every
  // worker of a channel must be given the same rules.
  RedisQueue(boost::asio::any_io_executor executor, redis::Endpoint endpoint, std::string channel,
             std::chrono::milliseconds lease_timeout, std::chrono::milliseconds connect_timeout,
             const DeadLetterRetention& retention, std::size_t max_message_bytes = SIZE_MAX,
             const std::vector<OrderRule>& order = {});
  ~RedisQueue() override;
  RedisQueue(const RedisQueue&) = delete;
  RedisQueue& operator=(const RedisQueue&) = delete;

  // Connects now, so that startup can report a bad address or password.
  // `why` gets a readable reason (never the password); it must outlive the call.
  boost::asio::awaitable<error_code> connect(std::string* why = nullptr);

  boost::asio::awaitable<Result<std::vector<Lease>>> lease(LeaseLimits limits) override;
  void acknowledge(const Lease& lease) override;
  void release(const Lease& lease) override;
  void retry_later(const Lease& lease, std::chrono::milliseconds delay) override;
  // A retry whose attempt is taken back, in the same batched script call as the retries.
  void park(const Lease& lease, std::chrono::milliseconds delay) override;
  void dead_letter(const Lease& lease, const DeadLetter& why) override;
  boost::asio::awaitable<error_code> flush() override;
  boost::asio::awaitable<Result<Backlog>> backlog() override;
  void on_failure(FailureHandler handler) override;
  std::size_t take_dead_lettered() override;

  // Test seam: runs on the flusher before each batch of outcomes is written. An exception it
  // throws is what a bug in the writer looks like: the queue then fails for good (see on_failure).
  void set_write_hook(std::function<void()> hook);

  // The Redis keys of a channel (one shard's list), for tools and tests. With KeyLayout::plain
  // (one Redis) they are as listed above; with KeyLayout::hash_tagged (a cluster) each companion
  // key's prefix is "{C}" instead of "C", so that it hashes, as the list "C" does, on C: every
  // key a script touches sits in the list's slot. A channel that holds a {tag} already hashes on
  // its tag: its companions only get the suffixes ("a{t}b:leases").
  struct Keys {
    std::string list, leases, bodies, attempts, delayed, dead, dead_bodies, dead_reasons, dead_bytes;
    std::string order_holders, order_key_of, order_waiting, order_sweep;
    std::string order_wait;  // the prefix of the wait lists: order_wait + key
  };
  static Keys keys_of(const std::string& channel, KeyLayout layout = KeyLayout::plain);

  struct State;  // shared with the flusher, so it can outlive `this` safely

 private:
  std::shared_ptr<State> state_;
};

}  // namespace conveyor::queue
