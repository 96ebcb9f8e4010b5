// Publishes to one SQS queue with SendMessageBatch, ten messages a call and many calls in flight,
// as a legacy producer's SendMessage would have put them there. Entries the service failed on
// its side (or throttled) are sent again, only those; an entry it refuses as ours to fix fails
// the call with the service's reason. SQS standard queues do not keep order, so neither does this.
#pragma once

#include <cstddef>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "queue/producer.h"
#include "queue/sqs/sqs_client.h"

namespace conveyor::queue {

class SqsProducer final : public Producer {
 public:
  // `calls_in_flight`: SendMessageBatch calls one publish() keeps outstanding at once.
  SqsProducer(boost::asio::any_io_executor executor, const sqs::ClientOptions& client, std::string queue_url,
              std::size_t calls_in_flight = 16);

  // Reads the queue's MaximumMessageSize, which also proves the queue exists and answers.
  // `why` gets the service's reason (never a secret); it must outlive the call.
  boost::asio::awaitable<error_code> connect(std::string* why = nullptr);

  boost::asio::awaitable<error_code> publish(std::span<const std::string_view> bodies) override;
  std::size_t max_message_bytes() const override { return max_message_bytes_; }

 private:
  // Sends one batch of at most ten, retrying the entries that can succeed later.
  boost::asio::awaitable<error_code> send(std::span<const std::string_view> bodies);

  sqs::Client client_;
  std::string queue_url_;
  std::size_t calls_in_flight_;
  std::size_t max_message_bytes_ = 262'144;  // SQS's default until connect() reads the queue's
};

}  // namespace conveyor::queue
