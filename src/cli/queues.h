// The one place that knows both queue backends. From the settings it resolves, once at start,
// where the shards are (Redis list names, or SQS queue URLs looked up and checked), then builds
// what a lane reads and what `publish` writes to. Everything above sees only queue::QueueBackend
// and queue::Producer: which backend runs is a matter of configuration alone.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "config/settings.h"
#include "queue/redis/key_order.h"
#include "core/error.h"
#include "queue/producer.h"
#include "queue/queue_admin.h"
#include "queue/queue_backend.h"
#include "queue/sqs/sqs_client.h"
#include "redis/endpoint.h"

namespace conveyor::cli {

struct QueueLayout {
  config::QueueKind kind = config::QueueKind::redis;
  std::vector<std::string> shards;  // Redis list names, or SQS queue URLs
  redis::Endpoint redis;            // QUEUE=REDIS
  sqs::ClientOptions sqs;           // QUEUE=SQS
  std::string sqs_dead_letter_url;  // QUEUE=SQS

  // For the start-up log line: where and what, never a password or key.
  std::string describe() const;
};

// Whether the command at hand reads or writes dead letters (`work`, `stats`, `dlq`) or never does
// (`publish`): only then must the SQS dead-letter queue exist, and is it looked up.
enum class DeadLetters { used, unused };

// Throws config::ConfigError naming the key at fault: an unusable URL, a queue that does not
// exist or cannot be reached, credentials the service refuses. On Redis it logs in, selects the
// database and reads the type of each shard key, and throws, quoting Redis, if the login or the
// database is refused (REDIS_URL) or a shard key is not a list (CHANNEL_NAME); a Redis that does
// not answer is only logged, so a worker may start before Redis does (it keeps trying). With
// DeadLetters::unused, sqs_dead_letter_url is SQS_DEAD_LETTER_QUEUE_URL as given (possibly
// empty), unchecked.
QueueLayout resolve_queues(const config::Settings& settings, DeadLetters dead_letters = DeadLetters::used);

// What one lane of `concurrency` deliveries reads: one backend per shard, read fairly. `order`:
// the routes as per-key ordering rules (Redis enforces them; SQS ignores them: best effort).
std::unique_ptr<queue::QueueBackend> make_lane_queue(boost::asio::any_io_executor executor, const QueueLayout& layout,
                                                     const config::Settings& settings, std::size_t concurrency,
                                                     const std::vector<queue::OrderRule>& order = {});

// Sockets a lane's queue may open (besides the partner's), for the open-files budget.
std::size_t queue_sockets_per_lane(const QueueLayout& layout, const config::Settings& settings,
                                   std::size_t concurrency);

// The operator's view of the channel (every shard), connected; `why` gets a readable reason.
boost::asio::awaitable<Result<std::unique_ptr<queue::QueueAdmin>>> connect_admin(const QueueLayout& layout,
                                                                                 const config::Settings& settings,
                                                                                 std::string* why);

// The producer for `publish`, connected; `why` gets a readable reason on failure.
boost::asio::awaitable<Result<std::unique_ptr<queue::Producer>>> connect_producer(const QueueLayout& layout,
                                                                                 const config::Settings& settings,
                                                                                 std::string* why);

}  // namespace conveyor::cli
