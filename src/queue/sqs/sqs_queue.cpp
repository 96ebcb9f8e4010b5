// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// deallocation of Asio's awaitable coroutines (GCC bug 109224).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "queue/sqs/sqs_queue.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <stdexcept>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "queue/sqs/write_retry.h"

namespace conveyor::queue {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kBatch = 10;  // SQS's most entries per batch call
constexpr std::size_t kMaxVisibilitySeconds = 43'200;
// A batch of fewer than ten outcomes waits this long for more before it goes, unless someone
// is flushing: at thousands of acknowledgements a second, full batches cost a tenth of the calls.
constexpr auto kLinger = 5ms;
constexpr auto kFirstReceiveBackoff = 50ms;
constexpr auto kMaxReceiveBackoff = 5s;
// A parked message is re-sent with these attributes (see park()), and receive asks for them.
constexpr std::string_view kIdAttribute = "conveyor-id";
constexpr std::string_view kAttemptsAttribute = "conveyor-attempts";
constexpr std::array<std::string_view, 2> kParkAttributes = {kIdAttribute, kAttemptsAttribute};
constexpr int kMaxDelaySeconds = 900;  // SQS's longest DelaySeconds
constexpr std::array<std::string_view, kBatch> kEntryIds = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

// A delay in whole seconds, rounded up (never earlier than asked), within SQS's visibility range.
int seconds_of(std::chrono::milliseconds delay) {
  return static_cast<int>(std::clamp<long long>((delay.count() + 999) / 1000, 0, kMaxVisibilitySeconds));
}

// The batch entry an id of kEntryIds names, or kBatch for none.
std::size_t entry_index(std::string_view id) {
  return id.size() == 1 && id[0] >= '0' && id[0] <= '9' ? static_cast<std::size_t>(id[0] - '0') : kBatch;
}

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

// One outcome to write: a deletion (visibility < 0) or a visibility change.
struct PendingWrite {
  std::string receipt;
  int visibility = -1;
};

// A parked message waiting to be re-sent: the lease, and the attempts it used so far.
struct PendingPark {
  Lease lease;
  std::string attempts_used;  // lease.attempt - 1, as the conveyor-attempts attribute
  int delay_seconds = 0;      // the delay asked, rounded up, at most 12 h
  std::size_t bytes = 0;      // its size as SQS counts it, attributes included

  std::array<sqs::MessageAttribute, 2> attributes() const {
    return {sqs::MessageAttribute{kIdAttribute, lease.id}, sqs::MessageAttribute{kAttemptsAttribute, attempts_used}};
  }
};

// The outcomes waiting for one queue (shard): batch calls name a single queue.
struct ShardWrites {
  std::deque<PendingWrite> deletes;
  std::deque<PendingWrite> changes;
  std::deque<PendingPark> parks;
};

sqs::ClientOptions receive_options(sqs::ClientOptions options, const SqsQueueOptions& queue) {
  // A long poll answers after wait_seconds at most; the timeout only catches a dead peer.
  options.request_timeout = std::max(options.request_timeout, std::chrono::milliseconds(std::chrono::seconds(queue.wait_seconds + 10)));
  options.max_connections = queue.receivers * queue.queue_urls.size();
  return options;
}

sqs::ClientOptions write_options(sqs::ClientOptions options, const SqsQueueOptions& queue) {
  options.max_connections = queue.writers + 2;  // and backlog queries
  return options;
}

const SqsQueueOptions& checked(const SqsQueueOptions& options) {
  if (options.queue_urls.empty()) throw std::invalid_argument("SQS queue: no queue URL");
  for (const auto& url : options.queue_urls) {
    if (url.empty()) throw std::invalid_argument("SQS queue: a queue URL is empty");
  }
  if (options.visibility_timeout < 1s || options.visibility_timeout.count() > static_cast<long>(kMaxVisibilitySeconds)) {
    throw std::invalid_argument("SQS queue: the visibility timeout must be 1 s to 12 h");
  }
  if (options.wait_seconds < 0 || options.wait_seconds > 20) {
    throw std::invalid_argument("SQS queue: the receive wait must be 0 to 20 s");
  }
  if (options.dead_letter_url.empty()) throw std::invalid_argument("SQS queue: no dead-letter queue URL");
  if (options.receivers == 0 || options.writers == 0) {
    throw std::invalid_argument("SQS queue: receivers and writers must be at least 1");
  }
  return options;
}

}  // namespace

struct SqsQueue::State {
  State(asio::any_io_executor ex, const sqs::ClientOptions& client_options, SqsQueueOptions queue_options)
      : executor(ex),
        options(std::move(queue_options)),
        receive_client(ex, receive_options(client_options, checked(options))),
        client(ex, write_options(client_options, options)),
        writes(options.queue_urls.size()),
        linger(ex),
        idle(ex, Clock::time_point::max()),
        heartbeat(ex) {
    // Room for one call of every receiver: a receiver long-polling an empty shard holds its
    // share, and a smaller buffer would let it starve the receivers of busy shards.
    options.prefetch = std::max(options.prefetch, options.receivers * options.queue_urls.size() * kBatch);
  }

  asio::any_io_executor executor;
  SqsQueueOptions options;
  sqs::Client receive_client;  // long polls only: shutdown cancels them all at once
  sqs::Client client;          // outcomes and queries

  std::deque<Lease> buffer;                                 // received, not yet leased
  std::size_t buffer_bytes = 0;                             // the bodies in `buffer`
  struct Held {
    Clock::time_point visible_again;  // when SQS would hand the message to someone else
    std::uint32_t shard;
  };
  // By receipt: received and not yet settled. Open addressing: one probe of a flat array per
  // receive and per settlement, where std::unordered_map chased a node per lookup (4 % of the worker).
  boost::unordered_flat_map<std::string, Held> held;
  std::size_t receiving = 0;                                // ReceiveMessage calls in flight
  std::size_t receivers_running = 0;
  std::vector<asio::steady_timer*> waiting_for_room;  // parked receivers, woken by cancelling
  std::vector<asio::steady_timer*> backing_off;       // receivers sleeping after a failure
  error_code receive_error;                           // the last receive's failure, until one succeeds
  ReadyHandler on_ready;                              // told when the buffer stops being empty
  bool started = false;
  bool closing = false;

  std::vector<ShardWrites> writes;  // by shard
  std::size_t pending_writes = 0;   // in all of `writes`
  std::size_t next_shard = 0;       // where pump() looks first, so every shard gets its turn
  std::size_t writing = 0;
  std::size_t flushing = 0;  // flush() callers waiting
  bool linger_armed = false;
  error_code dropped;        // an outcome given up on since the last flush()
  asio::steady_timer linger;
  asio::steady_timer idle;   // cancelled whenever writes go idle or a receiver ends
  asio::steady_timer heartbeat;

  bool writes_idle() const { return pending_writes == 0 && writing == 0; }
  void add_write(std::uint32_t shard, PendingWrite write) {
    auto& queue = write.visibility < 0 ? writes.at(shard).deletes : writes.at(shard).changes;
    queue.push_back(std::move(write));
    ++pending_writes;
  }
  void add_park(std::uint32_t shard, PendingPark park) {
    writes.at(shard).parks.push_back(std::move(park));
    ++pending_writes;
  }
  // Another receive may start while the buffer and the receives under way leave room: the
  // buffer then holds at most prefetch + 9, and a lease of up to prefetch finds enough. In
  // bytes, it holds at most prefetch_bytes plus what the receives under way bring (ten
  // messages of at most 1 MiB each).
  bool can_receive() const {
    return buffer.size() + receiving * kBatch < options.prefetch && buffer_bytes < options.prefetch_bytes;
  }
  int visibility_seconds() const { return static_cast<int>(options.visibility_timeout.count()); }
};

namespace {

using State = SqsQueue::State;

void wake(std::vector<asio::steady_timer*>& parked) {
  for (auto* timer : parked) timer->cancel();
  parked.clear();
}

asio::awaitable<void> wait_on(std::vector<asio::steady_timer*>& parked, asio::steady_timer& timer,
                              Clock::time_point until) {
  timer.expires_at(until);
  parked.push_back(&timer);
  error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  std::erase(parked, &timer);
}

// The idle timer never expires: it only wakes waiters by being cancelled, and it is never re-armed,
// because re-arming would cancel the other waiters in turn.
asio::awaitable<void> wait_idle(State& s) {
  error_code ignored;
  co_await s.idle.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

void pump(const std::shared_ptr<State>& s, bool force = false);
asio::awaitable<void> send_parked(std::shared_ptr<State> s, std::size_t shard, std::vector<PendingPark> batch);

// A writer's end: its slot goes to the next batch, and flush() hears once everything is written.
void writer_done(const std::shared_ptr<State>& s) {
  --s->writing;
  pump(s);
  if (s->writes_idle()) s->idle.cancel();
}

// The pause between two tries of a write.
asio::awaitable<void> sleep_for(State& s, std::chrono::milliseconds pause) {
  asio::steady_timer timer(s.executor, pause);
  error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// Writes one batch of one kind, retrying what failed for reasons that retrying can fix.
asio::awaitable<void> write_batch(std::shared_ptr<State> s, std::size_t shard, bool deleting,
                                  std::vector<PendingWrite> batch) {
  const std::string& url = s->options.queue_urls[shard];
  sqs::WriteRetry retry;
  while (!batch.empty()) {
    sqs::Outcome<sqs::BatchResult> result = sqs::BatchResult{};
    if (deleting) {
      std::vector<sqs::DeleteEntry> entries;
      for (std::size_t i = 0; i < batch.size(); ++i) entries.push_back({kEntryIds[i], batch[i].receipt});
      result = co_await s->client.delete_message_batch(url, entries);
    } else {
      std::vector<sqs::VisibilityEntry> entries;
      for (std::size_t i = 0; i < batch.size(); ++i) entries.push_back({kEntryIds[i], batch[i].receipt, batch[i].visibility});
      result = co_await s->client.change_message_visibility_batch(url, entries);
    }
    std::vector<PendingWrite> again;
    if (!result) {
      if (result.error().retryable()) again = std::move(batch);
      else spdlog::warn("SQS refused {} outcomes: {}", batch.size(), result.error().to_string());
    } else {
      for (const sqs::BatchFailure& failure : result->failed) {
        const std::size_t i = entry_index(failure.id);
        if (i >= batch.size()) continue;
        // Our fault, typically a receipt made stale by an expired visibility: the message is
        // someone else's now (or gone), and retrying cannot change that.
        if (failure.sender_fault) {
          spdlog::debug("SQS refused an outcome: {} {}", failure.code, failure.message);
          continue;
        }
        again.push_back(std::move(batch[i]));
      }
    }
    batch = std::move(again);
    if (batch.empty()) break;
    auto pause = retry.next();
    if (!pause) {
      spdlog::warn("SQS: giving up on {} {} after {} attempts ({}); those messages come back when their "
                   "visibility ends", batch.size(), deleting ? "deletions" : "visibility changes", retry.attempts(),
                   result ? "entries failed" : result.error().to_string());
      s->dropped = result ? make_error_code(sqs::SqsError::api_error) : result.error().code;
      break;
    }
    co_await sleep_for(*s, *pause);
  }
  writer_done(s);
}

// Starts batch writes while writers are free, visiting shards in turn; holds back a part batch
// for kLinger unless forced.
void pump(const std::shared_ptr<State>& s, bool force) {
  const bool hurry = force || s->flushing > 0 || s->closing;
  bool held_back = false;
  for (bool started = true; started && s->writing < s->options.writers;) {
    started = false;
    for (std::size_t k = 0; k < s->writes.size() && s->writing < s->options.writers; ++k) {
      const std::size_t shard = (s->next_shard + k) % s->writes.size();
      for (const bool deleting : {true, false}) {
        auto& pending = deleting ? s->writes[shard].deletes : s->writes[shard].changes;
        if (pending.empty() || s->writing >= s->options.writers) continue;
        if (pending.size() < kBatch && !hurry) {
          held_back = true;
          continue;
        }
        const std::size_t n = std::min(kBatch, pending.size());
        std::vector<PendingWrite> batch(std::make_move_iterator(pending.begin()),
                                        std::make_move_iterator(pending.begin() + static_cast<std::ptrdiff_t>(n)));
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
        s->pending_writes -= n;
        ++s->writing;
        started = true;
        asio::co_spawn(s->executor, write_batch(s, shard, deleting, std::move(batch)), rethrow);
      }
      auto& parks = s->writes[shard].parks;
      if (parks.empty() || s->writing >= s->options.writers) continue;
      if (parks.size() < kBatch && !hurry) {
        held_back = true;
        continue;
      }
      // Ten at most, and within SendMessageBatch's total size (one message's limit).
      std::vector<PendingPark> batch;
      std::size_t bytes = 0;
      while (!parks.empty() && batch.size() < kBatch &&
             (batch.empty() || bytes + parks.front().bytes <= sqs::Client::max_message_bytes)) {
        bytes += parks.front().bytes;
        batch.push_back(std::move(parks.front()));
        parks.pop_front();
      }
      s->pending_writes -= batch.size();
      ++s->writing;
      started = true;
      asio::co_spawn(s->executor, send_parked(s, shard, std::move(batch)), rethrow);
    }
    s->next_shard = (s->next_shard + 1) % s->writes.size();
  }
  if (held_back && !s->linger_armed) {
    s->linger_armed = true;
    s->linger.expires_after(kLinger);
    s->linger.async_wait([s](error_code) {
      s->linger_armed = false;
      pump(s, true);
    });
  }
}

// Sends one message to the DLQ, then deletes it from its queue; if the DLQ cannot take it, the
// message stays where it is and comes back when its visibility ends (nothing is lost).
asio::awaitable<void> send_to_dead_letter_queue(std::shared_ptr<State> s, Lease lease, std::string reason) {
  const std::array<sqs::MessageAttribute, 1> attributes = {sqs::MessageAttribute{"conveyor-dead-letter", reason}};
  const std::array<sqs::SendEntry, 1> entry = {sqs::SendEntry{"0", lease.body, attributes}};
  sqs::WriteRetry retry;
  bool sent = false;
  while (!sent) {
    auto result = co_await s->client.send_message_batch(s->options.dead_letter_url, entry);
    sent = result && result->failed.empty();
    if (sent) break;
    const bool retryable = result ? !result->failed.front().sender_fault : result.error().retryable();
    auto pause = retryable ? retry.next() : std::nullopt;
    if (!pause) {
      spdlog::error("SQS: cannot dead-letter message {} into {}: {}; it comes back when its visibility ends",
                    lease.id, s->options.dead_letter_url,
                    result ? result->failed.front().code + " " + result->failed.front().message : result.error().to_string());
      s->dropped = make_error_code(sqs::SqsError::api_error);
      break;
    }
    co_await sleep_for(*s, *pause);
  }
  if (sent) s->add_write(lease.shard, {std::move(lease.receipt), -1});
  writer_done(s);
}

// A parked message that cannot be re-sent (too large with its attributes, refused, or SQS keeps
// failing): hidden for its delay in place instead, which SQS counts as one more receive.
void park_in_place(State& s, PendingPark& park, std::string_view why) {
  spdlog::debug("SQS: cannot re-send parked message {} ({}); hiding it for {} s instead, which counts an attempt",
                park.lease.id, why, park.delay_seconds);
  s.add_write(park.lease.shard, {std::move(park.lease.receipt), park.delay_seconds});
}

// Re-sends parked messages to their own queue, due after their delay (at most 900 s) and carrying
// their id and the attempts they used; deletes each original only once its copy is sent, so a
// crash in between duplicates a message and never loses one.
asio::awaitable<void> send_parked(std::shared_ptr<State> s, std::size_t shard, std::vector<PendingPark> batch) {
  const std::string& url = s->options.queue_urls[shard];
  sqs::WriteRetry retry;
  while (!batch.empty()) {
    std::vector<std::array<sqs::MessageAttribute, 2>> attributes;
    attributes.reserve(batch.size());  // the entries view them
    std::vector<sqs::SendEntry> entries;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      attributes.push_back(batch[i].attributes());
      entries.push_back({kEntryIds[i], batch[i].lease.body, attributes.back(),
                         std::min(batch[i].delay_seconds, kMaxDelaySeconds)});
    }
    auto result = co_await s->client.send_message_batch(url, entries);
    std::vector<PendingPark> again;
    if (!result) {
      if (result.error().retryable()) {
        again = std::move(batch);
      } else {
        for (PendingPark& park : batch) park_in_place(*s, park, result.error().to_string());
      }
    } else {
      std::vector<bool> settled(batch.size(), false);
      for (const sqs::SendSuccess& sent : result->successful) {
        const std::size_t i = entry_index(sent.id);
        if (i >= batch.size() || settled[i]) continue;
        settled[i] = true;
        s->add_write(batch[i].lease.shard, {std::move(batch[i].lease.receipt), -1});  // the copy is in
      }
      for (const sqs::BatchFailure& failure : result->failed) {
        const std::size_t i = entry_index(failure.id);
        if (i >= batch.size() || settled[i]) continue;
        settled[i] = true;
        if (failure.sender_fault) park_in_place(*s, batch[i], failure.code + " " + failure.message);
        else again.push_back(std::move(batch[i]));
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!settled[i]) again.push_back(std::move(batch[i]));  // not reported: send it again
      }
    }
    batch = std::move(again);
    if (batch.empty()) break;
    auto pause = retry.next();
    if (!pause) {
      const std::string why = fmt::format("still failing after {} attempts", retry.attempts());
      for (PendingPark& park : batch) park_in_place(*s, park, why);
      break;
    }
    co_await sleep_for(*s, *pause);
  }
  writer_done(s);
}

void change_visibility(const std::shared_ptr<State>& s, const Lease& lease, int seconds) {
  s->held.erase(lease.receipt);
  s->add_write(lease.shard, {lease.receipt, seconds});
  pump(s);
}

// A received message as a lease. A parked copy carries its original id and the attempts used
// before it was parked, so neither its Idempotency-Key nor its attempt count moves by waiting.
Lease lease_of(sqs::Message&& message, std::uint32_t shard) {
  std::uint32_t used = 0;
  std::string id = std::move(message.message_id);
  if (auto found = message.attributes.find(std::string(kIdAttribute));
      found != message.attributes.end() && !found->second.empty()) {
    id = std::move(found->second);
  }
  if (auto found = message.attributes.find(std::string(kAttemptsAttribute)); found != message.attributes.end()) {
    const std::string& text = found->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), used);
    if (ec != std::errc{} || end != text.data() + text.size()) used = 0;
  }
  return Lease{.id = std::move(id),
               .body = std::move(message.body),
               .attempt = used + std::max(1u, message.approximate_receive_count),
               .shard = shard,
               .receipt = std::move(message.receipt_handle)};
}

asio::awaitable<void> receive_loop(std::shared_ptr<State> s, std::uint32_t shard) {
  asio::steady_timer timer(s->executor);
  auto backoff = Clock::duration(kFirstReceiveBackoff);
  while (!s->closing) {
    if (!s->can_receive()) {
      co_await wait_on(s->waiting_for_room, timer, Clock::time_point::max());
      continue;
    }
    ++s->receiving;
    auto received = co_await s->receive_client.receive_message(s->options.queue_urls[shard], kBatch, s->options.wait_seconds,
                                                               s->visibility_seconds(), kParkAttributes);
    --s->receiving;
    if (!received) {
      if (s->closing) break;
      if (!s->receive_error) spdlog::warn("SQS: cannot receive messages: {}", received.error().to_string());
      s->receive_error = received.error().code;
      co_await wait_on(s->backing_off, timer, Clock::now() + backoff);
      backoff = std::min<Clock::duration>(backoff * 2, kMaxReceiveBackoff);
      continue;
    }
    if (s->receive_error) spdlog::info("SQS: receiving again");
    s->receive_error = {};
    backoff = kFirstReceiveBackoff;
    const auto visible_again = Clock::now() + s->options.visibility_timeout;
    const bool was_empty = s->buffer.empty();
    for (sqs::Message& message : *received) {
      if (s->closing) {  // received during shutdown: give it straight back
        s->add_write(shard, {std::move(message.receipt_handle), 0});
        continue;
      }
      s->held.emplace(message.receipt_handle, State::Held{visible_again, shard});
      s->buffer_bytes += message.body.size();
      s->buffer.push_back(lease_of(std::move(message), shard));
    }
    if (was_empty && !s->buffer.empty() && s->on_ready) s->on_ready();
    pump(s);
  }
  --s->receivers_running;
  s->idle.cancel();
}

// Extends the visibility of every message held past half of it, a quarter period ahead of need.
asio::awaitable<void> keep_visible(std::shared_ptr<State> s) {
  const auto period = std::max<Clock::duration>(s->options.visibility_timeout / 4, 250ms);
  while (!s->closing) {
    s->heartbeat.expires_after(period);
    error_code ignored;
    co_await s->heartbeat.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (s->closing) break;
    const auto now = Clock::now();
    std::size_t extended = 0;
    for (auto& [receipt, held] : s->held) {
      if (held.visible_again - now >= s->options.visibility_timeout / 2) continue;
      s->add_write(held.shard, {receipt, s->visibility_seconds()});
      held.visible_again = now + s->options.visibility_timeout;
      ++extended;
    }
    if (extended > 0) {
      spdlog::debug("SQS: extending the visibility of {} messages held long", extended);
      pump(s, true);
    }
  }
}

}  // namespace

SqsQueue::SqsQueue(asio::any_io_executor executor, const sqs::ClientOptions& client, SqsQueueOptions options)
    : state_(std::make_shared<State>(std::move(executor), client, std::move(options))) {}

SqsQueue::~SqsQueue() {
  // Coroutines still running own the state; tell them to end.
  state_->closing = true;
  state_->receive_client.cancel_all();
  wake(state_->waiting_for_room);
  wake(state_->backing_off);
  state_->heartbeat.cancel();
}

asio::awaitable<error_code> SqsQueue::connect(std::string* why) {
  const std::array<std::string_view, 1> names = {"VisibilityTimeout"};
  for (const std::string& url : state_->options.queue_urls) {
    auto attributes = co_await state_->client.get_queue_attributes(url, names);
    if (attributes) continue;
    if (why) *why = fmt::format("{}: {}", url, attributes.error().to_string());
    co_return attributes.error().code;
  }
  co_return error_code{};
}

asio::awaitable<Result<std::vector<Lease>>> SqsQueue::lease(LeaseLimits limits) {
  auto& s = state_;
  if (s->closing) co_return make_error_code(Error::shutting_down);
  if (!s->started) {
    s->started = true;
    for (std::uint32_t shard = 0; shard < s->options.queue_urls.size(); ++shard) {
      for (std::size_t i = 0; i < s->options.receivers; ++i) {
        ++s->receivers_running;
        asio::co_spawn(s->executor, receive_loop(s, shard), rethrow);
      }
    }
    asio::co_spawn(s->executor, keep_visible(s), rethrow);
  }
  if (s->buffer.empty() && s->receive_error) co_return s->receive_error;
  // Within the byte budget, but at least one message.
  std::size_t n = 0, bytes = 0;
  while (n < std::min(limits.messages, s->buffer.size())) {
    const std::size_t size = s->buffer[n].body.size();
    if (n > 0 && bytes + size > limits.bytes) break;
    bytes += size;
    ++n;
  }
  s->buffer_bytes -= bytes;
  std::vector<Lease> out(std::make_move_iterator(s->buffer.begin()),
                         std::make_move_iterator(s->buffer.begin() + static_cast<std::ptrdiff_t>(n)));
  s->buffer.erase(s->buffer.begin(), s->buffer.begin() + static_cast<std::ptrdiff_t>(n));
  if (n > 0) wake(s->waiting_for_room);
  co_return out;
}

void SqsQueue::acknowledge(const Lease& lease) {
  state_->held.erase(lease.receipt);
  state_->add_write(lease.shard, {lease.receipt, -1});
  pump(state_);
}

void SqsQueue::on_ready(ReadyHandler handler) { state_->on_ready = std::move(handler); }

void SqsQueue::release(const Lease& lease) { change_visibility(state_, lease, 0); }

void SqsQueue::dead_letter(const Lease& lease, const DeadLetter& why) {
  state_->held.erase(lease.receipt);
  ++state_->writing;  // flush() waits for it like any write
  asio::co_spawn(state_->executor, send_to_dead_letter_queue(state_, lease, why.to_json(lease.attempt)), rethrow);
}

void SqsQueue::retry_later(const Lease& lease, std::chrono::milliseconds delay) {
  change_visibility(state_, lease, seconds_of(delay));
}

void SqsQueue::park(const Lease& lease, std::chrono::milliseconds delay) {
  // Re-sending a message we no longer hold would duplicate it: parked or settled already, nothing
  // to do; held past its visibility (the heartbeat fell behind), someone may have it now.
  auto held = state_->held.find(lease.receipt);
  if (held == state_->held.end()) {
    spdlog::debug("SQS: message {} is parked but no longer held: ignored", lease.id);
    return;
  }
  const bool expired = held->second.visible_again <= Clock::now();
  state_->held.erase(held);
  PendingPark park{.lease = lease,
                   .attempts_used = std::to_string(lease.attempt > 0 ? lease.attempt - 1 : 0),
                   .delay_seconds = seconds_of(delay)};
  park.bytes = sqs::message_size(lease.body, park.attributes());
  if (expired) {
    park_in_place(*state_, park, "its visibility may have ended");
  } else if (park.bytes > sqs::Client::max_message_bytes) {
    park_in_place(*state_, park, "too large with its attributes");
  } else {
    state_->add_park(lease.shard, std::move(park));
  }
  pump(state_);
}

asio::awaitable<error_code> SqsQueue::flush() {
  auto s = state_;
  ++s->flushing;
  pump(s, true);
  while (!s->writes_idle()) co_await wait_idle(*s);
  --s->flushing;
  co_return std::exchange(s->dropped, {});
}

asio::awaitable<Result<Backlog>> SqsQueue::backlog() {
  static constexpr std::array<std::string_view, 3> names = {
      "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesNotVisible"};
  Backlog total;
  for (const std::string& url : state_->options.queue_urls) {
    auto attributes = co_await state_->client.get_queue_attributes(url, names);
    if (!attributes) co_return attributes.error().code;
    auto count = [&](std::string_view name) -> std::size_t {
      auto found = attributes->find(std::string(name));
      if (found == attributes->end()) return 0;
      std::size_t value = 0;
      std::from_chars(found->second.data(), found->second.data() + found->second.size(), value);
      return value;
    };
    total.waiting += count(names[0]) + count(names[1]);
    total.in_flight += count(names[2]);
  }
  co_return total;
}

asio::awaitable<error_code> SqsQueue::shutdown() {
  auto s = state_;
  s->closing = true;
  s->heartbeat.cancel();
  wake(s->waiting_for_room);
  wake(s->backing_off);
  // Receives under way are waited out, never cancelled: SQS finishes a long poll whose client
  // went away, and the messages it hands to nobody stay hidden for a whole visibility timeout.
  // What they bring is given back below; the wait is at most SQS_WAIT_TIME.
  while (s->receivers_running > 0) co_await wait_idle(*s);
  for (const Lease& lease : s->buffer) {
    s->held.erase(lease.receipt);
    s->add_write(lease.shard, {lease.receipt, 0});
  }
  s->buffer.clear();
  s->buffer_bytes = 0;
  co_return co_await flush();
}

}  // namespace conveyor::queue
