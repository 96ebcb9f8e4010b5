// A Lease is one message taken from a queue for delivery: the body exactly as
// the producer wrote it, a stable id (the partner's Idempotency-Key, the same
// on every attempt) and the backend's private handle to settle it later.
#pragma once

#include <cstdint>
#include <string>

namespace conveyor::queue {

struct Lease {
  std::string id;            // stable across attempts; never empty
  std::string body;          // untouched producer bytes
  std::uint32_t attempt = 1; // 1 on the first delivery of this message
  std::uint32_t shard = 0;   // which shard it came from
  std::string receipt;       // backend-private: proves we still hold the lease
};

}  // namespace conveyor::queue
