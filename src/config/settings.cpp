#include "config/settings.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <thread>

#include <fmt/format.h>

#include "config/config_error.h"

namespace conveyor::config {
namespace {

constexpr std::array kKeys = {
    KeySpec{"QUEUE", "REDIS", "Queue backend: REDIS or SQS (case-insensitive)."},
    KeySpec{"CHANNEL_NAME", "", "The Redis list producers RPUSH to, or the SQS queue's name (required, unless SQS_QUEUE_URL is set)."},
    KeySpec{"SHARDS", "1", "Shards of the channel: 1 is the channel itself; N > 1 is <channel>:0 .. <channel>:N-1 on Redis, <channel>-0 .. <channel>-N-1 on SQS."},
    KeySpec{"SHARD_KEY", "", "JSON field whose value picks a published message's shard (same value, same shard, in order); empty: round-robin."},
    KeySpec{"REDIS_URL", "redis://127.0.0.1:6379/0",
            "redis://[[user]:password@]host[:port][/db]; rediss:// for TLS; redis+sentinel://host[:port][,host[:port]...]/MASTER_NAME[/db] asks Redis Sentinel for the master."},
    KeySpec{"REDIS_SENTINEL_PASSWORD", "", "With redis+sentinel://: the sentinels' own password (requirepass), if they have one; REDIS_URL's password is the master's (secret, never logged).", true},
    KeySpec{"SQS_QUEUE_URL", "", "SQS queue URL, or comma-separated URLs (one per shard); skips the GetQueueUrl lookup of CHANNEL_NAME."},
    KeySpec{"SQS_ENDPOINT", "", "http(s)://host[:port] every SQS call goes to (an emulator, a VPC endpoint); default: the queue URL's origin, else https://sqs.<region>.amazonaws.com."},
    KeySpec{"AWS_REGION", "", "AWS region of the SQS queue (required with QUEUE=SQS, or AWS_DEFAULT_REGION)."},
    KeySpec{"AWS_DEFAULT_REGION", "", "Region used when AWS_REGION is not set."},
    KeySpec{"AWS_ACCESS_KEY_ID", "", "AWS access key id that signs SQS requests: the first source of the credentials chain (docs/aws-credentials.md)."},
    KeySpec{"AWS_SECRET_ACCESS_KEY", "", "AWS secret access key, with AWS_ACCESS_KEY_ID (secret, never logged).", true},
    KeySpec{"AWS_SESSION_TOKEN", "", "Session token of temporary AWS credentials given with the two keys above (secret, never logged).", true},
    KeySpec{"AWS_PROFILE", "", "Profile of the shared AWS files the chain reads; empty: default."},
    KeySpec{"AWS_SHARED_CREDENTIALS_FILE", "", "The shared credentials file; empty: ~/.aws/credentials."},
    KeySpec{"AWS_CONFIG_FILE", "", "The shared config file; empty: ~/.aws/config."},
    KeySpec{"AWS_WEB_IDENTITY_TOKEN_FILE", "", "Web identity token file (EKS IRSA sets it): with AWS_ROLE_ARN, credentials from STS AssumeRoleWithWebIdentity, refreshed before they expire."},
    KeySpec{"AWS_ROLE_ARN", "", "Role assumed with the web identity token (EKS IRSA sets it)."},
    KeySpec{"AWS_ROLE_SESSION_NAME", "", "Session name of the assumed role; empty: conveyor-<milliseconds since the epoch>."},
    KeySpec{"AWS_ENDPOINT_URL_STS", "", "http(s)://host[:port] of STS; empty: https://sts.<region>.amazonaws.com."},
    KeySpec{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "", "ECS: path of the task role's credentials on http://169.254.170.2 (ECS sets it)."},
    KeySpec{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "", "Full http:// URL of a container credentials endpoint (EKS Pod Identity sets it); loopback or the ECS/EKS agent only."},
    KeySpec{"AWS_CONTAINER_AUTHORIZATION_TOKEN", "", "Authorization header sent to the container credentials endpoint (secret, never logged).", true},
    KeySpec{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "", "File holding that Authorization header, read at each fetch (EKS Pod Identity sets it)."},
    KeySpec{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "", "EC2 instance metadata endpoint, the last source of the chain; empty: http://169.254.169.254."},
    KeySpec{"AWS_EC2_METADATA_DISABLED", "false", "true: never ask the EC2 instance metadata service for credentials."},
    KeySpec{"SQS_DEAD_LETTER_QUEUE_URL", "", "Queue URL dead letters go to; default: the queue named <CHANNEL_NAME>-dead, looked up at start."},
    KeySpec{"SQS_WAIT_TIME", "10s", "ReceiveMessage long-poll wait, 0s to 20s."},
    KeySpec{"SQS_RECEIVERS", "0", "ReceiveMessage calls in flight per thread and shard; 0 = sized from CONCURRENCY."},
    KeySpec{"TARGET_URL", "", "Partner endpoint each message is POSTed to (http:// or https://; required by work unless ROUTES_FILE is set)."},
    KeySpec{"ROUTES_FILE", "", "TOML file of routes (docs/routes.md): per-partner URLs, headers, auth, limits and ordering; unset: TARGET_URL is the one route."},
    KeySpec{"ORDER_KEY", "", "Without ROUTES_FILE: JSON field whose equal values are delivered one at a time, in queue order; empty: no ordering."},
    KeySpec{"CONCURRENCY", "1000", "Partner requests in flight per process, shared over the threads."},
    KeySpec{"THREADS", "0", "Event-loop threads, each with its own connections; 0 = one per core."},
    KeySpec{"LEASE_TIMEOUT", "30s", "How long a leased message stays invisible before any worker takes it back."},
    KeySpec{"CONNECT_TIMEOUT", "5s", "Deadline to connect to the partner or Redis."},
    KeySpec{"REQUEST_TIMEOUT", "10s", "Deadline for one partner call, connect included; must be below LEASE_TIMEOUT."},
    KeySpec{"SHUTDOWN_TIMEOUT", "10s", "On SIGINT/SIGTERM, how long to let in-flight calls finish before giving them back."},
    KeySpec{"FETCH_BATCH", "500", "Most messages leased in one round trip."},
    KeySpec{"MAX_ATTEMPTS", "10", "Delivery attempts per message, the first included; then it is dead-lettered."},
    KeySpec{"RETRY_BASE", "1s", "Backoff before the first retry; it doubles per attempt, with full jitter."},
    KeySpec{"RETRY_MAX_DELAY", "5m", "Longest backoff between attempts (a partner's Retry-After may ask for more)."},
    KeySpec{"RETRY_STATUSES", "408,425,429,5xx", "Partner statuses that are retried; any other non-2xx is dead-lettered at once."},
    KeySpec{"MAX_MESSAGE_BYTES", "262144", "Largest message delivered; a larger one is dead-lettered unsent (on Redis, without ever leaving Redis)."},
    KeySpec{"FETCH_MAX_BYTES", "4194304", "Most body bytes leased in one round trip (always at least one message)."},
    KeySpec{"MAX_IN_FLIGHT_BYTES", "33554432", "Most body bytes a process holds at once (leased, waiting or in a call), shared over the threads."},
    KeySpec{"CIRCUIT_FAILURES", "20", "Consecutive partner failures (no answer, 429, 5xx) that stop calls for a cooldown; 0: never."},
    KeySpec{"CIRCUIT_COOLDOWN", "1s", "First pause of calls once the circuit opens; doubles while probes fail, up to 30s."},
    KeySpec{"DLQ_MAX_LEN", "10000", "Redis: dead letters kept per shard; the oldest go first as new ones arrive; 0 = no limit."},
    KeySpec{"DLQ_MAX_AGE", "180d", "Redis: dead letters older than this are trimmed as new ones arrive; 0 = no limit."},
    KeySpec{"DLQ_MAX_BYTES", "268435456", "Redis: most bytes of dead bodies kept per shard (256 MiB); the oldest go first; 0 = no limit."},
    KeySpec{"PUBLISH_BATCH", "1000", "Messages per write when publishing: one RPUSH on Redis; on SQS, sent ten per SendMessageBatch call."},
    KeySpec{"IDLE_POLL", "100ms", "Longest wait between fetches while the queue is empty."},
    KeySpec{"PARTNER_CA_FILE", "", "PEM file of CAs to trust for an https:// TARGET_URL (default: the system's)."},
    KeySpec{"PARTNER_TLS_VERIFY", "true", "Verify the partner's TLS certificate (true/false)."},
    KeySpec{"PARTNER_AUTHORIZATION", "", "Authorization header value sent to the partner (secret; never logged).", true},
    KeySpec{"LOG_LEVEL", "info", "trace, debug, info, warn, error or off."},
    KeySpec{"LOG_FORMAT", "text", "text, or json: one JSON object per log line (time, level, message, logger, thread) for log shippers; json also turns the live status line off."},
    KeySpec{"ADMIN_LISTEN", "127.0.0.1:9464", "Admin listener of work (metrics, probes, dashboard): host:port, port 0 for a free one, or off."},
    KeySpec{"ADMIN_TOKEN", "", "Bearer token the admin listener requires for changes, and for everything but /metrics and the probes off loopback (secret; never logged).", true},
};

class Resolver {
 public:
  explicit Resolver(const Layers& layers) : layers_(layers) {}

  // The effective text of `key`, or nullopt if no layer sets it and it has no default.
  std::optional<std::string> text(std::string_view key) const {
    for (const KeyValues* layer : {&layers_.flags, &layers_.environment, &layers_.env_file}) {
      if (auto it = layer->find(key); it != layer->end()) return it->second;
    }
    for (const auto& spec : kKeys) {
      if (spec.name == key && !spec.default_value.empty()) return std::string(spec.default_value);
    }
    return std::nullopt;
  }

  std::string string(std::string_view key) const { return text(key).value_or(""); }

  std::size_t count(std::string_view key, std::size_t min, std::size_t max) const {
    const std::string value = string(key);
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc{} || end != value.data() + value.size() || n < min || n > max) {
      throw ConfigError(fmt::format("{}: expected a whole number from {} to {}, got '{}'", key, min, max, value));
    }
    return n;
  }

  Duration duration(std::string_view key) const {
    const std::string value = string(key);
    auto d = parse_duration(value);
    if (!d) throw ConfigError(fmt::format("{}: expected a duration like 30s or 250ms, got '{}'", key, value));
    return *d;
  }

  bool flag(std::string_view key) const {
    std::string value = string(key);
    std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
    if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
    if (value == "false" || value == "0" || value == "no" || value == "off") return false;
    throw ConfigError(fmt::format("{}: expected true or false, got '{}'", key, string(key)));
  }

 private:
  const Layers& layers_;
};

// What QUEUE=SQS needs beyond the common keys; checked only then, so Redis users never see it.
void check_sqs(const Settings& s, const Resolver& r) {
  if (s.aws_region.empty()) throw ConfigError("AWS_REGION: required with QUEUE=SQS (or AWS_DEFAULT_REGION)");
  // Credentials come from the chain (aws/credentials_chain.h), checked once the command starts;
  // half a key pair is a mistake no later source should paper over (as the SDKs refuse it).
  if (s.aws_access_key_id.empty() && !s.aws_secret_access_key.empty()) {
    throw ConfigError("AWS_ACCESS_KEY_ID: required when AWS_SECRET_ACCESS_KEY is set");
  }
  if (!s.aws_access_key_id.empty() && s.aws_secret_access_key.empty()) {
    throw ConfigError("AWS_SECRET_ACCESS_KEY: required when AWS_ACCESS_KEY_ID is set");
  }
  if (s.aws_web_identity_token_file.empty() != s.aws_role_arn.empty()) {
    throw ConfigError(s.aws_role_arn.empty() ? "AWS_ROLE_ARN: required when AWS_WEB_IDENTITY_TOKEN_FILE is set"
                                             : "AWS_WEB_IDENTITY_TOKEN_FILE: required when AWS_ROLE_ARN is set");
  }
  if (!s.aws_endpoint_url_sts.empty() && !s.aws_endpoint_url_sts.starts_with("https://") &&
      !s.aws_endpoint_url_sts.starts_with("http://")) {
    throw ConfigError(fmt::format("AWS_ENDPOINT_URL_STS: expected http(s)://host[:port], got '{}'", s.aws_endpoint_url_sts));
  }
  if (s.sqs_wait_time.count() < 0 || s.sqs_wait_time > std::chrono::seconds(20)) {
    throw ConfigError(fmt::format("SQS_WAIT_TIME: must be from 0s to 20s, got '{}'", r.string("SQS_WAIT_TIME")));
  }
  if (s.lease_timeout < std::chrono::seconds(1) || s.lease_timeout > std::chrono::hours(12)) {
    throw ConfigError(fmt::format("LEASE_TIMEOUT: an SQS visibility timeout must be from 1s to 12h, got '{}'",
                                  r.string("LEASE_TIMEOUT")));
  }
  for (const auto& url : s.sqs_queue_urls) {
    if (!url.starts_with("https://") && !url.starts_with("http://")) {
      throw ConfigError(fmt::format("SQS_QUEUE_URL: not an http(s):// queue URL: '{}'", url));
    }
  }
  if (s.sqs_queue_urls.size() > 1 && r.text("SHARDS") != "1" && s.shards != s.sqs_queue_urls.size()) {
    throw ConfigError(fmt::format("SHARDS: {} disagrees with the {} queue URLs of SQS_QUEUE_URL", s.shards,
                                  s.sqs_queue_urls.size()));
  }
  if (!s.sqs_endpoint.empty() && !s.sqs_endpoint.starts_with("https://") && !s.sqs_endpoint.starts_with("http://")) {
    throw ConfigError(fmt::format("SQS_ENDPOINT: expected http(s)://host[:port], got '{}'", s.sqs_endpoint));
  }
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

}  // namespace

std::span<const KeySpec> known_keys() { return kKeys; }

KeyValues known_environment(char** environ) {
  KeyValues out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    const auto key = entry.substr(0, eq);
    for (const auto& spec : kKeys) {
      if (spec.name == key) out.insert_or_assign(std::string(key), std::string(entry.substr(eq + 1)));
    }
  }
  return out;
}

std::vector<std::string> split_urls(std::string_view list) {
  std::vector<std::string> urls;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) urls.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return urls;
}

Settings load_settings(const Layers& layers, std::span<const std::string_view> required) {
  const Resolver r(layers);
  Settings s;
  const std::string queue = upper(r.string("QUEUE"));
  if (queue == "REDIS") s.queue = QueueKind::redis;
  else if (queue == "SQS") s.queue = QueueKind::sqs;
  else throw ConfigError(fmt::format("QUEUE: expected REDIS or SQS, got '{}'", r.string("QUEUE")));
  s.sqs_queue_urls = split_urls(r.string("SQS_QUEUE_URL"));

  for (auto key : required) {
    // On SQS, queue URLs name the queues as well as a CHANNEL_NAME would.
    if (key == "CHANNEL_NAME" && s.queue == QueueKind::sqs && !s.sqs_queue_urls.empty()) continue;
    // A routes file names the partner URLs itself.
    if (key == "TARGET_URL" && !r.string("ROUTES_FILE").empty()) continue;
    if (r.string(key).empty()) throw ConfigError(fmt::format("{}: required but not set", key));
  }

  s.channel = r.string("CHANNEL_NAME");
  s.shards = r.count("SHARDS", 1, 1024);
  s.shard_key = r.string("SHARD_KEY");
  s.order_key = r.string("ORDER_KEY");
  s.redis_url = r.string("REDIS_URL");
  s.redis_sentinel_password = r.string("REDIS_SENTINEL_PASSWORD");
  s.target_url = r.string("TARGET_URL");
  s.routes_file = r.string("ROUTES_FILE");
  s.concurrency = r.count("CONCURRENCY", 1, 1'000'000);
  s.threads = r.count("THREADS", 0, 256);
  if (s.threads == 0) s.threads = std::max(1u, std::thread::hardware_concurrency());
  s.threads = std::min(s.threads, s.concurrency);
  s.lease_timeout = r.duration("LEASE_TIMEOUT");
  s.connect_timeout = r.duration("CONNECT_TIMEOUT");
  s.request_timeout = r.duration("REQUEST_TIMEOUT");
  s.shutdown_timeout = r.duration("SHUTDOWN_TIMEOUT");
  s.fetch_batch = r.count("FETCH_BATCH", 1, 100'000);
  s.publish_batch = r.count("PUBLISH_BATCH", 1, 100'000);
  s.idle_poll = r.duration("IDLE_POLL");
  s.max_attempts = r.count("MAX_ATTEMPTS", 1, 1000);
  s.retry_base = r.duration("RETRY_BASE");
  s.retry_max_delay = r.duration("RETRY_MAX_DELAY");
  s.retry_statuses = r.string("RETRY_STATUSES");
  s.max_message_bytes = r.count("MAX_MESSAGE_BYTES", 1, 512u * 1024 * 1024);
  s.fetch_max_bytes = r.count("FETCH_MAX_BYTES", 1, 1024u * 1024 * 1024);
  s.max_in_flight_bytes = r.count("MAX_IN_FLIGHT_BYTES", 1024, std::size_t{64} * 1024 * 1024 * 1024);
  s.dlq_max_len = r.count("DLQ_MAX_LEN", 0, 1'000'000'000);
  s.dlq_max_age = r.duration("DLQ_MAX_AGE");
  s.dlq_max_bytes = r.count("DLQ_MAX_BYTES", 0, std::size_t{1} << 50);
  s.circuit_failures = r.count("CIRCUIT_FAILURES", 0, 1'000'000);
  s.circuit_cooldown = r.duration("CIRCUIT_COOLDOWN");
  s.partner_ca_file = r.string("PARTNER_CA_FILE");
  s.partner_tls_verify = r.flag("PARTNER_TLS_VERIFY");
  s.partner_authorization = r.string("PARTNER_AUTHORIZATION");
  s.log_level = r.string("LOG_LEVEL");
  s.log_format = r.string("LOG_FORMAT");
  s.admin_listen = r.string("ADMIN_LISTEN");
  s.admin_token = r.string("ADMIN_TOKEN");
  if (s.admin_listen != "off") {
    const auto colon = s.admin_listen.rfind(':');
    const std::string port = colon == std::string::npos ? "" : s.admin_listen.substr(colon + 1);
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (colon == 0 || colon == std::string::npos || ec != std::errc{} || end != port.data() + port.size() || n > 65535) {
      throw ConfigError(fmt::format("ADMIN_LISTEN: expected host:port (port 0: any free port) or off, got '{}'",
                                    s.admin_listen));
    }
  }
  s.sqs_endpoint = r.string("SQS_ENDPOINT");
  s.sqs_dead_letter_url = r.string("SQS_DEAD_LETTER_QUEUE_URL");
  s.aws_region = r.string("AWS_REGION");
  if (s.aws_region.empty()) s.aws_region = r.string("AWS_DEFAULT_REGION");
  s.aws_access_key_id = r.string("AWS_ACCESS_KEY_ID");
  s.aws_secret_access_key = r.string("AWS_SECRET_ACCESS_KEY");
  s.aws_session_token = r.string("AWS_SESSION_TOKEN");
  s.aws_profile = r.string("AWS_PROFILE");
  s.aws_shared_credentials_file = r.string("AWS_SHARED_CREDENTIALS_FILE");
  s.aws_config_file = r.string("AWS_CONFIG_FILE");
  s.aws_web_identity_token_file = r.string("AWS_WEB_IDENTITY_TOKEN_FILE");
  s.aws_role_arn = r.string("AWS_ROLE_ARN");
  s.aws_role_session_name = r.string("AWS_ROLE_SESSION_NAME");
  s.aws_endpoint_url_sts = r.string("AWS_ENDPOINT_URL_STS");
  s.aws_container_credentials_relative_uri = r.string("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  s.aws_container_credentials_full_uri = r.string("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  s.aws_container_authorization_token = r.string("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  s.aws_container_authorization_token_file = r.string("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  s.aws_ec2_metadata_service_endpoint = r.string("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  s.aws_ec2_metadata_disabled = r.flag("AWS_EC2_METADATA_DISABLED");
  s.sqs_wait_time = r.duration("SQS_WAIT_TIME");
  s.sqs_receivers = r.count("SQS_RECEIVERS", 0, 1024);
  if (s.queue == QueueKind::sqs) {
    check_sqs(s, r);
    if (s.sqs_queue_urls.size() > 1) s.shards = s.sqs_queue_urls.size();
  }

  for (auto [key, d] : {std::pair{"LEASE_TIMEOUT", s.lease_timeout}, {"CONNECT_TIMEOUT", s.connect_timeout},
                        {"REQUEST_TIMEOUT", s.request_timeout}}) {
    if (d.count() <= 0) throw ConfigError(fmt::format("{}: must be longer than 0, got '{}'", key, r.string(key)));
  }
  // A lease that could expire while its call is still running would let a
  // second worker deliver the same message concurrently.
  if (s.request_timeout >= s.lease_timeout) {
    throw ConfigError(fmt::format("REQUEST_TIMEOUT: must be shorter than LEASE_TIMEOUT ({}), got '{}'",
                                  format_duration(s.lease_timeout), r.string("REQUEST_TIMEOUT")));
  }
  static constexpr std::array levels = {"trace", "debug", "info", "warn", "error", "off"};
  if (std::find(levels.begin(), levels.end(), s.log_level) == levels.end()) {
    throw ConfigError(fmt::format("LOG_LEVEL: expected one of trace, debug, info, warn, error, off, got '{}'",
                                  s.log_level));
  }
  if (s.log_format != "text" && s.log_format != "json") {
    throw ConfigError(fmt::format("LOG_FORMAT: expected text or json, got '{}'", s.log_format));
  }
  return s;
}

}  // namespace conveyor::config
