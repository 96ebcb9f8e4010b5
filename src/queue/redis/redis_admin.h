// QueueAdmin over a channel's Redis keys (see redis_queue.h), every shard. Requeue and purge are
// Lua scripts: a dead letter moves back onto its shard's list (RPUSH, as a producer would) and
// leaves the dead set in one atomic step, so a crash mid-way neither loses nor doubles it; both keep
// the dead set's byte counter (C:dead:bytes) exact.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "queue/queue_admin.h"
#include "queue/redis/redis_queue.h"
#include "redis/connection.h"

namespace conveyor::queue {

class RedisAdmin final : public QueueAdmin {
 public:
  // `shards`: the channel's list names (queue::shard_names); `layout`: how their companion keys
  // are named (hash-tagged on a cluster, see RedisQueue::keys_of).
  RedisAdmin(std::unique_ptr<redis::Connection> connection, std::vector<std::string> shards,
             KeyLayout layout = KeyLayout::plain);

  boost::asio::awaitable<Result<std::vector<ShardCounts>>> counts() override;
  boost::asio::awaitable<Result<std::vector<DeadMessage>>> dead_letters(std::size_t limit, std::size_t body_bytes) override;
  bool lists_without_side_effects() const override { return true; }
  boost::asio::awaitable<Result<std::size_t>> requeue(std::span<const std::string> ids) override;
  boost::asio::awaitable<Result<std::size_t>> purge() override;

 private:
  std::unique_ptr<redis::Connection> connection_;
  std::vector<std::string> shards_;
  KeyLayout layout_;
};

}  // namespace conveyor::queue
