#include "cli/publish_command.h"

#include <fstream>
#include <functional>
#include <iostream>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/queues.h"
#include "config/config_error.h"
#include "publish/message_source.h"
#include "publish/publisher.h"

namespace conveyor::cli {
namespace asio = boost::asio;

namespace {

// Connects first, so the queue's own message size limit applies to what the source yields.
// Takes the source maker by value: a coroutine outlives the temporaries of its call.
asio::awaitable<Result<publish::PublishSummary>> connect_and_publish(
    const config::Settings& settings, const QueueLayout& layout,
    std::function<publish::MessageSource&(std::size_t max_bytes)> make_source, std::string* why) {
  auto producer = co_await connect_producer(layout, settings, why);
  if (!producer) co_return producer.error();
  publish::MessageSource& source = make_source((*producer)->max_message_bytes());
  co_return co_await publish::publish_all(source, **producer, {.batch = settings.publish_batch});
}

}  // namespace

int run_publish(const config::Settings& settings, const PublishCommandOptions& options) {
  const QueueLayout layout = resolve_queues(settings, DeadLetters::unused);  // publishing never dead-letters

  std::ifstream file;
  std::istream* in = &std::cin;
  if (!options.input.empty() && options.input != "-") {
    file.open(options.input, std::ios::binary);
    if (!file) throw config::ConfigError(fmt::format("--input: cannot read '{}'", options.input));
    in = &file;
  }
  // The source outlives the publishing coroutine: its refusals are counted after it ends.
  std::unique_ptr<publish::MessageSource> source;
  publish::JsonLines* lines = nullptr;
  auto make_source = [&](std::size_t max_bytes) -> publish::MessageSource& {
    if (options.input.empty()) {
      source = std::make_unique<publish::GeneratedMessages>(options.count);
      return *source;
    }
    auto json_lines = std::make_unique<publish::JsonLines>(
        *in,
        [&](std::size_t line, const std::string& why) {
          spdlog::error("{}:{}: {}; not published", options.input == "-" ? "stdin" : options.input, line, why);
        },
        max_bytes);
    lines = json_lines.get();
    source = std::move(json_lines);
    return *source;
  };

  asio::io_context io(1);
  Result<publish::PublishSummary> result = make_error_code(Error::shutting_down);
  std::string why;
  asio::co_spawn(io, connect_and_publish(settings, layout, make_source, &why), [&](std::exception_ptr e, auto r) {
    if (e) std::rethrow_exception(e);
    result = std::move(r);
  });
  io.run();

  if (!result) {
    spdlog::error("publishing to {} failed: {}", layout.describe(), why.empty() ? result.error().message() : why);
    return 1;
  }
  std::cout << fmt::format("published {} messages to {}{} in {:.2f}s ({:.0f} msg/s)", result->published,
                           settings.channel.empty() ? layout.shards.front() : settings.channel,
                           layout.shards.size() > 1 ? fmt::format(" ({} shards)", layout.shards.size()) : "",
                           result->elapsed_seconds, result->messages_per_second());
  if (lines && lines->rejected() > 0) std::cout << fmt::format("; {} lines refused", lines->rejected());
  std::cout << std::endl;
  return lines && lines->rejected() > 0 ? 1 : 0;
}

}  // namespace conveyor::cli
