#include "queue/sharded_queue.h"

#include <algorithm>

namespace conveyor::queue {
namespace {

constexpr std::chrono::milliseconds kFirstPause{2};

}  // namespace

ShardedQueue::ShardedQueue(std::vector<std::unique_ptr<QueueBackend>> shards, std::chrono::milliseconds idle_poll)
    : idle_poll_(std::max(idle_poll, kFirstPause)) {
  shards_.reserve(shards.size());
  for (auto& backend : shards) shards_.push_back(Shard{std::move(backend)});
}

void ShardedQueue::pause(Shard& shard, std::chrono::steady_clock::time_point now) {
  shard.pause = std::min(std::max(shard.pause * 2, kFirstPause), idle_poll_);
  shard.skip_until = now + shard.pause;
}

boost::asio::awaitable<Result<std::vector<Lease>>> ShardedQueue::lease(LeaseLimits limits) {
  const std::size_t max = limits.messages;
  std::size_t bytes = 0;
  std::vector<Lease> out;
  error_code first_error;
  std::size_t asked = 0, failed = 0;
  const auto now = std::chrono::steady_clock::now();
  const std::size_t n = shards_.size();
  const std::size_t start = next_;
  next_ = (next_ + 1) % n;

  // Which shards to ask now, in fair order.
  std::vector<std::size_t> order;
  order.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (start + k) % n;
    if (now >= shards_[i].skip_until) order.push_back(i);
  }
  for (std::size_t k = 0; k < order.size() && out.size() < max && bytes < limits.bytes; ++k) {
    Shard& shard = shards_[order[k]];
    const std::size_t left = order.size() - k;
    const std::size_t share = (max - out.size() + left - 1) / left;  // even split of what remains
    ++asked;
    auto leased = co_await shard.backend->lease({share, limits.bytes - bytes});
    if (!leased) {
      if (leased.error() == Error::backend_failed) co_return leased.error();  // the lane must stop
      ++failed;
      if (!first_error) first_error = leased.error();
      pause(shard, now);
      continue;
    }
    if (leased->empty()) {
      pause(shard, now);
      continue;
    }
    shard.pause = std::chrono::milliseconds{0};
    for (auto& lease : *leased) {
      lease.shard = static_cast<std::uint32_t>(order[k]);
      bytes += lease.body.size();
      out.push_back(std::move(lease));
    }
  }
  // An error only when every shard asked failed: an empty shard is not one.
  if (asked > 0 && failed == asked) co_return first_error;
  co_return out;
}

void ShardedQueue::acknowledge(const Lease& lease) { shards_.at(lease.shard).backend->acknowledge(lease); }

void ShardedQueue::release(const Lease& lease) { shards_.at(lease.shard).backend->release(lease); }

void ShardedQueue::retry_later(const Lease& lease, std::chrono::milliseconds delay) {
  shards_.at(lease.shard).backend->retry_later(lease, delay);
}

void ShardedQueue::park(const Lease& lease, std::chrono::milliseconds delay) {
  shards_.at(lease.shard).backend->park(lease, delay);
}

void ShardedQueue::dead_letter(const Lease& lease, const DeadLetter& why) {
  shards_.at(lease.shard).backend->dead_letter(lease, why);
}

boost::asio::awaitable<error_code> ShardedQueue::on_every_shard(Step step) {
  error_code first_error;
  for (auto& shard : shards_) {
    if (auto ec = co_await (shard.backend.get()->*step)(); ec && !first_error) first_error = ec;
  }
  co_return first_error;
}

boost::asio::awaitable<error_code> ShardedQueue::flush() { return on_every_shard(&QueueBackend::flush); }

boost::asio::awaitable<error_code> ShardedQueue::shutdown() { return on_every_shard(&QueueBackend::shutdown); }

std::size_t ShardedQueue::take_dead_lettered() {
  std::size_t n = 0;
  for (auto& shard : shards_) n += shard.backend->take_dead_lettered();
  return n;
}

void ShardedQueue::on_failure(FailureHandler handler) {
  for (auto& shard : shards_) shard.backend->on_failure(handler);
}

void ShardedQueue::on_ready(ReadyHandler handler) {
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    if (!handler) {
      shards_[i].backend->on_ready(nullptr);
      continue;
    }
    // A shard that has messages again is no longer skipped as empty.
    shards_[i].backend->on_ready([this, i, handler] {
      shards_[i].pause = std::chrono::milliseconds{0};
      shards_[i].skip_until = {};
      handler();
    });
  }
}

boost::asio::awaitable<Result<Backlog>> ShardedQueue::backlog() {
  Backlog total;
  for (auto& shard : shards_) {
    auto backlog = co_await shard.backend->backlog();
    if (!backlog) co_return backlog.error();
    total.waiting += backlog->waiting;
    total.in_flight += backlog->in_flight;
  }
  co_return total;
}

}  // namespace conveyor::queue
