// A QueueBackend over several shards (each itself a QueueBackend, e.g. one
// Redis list or one SQS queue per shard), read concurrently and fairly: each
// lease call starts at the next shard in turn and splits its budget evenly,
// and a shard that came back empty is skipped for a growing pause (up to
// `idle_poll`), so empty shards cost no round trips and never slow the rest.
// Outcomes go back to the shard each lease came from. Same threading rules
// as any backend: one instance per io_context, used only from it.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "queue/queue_backend.h"

namespace conveyor::queue {

class ShardedQueue final : public QueueBackend {
 public:
  ShardedQueue(std::vector<std::unique_ptr<QueueBackend>> shards, std::chrono::milliseconds idle_poll);

  // The byte budget goes to the shards in turn, each asked for what is left; as each shard
  // returns at least one message when it has work, a call may pass `limits.bytes` by at most
  // one message per shard.
  boost::asio::awaitable<Result<std::vector<Lease>>> lease(LeaseLimits limits) override;
  void acknowledge(const Lease& lease) override;
  void release(const Lease& lease) override;
  void retry_later(const Lease& lease, std::chrono::milliseconds delay) override;
  void park(const Lease& lease, std::chrono::milliseconds delay) override;
  void dead_letter(const Lease& lease, const DeadLetter& why) override;
  boost::asio::awaitable<error_code> flush() override;
  boost::asio::awaitable<error_code> shutdown() override;
  boost::asio::awaitable<Result<Backlog>> backlog() override;
  void on_failure(FailureHandler handler) override;
  void on_ready(ReadyHandler handler) override;
  std::size_t take_dead_lettered() override;

 private:
  struct Shard {
    std::unique_ptr<QueueBackend> backend;
    std::chrono::steady_clock::time_point skip_until{};
    std::chrono::milliseconds pause{0};  // doubles while the shard stays empty or failing
  };
  void pause(Shard& shard, std::chrono::steady_clock::time_point now);
  // Runs `step` on every shard in turn; the first error, after all have run.
  using Step = boost::asio::awaitable<error_code> (QueueBackend::*)();
  boost::asio::awaitable<error_code> on_every_shard(Step step);

  std::vector<Shard> shards_;
  std::chrono::milliseconds idle_poll_;
  std::size_t next_ = 0;  // where the next lease call starts
};

}  // namespace conveyor::queue
