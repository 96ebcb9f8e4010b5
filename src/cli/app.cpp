#include "cli/app.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/admin_command.h"
#include "cli/demo_command.h"
#include "cli/logging.h"
#include "cli/publish_command.h"
#include "cli/routes_command.h"
#include "cli/version.h"
#include "cli/work_command.h"
#include "config/config_error.h"
#include "config/key_suggestion.h"
#include "config/settings.h"
#include "core/duration.h"
#include "partner/simulator.h"

extern char** environ;

namespace conveyor::cli {
namespace {

// Exit code for any configuration or command-line mistake.
constexpr int kBadConfiguration = 2;

// Flags that set a configuration key; the key's value from a flag beats the
// environment and the .env file.
void key_option(CLI::App* app, const std::string& flag, std::string key, config::KeyValues& flags,
                const std::string& help) {
  const std::string description = help + " (" + key + ")";
  app->add_option_function<std::string>(
      flag, [&flags, key = std::move(key)](const std::string& value) { flags.insert_or_assign(key, value); },
      description)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a repeated flag: the last one wins
}

// The .env layer. Keys Conveyor does not know are ignored (the file is often shared), but one a
// typo away from a known key is worth a warning: otherwise the setting is silently lost.
config::KeyValues env_file_layer(const std::string& env_file) {
  config::EnvFile file;
  if (!env_file.empty()) file = config::read_env_file(env_file);  // asked for: must exist
  else if (std::filesystem::exists(".env")) file = config::read_env_file(".env");
  for (const std::string& warning : config::misspelt_key_warnings(file)) {
    std::fprintf(stderr, "conveyor: warning: %s\n", warning.c_str());
  }
  return file.values();
}

std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& text) {
  auto d = parse_duration(text);
  if (!d) throw config::ConfigError(flag + ": expected a duration like 1s or 250ms, got '" + text + "'");
  return *d;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"Conveyor: takes messages from a queue and delivers them to a partner API, thousands at a time.",
               "conveyor"};  // the usage line (and the man page made from it) names the command, not argv[0]
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every command");
  app.set_version_flag("--version", version_text(), "Print the version and the git commit built from");
  // The global options below are accepted after a subcommand too (`conveyor work --env-file
  // prod.env`): a subcommand hands the options it does not know to the main command.
  app.fallthrough();

  std::string env_file;
  config::KeyValues flags;
  app.add_option("--env-file", env_file, "Settings file (default: ./.env if present)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  key_option(&app, "--log-level", "LOG_LEVEL", flags, "trace, debug, info, warn, error, off");
  key_option(&app, "--log-format", "LOG_FORMAT", flags, "text, or json (one object per line)");

  // work
  auto* work = app.add_subcommand("work", "Lease messages from the queue and POST each to TARGET_URL");
  WorkOptions work_options;
  key_option(work, "--queue", "QUEUE", flags, "REDIS or SQS");
  key_option(work, "--channel", "CHANNEL_NAME", flags, "Queue to read (Redis list or SQS queue name)");
  key_option(work, "--shards", "SHARDS", flags, "Read <channel>:0 .. <channel>:N-1 (SQS: <channel>-0 ..)");
  key_option(work, "--redis-url", "REDIS_URL", flags, "Redis server");
  key_option(work, "--sqs-queue-url", "SQS_QUEUE_URL", flags, "SQS queue URL(s), comma-separated");
  key_option(work, "--sqs-endpoint", "SQS_ENDPOINT", flags, "SQS endpoint (emulator, VPC endpoint)");
  key_option(work, "--target-url", "TARGET_URL", flags, "Partner endpoint");
  key_option(work, "--routes", "ROUTES_FILE", flags, "Routes file (TOML, docs/routes.md); replaces TARGET_URL");
  key_option(work, "--order-key", "ORDER_KEY", flags, "Without --routes: JSON field delivered one at a time per value");
  key_option(work, "--concurrency", "CONCURRENCY", flags, "Partner calls in flight per process");
  key_option(work, "--threads", "THREADS", flags, "Event-loop threads (0: one per core)");
  key_option(work, "--lease-timeout", "LEASE_TIMEOUT", flags, "Lease length");
  key_option(work, "--request-timeout", "REQUEST_TIMEOUT", flags, "Deadline per partner call");
  key_option(work, "--shutdown-timeout", "SHUTDOWN_TIMEOUT", flags, "Drain time on SIGINT/SIGTERM");
  key_option(work, "--fetch-batch", "FETCH_BATCH", flags, "Most messages per lease round trip");
  key_option(work, "--admin-listen", "ADMIN_LISTEN", flags, "Admin listener: host:port (port 0: any free port) or off");
  key_option(work, "--fetch-max-bytes", "FETCH_MAX_BYTES", flags, "Most body bytes per lease round trip");
  key_option(work, "--max-in-flight-bytes", "MAX_IN_FLIGHT_BYTES", flags, "Most body bytes held per process");
  key_option(work, "--max-attempts", "MAX_ATTEMPTS", flags, "Attempts per message before it is dead-lettered");
  key_option(work, "--retry-base", "RETRY_BASE", flags, "Backoff before the first retry (doubles, full jitter)");
  key_option(work, "--retry-max-delay", "RETRY_MAX_DELAY", flags, "Longest backoff between attempts");
  key_option(work, "--retry-statuses", "RETRY_STATUSES", flags, "Partner statuses retried, e.g. 408,425,429,5xx");
  key_option(work, "--max-message-bytes", "MAX_MESSAGE_BYTES", flags, "Larger messages are dead-lettered unsent");
  key_option(work, "--circuit-failures", "CIRCUIT_FAILURES", flags, "Consecutive failures that pause calls (0: never)");
  key_option(work, "--circuit-cooldown", "CIRCUIT_COOLDOWN", flags, "First pause once the circuit opens");
  work->add_flag("--until-empty", work_options.until_empty,
                 "Exit once the queue and every in-flight lease (any worker's) are empty");
  work->add_option("--report", work_options.report_path, "Write the final report as JSON to this file");

  // publish
  auto* publish = app.add_subcommand("publish", "Put messages on the queue, as legacy producers do");
  PublishCommandOptions publish_options;
  key_option(publish, "--queue", "QUEUE", flags, "REDIS or SQS");
  key_option(publish, "--channel", "CHANNEL_NAME", flags, "Queue to write (Redis list or SQS queue name)");
  key_option(publish, "--shards", "SHARDS", flags, "Spread over <channel>:0 .. <channel>:N-1 (SQS: <channel>-0 ..)");
  key_option(publish, "--shard-key", "SHARD_KEY", flags, "JSON field that picks the shard (default: round-robin)");
  key_option(publish, "--redis-url", "REDIS_URL", flags, "Redis server");
  key_option(publish, "--sqs-queue-url", "SQS_QUEUE_URL", flags, "SQS queue URL(s), comma-separated");
  key_option(publish, "--sqs-endpoint", "SQS_ENDPOINT", flags, "SQS endpoint (emulator, VPC endpoint)");
  key_option(publish, "--batch", "PUBLISH_BATCH", flags, "Messages per write (Redis: one RPUSH; SQS: ten per call)");
  auto* count = publish->add_option("--count", publish_options.count, "Generate this many test messages");
  auto* input = publish->add_option("--input", publish_options.input,
                                    "Publish one JSON object per line of this file ('-': stdin)");
  count->excludes(input);
  input->excludes(count);
  publish->callback([&] {
    if (!*count && !*input) throw CLI::RequiredError("--count or --input");
  });

  // stats and dlq: the operator's view of a channel
  AdminOptions admin_options;
  auto queue_options = [&flags](CLI::App* command) {
    key_option(command, "--queue", "QUEUE", flags, "REDIS or SQS");
    key_option(command, "--channel", "CHANNEL_NAME", flags, "Queue (Redis list or SQS queue name)");
    key_option(command, "--shards", "SHARDS", flags, "Shards of the channel");
    key_option(command, "--redis-url", "REDIS_URL", flags, "Redis server");
    key_option(command, "--sqs-queue-url", "SQS_QUEUE_URL", flags, "SQS queue URL(s), comma-separated");
    key_option(command, "--sqs-endpoint", "SQS_ENDPOINT", flags, "SQS endpoint (emulator, VPC endpoint)");
  };
  auto* stats = app.add_subcommand("stats", "Backlog per shard, in flight, delayed retries and dead letters");
  queue_options(stats);
  stats->add_flag("--json", admin_options.json, "Print JSON");
  stats->add_flag("--watch", admin_options.watch, "Print the figures again every --interval until SIGINT/SIGTERM");
  std::string stats_interval = "2s";
  stats->add_option("--interval", stats_interval, "With --watch: how often")->capture_default_str();
  auto* dlq = app.add_subcommand("dlq", "The dead-letter queue: list, requeue, purge");
  dlq->require_subcommand(1);
  auto* dlq_list = dlq->add_subcommand("list", "Show dead letters, oldest first, with their reasons");
  queue_options(dlq_list);
  dlq_list->add_option("--limit", admin_options.limit, "At most this many")->capture_default_str();
  dlq_list->add_flag("--json", admin_options.json, "Print JSON");
  auto* dlq_requeue = dlq->add_subcommand("requeue", "Put dead letters back on the queue, attempts counted afresh");
  queue_options(dlq_requeue);
  dlq_requeue->add_flag("--all", admin_options.all, "Every dead letter");
  dlq_requeue->add_option("--id", admin_options.ids, "These dead letters (ids from dlq list)");
  auto* dlq_purge = dlq->add_subcommand("purge", "Delete every dead letter for good");
  queue_options(dlq_purge);
  dlq_purge->add_flag("--yes", admin_options.yes, "Confirm");

  // partner
  auto* partner = app.add_subcommand("partner", "Run the partner simulator (an HTTP server answering after a delay)");
  partner::SimulatorOptions partner_options;
  std::string partner_delay = "1s";
  partner->add_option("--listen", partner_options.listen, "host:port (port 0: any free port)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->capture_default_str();
  partner->add_option("--delay", partner_delay, "Answer each request after this long")->capture_default_str();
  partner->add_option("--fail-rate", partner_options.fail_rate, "Fraction of requests answered 503")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  partner->add_option("--drop-rate", partner_options.drop_rate, "Fraction of requests whose connection is dropped unanswered")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  partner->add_option("--status-field", partner_options.status_field,
                      "Answer a body's top-level integer field of this name as its status (marks messages to refuse)");
  std::optional<unsigned> retry_after_seconds;
  partner->add_option("--retry-after", retry_after_seconds, "Send Retry-After: SECONDS with every 503");
  partner->add_option("--threads", partner_options.threads, "Event-loop threads")->capture_default_str();
  partner->add_option("--response-bytes", partner_options.response_bytes,
                      "Pad every 200's body to this many bytes (0: {\"ok\":true})");
  partner->add_flag("--record-bodies", partner_options.record_bodies, "Keep delivered bodies for GET /bodies");
  partner->add_flag("--record-arrivals", partner_options.record_arrivals, "Keep every POST's arrival time and target for GET /arrivals and /targets, and the delay it was given for GET /delays");
  // Capacity mode (a congested server)
  partner->add_option("--capacity", partner_options.capacity,
                      "Up to N requests in progress each take --delay; past N, delay x (n/N)^2; past 2N, 503 at once "
                      "(0: off)")
      ->capture_default_str();

  // partner: per-key ordering checks and latency spread
  std::string partner_delay_jitter = "0ms";
  partner->add_option("--order-field", partner_options.order_field,
                      "Check per value of this top-level field: 200s in --seq-field order, never two calls at once");
  partner->add_option("--seq-field", partner_options.seq_field,
                      "Integer field that must increase per --order-field value");
  partner->add_option("--delay-jitter", partner_delay_jitter, "Add a uniform draw of up to this to each delay")
      ->capture_default_str();

  // routes
  auto* routes = app.add_subcommand("routes", "The routes file: check it");
  routes->require_subcommand(1);
  auto* routes_check = routes->add_subcommand("check", "Validate a routes file and print its routes, secrets masked");
  std::string routes_file;
  routes_check->add_option("FILE", routes_file, "Routes file (default: --routes or ROUTES_FILE)");
  key_option(routes_check, "--routes", "ROUTES_FILE", flags, "Routes file");

  // partner: OAuth2 token endpoint
  std::string partner_token_ttl = "3600s";
  partner->add_option("--oauth-client", partner_options.oauth_client,
                      "ID:SECRET: serve POST /oauth/token (client credentials) and require its bearer tokens");
  partner->add_option("--token-ttl", partner_token_ttl, "Lifetime (expires_in) of each token issued")
      ->capture_default_str();

  // demo
  auto* demo = app.add_subcommand("demo", "Run the whole path locally: Redis, partner simulator, publisher, worker");
  DemoOptions demo_options;
  std::string demo_delay = "1s";
  demo->add_option("--count", demo_options.count, "Messages to deliver")->capture_default_str();
  demo->add_option("--delay", demo_delay, "Partner latency")->capture_default_str();
  demo->add_option("--concurrency", demo_options.concurrency, "Partner calls in flight")->capture_default_str();
  demo->add_option("--threads", demo_options.threads, "Worker threads")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kBadConfiguration;
  }

  try {
    config::Layers layers{env_file_layer(env_file), config::known_environment(environ), flags};
    if (partner->parsed()) {
      use_stderr_logging("info");
      partner_options.delay = duration_flag("--delay", partner_delay);
      partner_options.delay_jitter = duration_flag("--delay-jitter", partner_delay_jitter);
      if (retry_after_seconds) partner_options.retry_after = std::chrono::seconds(*retry_after_seconds);
      partner_options.token_ttl =
          std::chrono::duration_cast<std::chrono::seconds>(duration_flag("--token-ttl", partner_token_ttl));
      return partner::run_partner(partner_options);
    }
    if (routes_check->parsed()) return run_routes_check(routes_file, layers);
    if (demo->parsed()) {
      const auto settings = config::load_settings(layers);
      use_stderr_logging(settings.log_level, settings.log_format);
      demo_options.delay = duration_flag("--delay", demo_delay);
      return run_demo(demo_options, argv[0]);
    }
    if (stats->parsed() || dlq->parsed()) {
      admin_options.action = stats->parsed()         ? AdminOptions::Action::stats
                             : dlq_list->parsed()    ? AdminOptions::Action::list
                             : dlq_requeue->parsed() ? AdminOptions::Action::requeue
                                                     : AdminOptions::Action::purge;
      static constexpr std::string_view required[] = {"CHANNEL_NAME"};
      const auto settings = config::load_settings(layers, required);
      use_stderr_logging(settings.log_level, settings.log_format);
      admin_options.interval = duration_flag("--interval", stats_interval);
      if (admin_options.interval.count() <= 0) throw config::ConfigError("--interval: must be longer than 0");
      return run_admin(settings, admin_options);
    }
    if (publish->parsed()) {
      static constexpr std::string_view required[] = {"CHANNEL_NAME"};
      const auto settings = config::load_settings(layers, required);
      use_stderr_logging(settings.log_level, settings.log_format);
      return run_publish(settings, publish_options);
    }
    static constexpr std::string_view required[] = {"CHANNEL_NAME", "TARGET_URL"};
    const auto settings = config::load_settings(layers, required);
    use_stderr_logging(settings.log_level, settings.log_format);
    return run_work(settings, layers, work_options);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "conveyor: %s\n", e.what());
    return kBadConfiguration;
  }
}

}  // namespace conveyor::cli
