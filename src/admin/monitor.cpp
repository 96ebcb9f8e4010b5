#include "admin/monitor.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace conveyor::admin {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTick = std::chrono::seconds(1);

// Delivered per second and call-latency percentiles between `first` (`seconds` ago) and `now`.
RouteRecent recent(std::uint64_t delivered, const metrics::DurationHistogram::Snapshot& duration,
                   std::uint64_t first_delivered, const metrics::DurationHistogram::Snapshot& first_duration,
                   double seconds) {
  RouteRecent out;
  if (seconds > 0.5) out.rate_per_second = static_cast<double>(delivered - std::min(delivered, first_delivered)) / seconds;
  const auto window = duration.since(first_duration);
  out.latency_p50_ms = window.quantile(0.50) * 1000;
  out.latency_p99_ms = window.quantile(0.99) * 1000;
  return out;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

}  // namespace

Monitor::Monitor(asio::any_io_executor executor, FigureSource figures, AdminConnector connect, MonitorOptions options)
    : executor_(std::move(executor)),
      figures_(std::move(figures)),
      connect_(std::move(connect)),
      options_(options),
      sample_timer_(executor_),
      tick_timer_(executor_) {}

Monitor::~Monitor() = default;

void Monitor::start() {
  asio::co_spawn(executor_, sample_queue(), asio::detached);
  asio::co_spawn(executor_, tick(), asio::detached);
}

void Monitor::stop() {
  stopping_ = true;
  sample_timer_.cancel();
  tick_timer_.cancel();
}

void Monitor::begin_shutdown() {
  std::lock_guard lock(mutex_);
  shutting_down_ = true;
}

asio::awaitable<void> Monitor::sample_queue() {
  while (!stopping_) {
    QueueSample sample;
    if (!admin_) {
      auto connected = co_await connect_();
      if (connected) {
        admin_ = std::move(*connected);
      } else {
        sample.reason = "the queue cannot be reached: " + connected.error().message();
      }
    }
    if (admin_) {
      // No co_await inside a conditional expression: GCC 12 destroys its temporaries twice.
      error_code failed;
      auto counts = co_await admin_->counts();
      if (counts) {
        Result<std::vector<queue::DeadMessage>> dead = std::vector<queue::DeadMessage>{};
        if (admin_->lists_without_side_effects()) {
          dead = co_await admin_->dead_letters(options_.dead_letters, options_.dead_letter_body_bytes);
        }
        if (dead) {
          sample.ok = true;
          sample.reason.clear();
          sample.shards = std::move(*counts);
          sample.dead_letters = std::move(*dead);
        } else {
          failed = dead.error();
        }
      } else {
        failed = counts.error();
      }
      if (failed) {
        sample.reason = "the queue cannot be read: " + failed.message();
        admin_.reset();  // a fresh connection next time
      }
    }
    if (!stopping_) {
      std::lock_guard lock(mutex_);
      // Info, not a warning: the queue's own outage log already warns, once per attempt.
      if (!sample.ok && queue_.ok) spdlog::info("not ready: {}", sample.reason);
      if (sample.ok && !queue_.ok && !queue_.shards.empty()) spdlog::info("ready again: the queue answers");
      // A failed read keeps the last figures: they are the best known, and readiness says the rest.
      if (!sample.ok) {
        sample.shards = queue_.shards;
        sample.dead_letters = queue_.dead_letters;
      }
      queue_ = std::move(sample);
    }
    sample_timer_.expires_after(options_.sample_every);
    error_code ignored;
    co_await sample_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

asio::awaitable<void> Monitor::tick() {
  while (!stopping_) {
    const LaneFigures figures = figures_();
    {
      std::lock_guard lock(mutex_);
      Mark mark{Clock::now(), {figures.delivered, figures.call_duration}, {}};
      for (const auto& r : figures.routes) mark.routes.push_back({r.delivered, r.call_duration});
      marks_.push_back(std::move(mark));
      while (marks_.size() > 1 && marks_.back().at - marks_.front().at > options_.recent_window) marks_.pop_front();
    }
    tick_timer_.expires_after(kTick);
    error_code ignored;
    co_await tick_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

Status Monitor::snapshot() const {
  Status s;
  s.figures = figures_();
  const auto now = Clock::now();
  s.uptime_seconds = std::chrono::duration<double>(now - started_).count();
  const std::int64_t now_in_ms = now_ms();
  for (std::size_t lane = 0; lane < s.figures.heartbeats_ms.size(); ++lane) {
    const std::int64_t silent = now_in_ms - s.figures.heartbeats_ms[lane];
    if (silent > options_.heartbeat_limit.count()) {
      s.healthy = false;
      s.health_reason = fmt::format("lane {} has not run its loop for {} ms", lane, silent);
      break;
    }
  }
  std::lock_guard lock(mutex_);
  s.queue = queue_;
  s.ready = queue_.ok && !shutting_down_;
  s.ready_reason = shutting_down_ ? "shutting down" : queue_.reason;
  s.routes_recent.resize(s.figures.routes.size());
  if (!marks_.empty()) {
    const Mark& first = marks_.front();
    const double seconds = std::chrono::duration<double>(now - first.at).count();
    const RouteRecent all =
        recent(s.figures.delivered, s.figures.call_duration, first.all.delivered, first.all.duration, seconds);
    s.rate_per_second = all.rate_per_second;
    s.latency_p50_ms = all.latency_p50_ms;
    s.latency_p99_ms = all.latency_p99_ms;
    for (std::size_t r = 0; r < s.figures.routes.size() && r < first.routes.size(); ++r) {
      const auto& route = s.figures.routes[r];
      s.routes_recent[r] = recent(route.delivered, route.call_duration, first.routes[r].delivered,
                                  first.routes[r].duration, seconds);
    }
  }
  return s;
}

}  // namespace conveyor::admin
