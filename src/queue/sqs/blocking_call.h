// One SQS call run to its end on a private io_context, blocking the caller: for start-up checks,
// operator tools and test fixtures, never for a lane, whose loop must not block.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "queue/sqs/sqs_client.h"

namespace conveyor::sqs {

// `call(client)` returns the awaitable of one Client call; its Outcome is returned.
template <class Call>
auto call_blocking(const ClientOptions& options, Call call) {
  boost::asio::io_context io;
  Client client(io.get_executor(), options);
  auto future = boost::asio::co_spawn(io, call(client), boost::asio::use_future);
  io.run();
  return future.get();
}

}  // namespace conveyor::sqs
