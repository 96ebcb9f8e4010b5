#include "queue/sqs/sqs_producer.h"

#include <array>
#include <charconv>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "queue/sqs/write_retry.h"

namespace conveyor::queue {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kBatch = 10;

sqs::ClientOptions with_connections(sqs::ClientOptions options, std::size_t connections) {
  options.max_connections = connections;
  return options;
}

}  // namespace

SqsProducer::SqsProducer(asio::any_io_executor executor, const sqs::ClientOptions& client, std::string queue_url,
                         std::size_t calls_in_flight)
    // Connections for several publish() calls at once: the publisher keeps 8 batches in flight.
    : client_(std::move(executor), with_connections(client, std::max<std::size_t>(calls_in_flight, 1) * 8)),
      queue_url_(std::move(queue_url)),
      calls_in_flight_(std::max<std::size_t>(calls_in_flight, 1)) {}

asio::awaitable<error_code> SqsProducer::connect(std::string* why) {
  const std::array<std::string_view, 1> names = {"MaximumMessageSize"};
  auto attributes = co_await client_.get_queue_attributes(queue_url_, names);
  if (!attributes) {
    if (why) *why = attributes.error().to_string();
    co_return attributes.error().code;
  }
  if (auto found = attributes->find("MaximumMessageSize"); found != attributes->end()) {
    std::size_t size = 0;
    auto [end, ec] = std::from_chars(found->second.data(), found->second.data() + found->second.size(), size);
    if (ec == std::errc{} && size > 0) max_message_bytes_ = size;
  }
  co_return error_code{};
}

asio::awaitable<error_code> SqsProducer::send(std::span<const std::string_view> bodies) {
  static constexpr std::array<std::string_view, kBatch> ids = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  std::vector<std::size_t> pending(bodies.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  sqs::WriteRetry retry;
  while (true) {
    std::vector<sqs::SendEntry> entries;
    for (std::size_t i : pending) entries.push_back({ids[i], bodies[i]});
    auto sent = co_await client_.send_message_batch(queue_url_, entries);
    std::vector<std::size_t> again;
    if (!sent) {
      if (!sent.error().retryable()) {
        spdlog::error("SendMessageBatch to {}: {}", queue_url_, sent.error().to_string());
        co_return sent.error().code;
      }
      again = pending;
    } else {
      for (const sqs::BatchFailure& failure : sent->failed) {
        if (failure.sender_fault) {
          spdlog::error("SendMessageBatch to {}: a message was refused: {} {}", queue_url_, failure.code,
                        failure.message);
          co_return make_error_code(sqs::SqsError::api_error);
        }
        if (failure.id.size() == 1 && failure.id[0] >= '0' && static_cast<std::size_t>(failure.id[0] - '0') < bodies.size()) {
          again.push_back(static_cast<std::size_t>(failure.id[0] - '0'));
        }
      }
    }
    if (again.empty()) co_return error_code{};
    pending = std::move(again);
    auto pause = retry.next();
    if (!pause) {
      spdlog::error("SendMessageBatch to {}: {} messages still failing after {} attempts{}", queue_url_,
                    pending.size(), retry.attempts(), sent ? "" : ": " + sent.error().to_string());
      co_return sent ? make_error_code(sqs::SqsError::api_error) : sent.error().code;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor, *pause);
    error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

asio::awaitable<error_code> SqsProducer::publish(std::span<const std::string_view> bodies) {
  auto executor = co_await asio::this_coro::executor;
  const std::size_t batches = (bodies.size() + kBatch - 1) / kBatch;
  std::size_t next = 0, running = 0;
  error_code first_error;
  asio::steady_timer done(executor, std::chrono::steady_clock::time_point::max());

  // `calls_in_flight_` senders take the next batch in turn; the last to end wakes us.
  auto sender = [&]() -> asio::awaitable<void> {
    while (next < batches && !first_error) {
      const std::size_t b = next++;
      auto part = bodies.subspan(b * kBatch, std::min(kBatch, bodies.size() - b * kBatch));
      if (auto ec = co_await send(part); ec && !first_error) first_error = ec;
    }
  };
  for (std::size_t i = 0; i < std::min(calls_in_flight_, batches); ++i) {
    ++running;
    asio::co_spawn(executor, sender(), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      if (--running == 0) done.cancel();
    });
  }
  error_code ignored;
  while (running > 0) co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_return first_error;
}

}  // namespace conveyor::queue
