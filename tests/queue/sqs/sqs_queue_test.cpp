// The SQS backend and producer against fauxqs, a real SQS emulator on 127.0.0.1: leases and their
// outcomes, parking that uses no attempt, visibility as the lease (expiry, extension, release on
// shutdown), the prefetch bound,
// backlog, and publishing in batches with the queue's size limit.
#include "queue/sqs/sqs_queue.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "queue/sqs/sqs_producer.h"
#include "support/coroutine.h"
#include "support/sqs_emulator.h"

namespace {

namespace asio = boost::asio;
using conveyor::error_code;
using conveyor::queue::Lease;
using conveyor::queue::SqsProducer;
using conveyor::queue::SqsQueue;
using conveyor::queue::SqsQueueOptions;
using conveyor::testing::run_coroutine;
using conveyor::testing::SqsEmulator;
using namespace std::chrono_literals;

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// Leases until `want` messages arrived or `limit` passed (receivers fill the buffer in the background).
asio::awaitable<std::vector<Lease>> lease_at_least(SqsQueue& queue, std::size_t want,
                                                   std::chrono::milliseconds limit = 10s) {
  std::vector<Lease> leased;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (leased.size() < want && std::chrono::steady_clock::now() < deadline) {
    auto batch = co_await queue.lease(want - leased.size());
    if (batch) {
      for (auto& lease : *batch) leased.push_back(std::move(lease));
    }
    if (leased.size() < want) co_await pause(10ms);
  }
  co_return leased;
}

class SqsQueueTest : public ::testing::Test {
 protected:
  SqsQueueOptions options(const std::string& url, std::chrono::seconds visibility = 30s) {
    if (dead_url_.empty()) dead_url_ = emulator_.create_queue("dead");
    return SqsQueueOptions{.queue_urls = {url}, .visibility_timeout = visibility, .wait_seconds = 1, .receivers = 2,
                           .prefetch = 20, .writers = 2, .dead_letter_url = dead_url_};
  }

  // Publishes `n` bodies "m0".."m<n-1>" through the producer under test.
  void publish(const std::string& url, std::size_t n) {
    asio::io_context io;
    SqsProducer producer(io.get_executor(), emulator_.client_options(), url, 4);
    std::vector<std::string> bodies;
    for (std::size_t i = 0; i < n; ++i) bodies.push_back("m" + std::to_string(i));
    const std::vector<std::string_view> views(bodies.begin(), bodies.end());
    run_coroutine(io, [&]() -> asio::awaitable<void> { EXPECT_FALSE(co_await producer.publish(views)); });
  }

  SqsEmulator emulator_;
  std::string dead_url_;
};

TEST_F(SqsQueueTest, AcknowledgedMessagesAreDeletedAndEachKeepsItsMessageId) {
  const std::string url = emulator_.create_queue("ack");
  publish(url, 25);
  EXPECT_EQ(emulator_.messages_in(url), 25u);

  asio::io_context io;
  SqsQueue queue(io.get_executor(), emulator_.client_options(), options(url));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    CO_ASSERT(!co_await queue.connect());
    auto leased = co_await lease_at_least(queue, 25);
    CO_ASSERT(leased.size() == 25u);
    std::set<std::string> bodies, ids;
    for (const Lease& lease : leased) {
      bodies.insert(lease.body);
      ids.insert(lease.id);
      EXPECT_EQ(lease.attempt, 1u);
      EXPECT_FALSE(lease.receipt.empty());
      queue.acknowledge(lease);
    }
    EXPECT_EQ(bodies.size(), 25u);
    EXPECT_EQ(ids.size(), 25u);
    EXPECT_FALSE(co_await queue.flush());
    auto backlog = co_await queue.backlog();
    CO_ASSERT(backlog);
    EXPECT_TRUE(backlog->empty());
    EXPECT_FALSE(co_await queue.shutdown());
  });
  EXPECT_EQ(emulator_.messages_in(url), 0u);
}

TEST_F(SqsQueueTest, SaysOnceWhenAReceiveBringsMessagesIntoAnEmptyBuffer) {
  const std::string url = emulator_.create_queue("ready");
  asio::io_context io;
  SqsQueue queue(io.get_executor(), emulator_.client_options(), options(url));
  std::size_t told = 0;
  queue.on_ready([&] { ++told; });
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto none = co_await queue.lease(10);  // starts the receivers
    CO_ASSERT(none && none->empty());
    publish(url, 3);  // its own io_context: this one waits meanwhile
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (told == 0 && std::chrono::steady_clock::now() < deadline) co_await pause(5ms);
    CO_ASSERT(told == 1u);
    auto leased = co_await lease_at_least(queue, 3);
    CO_ASSERT(leased.size() == 3u);
    for (const Lease& lease : leased) queue.acknowledge(lease);
    EXPECT_FALSE(co_await queue.shutdown());
  });
  // Told once per receive that found the buffer empty: here at most once per message.
  EXPECT_GE(told, 1u);
  EXPECT_LE(told, 3u);
  EXPECT_EQ(emulator_.messages_in(url), 0u);
}

TEST_F(SqsQueueTest, ReleasedMessagesComeBackAtOnceWithTheSameIdAndTheNextAttempt) {
  const std::string url = emulator_.create_queue("release");
  publish(url, 3);
  asio::io_context io;
  SqsQueue queue(io.get_executor(), emulator_.client_options(), options(url));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto first = co_await lease_at_least(queue, 3);
    CO_ASSERT(first.size() == 3u);
    std::set<std::string> ids;
    for (const Lease& lease : first) {
      ids.insert(lease.id);
      queue.release(lease);
    }
    EXPECT_FALSE(co_await queue.flush());
    auto again = co_await lease_at_least(queue, 3);
    CO_ASSERT(again.size() == 3u);
    for (const Lease& lease : again) {
      EXPECT_TRUE(ids.contains(lease.id)) << lease.id;
      EXPECT_EQ(lease.attempt, 2u);
      queue.acknowledge(lease);
    }
    EXPECT_FALSE(co_await queue.shutdown());
  });
  EXPECT_EQ(emulator_.messages_in(url), 0u);
}

TEST_F(SqsQueueTest, RetryLaterHidesTheMessageForTheDelay) {
  const std::string url = emulator_.create_queue("retry");
  publish(url, 1);
  asio::io_context io;
  SqsQueue queue(io.get_executor(), emulator_.client_options(), options(url));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto first = co_await lease_at_least(queue, 1);
    CO_ASSERT(first.size() == 1u);
    const auto retried_at = std::chrono::steady_clock::now();
    queue.retry_later(first[0], 2s);
    EXPECT_FALSE(co_await queue.flush());
    auto again = co_await lease_at_least(queue, 1, 10s);
    CO_ASSERT(again.size() == 1u);
    EXPECT_GE(std::chrono::steady_clock::now() - retried_at, 1900ms);
    EXPECT_EQ(again[0].id, first[0].id);
    queue.acknowledge(again[0]);
    EXPECT_FALSE(co_await queue.shutdown());
  });
}

// Parking is waiting, not trying: the message is re-sent with its id and the attempts it used, so it
// comes back every time with the same id and attempt, never before its delay, and meanwhile it is
// delayed in the queue instead of in flight.
TEST_F(SqsQueueTest, AParkedMessageComesBackWithTheSameIdAndAttemptEveryTime) {
  const std::string url = emulator_.create_queue("park");
  publish(url, 1);
  asio::io_context io;
  SqsQueue queue(io.get_executor(), emulator_.client_options(), options(url));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto first = co_await lease_at_least(queue, 1);
    CO_ASSERT(first.size() == 1u);
    CO_ASSERT(first[0].attempt == 1u);
    Lease current = first[0];
    for (int round = 0; round < 12; ++round) {  // more than any MAX_ATTEMPTS in use
      const auto parked_at = std::chrono::steady_clock::now();
      queue.park(current, 1s);
      EXPECT_FALSE(co_await queue.flush());
      auto backlog = co_await queue.backlog();
      CO_ASSERT(backlog);
      EXPECT_EQ(backlog->in_flight, 0u) << "round " << round;
      EXPECT_EQ(backlog->waiting, 1u) << "round " << round;
      auto again = co_await lease_at_least(queue, 1);
      CO_ASSERT(again.size() == 1u);
      EXPECT_GE(std::chrono::steady_clock::now() - parked_at, 1s) << "round " << round;
      EXPECT_EQ(again[0].id, first[0].id) << "the Idempotency-Key never changes";
      EXPECT_EQ(again[0].body, "m0");
      EXPECT_EQ(again[0].attempt, 1u) << "round " << round;
      current = again[0];
    }
    // A real attempt still counts, on the re-sent copy too.
    queue.retry_later(current, 0ms);
    EXPECT_FALSE(co_await queue.flush());
    auto retried = co_await lease_at_least(queue, 1);
    CO_ASSERT(retried.size() == 1u);
    EXPECT_EQ(retried[0].id, first[0].id);
    EXPECT_EQ(retried[0].attempt, 2u);
    // And a park after it keeps the attempts used.
    queue.park(retried[0], 0ms);
    EXPECT_FALSE(co_await queue.flush());
    auto parked = co_await lease_at_least(queue, 1);
    CO_ASSERT(parked.size() == 1u);
    EXPECT_EQ(parked[0].attempt, 2u);
    queue.acknowledge(parked[0]);
    EXPECT_FALSE(co_await queue.shutdown());
  });
  EXPECT_EQ(emulator_.messages_in(url), 0u);
}

// Many parks at once (written ten to a SendMessageBatch) all come back unattempted, and parking one
// twice re-sends it once.
TEST_F(SqsQueueTest, ManyParksAllComeBackUnattemptedAndAParkIsNeverSentTwice) {
  const std::string url = emulator_.create_queue("parks");
  publish(url, 20);
  asio::io_context io;
  SqsQueue queue(io.get_executor(), emulator_.client_options(), options(url));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto leased = co_await lease_at_least(queue, 20);
    CO_ASSERT(leased.size() == 20u);
    std::set<std::string> ids;
    for (const Lease& lease : leased) {
      ids.insert(lease.id);
      queue.park(lease, 1s);
    }
    queue.park(leased[0], 1s);  // not held any more: ignored
    EXPECT_FALSE(co_await queue.flush());
    EXPECT_EQ(emulator_.messages_in(url), 20u);
    auto again = co_await lease_at_least(queue, 20);
    CO_ASSERT(again.size() == 20u);
    for (const Lease& lease : again) {
      EXPECT_TRUE(ids.erase(lease.id)) << lease.id;
      EXPECT_EQ(lease.attempt, 1u);
      queue.acknowledge(lease);
    }
    EXPECT_FALSE(co_await queue.shutdown());
  });
  EXPECT_EQ(emulator_.messages_in(url), 0u);
}

// A message that SQS would refuse once the attributes are added (here a queue's smaller size limit;
// with SQS's own 1 MiB limit it is never even tried) is hidden in place for its delay instead: it
// keeps its id, and this one wait counts as an attempt.
TEST_F(SqsQueueTest, AParkedMessageTooLargeToReSendIsHiddenInPlace) {
  const std::string url = emulator_.create_queue("park-large", {{"MaximumMessageSize", "1024"}});
  const std::string giant_url = emulator_.create_queue("park-giant");
  const std::pair<std::string, std::size_t> queues[] = {{url, 1000},
                                                        {giant_url, conveyor::sqs::Client::max_message_bytes - 10}};
  for (const auto& [queue_url, size] : queues) {
    asio::io_context io;
    SqsProducer producer(io.get_executor(), emulator_.client_options(), queue_url);
    const std::string body(size, 'g');
    const std::vector<std::string_view> views = {body};
    run_coroutine(io, [&]() -> asio::awaitable<void> { EXPECT_FALSE(co_await producer.publish(views)); });
  }
  for (const std::string& queue_url : {url, giant_url}) {
    SCOPED_TRACE(queue_url);
    asio::io_context io;
    SqsQueue queue(io.get_executor(), emulator_.client_options(), options(queue_url));
    run_coroutine(io, [&]() -> asio::awaitable<void> {
      auto first = co_await lease_at_least(queue, 1);
      CO_ASSERT(first.size() == 1u);
      const auto parked_at = std::chrono::steady_clock::now();
      queue.park(first[0], 1s);
      EXPECT_FALSE(co_await queue.flush());
      auto again = co_await lease_at_least(queue, 1);
      CO_ASSERT(again.size() == 1u);
      EXPECT_GE(std::chrono::steady_clock::now() - parked_at, 1s);
      EXPECT_EQ(again[0].id, first[0].id);
      EXPECT_EQ(again[0].body, first[0].body);
      EXPECT_EQ(again[0].attempt, 2u) << "hidden in place: SQS counted a receive";
      queue.acknowledge(again[0]);
      EXPECT_FALSE(co_await queue.shutdown());
    });
    EXPECT_EQ(emulator_.messages_in(queue_url), 0u) << queue_url;
  }
}

// A worker that dies holding leases: its messages return to another worker once their visibility ends.
TEST_F(SqsQueueTest, AnAbandonedLeaseReturnsToAnotherWorkerAfterItsVisibility) {
  const std::string url = emulator_.create_queue("abandon");
  publish(url, 5);
  asio::io_context io;
  std::set<std::string> taken;
  {
    auto dying = std::make_unique<SqsQueue>(io.get_executor(), emulator_.client_options(), options(url, 2s));
    run_coroutine(io, [&]() -> asio::awaitable<void> {
      for (const Lease& lease : co_await lease_at_least(*dying, 5)) taken.insert(lease.id);
    });
    dying.reset();  // no release, no shutdown: as if killed
  }
  ASSERT_EQ(taken.size(), 5u);
  SqsQueue survivor(io.get_executor(), emulator_.client_options(), options(url));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto back = co_await lease_at_least(survivor, 5, 15s);
    CO_ASSERT(back.size() == 5u);
    for (const Lease& lease : back) {
      EXPECT_TRUE(taken.contains(lease.id));
      EXPECT_GE(lease.attempt, 2u);
      survivor.acknowledge(lease);
    }
    EXPECT_FALSE(co_await survivor.shutdown());
  });
  EXPECT_EQ(emulator_.messages_in(url), 0u);
}

// A delivery that outlives the visibility timeout keeps its message: nobody else receives it.
TEST_F(SqsQueueTest, ALongHeldLeaseHasItsVisibilityExtended) {
  const std::string url = emulator_.create_queue("extend");
  publish(url, 1);
  asio::io_context io;
  SqsQueue holder(io.get_executor(), emulator_.client_options(), options(url, 2s));
  SqsQueue other(io.get_executor(), emulator_.client_options(), options(url, 2s));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto held = co_await lease_at_least(holder, 1);
    CO_ASSERT(held.size() == 1u);
    // Three visibility timeouts long, the other worker polling all along.
    auto stolen = co_await lease_at_least(other, 1, 6s);
    EXPECT_TRUE(stolen.empty());
    holder.acknowledge(held[0]);
    EXPECT_FALSE(co_await holder.shutdown());
    EXPECT_FALSE(co_await other.shutdown());
  });
  EXPECT_EQ(emulator_.messages_in(url), 0u);
}

// Receivers never hold more than the prefetch bound, and shutdown gives it all back at once.
TEST_F(SqsQueueTest, PrefetchIsBoundedAndShutdownMakesItVisibleAgain) {
  const std::string url = emulator_.create_queue("prefetch");
  publish(url, 100);
  asio::io_context io;
  SqsQueue queue(io.get_executor(), emulator_.client_options(), options(url));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto leased = co_await lease_at_least(queue, 1);
    CO_ASSERT(leased.size() == 1u);
    co_await pause(500ms);  // receivers fill what room there is
    auto backlog = co_await queue.backlog();
    CO_ASSERT(backlog);
    EXPECT_LE(backlog->in_flight, 1u + 20u + 9u);  // the lease and at most `prefetch` + 9
    EXPECT_GE(backlog->in_flight, 11u);       // and they did prefetch
    queue.acknowledge(leased[0]);
    EXPECT_FALSE(co_await queue.shutdown());
    backlog = co_await queue.backlog();
    CO_ASSERT(backlog);
    EXPECT_EQ(backlog->in_flight, 0u);
    EXPECT_EQ(backlog->waiting, 99u);
  });
}

// Shards: every queue is read, even while another is empty, and each outcome goes back to the
// queue its message came from.
TEST_F(SqsQueueTest, ShardsAreAllReadAndOutcomesGoBackToTheirOwnQueue) {
  const std::string empty = emulator_.create_queue("shard-0");
  const std::string busy = emulator_.create_queue("shard-1");
  const std::string other = emulator_.create_queue("shard-2");
  publish(busy, 15);
  publish(other, 5);
  asio::io_context io;
  auto opts = options(empty);
  opts.queue_urls = {empty, busy, other};
  SqsQueue queue(io.get_executor(), emulator_.client_options(), opts);
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto leased = co_await lease_at_least(queue, 20);
    std::size_t from[3] = {0, 0, 0};
    for (const Lease& lease : leased) {
      CO_ASSERT(lease.shard < 3u);
      ++from[lease.shard];
      queue.acknowledge(lease);
    }
    EXPECT_EQ(leased.size(), 20u);
    EXPECT_EQ(from[0], 0u);
    EXPECT_EQ(from[1], 15u);
    EXPECT_EQ(from[2], 5u);
    EXPECT_FALSE(co_await queue.shutdown());
  });
  for (const auto& url : {empty, busy, other}) EXPECT_EQ(emulator_.messages_in(url), 0u) << url;
}

TEST_F(SqsQueueTest, ADeadLetterMovesTheUntouchedBodyWithItsReasonToTheDeadLetterQueue) {
  const std::string url = emulator_.create_queue("poisoned");
  publish(url, 3);
  asio::io_context io;
  SqsQueue queue(io.get_executor(), emulator_.client_options(), options(url));
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto leased = co_await lease_at_least(queue, 3);
    CO_ASSERT(leased.size() == 3u);
    for (const Lease& lease : leased) {
      if (lease.body == "m1") {
        queue.dead_letter(lease, conveyor::queue::DeadLetter{.reason = "partner answered 400", .status = 400,
                                                             .response = "bad phone"});
      } else {
        queue.acknowledge(lease);
      }
    }
    EXPECT_FALSE(co_await queue.shutdown());
  });
  EXPECT_EQ(emulator_.messages_in(url), 0u);

  conveyor::sqs::Client client(io.get_executor(), emulator_.client_options());
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    auto dead = co_await client.receive_message(dead_url_, 10, 1, std::nullopt,
                                                 conveyor::sqs::Client::all_attributes);
    CO_ASSERT(dead && dead->size() == 1u);
    EXPECT_EQ((*dead)[0].body, "m1");
    const auto reason = boost::json::parse((*dead)[0].attributes.at("conveyor-dead-letter")).as_object();
    EXPECT_EQ(reason.at("reason"), "partner answered 400");
    EXPECT_EQ(reason.at("status"), 400);
    EXPECT_EQ(reason.at("response"), "bad phone");
    EXPECT_EQ(reason.at("attempts"), 1);
  });
}

TEST_F(SqsQueueTest, AMissingQueueIsReportedByNameAtConnect) {
  const std::string url = emulator_.create_queue("exists");
  const std::string missing = url.substr(0, url.rfind('/') + 1) + "no-such-queue";
  asio::io_context io;
  SqsQueue queue(io.get_executor(), emulator_.client_options(), options(missing));
  SqsProducer producer(io.get_executor(), emulator_.client_options(), missing);
  run_coroutine(io, [&]() -> asio::awaitable<void> {
    std::string why;
    EXPECT_TRUE(co_await queue.connect(&why));
    EXPECT_NE(why.find("QueueDoesNotExist"), std::string::npos) << why;
    why.clear();
    EXPECT_TRUE(co_await producer.connect(&why));
    EXPECT_NE(why.find("QueueDoesNotExist"), std::string::npos) << why;
    EXPECT_EQ(why.find(SqsEmulator::credentials().secret_access_key), std::string::npos);
  });
}

TEST_F(SqsQueueTest, TheProducerReadsTheQueuesSizeLimit) {
  const std::string url = emulator_.create_queue("small", {{"MaximumMessageSize", "1024"}});
  asio::io_context io;
  SqsProducer producer(io.get_executor(), emulator_.client_options(), url);
  EXPECT_EQ(producer.max_message_bytes(), 262'144u);  // SQS's default, before it knows
  run_coroutine(io, [&]() -> asio::awaitable<void> { EXPECT_FALSE(co_await producer.connect()); });
  EXPECT_EQ(producer.max_message_bytes(), 1024u);
}

}  // namespace
