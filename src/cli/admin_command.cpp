#include "cli/admin_command.h"

#include <csignal>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/queues.h"
#include "cli/status_line.h"
#include "config/config_error.h"
#include "core/duration.h"
#include "queue/dead_letter.h"

namespace conveyor::cli {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

void print_stats(const std::vector<queue::ShardCounts>& shards, bool as_json) {
  if (as_json) {
    json::array rows;
    for (const auto& s : shards) {
      rows.push_back(json::object{{"shard", s.shard}, {"waiting", s.waiting}, {"in_flight", s.in_flight},
                                  {"delayed", s.delayed}, {"dead", s.dead}});
    }
    std::cout << json::serialize(rows) << std::endl;
    return;
  }
  std::cout << fmt::format("{:<40} {:>10} {:>10} {:>10} {:>10}\n", "shard", "waiting", "in flight", "delayed", "dead");
  queue::ShardCounts total{.shard = "total", .waiting = 0, .in_flight = 0, .delayed = 0, .dead = 0};
  for (const auto& s : shards) {
    std::cout << fmt::format("{:<40} {:>10} {:>10} {:>10} {:>10}\n", s.shard, s.waiting, s.in_flight, s.delayed, s.dead);
    total.waiting += s.waiting;
    total.in_flight += s.in_flight;
    total.delayed += s.delayed;
    total.dead += s.dead;
  }
  if (shards.size() > 1) {
    std::cout << fmt::format("{:<40} {:>10} {:>10} {:>10} {:>10}\n", total.shard, total.waiting, total.in_flight,
                             total.delayed, total.dead);
  }
  std::cout.flush();
}

void print_dead(const std::vector<queue::DeadMessage>& dead, bool as_json) {
  if (as_json) {
    json::array rows;
    for (const auto& d : dead) {
      error_code ec;
      json::value reason = json::parse(d.reason, ec);
      rows.push_back(json::object{{"id", d.id}, {"body", d.body}, {"reason", ec ? json::value(d.reason) : reason}});
    }
    std::cout << json::serialize(rows) << std::endl;
    return;
  }
  std::cout << fmt::format("{:<28} {:<24} {:>8} {:<40} {}\n", "id", "dead at", "attempts", "reason", "body");
  for (const auto& d : dead) {
    error_code ec;
    json::value reason = json::parse(d.reason, ec);
    std::string why = d.reason, at, attempts;
    if (!ec && reason.is_object()) {
      const auto& o = reason.get_object();
      if (auto* r = o.if_contains("reason"); r && r->is_string()) why = std::string(r->get_string());
      if (auto* a = o.if_contains("dead_at"); a && a->is_string()) at = std::string(a->get_string());
      if (auto* n = o.if_contains("attempts")) attempts = json::serialize(*n);
    }
    const std::string body = queue::printable(d.body.substr(0, 80)) + (d.body.size() > 80 ? "..." : "");
    std::cout << fmt::format("{:<28} {:<24} {:>8} {:<40} {}\n", d.id, at, attempts, why, body);
  }
  std::cout << fmt::format("{} dead letter(s) shown", dead.size()) << std::endl;
}

// `stats --watch`: the figures again every interval until SIGINT/SIGTERM, then 0. On a terminal
// the table replaces the last one (screen cleared, cursor home); elsewhere (a pipe, a file) the
// tables follow one another, a blank line apart (--json: one array per line). A failed read is
// logged and tried again at the next tick, as `watch` would.
asio::awaitable<int> watch_stats(queue::QueueAdmin& queue, const AdminOptions& options) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer tick(executor);
  asio::signal_set signals(executor, SIGINT, SIGTERM);
  bool stopping = false;
  // Runs with operation_aborted after this frame is gone: touches nothing then.
  signals.async_wait([&](const error_code& ec, int) {
    if (ec) return;
    stopping = true;
    tick.cancel();
  });
  const bool in_place = !options.json && stdout_is_terminal();
  bool first = true;
  while (!stopping) {
    auto counts = co_await queue.counts();
    if (stopping) break;
    if (!counts) {
      spdlog::warn("reading the queue's figures failed: {}; trying again in {}", counts.error().message(),
                   format_duration(options.interval));
    } else {
      if (in_place) {
        std::cout << fmt::format("\x1b[H\x1b[2Jevery {}; Ctrl-C to stop\n\n", format_duration(options.interval));
      } else if (!first && !options.json) {
        std::cout << '\n';
      }
      print_stats(*counts, options.json);
      first = false;
    }
    tick.expires_after(options.interval);
    error_code ignored;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return 0;
}

asio::awaitable<int> administer(const QueueLayout& layout, const config::Settings& settings, const AdminOptions& options) {
  std::string why;
  auto admin = co_await connect_admin(layout, settings, &why);
  if (!admin) {
    spdlog::error("cannot reach {}: {}", layout.describe(), why.empty() ? admin.error().message() : why);
    co_return 1;
  }
  queue::QueueAdmin& queue = **admin;
  switch (options.action) {
    case AdminOptions::Action::stats: {
      if (options.watch) co_return co_await watch_stats(queue, options);
      auto counts = co_await queue.counts();
      if (!counts) break;
      print_stats(*counts, options.json);
      co_return 0;
    }
    case AdminOptions::Action::list: {
      auto dead = co_await queue.dead_letters(options.limit, SIZE_MAX);  // the operator asked for them whole
      if (!dead) break;
      print_dead(*dead, options.json);
      co_return 0;
    }
    case AdminOptions::Action::requeue: {
      auto moved = co_await queue.requeue(options.ids);
      if (!moved) break;
      std::cout << fmt::format("requeued {} dead letter(s)", *moved) << std::endl;
      co_return 0;
    }
    case AdminOptions::Action::purge: {
      auto purged = co_await queue.purge();
      if (!purged) break;
      std::cout << fmt::format("purged {} dead letter(s)", *purged) << std::endl;
      co_return 0;
    }
  }
  spdlog::error("{} failed", layout.describe());
  co_return 1;
}

}  // namespace

int run_admin(const config::Settings& settings, const AdminOptions& options) {
  if (options.action == AdminOptions::Action::requeue && options.all == !options.ids.empty()) {
    throw config::ConfigError("dlq requeue: give either --all or --id ID...");
  }
  if (options.action == AdminOptions::Action::purge && !options.yes) {
    throw config::ConfigError("dlq purge: deletes every dead letter for good; confirm with --yes");
  }
  const QueueLayout layout = resolve_queues(settings);
  asio::io_context io(1);
  int code = 1;
  asio::co_spawn(io, administer(layout, settings, options), [&](std::exception_ptr e, int result) {
    if (e) std::rethrow_exception(e);
    code = result;
  });
  io.run();
  return code;
}

}  // namespace conveyor::cli
