// Every setting Conveyor reads, and where each comes from. In rising
// precedence: built-in default < .env file < environment < command-line flag.
// Keys keep the old Python design's names where they exist (QUEUE,
// CHANNEL_NAME). Loading either yields complete, validated Settings or throws
// ConfigError naming the key and the bad value; it never half-succeeds.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/env_file.h"
#include "core/duration.h"

namespace conveyor::config {

enum class QueueKind { redis, sqs };

struct Settings {
  QueueKind queue = QueueKind::redis;
  std::string channel;        // CHANNEL_NAME: the Redis list producers RPUSH to, or the SQS queue name
  std::size_t shards = 1;     // SHARDS: 1 = the channel itself; N = "<channel>:0".."<channel>:N-1" (SQS: '-')
  std::string shard_key;      // SHARD_KEY: JSON field whose value picks a message's shard
  std::string redis_url;      // REDIS_URL: checked by the Redis layer's parser at start
  std::string redis_sentinel_password;  // REDIS_SENTINEL_PASSWORD: secret, never logged
  std::string target_url;     // TARGET_URL: the partner endpoint messages are POSTed to
  std::string routes_file;    // ROUTES_FILE: TOML routes (route/routes_file.h); empty: TARGET_URL is the one route
  std::string order_key;      // ORDER_KEY: the single route's order_by field; empty: no ordering
  std::size_t concurrency = 1000;
  std::size_t threads = 1;
  Duration lease_timeout{30'000};
  Duration connect_timeout{5'000};
  Duration request_timeout{10'000};
  Duration shutdown_timeout{10'000};
  std::size_t fetch_batch = 500;
  std::size_t publish_batch = 1000;
  Duration idle_poll{100};
  std::size_t max_attempts = 10;
  Duration retry_base{1'000};
  Duration retry_max_delay{300'000};
  std::string retry_statuses;  // RETRY_STATUSES, checked by the dispatch layer's parser at start
  std::size_t max_message_bytes = 262'144;
  std::size_t fetch_max_bytes = 4 << 20;       // FETCH_MAX_BYTES: body bytes per lease call
  std::size_t max_in_flight_bytes = 32 << 20;  // MAX_IN_FLIGHT_BYTES: body bytes held per process
  std::size_t circuit_failures = 20;
  Duration circuit_cooldown{1'000};
  std::string partner_ca_file;
  bool partner_tls_verify = true;
  std::string partner_authorization;  // secret: never logged
  std::string log_level = "info";
  std::string log_format = "text";  // LOG_FORMAT: text, or json (one object per line, no live status line)
  std::string admin_listen = "127.0.0.1:9464";  // ADMIN_LISTEN: host:port, or "off"
  std::string admin_token;                      // ADMIN_TOKEN: secret, never logged

  // QUEUE=REDIS: the dead set's retention per shard, oldest trimmed first; 0 turns a limit off.
  std::size_t dlq_max_len = 10'000;                     // DLQ_MAX_LEN: entries
  Duration dlq_max_age = std::chrono::hours(24 * 180);  // DLQ_MAX_AGE
  std::size_t dlq_max_bytes = 256u * 1024 * 1024;       // DLQ_MAX_BYTES: the dead bodies' bytes

  // QUEUE=SQS only.
  std::vector<std::string> sqs_queue_urls;  // SQS_QUEUE_URL, split at commas; empty: look up CHANNEL_NAME
  std::string sqs_endpoint;                 // empty: from the queue URL or the region
  std::string sqs_dead_letter_url;          // empty: look up <channel>-dead
  std::string aws_region;                   // AWS_REGION, else AWS_DEFAULT_REGION
  // The credentials chain's inputs (aws/credentials_chain.h), by key name.
  std::string aws_access_key_id;
  std::string aws_secret_access_key;  // secret: never logged
  std::string aws_session_token;      // secret: never logged
  std::string aws_profile;
  std::string aws_shared_credentials_file;
  std::string aws_config_file;
  std::string aws_web_identity_token_file;
  std::string aws_role_arn;
  std::string aws_role_session_name;
  std::string aws_endpoint_url_sts;
  std::string aws_container_credentials_relative_uri;
  std::string aws_container_credentials_full_uri;
  std::string aws_container_authorization_token;  // secret: never logged
  std::string aws_container_authorization_token_file;
  std::string aws_ec2_metadata_service_endpoint;
  bool aws_ec2_metadata_disabled = false;
  Duration sqs_wait_time{10'000};
  std::size_t sqs_receivers = 0;  // per lane and shard; 0: sized from the concurrency
};

// One documented key: its name, default (as text) and meaning.
struct KeySpec {
  std::string_view name;
  std::string_view default_value;  // empty: no default
  std::string_view meaning;
  bool secret = false;
};
std::span<const KeySpec> known_keys();

// The raw layers, each KEY -> text. Flags are already mapped to keys.
struct Layers {
  KeyValues env_file;
  KeyValues environment;
  KeyValues flags;
};

// Picks the known keys out of a process environment (`environ`).
KeyValues known_environment(char** environ);

// Merges the layers and validates every key; `required` keys must be set
// (non-empty) by some layer, but for TARGET_URL when ROUTES_FILE is set (the routes name the URLs)
// and CHANNEL_NAME on SQS when SQS_QUEUE_URL is. Throws ConfigError("KEY: ...") on the first problem.
Settings load_settings(const Layers& layers, std::span<const std::string_view> required = {});

}  // namespace conveyor::config
