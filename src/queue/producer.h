// The publishing side of a queue: appends messages, exactly as given, where
// legacy producers would have put them. One instance per io_context.
// Batches handed over together keep their order; a failed call may have
// stored none, some or all of its batch (the caller reports it).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "core/error.h"

namespace conveyor::queue {

class Producer {
 public:
  virtual ~Producer() = default;
  // Appends the batch in order; completes when the queue has stored it.
  // Concurrent calls are allowed and are stored in call order.
  // The bodies must stay valid until it completes.
  virtual boost::asio::awaitable<error_code> publish(std::span<const std::string_view> bodies) = 0;
  // The largest message the queue accepts; a publisher refuses bigger ones before sending.
  virtual std::size_t max_message_bytes() const = 0;
};

}  // namespace conveyor::queue
