// Mistakes that can never heal stop every command at start with exit 2, naming the setting at
// fault and quoting Redis: a refused login, a database the server lacks, a shard key that holds
// something other than a list. A Redis that is merely down is not such a mistake: the worker
// starts anyway and delivers once Redis is up; the one-shot commands fail as a runtime error (1).
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/conveyor_harness.h"
#include "support/redis_server.h"

namespace conveyor::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kChannel = "shipments";
constexpr int kBadConfiguration = 2;

class RedisStartup : public ::testing::Test {
 protected:
  // Each command that reads the queue, on the given REDIS_URL, with `extra` queue flags.
  std::vector<std::vector<std::string>> every_command(const std::string& url,
                                                      std::vector<std::string> extra = {}) const {
    std::vector<std::string> queue = {"--channel", kChannel, "--redis-url", url};
    queue.insert(queue.end(), extra.begin(), extra.end());
    auto with = [&](std::vector<std::string> command, std::vector<std::string> tail = {}) {
      command.insert(command.end(), queue.begin(), queue.end());
      command.insert(command.end(), tail.begin(), tail.end());
      return command;
    };
    // work fails before it would call the partner: no simulator needed.
    return {with({"work"}, {"--target-url", "http://127.0.0.1:9/shipments"}), with({"publish"}, {"--count", "1"}),
            with({"stats"}), with({"dlq", "list"})};
  }

  // Runs each command, expecting exit 2 and every `expected` text in its output, and none of
  // `secrets`.
  void expect_refused_at_start(const std::vector<std::vector<std::string>>& commands,
                               const std::vector<std::string>& expected, const std::vector<std::string>& secrets = {}) {
    for (const auto& args : commands) {
      const auto run = run_conveyor(args, 30s);
      EXPECT_EQ(run.exit_code, kBadConfiguration) << args.front() << ": " << run.output;
      for (const auto& text : expected) {
        EXPECT_NE(run.output.find(text), std::string::npos)
            << args.front() << " should say '" << text << "': " << run.output;
      }
      for (const auto& secret : secrets) {
        EXPECT_EQ(run.output.find(secret), std::string::npos) << args.front() << " printed a password: " << run.output;
      }
    }
  }

  std::string url_with(const std::string& userinfo, int db = 0) const {
    return "redis://" + userinfo + "127.0.0.1:" + std::to_string(redis.port()) + "/" + std::to_string(db);
  }

  RedisServer redis;
};

TEST_F(RedisStartup, AWrongPasswordExitsTwoQuotingRedisAndNeverThePassword) {
  redis.require_password("right-secret-77");
  expect_refused_at_start(every_command(url_with(":wrong-secret-42@")),
                          {"conveyor: REDIS_URL: Redis at redis://:***@127.0.0.1:", "refused the login: WRONGPASS"},
                          {"wrong-secret-42", "right-secret-77"});
}

TEST_F(RedisStartup, AnUnknownUserExitsTwoQuotingRedis) {
  expect_refused_at_start(every_command(url_with("mallory:mallory-secret@")),
                          {"REDIS_URL:", "refused the login: WRONGPASS"}, {"mallory-secret"});
}

TEST_F(RedisStartup, NoPasswordWhereRedisWantsOneExitsTwo) {
  redis.require_password("right-secret-77");
  expect_refused_at_start(every_command(url_with("")),
                          {"REDIS_URL: Redis at", "wants a password, and the URL has none: NOAUTH"},
                          {"right-secret-77"});
}

TEST_F(RedisStartup, ASentinelUrlWithoutHostsOrMasterNameExitsTwoNamingRedisUrl) {
  expect_refused_at_start(every_command("redis+sentinel://127.0.0.1:26379"),
                          {"conveyor: REDIS_URL: the URL names no master"});
  expect_refused_at_start(every_command("redis+sentinel://:sentinel-secret-9@/mymaster"),
                          {"conveyor: REDIS_URL: the URL names no sentinel"}, {"sentinel-secret-9"});
}

TEST_F(RedisStartup, ADatabaseTheServerLacksExitsTwo) {
  expect_refused_at_start(every_command(url_with("", 99)),
                          {"REDIS_URL:", "refused SELECT 99: ERR DB index is out of range"});
}

TEST_F(RedisStartup, AChannelKeyHoldingAStringExitsTwo) {
  redis.query({"SET", kChannel, "not a list"});
  expect_refused_at_start(every_command(redis.url()),
                          {"CHANNEL_NAME: the Redis key 'shipments'", "holds a string, not a list",
                           "WRONGTYPE Operation against a key holding the wrong kind of value"});
  EXPECT_EQ(redis.query({"GET", kChannel}), "not a list");  // nothing touched it
}

TEST_F(RedisStartup, EachShardKeyIsCheckedAndTheBadOneNamed) {
  redis.query({"RPUSH", "shipments:0", "{}"});  // a list: fine
  redis.query({"HSET", "shipments:2", "field", "value"});
  expect_refused_at_start(every_command(redis.url(), {"--shards", "3"}),
                          {"CHANNEL_NAME: the Redis key 'shipments:2'", "holds a hash", "WRONGTYPE"});
}

TEST_F(RedisStartup, AListOrNoKeyAtAllPasses) {
  redis.query({"RPUSH", "shipments:1", "{\"n\":1}"});
  for (const auto& args : every_command(redis.url(), {"--shards", "2"})) {
    if (args.front() == "work") continue;  // runs until stopped: covered below
    const auto run = run_conveyor(args, 30s);
    EXPECT_EQ(run.exit_code, 0) << args.front() << ": " << run.output;
  }
}

// The check must not refuse what works: an ACL user without TYPE can still run the queue.
TEST_F(RedisStartup, AnAclUserThatMayNotRunTypeIsNotRefused) {
  redis.query({"ACL", "SETUSER", "bob", "on", ">bob-secret", "~*", "&*", "+@all", "-type"});
  for (const auto& args : every_command(url_with("bob:bob-secret@"))) {
    if (args.front() == "work") continue;
    const auto run = run_conveyor(args, 30s);
    EXPECT_EQ(run.exit_code, 0) << args.front() << ": " << run.output;
  }
}

// Decision: Redis down at start is retried by `work` (a worker may start before Redis, as under
// a process supervisor or docker compose) and is a runtime failure (exit 1) for the one-shot
// commands, which a caller may simply run again.
TEST_F(RedisStartup, ARedisThatIsDownIsWaitedForByTheWorkerAndFailsTheOneShotCommandsWithOne) {
  redis.kill();
  for (const auto& args : every_command(redis.url())) {
    if (args.front() == "work") continue;
    const auto run = run_conveyor(args, 30s);
    EXPECT_EQ(run.exit_code, 1) << args.front() << ": " << run.output;
    EXPECT_NE(run.output.find("Connection refused"), std::string::npos) << args.front() << ": " << run.output;
  }

  PartnerSimulator partner;
  auto worker = start_conveyor({"work", "--channel", kChannel, "--redis-url", redis.url(), "--target-url",
                                partner.url(), "--concurrency", "10", "--threads", "1"});
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (seen.find("unreachable") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto line = worker.read_line(std::max(left, 1ms));
    if (!line) break;
    seen += *line + "\n";  // until a lane says it is trying
  }
  ASSERT_NE(seen.find("redis (queue shipments) unreachable: cannot connect to"), std::string::npos) << seen;
  ASSERT_FALSE(worker.wait(0ms)) << "the worker gave up: " << seen << worker.read_all(1s);

  redis.restart();
  const auto published =
      run_conveyor({"publish", "--channel", kChannel, "--redis-url", redis.url(), "--count", "5"}, 30s);
  ASSERT_EQ(published.exit_code, 0) << published.output;
  EXPECT_TRUE(wait_until([&] { return partner.stat("ok") >= 5; }, 30s)) << "the worker never delivered";
  worker.signal(SIGTERM);
  const auto code = worker.wait(30s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << worker.read_all(1s);
}

}  // namespace
}  // namespace conveyor::testing
