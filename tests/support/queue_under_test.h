// A real queue for an end-to-end test, of either backend: a redis-server or the fauxqs SQS
// emulator, with the flags and environment a `conveyor` child needs to reach it, and what the
// test reads back to check it. The one suite run over both holds them to the same contract.
#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "queue/redis/redis_queue.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"
#include "support/sqs_emulator.h"

namespace conveyor::testing {

// redis_cluster: the Redis backend on a Redis Cluster (three masters, three replicas) shared by
// every test of the process and emptied (FLUSHALL) for each.
enum class Backend { redis, sqs, redis_cluster };
std::ostream& operator<<(std::ostream& out, Backend backend);

class QueueUnderTest {
 public:
  explicit QueueUnderTest(Backend backend);

  Backend backend() const { return backend_; }
  // Makes the channel's shards exist: SQS queues are provisioned by their owner, never by
  // Conveyor (Redis lists need nothing). Idempotent.
  void create(const std::string& channel, std::size_t shards = 1);
  // Flags and environment for a `conveyor publish|work` child.
  std::vector<std::string> args() const;
  std::vector<std::string> env() const;
  // `conveyor <head...> --channel <channel> <args()> <extra...>`.
  std::vector<std::string> command(std::initializer_list<std::string> head, const std::string& channel,
                                   std::initializer_list<std::string> extra = {}) const;
  // Creates the channel and publishes `lines` (JSON, one message each) with `conveyor publish
  // --input`; fails the test if that fails.
  void publish(const std::string& channel, const std::vector<std::string>& lines);

  // Messages of the channel's shards not yet leased (on SQS: visible or delayed; on Redis: on
  // the list, released, or waiting for a retry).
  std::size_t waiting(const std::string& channel, std::size_t shards = 1) const;
  // Messages leased and neither acknowledged nor returned (on SQS: not visible).
  std::size_t in_flight(const std::string& channel, std::size_t shards = 1) const;
  // Nothing left of the channel anywhere: no message, no lease, no bookkeeping.
  void expect_drained(const std::string& channel, std::size_t shards = 1) const;

  RedisServer& redis() { return *redis_; }

 private:
  std::vector<std::string> shard_names(const std::string& channel, std::size_t shards) const;
  std::map<std::string, std::size_t> sqs_counts(const std::string& name) const;
  bool is_redis() const { return backend_ != Backend::sqs; }
  // A command at the Redis server, or at the master of args[1] on the cluster.
  long long redis_integer(const std::vector<std::string>& args) const;
  queue::RedisQueue::Keys keys_of(const std::string& shard) const;

  Backend backend_;
  std::unique_ptr<RedisServer> redis_;
  RedisCluster* cluster_ = nullptr;  // the process's shared cluster
  std::unique_ptr<SqsEmulator> sqs_;
  std::map<std::string, std::string> queue_urls_;  // SQS queue name -> URL
};

}  // namespace conveyor::testing
