// QueueAdmin over SQS queues and their dead-letter queue. Counts are the queues' approximate
// attributes. SQS has no way to read a queue without receiving from it, so listing receives
// dead letters with a visibility timeout of 0 (they stay available; a message seen twice is shown
// once); requeue sends a dead letter's untouched body to the first queue and deletes it from the
// DLQ only once sent; purge receives and deletes. Each walk over the DLQ is bounded.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "queue/queue_admin.h"
#include "queue/sqs/sqs_client.h"

namespace conveyor::queue {

class SqsAdmin final : public QueueAdmin {
 public:
  SqsAdmin(boost::asio::any_io_executor executor, const sqs::ClientOptions& client, std::vector<std::string> queue_urls,
           std::string dead_letter_url);

  boost::asio::awaitable<Result<std::vector<ShardCounts>>> counts() override;
  boost::asio::awaitable<Result<std::vector<DeadMessage>>> dead_letters(std::size_t limit, std::size_t body_bytes) override;
  bool lists_without_side_effects() const override { return false; }
  boost::asio::awaitable<Result<std::size_t>> requeue(std::span<const std::string> ids) override;
  boost::asio::awaitable<Result<std::size_t>> purge() override;

 private:
  // Receives dead letters and hands each to `take`, which says whether to delete it from the DLQ
  // (after doing what it must with it); the others are made visible again.
  template <class Take>
  boost::asio::awaitable<Result<std::size_t>> drain(Take take);

  sqs::Client client_;
  std::vector<std::string> queue_urls_;
  std::string dead_letter_url_;
};

}  // namespace conveyor::queue
