#include "support/queue_under_test.h"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>

#include "queue/redis/redis_queue.h"
#include "queue/shards.h"
#include "support/conveyor_harness.h"
#include "support/temp_path.h"

namespace conveyor::testing {

std::ostream& operator<<(std::ostream& out, Backend backend) {
  return out << (backend == Backend::redis ? "REDIS" : backend == Backend::sqs ? "SQS" : "REDIS_CLUSTER");
}

namespace {

// One cluster for the whole test process: forming one takes seconds.
RedisCluster& shared_cluster() {
  static RedisCluster cluster;
  return cluster;
}

}  // namespace

QueueUnderTest::QueueUnderTest(Backend backend) : backend_(backend) {
  if (backend == Backend::redis) {
    redis_ = std::make_unique<RedisServer>();
  } else if (backend == Backend::redis_cluster) {
    cluster_ = &shared_cluster();
    for (std::size_t i = 0; i < cluster_->size(); ++i) cluster_->node(i).query({"FLUSHALL"});  // replicas refuse: fine
    if (!cluster_->wait_until_replicated(std::chrono::seconds(10))) throw std::runtime_error("cluster replicas lag");
  } else {
    sqs_ = std::make_unique<SqsEmulator>();
  }
}

std::vector<std::string> QueueUnderTest::shard_names(const std::string& channel, std::size_t shards) const {
  return queue::shard_names(channel, shards, is_redis() ? ':' : '-');
}

void QueueUnderTest::create(const std::string& channel, std::size_t shards) {
  if (is_redis()) return;
  auto names = shard_names(channel, shards);
  names.push_back(channel + "-dead");  // the dead-letter queue work looks up by convention
  for (const std::string& name : names) {
    if (!queue_urls_.contains(name)) queue_urls_[name] = sqs_->create_queue(name);
  }
}

std::vector<std::string> QueueUnderTest::command(std::initializer_list<std::string> head, const std::string& channel,
                                                 std::initializer_list<std::string> extra) const {
  std::vector<std::string> out(head);
  out.insert(out.end(), {"--channel", channel});
  for (const auto& a : args()) out.push_back(a);
  out.insert(out.end(), extra);
  return out;
}

void QueueUnderTest::publish(const std::string& channel, const std::vector<std::string>& lines) {
  create(channel);
  const std::string path = temp_path("publish-input.jsonl");
  {
    std::ofstream out(path);
    for (const auto& line : lines) out << line << "\n";
  }
  const auto done = run_conveyor(command({"publish"}, channel, {"--input", path}), std::chrono::seconds(120), env());
  ASSERT_EQ(done.exit_code, 0) << done.output;
}

std::vector<std::string> QueueUnderTest::args() const {
  if (backend_ == Backend::redis) return {"--queue", "REDIS", "--redis-url", redis_->url()};
  if (backend_ == Backend::redis_cluster) return {"--queue", "REDIS", "--redis-url", cluster_->url()};
  return {"--queue", "SQS"};
}

std::vector<std::string> QueueUnderTest::env() const {
  if (is_redis()) return {};
  return sqs_->environment();
}

std::map<std::string, std::size_t> QueueUnderTest::sqs_counts(const std::string& name) const {
  auto url = queue_urls_.find(name);
  if (url == queue_urls_.end()) throw std::logic_error("queue " + name + " was never created");
  return sqs_->counts(url->second);
}

std::size_t QueueUnderTest::waiting(const std::string& channel, std::size_t shards) const {
  std::size_t total = 0;
  for (const std::string& name : shard_names(channel, shards)) {
    if (is_redis()) {
      // The list, and messages released or waiting for a retry.
      total += static_cast<std::size_t>(redis_integer({"LLEN", name}));
      total += static_cast<std::size_t>(redis_integer({"ZCARD", keys_of(name).delayed}));
    } else {
      auto counts = sqs_counts(name);
      total += counts["ApproximateNumberOfMessages"] + counts["ApproximateNumberOfMessagesDelayed"];
    }
  }
  return total;
}

std::size_t QueueUnderTest::in_flight(const std::string& channel, std::size_t shards) const {
  std::size_t total = 0;
  for (const std::string& name : shard_names(channel, shards)) {
    if (is_redis()) {
      total += static_cast<std::size_t>(redis_integer({"ZCARD", keys_of(name).leases}));
    } else {
      total += sqs_counts(name)["ApproximateNumberOfMessagesNotVisible"];
    }
  }
  return total;
}

void QueueUnderTest::expect_drained(const std::string& channel, std::size_t shards) const {
  EXPECT_EQ(waiting(channel, shards), 0u);
  EXPECT_EQ(in_flight(channel, shards), 0u);
  if (!is_redis()) return;
  for (const std::string& name : shard_names(channel, shards)) {
    const auto keys = keys_of(name);
    EXPECT_EQ(redis_integer({"HLEN", keys.bodies}), 0) << name;
    EXPECT_EQ(redis_integer({"HLEN", keys.attempts}), 0) << name;
  }
}

long long QueueUnderTest::redis_integer(const std::vector<std::string>& args) const {
  return redis_ ? redis_->integer(args) : cluster_->integer(args);
}

queue::RedisQueue::Keys QueueUnderTest::keys_of(const std::string& shard) const {
  return queue::RedisQueue::keys_of(shard, cluster_ ? queue::KeyLayout::hash_tagged : queue::KeyLayout::plain);
}

}  // namespace conveyor::testing
