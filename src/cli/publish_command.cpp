#include "cli/publish_command.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/live_line.h"
#include "cli/queues.h"
#include "cli/status_line.h"
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
    std::function<publish::MessageSource&(std::size_t max_bytes)> make_source, publish::PublishOptions options,
    std::string* why) {
  auto producer = co_await connect_producer(layout, settings, why);
  if (!producer) co_return producer.error();
  publish::MessageSource& source = make_source((*producer)->max_message_bytes());
  co_return co_await publish::publish_all(source, **producer, std::move(options));
}

// The progress bar on a terminal (a no-op elsewhere): redrawn at most ten times a second as
// writes are confirmed, and once more, then ended with a newline, when publishing ends. The
// fraction done comes from --count, or from the bytes read of a regular --input file.
class ProgressBar {
 public:
  ProgressBar(StatusLine& line, std::optional<std::uint64_t> total, std::istream* file,
              std::optional<std::uint64_t> file_size)
      : line_(line), file_(file) {
    progress_.total = total;
    progress_.bytes_total = file_size;
  }

  void update(std::uint64_t published) {
    progress_.published = published;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < kRedrawEvery) return;
    draw(now);
  }

  void finish() {
    draw(std::chrono::steady_clock::now());
    line_.finish();
  }

 private:
  static constexpr auto kRedrawEvery = std::chrono::milliseconds(100);

  void draw(std::chrono::steady_clock::time_point now) {
    if (!line_.enabled()) return;
    last_draw_ = now;
    progress_.seconds = std::chrono::duration<double>(now - started_).count();
    if (file_ && progress_.bytes_total) {
      const auto at = file_->tellg();  // -1 once the last line has been read
      progress_.bytes_read = at < 0 ? *progress_.bytes_total : static_cast<std::uint64_t>(at);
    }
    line_.show(format_progress_bar(progress_));
  }

  StatusLine& line_;
  std::istream* file_;
  PublishProgress progress_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace

int run_publish(const config::Settings& settings, const PublishCommandOptions& options) {
  const QueueLayout layout = resolve_queues(settings, DeadLetters::unused);  // publishing never dead-letters

  std::ifstream file;
  std::istream* in = &std::cin;
  std::optional<std::uint64_t> file_size;
  if (!options.input.empty() && options.input != "-") {
    file.open(options.input, std::ios::binary);
    if (!file) throw config::ConfigError(fmt::format("--input: cannot read '{}'", options.input));
    in = &file;
    std::error_code ec;
    if (std::filesystem::is_regular_file(options.input, ec)) {
      const auto size = std::filesystem::file_size(options.input, ec);
      if (!ec) file_size = size;
    }
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

  ProgressBar bar(StatusLine::on_stderr(),
                  options.input.empty() ? std::optional<std::uint64_t>(options.count) : std::nullopt,
                  file_size ? in : nullptr, file_size);
  publish::PublishOptions publish_options{.batch = settings.publish_batch,
                                          .on_published = [&bar](std::uint64_t n) { bar.update(n); }};
  asio::io_context io(1);
  Result<publish::PublishSummary> result = make_error_code(Error::shutting_down);
  std::string why;
  asio::co_spawn(io, connect_and_publish(settings, layout, make_source, std::move(publish_options), &why),
                 [&](std::exception_ptr e, auto r) {
                   if (e) std::rethrow_exception(e);
                   result = std::move(r);
                 });
  io.run();
  bar.finish();

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
