#include "publish/publisher.h"

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace conveyor::publish {
namespace {

struct Shared {
  MessageSource& source;
  queue::Producer& producer;
  std::size_t batch;
  const std::function<void(std::uint64_t)>& on_published;
  std::uint64_t published = 0;
  error_code first_error;
};

// One of several concurrent senders. Taking a batch and starting its write
// happen without suspending in between, so writes leave in the order the
// messages were taken.
boost::asio::awaitable<void> sender(Shared& shared) {
  std::vector<std::string> bodies;
  std::vector<std::string_view> views;
  bodies.reserve(shared.batch);
  while (!shared.first_error) {
    bodies.clear();
    while (bodies.size() < shared.batch) {
      auto message = shared.source.next();
      if (!message) break;
      bodies.push_back(std::move(*message));
    }
    if (bodies.empty()) co_return;
    views.assign(bodies.begin(), bodies.end());
    if (auto ec = co_await shared.producer.publish(views)) {
      if (!shared.first_error) shared.first_error = ec;
      co_return;
    }
    shared.published += bodies.size();
    if (shared.on_published) shared.on_published(shared.published);
  }
}

}  // namespace

boost::asio::awaitable<Result<PublishSummary>> publish_all(MessageSource& source, queue::Producer& producer,
                                                           PublishOptions options) {
  const auto started = std::chrono::steady_clock::now();
  Shared shared{source, producer, std::max<std::size_t>(1, options.batch), options.on_published, 0, {}};
  auto executor = co_await boost::asio::this_coro::executor;

  // Senders run concurrently; the last one to finish wakes us by cancelling
  // the timer we wait on.
  std::size_t running = std::max<std::size_t>(1, options.batches_in_flight);
  boost::asio::steady_timer all_done(executor, std::chrono::steady_clock::time_point::max());
  for (std::size_t i = 0, n = running; i < n; ++i) {
    boost::asio::co_spawn(executor, sender(shared), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      if (--running == 0) all_done.cancel();
    });
  }
  error_code ignored;
  while (running > 0) co_await all_done.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));

  if (shared.first_error) co_return shared.first_error;
  PublishSummary summary;
  summary.published = shared.published;
  summary.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  co_return summary;
}

}  // namespace conveyor::publish
