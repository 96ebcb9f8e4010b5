// Drives one coroutine of a test on a local io_context, with a time limit:
// the io_context stops when the coroutine ends, since connections keep a read
// pending and would never let it run out of work. A coroutine that does not
// finish in time is a test failure, never a hang.
#pragma once

#include <chrono>
#include <exception>
#include <functional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace conveyor::testing {

// Returns true if `body` finished within `limit`; rethrows its exception.
inline bool run_coroutine(boost::asio::io_context& io, std::function<boost::asio::awaitable<void>()> body,
                          std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  bool done = false;
  std::exception_ptr error;
  boost::asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    done = true;
    error = e;
    io.stop();
  });
  io.restart();
  io.run_for(limit);
  if (error) std::rethrow_exception(error);
  EXPECT_TRUE(done) << "the test coroutine did not finish within " << limit.count() << " ms";
  return done;
}

}  // namespace conveyor::testing

// An ASSERT for coroutine bodies, where gtest's plain `return` cannot be used.
#define CO_ASSERT(cond)                             \
  if (!(cond)) {                                    \
    ADD_FAILURE() << "assertion failed: " << #cond; \
    co_return;                                      \
  }
