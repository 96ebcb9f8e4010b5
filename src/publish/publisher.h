// Drives a queue Producer from a MessageSource: fills batches and keeps a few
// of them in flight at once, so the queue sees pipelined multi-value writes
// rather than one round trip per message. Runs on one io_context.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include <boost/asio/awaitable.hpp>

#include "core/error.h"
#include "publish/message_source.h"
#include "queue/producer.h"

namespace conveyor::publish {

struct PublishOptions {
  std::size_t batch = 1000;           // messages per write
  std::size_t batches_in_flight = 8;  // writes outstanding at once
  // Called on the io_context's thread after each confirmed write with the messages confirmed so
  // far (a progress display); may be empty.
  std::function<void(std::uint64_t published)> on_published;
};

struct PublishSummary {
  std::uint64_t published = 0;
  double elapsed_seconds = 0;
  double messages_per_second() const { return elapsed_seconds > 0 ? published / elapsed_seconds : 0; }
};

// Publishes everything `source` yields. Stops at the first failed write and
// returns its error; `published` then counts the batches confirmed before it.
boost::asio::awaitable<Result<PublishSummary>> publish_all(MessageSource& source, queue::Producer& producer,
                                                           PublishOptions options);

}  // namespace conveyor::publish
