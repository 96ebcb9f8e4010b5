#include "cli/work_command.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "admin/admin_server.h"
#include "admin/monitor.h"
#include "cli/queues.h"
#include "cli/version.h"
#include "cli/route_wiring.h"
#include "route/http/http_routes.h"
#include "cli/live_line.h"
#include "cli/status_line.h"
#include "config/config_error.h"
#include "core/limits.h"
#include "dispatch/dispatcher.h"
#include "http/client.h"
#include "metrics/run_report.h"

namespace conveyor::cli {
namespace asio = boost::asio;

namespace {

constexpr auto kProgressEvery = std::chrono::seconds(5);
constexpr auto kLiveLineEvery = std::chrono::seconds(1);  // on a terminal
// Sockets the process needs besides partner and queue connections: logs, slack.
constexpr std::size_t kSpareFiles = 64;

// One share-nothing lane: everything here lives on `io` and its thread.
// When the dispatcher's run() ends, nothing is in flight and its outcomes are
// flushed; the io_context is then stopped (the queue's and the client's idle
// connections would keep it running) and the members are destroyed in
// reverse order, the io_context last, so no handler outlives what it uses.
std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Lane {
  // One thread runs it, and only that thread touches its sockets and timers (other threads only
  // post to it): the reactor's per-descriptor locks can go.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::unique_ptr<queue::QueueBackend> queue;
  std::unique_ptr<route::HttpRoutes> partner;
  std::unique_ptr<dispatch::Dispatcher> dispatcher;
  std::exception_ptr failure;
  std::thread thread;
  std::atomic<std::int64_t> heartbeat_ms{steady_ms()};  // the loop's last turn (steady clock), read by /healthz;
  // born beating: /healthz may be asked before the lane's thread first turns its loop
};

// Proves the lane's event loop still turns: a hung loop stops beating and /healthz fails.
asio::awaitable<void> heartbeat(Lane& lane) {
  asio::steady_timer timer(lane.io);
  while (true) {
    lane.heartbeat_ms.store(steady_ms(), std::memory_order_relaxed);
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

// Every lane's live counters summed, in all and by route index, and the routes' gates (shared by
// the lanes): atomics only, so any thread may call it.
admin::LaneFigures lane_figures(const std::vector<std::unique_ptr<Lane>>& lanes,
                                const std::vector<dispatch::RouteOptions>& routes) {
  admin::LaneFigures f;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& route : routes) {
    admin::RouteFigures r;
    r.name = route.name;
    if (route.gate) {
      r.in_flight = route.gate->in_flight();
      if (const std::size_t limit = route.gate->limit(); limit != SIZE_MAX) r.limit = limit;
      r.paused = route.gate->paused_until() > now;
      r.rate_limit_per_second = route.gate->rate_per_second();
    }
    f.routes.push_back(std::move(r));
  }
  for (const auto& lane : lanes) {
    const auto& d = *lane->dispatcher;
    const auto& s = d.stats();
    f.delivered += s.delivered.get();
    f.retried += s.retried.get();
    f.dead_lettered += s.dead_lettered.get();
    f.released += s.released.get();
    f.parked += s.parked.get();
    f.in_flight += s.in_flight.get();
    for (std::size_t i = 0; i < f.call_results.size(); ++i) f.call_results[i] += s.call_results[i].get();
    f.call_duration.merge(s.call_duration.snapshot());
    f.circuit_open += s.circuit_open.get();
    f.unrouted_dead_lettered += d.unrouted_dead_lettered();
    for (std::size_t i = 0; i < d.route_count() && i < f.routes.size(); ++i) {
      const auto& rs = d.route_stats(i);
      admin::RouteFigures& r = f.routes[i];
      r.delivered += rs.delivered.get();
      r.retried += rs.retried.get();
      r.dead_lettered += rs.dead_lettered.get();
      r.released += rs.released.get();
      r.parked += rs.parked.get();
      if (!routes[i].gate) r.in_flight += rs.in_flight.get();
      for (std::size_t c = 0; c < r.call_results.size(); ++c) r.call_results[c] += rs.call_results[c].get();
      r.call_duration.merge(rs.call_duration.snapshot());
      r.circuit_open += rs.circuit_open.get();
    }
    for (std::size_t r = 0; r < lane->partner->size(); ++r) {
      f.partner_connections += lane->partner->client(r).counters().connections_open;
    }
    f.heartbeats_ms.push_back(lane->heartbeat_ms.load(std::memory_order_relaxed));
  }
  return f;
}

// The admin listener, bound and serving; a bad or taken address is a configuration error.
std::unique_ptr<admin::AdminServer> start_admin(const config::Settings& settings, admin::Monitor& monitor,
                                                const QueueLayout& layout, admin::AdminConnector connect) {
  if (!admin::is_loopback_listen(settings.admin_listen) && settings.admin_token.empty()) {
    throw config::ConfigError(fmt::format(
        "ADMIN_LISTEN: {} is reachable from other hosts; set ADMIN_TOKEN, or listen on 127.0.0.1", settings.admin_listen));
  }
  admin::StaticInfo info{.version = std::string(build_version()),
                         .commit = std::string(build_commit()),
                         .queue = layout.describe(),
                         .concurrency = settings.concurrency};
  auto server = std::make_unique<admin::AdminServer>(
      admin::AdminServerOptions{.listen = settings.admin_listen, .token = settings.admin_token}, monitor,
      std::move(info), std::move(connect));
  if (const error_code ec = server->listen()) {
    if (ec == asio::error::address_in_use) {
      throw config::ConfigError(fmt::format(
          "ADMIN_LISTEN: {} is already in use (another worker on this host? give each its own port, or 0)",
          settings.admin_listen));
    }
    throw config::ConfigError(fmt::format("ADMIN_LISTEN: cannot listen on {}: {}", settings.admin_listen, ec.message()));
  }
  server->start();
  return server;
}

void write_report(const metrics::RunReport& report, const std::string& path) {
  std::ofstream out(path);
  out << boost::json::serialize(report.to_json()) << '\n';
  if (!out) spdlog::error("cannot write the report to {}", path);
}

}  // namespace

int run_work(const config::Settings& settings, const config::Layers& layers, const WorkOptions& options) {
  const QueueLayout layout = resolve_queues(settings);
  const std::size_t files = raise_open_files_limit();
  const std::size_t queue_sockets =
      settings.threads * queue_sockets_per_lane(layout, settings, settings.concurrency / settings.threads + 1);
  if (settings.concurrency + queue_sockets + kSpareFiles > files) {
    throw config::ConfigError(fmt::format("CONCURRENCY: {} partner connections need more open files than the limit ({})",
                                          settings.concurrency, files));
  }

  // The control thread's loop: the admin listener, the monitor, signals, and the refills of
  // cluster-scope rate limits; it outlives the lanes.
  asio::io_context control(1);
  ProcessRoutes routes(settings, layers, control.get_executor());

  std::vector<std::unique_ptr<Lane>> lanes;
  for (std::size_t i = 0; i < settings.threads; ++i) {
    auto lane = std::make_unique<Lane>();
    // Split the budget evenly; the first lanes take the remainder.
    const std::size_t share = settings.concurrency / settings.threads + (i < settings.concurrency % settings.threads);
    lane->partner = routes.lane_routes(lane->io.get_executor(), share);
    lane->queue = make_lane_queue(lane->io.get_executor(), layout, settings, share, routes.order_rules());
    lane->dispatcher = std::make_unique<dispatch::Dispatcher>(
        lane->io.get_executor(), *lane->queue, *lane->partner,
        dispatch::DispatcherOptions{.concurrency = share,
                                    .fetch_batch = settings.fetch_batch,
                                    .idle_poll = settings.idle_poll,
                                    .until_empty = options.until_empty,
                                    .max_message_bytes = settings.max_message_bytes,
                                    .fetch_max_bytes = settings.fetch_max_bytes,
                                    .max_in_flight_bytes = std::max<std::size_t>(
                                        1, settings.max_in_flight_bytes / settings.threads),
                                    .lanes = settings.threads,
                                    .routes = routes.options(),
                                    .policy = {},
                                    .circuit = {}});
    lanes.push_back(std::move(lane));
  }

  admin::AdminConnector connect = [&layout, &settings]() -> asio::awaitable<Result<std::unique_ptr<queue::QueueAdmin>>> {
    co_return co_await connect_admin(layout, settings, nullptr);
  };
  admin::Monitor monitor(control.get_executor(), [&lanes, &routes] { return lane_figures(lanes, routes.options()); }, connect, {});
  std::unique_ptr<admin::AdminServer> admin_server;
  std::string admin_text;
  if (settings.admin_listen != "off") {
    admin_server = start_admin(settings, monitor, layout, connect);
    const auto at = admin_server->local_endpoint();
    admin_text = fmt::format(", admin http://{}", at.address().is_v6() ? fmt::format("[{}]:{}", at.address().to_string(), at.port())
                                                                         : fmt::format("{}:{}", at.address().to_string(), at.port()));
  }

  spdlog::info("working {} -> {}: {} lanes, {} in flight, lease {}{}", layout.describe(),
               routes.describe(), lanes.size(), settings.concurrency,
               format_duration(settings.lease_timeout), admin_text);

  std::size_t running = lanes.size();
  const auto started = std::chrono::steady_clock::now();
  for (auto& lane_ptr : lanes) {
    Lane& lane = *lane_ptr;
    asio::co_spawn(lane.io, lane.dispatcher->run(), [&lane, &control, &running](std::exception_ptr e) {
      lane.failure = e;
      lane.io.stop();
      asio::post(control, [&control, &running] {
        if (--running == 0) control.stop();
      });
    });
    asio::co_spawn(lane.io, heartbeat(lane), asio::detached);
    lane.thread = std::thread([&lane] { lane.io.run(); });
  }
  monitor.start();

  // Signals: the first drains, the second leaves at once (unfinished leases
  // expire and come back to any worker, so nothing is lost either way).
  asio::signal_set signals(control, SIGINT, SIGTERM);
  asio::steady_timer shutdown_deadline(control);
  bool stopping = false;
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                            int signal) {
    if (ec) return;
    if (stopping) {
      spdlog::warn("second signal {}: exiting now; unfinished leases will expire and be re-delivered", signal);
      std::_Exit(1);
    }
    stopping = true;
    monitor.begin_shutdown();
    spdlog::info("signal {}: no more fetching; finishing in-flight calls within {}", signal,
                 format_duration(settings.shutdown_timeout));
    for (auto& lane : lanes) asio::post(lane->io, [&d = *lane->dispatcher] { d.stop(); });
    shutdown_deadline.expires_after(settings.shutdown_timeout);
    shutdown_deadline.async_wait([&](const boost::system::error_code& timer_ec) {
      if (timer_ec) return;
      spdlog::warn("shutdown timeout: giving unfinished messages back to the queue");
      for (auto& lane : lanes) asio::post(lane->io, [&d = *lane->dispatcher] { d.abandon(); });
    });
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  // Progress: on a terminal a status line redrawn every second, elsewhere a log line every 5 s.
  StatusLine& live_line = StatusLine::on_stderr();
  const auto progress_every = live_line.enabled() ? kLiveLineEvery : kProgressEvery;
  auto show_live_line = [&](bool last) {
    LiveFigures figures = live_figures(monitor.snapshot(), options.until_empty && !last);
    if (last) figures.backlog.reset();  // the queue's last sample may be seconds old by now
    live_line.show(format_live_line(figures));
  };
  asio::steady_timer progress(control);
  std::function<void(const boost::system::error_code&)> on_progress = [&](const boost::system::error_code& ec) {
    if (ec) return;
    if (live_line.enabled()) {
      show_live_line(false);
      progress.expires_after(progress_every);
      progress.async_wait(on_progress);
      return;
    }
    std::uint64_t delivered = 0, failed = 0, in_flight = 0;
    for (auto& lane : lanes) {
      const auto& s = lane->dispatcher->stats();
      delivered += s.delivered.get();
      failed += s.failed.get();
      in_flight += s.in_flight.get();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("delivered {} ({:.0f}/s), failed {}, in flight {}", delivered, delivered / seconds, failed,
                 in_flight);
    progress.expires_after(progress_every);
    progress.async_wait(on_progress);
  };
  progress.expires_after(progress_every);
  progress.async_wait(on_progress);

  control.run();
  if (live_line.enabled()) show_live_line(true);  // the final figures
  live_line.finish();
  if (admin_server) admin_server->stop();
  monitor.stop();
  const auto elapsed = std::chrono::steady_clock::now() - started;
  int exit_code = 0;
  std::vector<const metrics::DeliveryStats*> stats;
  for (auto& lane : lanes) {
    lane->thread.join();
    stats.push_back(&lane->dispatcher->stats());
    if (lane->failure) {
      exit_code = 1;
      try {
        std::rethrow_exception(lane->failure);
      } catch (const std::exception& e) {
        spdlog::error("a lane failed: {}", e.what());
      }
    }
  }

  auto report = metrics::RunReport::from(stats, elapsed);
  for (auto& lane : lanes) {
    for (std::size_t r = 0; r < lane->partner->size(); ++r) {
      report.connections_opened += lane->partner->client(r).counters().connections_opened;
    }
  }
  std::cout << report.to_text() << std::endl;
  if (!options.report_path.empty()) write_report(report, options.report_path);
  return exit_code;
}

}  // namespace conveyor::cli
