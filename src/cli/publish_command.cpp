#include "cli/publish_command.h"

#include <fstream>
#include <iostream>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/endpoints.h"
#include "config/config_error.h"
#include "publish/message_source.h"
#include "publish/publisher.h"
#include "queue/redis/redis_producer.h"
#include "queue/sharded_producer.h"
#include "queue/shards.h"

namespace conveyor::cli {
namespace asio = boost::asio;

namespace {

asio::awaitable<Result<publish::PublishSummary>> connect_and_publish(const config::Settings& settings,
                                                                     const redis::Endpoint& endpoint,
                                                                     publish::MessageSource& source) {
  auto executor = co_await asio::this_coro::executor;
  std::vector<std::unique_ptr<queue::Producer>> shards;
  for (const auto& name : queue::shard_names(settings.channel, settings.shards)) {
    auto connection = co_await redis::Connection::connect(executor, endpoint, settings.connect_timeout);
    if (!connection) co_return connection.error();
    shards.push_back(std::make_unique<queue::RedisProducer>(std::move(*connection), name));
  }
  if (shards.size() == 1) co_return co_await publish::publish_all(source, *shards.front(), {.batch = settings.publish_batch});
  queue::ShardedProducer producer(std::move(shards), settings.shard_key);
  co_return co_await publish::publish_all(source, producer, {.batch = settings.publish_batch});
}

}  // namespace

int run_publish(const config::Settings& settings, const PublishCommandOptions& options) {
  const redis::Endpoint endpoint = redis_endpoint(settings);
  if (settings.queue != config::QueueKind::redis) throw config::ConfigError("QUEUE: SQS is not supported by this build yet; use REDIS");

  std::unique_ptr<publish::MessageSource> source;
  std::ifstream file;
  publish::JsonLines* lines = nullptr;
  if (!options.input.empty()) {
    std::istream* in = &std::cin;
    if (options.input != "-") {
      file.open(options.input, std::ios::binary);
      if (!file) throw config::ConfigError(fmt::format("--input: cannot read '{}'", options.input));
      in = &file;
    }
    auto json_lines = std::make_unique<publish::JsonLines>(*in, [&](std::size_t line, const std::string& why) {
      spdlog::error("{}:{}: {}; not published", options.input == "-" ? "stdin" : options.input, line, why);
    });
    lines = json_lines.get();
    source = std::move(json_lines);
  } else {
    source = std::make_unique<publish::GeneratedMessages>(options.count);
  }

  asio::io_context io(1);
  Result<publish::PublishSummary> result = make_error_code(Error::shutting_down);
  asio::co_spawn(io, connect_and_publish(settings, endpoint, *source), [&](std::exception_ptr e, auto r) {
    if (e) std::rethrow_exception(e);
    result = std::move(r);
  });
  io.run();

  if (!result) {
    spdlog::error("publishing to {} at {} failed: {}", settings.channel, endpoint.to_string(),
                  result.error().message());
    return 1;
  }
  std::cout << fmt::format("published {} messages to {}{} in {:.2f}s ({:.0f} msg/s)", result->published,
                           settings.channel, settings.shards > 1 ? fmt::format(" ({} shards)", settings.shards) : "",
                           result->elapsed_seconds, result->messages_per_second());
  if (lines && lines->rejected() > 0) std::cout << fmt::format("; {} lines refused", lines->rejected());
  std::cout << std::endl;
  return lines && lines->rejected() > 0 ? 1 : 0;
}

}  // namespace conveyor::cli
