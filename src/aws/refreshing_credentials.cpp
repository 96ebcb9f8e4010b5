#include "aws/refreshing_credentials.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace conveyor::aws {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kRefreshMargin = 5min;
constexpr auto kFirstBackoff = 1s, kLongestBackoff = 30s;

}  // namespace

class RefreshingCredentials::Impl {
 public:
  Impl(std::unique_ptr<CredentialsSource> source, TimedCredentials first)
      : source_(std::move(source)), name_(source_->name()), io_(1), timer_(io_) {
    if (!first.expiration) throw std::invalid_argument("refreshing credentials: the first set has no expiration");
    store(std::move(first), Clock::now());
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Impl() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  CredentialsPtr current() const {
    std::lock_guard lock(mutex_);
    return Clock::now() < expires_at_ ? current_ : nullptr;
  }
  const std::string& source() const { return name_; }
  RefreshCounters counters() const noexcept {
    return {refreshes_.load(std::memory_order_relaxed), failures_.load(std::memory_order_relaxed)};
  }

 private:
  // Keeps a fresh set and schedules its refresh; any thread before the thread starts, then its own.
  void store(TimedCredentials fresh, Clock::time_point fetched_at) {
    // Expiration is wall-clock time: as a steady deadline, so clock steps do not matter afterwards.
    const auto lifetime = std::chrono::duration_cast<Clock::duration>(*fresh.expiration -
                                                                      std::chrono::system_clock::now());
    {
      std::lock_guard lock(mutex_);
      current_ = std::make_shared<const Credentials>(std::move(fresh.credentials));
      expires_at_ = fetched_at + lifetime;
    }
    backoff_ = Clock::duration{0};
    schedule(fetched_at + refresh_after(lifetime));
  }

  void schedule(Clock::time_point at) {
    timer_.expires_at(at);
    timer_.async_wait([this](error_code ec) {
      if (!ec) asio::co_spawn(io_, refresh(), asio::detached);
    });
  }

  asio::awaitable<void> refresh() {
    const auto sent_at = Clock::now();
    SourceOutcome outcome = co_await source_->fetch();
    if (outcome && outcome->expiration && *outcome->expiration > std::chrono::system_clock::now()) {
      refreshes_.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("AWS credentials from {} refreshed", name_);
      store(std::move(*outcome), sent_at);
      co_return;
    }
    failures_.fetch_add(1, std::memory_order_relaxed);
    backoff_ = std::clamp<Clock::duration>(backoff_ * 2, kFirstBackoff, kLongestBackoff);
    const std::string why = !outcome ? outcome.error().message
                            : outcome->expiration ? "its answer had already expired"
                                                  : "its answer had no expiration";
    spdlog::warn("AWS credentials from {}: refresh failed, trying again in {} s: {}", name_,
                 std::chrono::duration_cast<std::chrono::seconds>(backoff_).count(), why);
    schedule(Clock::now() + backoff_);
  }

  const std::unique_ptr<CredentialsSource> source_;
  const std::string name_;
  asio::io_context io_;
  asio::steady_timer timer_;  // the thread's own
  Clock::duration backoff_{0};  // the thread's own
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;

  mutable std::mutex mutex_;  // guards the two below
  CredentialsPtr current_;
  Clock::time_point expires_at_{};

  std::atomic<std::uint64_t> refreshes_{0}, failures_{0};
};

RefreshingCredentials::RefreshingCredentials(std::unique_ptr<CredentialsSource> source, TimedCredentials first)
    : impl_(std::make_unique<Impl>(std::move(source), std::move(first))) {}
RefreshingCredentials::~RefreshingCredentials() = default;
CredentialsPtr RefreshingCredentials::current() const { return impl_->current(); }
const std::string& RefreshingCredentials::source() const { return impl_->source(); }
RefreshCounters RefreshingCredentials::counters() const noexcept { return impl_->counters(); }

std::chrono::steady_clock::duration RefreshingCredentials::refresh_after(std::chrono::steady_clock::duration lifetime) {
  return std::max<Clock::duration>(lifetime / 2, lifetime - kRefreshMargin);
}

}  // namespace conveyor::aws
