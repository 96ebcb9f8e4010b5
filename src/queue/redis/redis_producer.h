// Publishes to the Redis list producers already use, with one multi-value
// RPUSH per batch. Batches sent concurrently share one pipelined connection,
// so they reach Redis, and the list, in call order.
#pragma once

#include <memory>
#include <string>

#include "queue/producer.h"
#include "redis/connection.h"

namespace conveyor::queue {

class RedisProducer final : public Producer {
 public:
  // `connection` is owned; `list` is the Redis key (CHANNEL_NAME).
  RedisProducer(std::unique_ptr<redis::Connection> connection, std::string list);
  boost::asio::awaitable<error_code> publish(std::span<const std::string_view> bodies) override;
  // Redis' limit for one string value.
  std::size_t max_message_bytes() const override { return 512u * 1024 * 1024; }

 private:
  std::unique_ptr<redis::Connection> connection_;
  std::string list_;
};

}  // namespace conveyor::queue
