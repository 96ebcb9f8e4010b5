#include "queue/sharded_producer.h"

#include <algorithm>
#include <cstdint>

#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace conveyor::queue {
namespace {

// FNV-1a, 64 bit: stable across processes, machines and languages, so a
// producer written in anything can predict the shard too.
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

std::optional<std::size_t> shard_by_key(std::string_view body, std::string_view key, std::size_t shards) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto* field = value.as_object().if_contains(key);
  if (!field) return std::nullopt;
  // Strings hash by their text, anything else by its JSON form.
  const std::string text = field->is_string() ? std::string(field->as_string()) : boost::json::serialize(*field);
  return fnv1a(text) % shards;
}

ShardedProducer::ShardedProducer(std::vector<std::unique_ptr<Producer>> shards, std::string shard_key)
    : shards_(std::move(shards)), shard_key_(std::move(shard_key)) {}

std::size_t ShardedProducer::max_message_bytes() const {
  std::size_t smallest = SIZE_MAX;
  for (const auto& shard : shards_) smallest = std::min(smallest, shard->max_message_bytes());
  return smallest;
}

boost::asio::awaitable<error_code> ShardedProducer::publish(std::span<const std::string_view> bodies) {
  const std::size_t n = shards_.size();
  std::vector<std::vector<std::string_view>> parts(n);
  for (auto body : bodies) {
    std::optional<std::size_t> shard;
    if (!shard_key_.empty()) shard = shard_by_key(body, shard_key_, n);
    if (!shard) {
      shard = next_;
      next_ = (next_ + 1) % n;
    }
    parts[*shard].push_back(body);
  }

  // co_spawn from within the io_context runs each write up to its first
  // suspension, which is after it has queued its command: all shards' writes
  // are queued, in shard order, before we wait on any of them.
  auto executor = co_await boost::asio::this_coro::executor;
  std::size_t running = 0;
  error_code first_error;
  boost::asio::steady_timer all_done(executor, std::chrono::steady_clock::time_point::max());
  for (std::size_t i = 0; i < n; ++i) {
    if (parts[i].empty()) continue;
    ++running;
    boost::asio::co_spawn(executor, shards_[i]->publish(parts[i]), [&](std::exception_ptr e, error_code ec) {
      if (e) std::rethrow_exception(e);
      if (ec && !first_error) first_error = ec;
      if (--running == 0) all_done.cancel();
    });
  }
  error_code ignored;
  while (running > 0) co_await all_done.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
  co_return first_error;
}

}  // namespace conveyor::queue
