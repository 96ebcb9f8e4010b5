// Spreads published messages over shard producers: round-robin message by
// message, or, with a shard key, by a stable hash (FNV-1a) of that top-level
// JSON field's value, so every message of one shipment lands in the same
// shard and keeps its order there. A message without the field (or not a
// JSON object) falls back to round-robin.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "queue/producer.h"

namespace conveyor::queue {

// Which of `shards` a message goes to by `key` (see above); nullopt when the
// message has no such field.
std::optional<std::size_t> shard_by_key(std::string_view body, std::string_view key, std::size_t shards);

class ShardedProducer final : public Producer {
 public:
  // `shard_key` empty: round-robin.
  ShardedProducer(std::vector<std::unique_ptr<Producer>> shards, std::string shard_key);

  // Starts the write of every shard's part before waiting for any, so that
  // concurrent calls still reach each shard in call order.
  boost::asio::awaitable<error_code> publish(std::span<const std::string_view> bodies) override;
  // The smallest of the shards' limits: a message may go to any of them.
  std::size_t max_message_bytes() const override;

 private:
  std::vector<std::unique_ptr<Producer>> shards_;
  std::string shard_key_;
  std::size_t next_ = 0;  // round-robin position
};

}  // namespace conveyor::queue
