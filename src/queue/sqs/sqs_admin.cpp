// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// deallocation of Asio's awaitable coroutines (GCC bug 109224).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "queue/sqs/sqs_admin.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include <spdlog/spdlog.h>

namespace conveyor::queue {
namespace asio = boost::asio;

namespace {

// Bounds on one walk over the DLQ: receives that may come back empty while messages are still
// in flight elsewhere, and receives in all.
constexpr int kEmptyReceives = 3;
constexpr int kMaxReceives = 100'000;
// How long a walk hides what it received; longer than any walk over a DLQ an operator would run.
constexpr int kWalkVisibilitySeconds = 300;
constexpr std::array<std::string_view, 10> kEntryIds = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
constexpr std::array<std::string_view, 3> kCountNames = {
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"};

std::size_t count_of(const std::map<std::string, std::string>& attributes, std::string_view name) {
  auto found = attributes.find(std::string(name));
  if (found == attributes.end()) return 0;
  std::size_t value = 0;
  std::from_chars(found->second.data(), found->second.data() + found->second.size(), value);
  return value;
}

}  // namespace

SqsAdmin::SqsAdmin(asio::any_io_executor executor, const sqs::ClientOptions& client, std::vector<std::string> queue_urls,
                   std::string dead_letter_url)
    : client_(std::move(executor), client),
      queue_urls_(std::move(queue_urls)),
      dead_letter_url_(std::move(dead_letter_url)) {}

asio::awaitable<Result<std::vector<ShardCounts>>> SqsAdmin::counts() {
  std::vector<ShardCounts> out;
  for (const std::string& url : queue_urls_) {
    auto attributes = co_await client_.get_queue_attributes(url, kCountNames);
    if (!attributes) co_return attributes.error().code;
    out.push_back({.shard = url,
                   .waiting = count_of(*attributes, kCountNames[0]),
                   .in_flight = count_of(*attributes, kCountNames[1]),
                   .delayed = count_of(*attributes, kCountNames[2]),
                   .dead = 0});
  }
  auto dead = co_await client_.get_queue_attributes(dead_letter_url_, kCountNames);
  if (!dead) co_return dead.error().code;
  out.push_back({.shard = dead_letter_url_, .waiting = 0, .in_flight = 0, .delayed = 0,
                 .dead = count_of(*dead, kCountNames[0]) + count_of(*dead, kCountNames[1]) +
                         count_of(*dead, kCountNames[2])});
  co_return out;
}

asio::awaitable<Result<std::vector<DeadMessage>>> SqsAdmin::dead_letters(std::size_t limit, std::size_t body_bytes) {
  std::vector<DeadMessage> out;
  std::set<std::string> seen;
  int empty = 0;
  for (int i = 0; i < kMaxReceives && out.size() < limit && empty < kEmptyReceives; ++i) {
    const int want = static_cast<int>(std::min<std::size_t>(10, limit - out.size()));
    auto received = co_await client_.receive_message(dead_letter_url_, want, 0, 0, sqs::Client::all_attributes);
    if (!received) co_return received.error().code;
    std::size_t fresh = 0;
    for (auto& message : *received) {
      if (!seen.insert(message.message_id).second || out.size() >= limit) continue;
      ++fresh;
      if (message.body.size() > body_bytes) message.body.resize(body_bytes);  // SQS sends it whole (1 MiB at most)
      out.push_back({.id = message.message_id, .body = std::move(message.body),
                     .reason = message.attributes["conveyor-dead-letter"]});
    }
    empty = fresh == 0 ? empty + 1 : 0;
  }
  co_return out;
}

template <class Take>
asio::awaitable<Result<std::size_t>> SqsAdmin::drain(Take take) {
  std::size_t taken = 0;
  // Messages kept stay hidden until the walk ends, so it meets each message once; then they are
  // made visible again together.
  std::vector<std::string> kept;
  error_code failure;
  for (int i = 0, empty = 0; i < kMaxReceives && empty < kEmptyReceives && !failure; ++i) {
    auto received = co_await client_.receive_message(dead_letter_url_, 10, 0, kWalkVisibilitySeconds);
    if (!received) {
      failure = received.error().code;
      break;
    }
    empty = received->empty() ? empty + 1 : 0;
    std::vector<sqs::DeleteEntry> deletes;
    for (std::size_t k = 0; k < received->size(); ++k) {
      const sqs::Message& message = (*received)[k];
      auto verdict = co_await take(message);
      if (!verdict) {
        failure = verdict.error();
        kept.push_back(message.receipt_handle);
        continue;
      }
      if (*verdict) {
        deletes.push_back({kEntryIds[deletes.size()], message.receipt_handle});
      } else {
        kept.push_back(message.receipt_handle);
      }
    }
    if (!deletes.empty()) {
      auto deleted = co_await client_.delete_message_batch(dead_letter_url_, deletes);
      if (!deleted) {
        failure = deleted.error().code;
        break;
      }
      taken += deleted->successful.size();
    }
  }
  for (std::size_t begin = 0; begin < kept.size(); begin += 10) {
    std::vector<sqs::VisibilityEntry> visible;
    for (std::size_t k = begin; k < std::min(kept.size(), begin + 10); ++k) {
      visible.push_back({kEntryIds[k - begin], kept[k], 0});
    }
    auto changed = co_await client_.change_message_visibility_batch(dead_letter_url_, visible);
    if (!changed && !failure) failure = changed.error().code;
  }
  if (failure) co_return failure;
  co_return taken;
}

asio::awaitable<Result<std::size_t>> SqsAdmin::requeue(std::span<const std::string> ids) {
  const std::set<std::string> wanted(ids.begin(), ids.end());
  std::size_t remaining = wanted.size();
  if (wanted.empty()) {
    // "All" means the dead letters there now. Requeued messages a running worker dead-letters
    // again arrive in the queue being walked, and would be requeued again and again: the walk
    // takes no more than the queue held when it began (SQS's count, approximate on AWS).
    auto dead = co_await client_.get_queue_attributes(dead_letter_url_, kCountNames);
    if (!dead) co_return dead.error().code;
    remaining = count_of(*dead, kCountNames[0]) + count_of(*dead, kCountNames[1]);
  }
  co_return co_await drain([&](const sqs::Message& message) -> asio::awaitable<Result<bool>> {
    if (remaining == 0 || (!wanted.empty() && !wanted.contains(message.message_id))) co_return false;
    // Requeued as a producer would send it: the body alone, so its attempts count afresh.
    const std::array<sqs::SendEntry, 1> entry = {sqs::SendEntry{"0", message.body, {}}};
    auto sent = co_await client_.send_message_batch(queue_urls_.front(), entry);
    if (!sent) co_return Result<bool>(boost::system::in_place_error, sent.error().code);  // not "false"
    if (!sent->failed.empty()) {
      spdlog::error("cannot requeue {}: {} {}", message.message_id, sent->failed[0].code, sent->failed[0].message);
      co_return false;
    }
    --remaining;
    co_return true;
  });
}

asio::awaitable<Result<std::size_t>> SqsAdmin::purge() {
  co_return co_await drain([](const sqs::Message&) -> asio::awaitable<Result<bool>> { co_return true; });
}

}  // namespace conveyor::queue
