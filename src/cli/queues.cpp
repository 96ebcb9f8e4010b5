#include "cli/queues.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "aws/credentials_chain.h"
#include "config/config_error.h"
#include "http/target.h"
#include "queue/redis/dead_retention.h"
#include "queue/redis/redis_admin.h"
#include "queue/redis/redis_producer.h"
#include "queue/redis/redis_queue.h"
#include "queue/sharded_producer.h"
#include "queue/sharded_queue.h"
#include "queue/shards.h"
#include "queue/sqs/blocking_call.h"
#include "queue/sqs/sqs_admin.h"
#include "queue/sqs/sqs_producer.h"
#include "queue/sqs/sqs_queue.h"
#include "redis/connection.h"
#include "redis/slot.h"

namespace conveyor::cli {
namespace asio = boost::asio;

namespace {

// How many messages one ReceiveMessage loop keeps up with: a call returns ten in a few
// milliseconds, so one receiver per 250 concurrent deliveries (1 s calls) leaves headroom.
constexpr std::size_t kDeliveriesPerReceiver = 250;
constexpr std::size_t kMaxReceivers = 64;

redis::Endpoint redis_endpoint(const config::Settings& settings) {
  std::string why;
  auto endpoint = redis::parse_endpoint(settings.redis_url, &why);
  if (!endpoint) {
    // The URL may hold a password: name the problem, not the value.
    throw config::ConfigError(fmt::format("REDIS_URL: {}", why.empty() ? "not a redis:// or rediss:// URL" : why));
  }
  endpoint->sentinel_password = settings.redis_sentinel_password;
  return *endpoint;
}

// What the Redis start-up check found. `mistake` (the key at fault and Redis's words) can never
// heal by retrying. `unchecked` says why nothing could be checked, which may heal: Redis is not up
// yet, or answers "LOADING"; or an ACL user may not run TYPE (the queue itself does not need it).
struct RedisCheck {
  std::string mistake;
  std::string unchecked;
};

// Logs in and selects the database (Connection::connect does both), then reads the type of every
// shard key in one round trip: each must be a list, or absent. LLEN beside TYPE gives Redis's own
// words for a key of the wrong type.
asio::awaitable<RedisCheck> check_redis(const redis::Endpoint& endpoint, const std::vector<std::string>& shards,
                                        std::chrono::milliseconds timeout) {
  RedisCheck found;
  std::string why;
  auto connection = co_await redis::Connection::connect(co_await asio::this_coro::executor, endpoint, timeout, &why);
  if (!connection) {
    const bool refused = connection.error() == redis::ConnectError::auth_failed ||
                         connection.error() == redis::ConnectError::select_failed;
    (refused ? found.mistake : found.unchecked) = fmt::format("REDIS_URL: {}", why);
    co_return found;
  }
  std::vector<std::vector<std::string_view>> commands;
  for (const std::string& shard : shards) {
    commands.push_back({"TYPE", shard});
    commands.push_back({"LLEN", shard});
  }
  auto replies = co_await (*connection)->pipeline(commands);
  if (!replies) {
    found.unchecked =
        fmt::format("REDIS_URL: lost the connection to {}: {}", endpoint.to_string(), replies.error().message());
    co_return found;
  }
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const redis::Reply& type = (*replies)[2 * i];
    const redis::Reply& length = (*replies)[2 * i + 1];
    if (type.string.starts_with("NOAUTH")) {
      found.mistake = fmt::format("REDIS_URL: Redis at {} wants a password, and the URL has none: {}",
                                  endpoint.to_string(), type.string);
      co_return found;
    }
    if (type.is_error()) {
      // Redis may be loading its data set or failing over: that heals.
      found.unchecked =
          fmt::format("REDIS_URL: Redis at {} refused TYPE {}: {}", endpoint.to_string(), shards[i], type.string);
      co_return found;
    }
    if (type.string != "list" && type.string != "none") {
      found.mistake = fmt::format("CHANNEL_NAME: the Redis key '{}' at {} holds a {}, not a list: {}", shards[i],
                                  endpoint.to_string(), type.string,
                                  length.is_error() ? length.string : "producers push onto a list");
      co_return found;
    }
  }
  co_return found;
}

// The start-up check, blocking (start-up only). A mistake throws; what is unchecked is left to
// the command, which says so itself: `work` keeps trying (a worker may start before Redis) and
// logs each attempt, the one-shot commands fail when they connect. A warning here would only
// come before a later configuration error and repeat what the command logs next.
void check_redis_at_start(const QueueLayout& layout, const config::Settings& settings) {
  asio::io_context io;
  auto future =
      asio::co_spawn(io, check_redis(layout.redis, layout.shards, settings.connect_timeout), asio::use_future);
  io.run();
  const RedisCheck found = future.get();
  if (!found.mistake.empty()) throw config::ConfigError(found.mistake);
  if (!found.unchecked.empty()) {
    spdlog::debug("{} (start-up check of the login, database and key types skipped)", found.unchecked);
  }
}

// scheme://host[:port] of a URL, for the endpoint a queue URL implies.
std::string origin_of(const std::string& url, const char* key) {
  std::string why;
  auto target = http::parse_target(url, &why);
  if (!target) throw config::ConfigError(fmt::format("{}: {} ('{}')", key, why, url));
  return fmt::format("{}://{}", target->tls ? "https" : "http", target->host_header);
}

// The chain's provider, resolved once for the whole process (every lane's client shares it).
std::shared_ptr<const aws::CredentialsProvider> resolve_aws_credentials(const config::Settings& settings) {
  const char* home = std::getenv("HOME");
  aws::ChainSettings chain{
      .region = settings.aws_region,
      .environment = {settings.aws_access_key_id, settings.aws_secret_access_key, settings.aws_session_token},
      .profile = settings.aws_profile,
      .shared_credentials_file = settings.aws_shared_credentials_file,
      .config_file = settings.aws_config_file,
      .home = home ? home : "",
      .web_identity_token_file = settings.aws_web_identity_token_file,
      .role_arn = settings.aws_role_arn,
      .role_session_name = settings.aws_role_session_name,
      .sts_endpoint = settings.aws_endpoint_url_sts,
      .container_relative_uri = settings.aws_container_credentials_relative_uri,
      .container_full_uri = settings.aws_container_credentials_full_uri,
      .container_authorization_token = settings.aws_container_authorization_token,
      .container_authorization_token_file = settings.aws_container_authorization_token_file,
      .imds_endpoint = settings.aws_ec2_metadata_service_endpoint,
      .imds_disabled = settings.aws_ec2_metadata_disabled,
      .connect_timeout = settings.connect_timeout};
  try {
    return aws::resolve_credentials(chain);
  } catch (const aws::NoCredentialsError& e) {
    throw config::ConfigError(e.what());
  }
}

std::size_t receivers_per_shard(const QueueLayout& layout, const config::Settings& settings,
                                std::size_t concurrency) {
  if (settings.sqs_receivers > 0) return settings.sqs_receivers;
  const std::size_t lane = (concurrency + kDeliveriesPerReceiver - 1) / kDeliveriesPerReceiver;
  return std::clamp<std::size_t>((lane + layout.shards.size() - 1) / layout.shards.size(), 1, kMaxReceivers);
}

QueueLayout resolve_sqs(const config::Settings& settings, DeadLetters dead_letters) {
  QueueLayout layout;
  layout.kind = config::QueueKind::sqs;
  sqs::ClientOptions& options = layout.sqs;
  options.region = settings.aws_region;
  options.credentials_provider = resolve_aws_credentials(settings);
  options.connect_timeout = settings.connect_timeout;
  if (!settings.sqs_endpoint.empty()) {
    options.endpoint = settings.sqs_endpoint;
    origin_of(options.endpoint, "SQS_ENDPOINT");  // validates it
  } else if (!settings.sqs_queue_urls.empty()) {
    options.endpoint = origin_of(settings.sqs_queue_urls.front(), "SQS_QUEUE_URL");
  } else {
    options.endpoint = fmt::format("https://sqs.{}.amazonaws.com", settings.aws_region);
  }

  if (!settings.sqs_queue_urls.empty()) {
    // Given URLs are checked now, so a typo fails at start rather than in every receive.
    for (const std::string& url : settings.sqs_queue_urls) {
      origin_of(url, "SQS_QUEUE_URL");
      const std::array<std::string_view, 1> names = {"VisibilityTimeout"};
      auto found = sqs::call_blocking(options, [&](sqs::Client& client) { return client.get_queue_attributes(url, names); });
      if (!found) {
        throw config::ConfigError(fmt::format("SQS_QUEUE_URL: {} at {}: {}", url, options.endpoint, found.error().to_string()));
      }
    }
    layout.shards = settings.sqs_queue_urls;
  } else {
    for (const std::string& name : queue::shard_names(settings.channel, settings.shards, '-')) {
      auto url = sqs::call_blocking(options, [&](sqs::Client& client) { return client.get_queue_url(name); });
      if (!url) {
        throw config::ConfigError(fmt::format("CHANNEL_NAME: SQS queue '{}' at {}: {}", name, options.endpoint,
                                              url.error().to_string()));
      }
      layout.shards.push_back(std::move(*url));
    }
  }
  layout.sqs_dead_letter_url = settings.sqs_dead_letter_url;
  if (layout.sqs_dead_letter_url.empty() && dead_letters == DeadLetters::used) {
    // By convention <channel>-dead, as Redis keeps <channel>:dead; the channel defaults to the
    // first queue URL's last path segment.
    const std::string channel = settings.channel.empty() ? layout.shards.front().substr(layout.shards.front().rfind('/') + 1)
                                                         : settings.channel;
    const std::string name = channel + "-dead";
    auto url = sqs::call_blocking(options, [&](sqs::Client& client) { return client.get_queue_url(name); });
    if (!url) {
      throw config::ConfigError(fmt::format("SQS_DEAD_LETTER_QUEUE_URL: not set, and no queue '{}' at {}: {}", name,
                                            options.endpoint, url.error().to_string()));
    }
    layout.sqs_dead_letter_url = std::move(*url);
  }
  return layout;
}

template <class Backend>
std::unique_ptr<Backend> one_or_sharded(std::vector<std::unique_ptr<Backend>> shards,
                                        const config::Settings& settings) {
  if (shards.size() == 1) return std::move(shards.front());
  if constexpr (std::is_same_v<Backend, queue::QueueBackend>) {
    return std::make_unique<queue::ShardedQueue>(std::move(shards), settings.idle_poll);
  } else {
    return std::make_unique<queue::ShardedProducer>(std::move(shards), settings.shard_key);
  }
}

}  // namespace

std::string QueueLayout::describe() const {
  const std::string shard_text = shards.size() == 1 ? "" : fmt::format(" ({} shards)", shards.size());
  if (kind == config::QueueKind::redis) {
    return fmt::format("Redis list {}{} at {}", shards.front(), shard_text, redis.to_string());
  }
  return fmt::format("SQS queue {}{} via {} ({}, credentials from {})", shards.front(), shard_text, sqs.endpoint,
                     sqs.region, sqs.credentials_provider ? sqs.credentials_provider->source() : "the client options");
}

QueueLayout resolve_queues(const config::Settings& settings, DeadLetters dead_letters) {
  if (settings.queue == config::QueueKind::sqs) {
    if (!settings.order_key.empty() && dead_letters == DeadLetters::used) {
      spdlog::warn("ORDER_KEY: not enforced on SQS: standard queues deliver out of order (best effort only)");
    }
    return resolve_sqs(settings, dead_letters);
  }
  QueueLayout layout;
  layout.redis = redis_endpoint(settings);
  layout.shards = queue::shard_names(settings.channel, settings.shards);
  if (layout.redis.cluster && redis::hash_tag(settings.channel) == settings.channel &&
      settings.channel.find('}') != std::string::npos) {
    // "{C}:leases" would hash on the part before the '}', not on C: no name shares C's slot.
    throw config::ConfigError(fmt::format(
        "CHANNEL_NAME: '{}' holds a '}}' but no {{tag}}: on a Redis Cluster its lease keys could not share its slot",
        settings.channel));
  }
  check_redis_at_start(layout, settings);
  return layout;
}

std::unique_ptr<queue::QueueBackend> make_lane_queue(asio::any_io_executor executor, const QueueLayout& layout,
                                                     const config::Settings& settings, std::size_t concurrency,
                                                     const std::vector<queue::OrderRule>& order) {
  if (layout.kind == config::QueueKind::sqs) {
    // One backend over every shard: each has its own long-polling receivers.
    const std::size_t receivers = receivers_per_shard(layout, settings, concurrency);
    queue::SqsQueueOptions options{
        .queue_urls = layout.shards,
        .visibility_timeout = std::chrono::ceil<std::chrono::seconds>(settings.lease_timeout),
        .wait_seconds = static_cast<int>(std::chrono::ceil<std::chrono::seconds>(settings.sqs_wait_time).count()),
        .receivers = receivers,
        // About one refill of the dispatcher (it leases once an eighth of its slots is free), and
        // a call's worth for every receiver: more would only age in the buffer.
        .prefetch = std::max(receivers * layout.shards.size() * 10, std::min(settings.fetch_batch, concurrency / 8)),
        .prefetch_bytes = settings.fetch_max_bytes,
        .writers = std::max<std::size_t>(receivers * layout.shards.size(), 2),
        .dead_letter_url = layout.sqs_dead_letter_url};
    return std::make_unique<queue::SqsQueue>(executor, layout.sqs, std::move(options));
  }
  std::vector<std::unique_ptr<queue::QueueBackend>> shards;
  const queue::DeadLetterRetention retention{
      .max_len = settings.dlq_max_len, .max_age = settings.dlq_max_age, .max_bytes = settings.dlq_max_bytes};
  for (const std::string& shard : layout.shards) {
    shards.push_back(std::make_unique<queue::RedisQueue>(executor, layout.redis, shard, settings.lease_timeout,
                                                         settings.connect_timeout, retention,
                                                         settings.max_message_bytes,
                                                         order));
  }
  return one_or_sharded(std::move(shards), settings);
}

std::size_t queue_sockets_per_lane(const QueueLayout& layout, const config::Settings& settings,
                                   std::size_t concurrency) {
  if (layout.kind == config::QueueKind::redis) return layout.shards.size();
  const std::size_t receivers = receivers_per_shard(layout, settings, concurrency) * layout.shards.size();
  return receivers + std::max<std::size_t>(receivers, 2) + 2;
}

asio::awaitable<Result<std::unique_ptr<queue::QueueAdmin>>> connect_admin(const QueueLayout& layout,
                                                                          const config::Settings& settings,
                                                                          std::string* why) {
  auto executor = co_await asio::this_coro::executor;
  if (layout.kind == config::QueueKind::sqs) {
    co_return std::unique_ptr<queue::QueueAdmin>(
        std::make_unique<queue::SqsAdmin>(executor, layout.sqs, layout.shards, layout.sqs_dead_letter_url));
  }
  auto connection = co_await redis::Connection::connect(executor, layout.redis, settings.connect_timeout, why);
  if (!connection) co_return connection.error();
  co_return std::unique_ptr<queue::QueueAdmin>(std::make_unique<queue::RedisAdmin>(std::move(*connection), layout.shards,
                                                                                        queue::key_layout_of(layout.redis)));
}

asio::awaitable<Result<std::unique_ptr<queue::Producer>>> connect_producer(const QueueLayout& layout,
                                                                          const config::Settings& settings,
                                                                          std::string* why) {
  auto executor = co_await asio::this_coro::executor;
  std::vector<std::unique_ptr<queue::Producer>> shards;
  for (const std::string& shard : layout.shards) {
    if (layout.kind == config::QueueKind::redis) {
      auto connection = co_await redis::Connection::connect(executor, layout.redis, settings.connect_timeout, why);
      if (!connection) co_return connection.error();
      shards.push_back(std::make_unique<queue::RedisProducer>(std::move(*connection), shard));
      continue;
    }
    auto producer = std::make_unique<queue::SqsProducer>(executor, layout.sqs, shard);
    if (auto ec = co_await producer->connect(why)) co_return ec;
    shards.push_back(std::move(producer));
  }
  co_return one_or_sharded(std::move(shards), settings);
}

}  // namespace conveyor::cli
