#include "cli/demo_command.h"

#include <csignal>
#include <iostream>
#include <string>

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/publish_command.h"
#include "cli/work_command.h"
#include "config/settings.h"
#include "core/child_process.h"
#include "http/fetch.h"
#include "redis/local_server.h"

namespace conveyor::cli {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);

std::string self_path(const char* argv0) {
  // /proc/self/exe survives a relative argv[0] and a changed directory.
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(argv0) : exe.string();
}

}  // namespace

int run_demo(const DemoOptions& options, const char* self) {
  std::cout << fmt::format("conveyor demo: {} messages, partner latency {}ms, {} in flight on {} threads\n",
                           options.count, options.delay.count(), options.concurrency, options.threads);

  spdlog::set_level(spdlog::level::warn);  // the demo prints its own story
  redis::LocalServer redis;
  std::cout << "  redis-server     " << redis.url() << '\n';

  auto partner = ChildProcess::spawn({self_path(self), "partner", "--listen", "127.0.0.1:0", "--delay",
                                      std::to_string(options.delay.count()) + "ms", "--threads", "1"});
  const auto listening = partner.read_line(kStartTimeout);
  if (!listening || !listening->starts_with("listening on ")) {
    spdlog::error("the partner simulator did not start");
    return 1;
  }
  const std::string partner_address = listening->substr(std::string("listening on ").size());
  std::cout << "  partner          http://" << partner_address << " (answers after "
            << options.delay.count() << "ms)\n";

  config::Layers layers;
  layers.flags = {{"CHANNEL_NAME", "demo:shipments"},
                  {"REDIS_URL", redis.url()},
                  {"TARGET_URL", "http://" + partner_address + "/shipments"},
                  {"CONCURRENCY", std::to_string(options.concurrency)},
                  {"THREADS", std::to_string(options.threads)},
                  {"ADMIN_LISTEN", "127.0.0.1:0"},  // never in the way of a worker already on 9464
                  {"LOG_LEVEL", "warn"}};
  const auto settings = config::load_settings(layers);

  std::cout << "  publish          ";
  std::cout.flush();
  if (run_publish(settings, {.count = options.count, .input = {}}) != 0) return 1;
  std::cout << "  work             ";
  std::cout.flush();
  const auto started = std::chrono::steady_clock::now();
  if (run_work(settings, config::Layers{}, {.until_empty = true, .report_path = {}}) != 0) return 1;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  auto page = http::fetch("http://" + partner_address + "/stats", std::chrono::seconds(5));
  if (!page || page->status != 200) {
    spdlog::error("cannot read the partner's /stats");
    return 1;
  }
  const auto stats = boost::json::parse(page->body).as_object();
  const auto unique = stats.at("unique_keys").to_number<std::uint64_t>();
  const auto duplicates = stats.at("duplicates").to_number<std::uint64_t>();
  const double ideal = static_cast<double>(options.count) * std::chrono::duration<double>(options.delay).count() /
                       static_cast<double>(options.concurrency);
  const bool exact = unique == options.count && duplicates == 0;

  std::cout << fmt::format(
      "\nreport\n"
      "  published        {}\n"
      "  partner received {} distinct messages, {} duplicates\n"
      "  wall time        {:.2f}s (ideal {:.2f}s = {} x {}ms / {}; efficiency {:.0f}%)\n"
      "  result           {}\n",
      options.count, unique, duplicates, wall, ideal, options.count, options.delay.count(), options.concurrency,
      wall > 0 ? 100.0 * ideal / wall : 0.0,
      exact ? "every message delivered exactly once" : "MISMATCH: messages lost or doubled");
  partner.signal(SIGTERM);
  partner.wait(std::chrono::seconds(5));
  return exact ? 0 : 1;
}

}  // namespace conveyor::cli
