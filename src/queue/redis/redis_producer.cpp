#include "queue/redis/redis_producer.h"

#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

namespace conveyor::queue {

RedisProducer::RedisProducer(std::unique_ptr<redis::Connection> connection, std::string list)
    : connection_(std::move(connection)), list_(std::move(list)) {}

boost::asio::awaitable<error_code> RedisProducer::publish(std::span<const std::string_view> bodies) {
  if (bodies.empty()) co_return error_code{};
  std::vector<std::string_view> args;
  args.reserve(bodies.size() + 2);
  args.push_back("RPUSH");
  args.push_back(list_);
  args.insert(args.end(), bodies.begin(), bodies.end());
  auto reply = co_await connection_->command(args);
  if (!reply) co_return reply.error();
  if (reply->is_error()) {
    spdlog::error("RPUSH {}: {}", list_, reply->string);
    co_return make_error_code(Error::redis_reply);
  }
  co_return error_code{};
}

}  // namespace conveyor::queue
