// The one watcher per worker process: every second it notes the lanes' figures, in all and per
// route (for the recent rates and latencies), every `sample_every` it reads the shared queue once through a QueueAdmin
// (the same code path as `conveyor stats`; the first dead letters too, where reading them has no
// side effect: Redis, not SQS), and it judges health (every lane's heartbeat is
// recent) and readiness (the last queue read succeeded, and no shutdown began). Its loops run on
// the executor given (the worker's control thread); snapshot() and begin_shutdown() may be called
// from any thread (the admin server's).
// REQUIRES: the executor's io_context outlives the Monitor, and stop() is called before both go.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "admin/status.h"
#include "core/error.h"
#include "queue/queue_admin.h"

namespace conveyor::admin {

// Opens a QueueAdmin on the calling coroutine's executor (a new connection).
using AdminConnector = std::function<boost::asio::awaitable<Result<std::unique_ptr<queue::QueueAdmin>>>()>;

struct MonitorOptions {
  std::chrono::milliseconds sample_every{2'000};
  std::chrono::milliseconds recent_window{10'000};  // of the rate and latency percentiles
  std::chrono::milliseconds heartbeat_limit{5'000};  // a lane silent longer is unhealthy
  std::size_t dead_letters = 20;                     // shown by /api/status
  std::size_t dead_letter_body_bytes = 4096;         // of each, read at most (giants stay in the queue)
};

class Monitor {
 public:
  Monitor(boost::asio::any_io_executor executor, FigureSource figures, AdminConnector connect, MonitorOptions options);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  void start();  // spawns the loops; on the executor's thread or before it runs
  void stop();   // ends them; on the executor's thread

  // Readiness fails from now on, with the reason "shutting down".
  void begin_shutdown();
  Status snapshot() const;

 private:
  boost::asio::awaitable<void> sample_queue();
  boost::asio::awaitable<void> tick();

  // Delivered and call durations at one moment, in all or of one route.
  struct Count {
    std::uint64_t delivered = 0;
    metrics::DurationHistogram::Snapshot duration;
  };
  struct Mark {
    std::chrono::steady_clock::time_point at;
    Count all;
    std::vector<Count> routes;  // in the routes' order
  };

  boost::asio::any_io_executor executor_;
  FigureSource figures_;
  AdminConnector connect_;
  MonitorOptions options_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  boost::asio::steady_timer sample_timer_;
  boost::asio::steady_timer tick_timer_;
  bool stopping_ = false;
  // The sampler's connection to the queue, owned here rather than by the sampler's frame: a read
  // still in flight when the executor stops leaves that frame in the connection's list of callers,
  // a cycle nothing would break. Destroying the Monitor destroys the connection, which hands its
  // callers back to the executor, and the executor's end destroys them (LeakSanitizer found this,
  // on a cluster, where a sample takes several round trips).
  std::unique_ptr<queue::QueueAdmin> admin_;

  mutable std::mutex mutex_;  // guards what follows, shared with the admin server's thread
  QueueSample queue_;
  std::deque<Mark> marks_;  // one a second over the recent window
  bool shutting_down_ = false;
};

}  // namespace conveyor::admin
