// Which node is master of each of Redis Cluster's 16384 slots, as a node told us (CLUSTER SLOTS),
// corrected slot by slot by MOVED replies, and every node it named (masters and replicas), to ask
// again after a failover. A plain value: owned by its cluster connection, used from its thread.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "redis/endpoint.h"
#include "redis/reply.h"
#include "redis/slot.h"

namespace conveyor::redis {

class SlotMap {
 public:
  SlotMap() { owner_.fill(kNone); }

  // From a CLUSTER SLOTS reply given by `asked`: a node announced with an empty IP is `asked`
  // itself. Fails with Error::redis_unexpected if the reply has another shape.
  static Result<SlotMap> parse(const Reply& slots, const NodeAddress& asked);

  // The slot's master; nullptr while no node serves it.
  const NodeAddress* master_of(std::uint16_t slot) const;
  // After MOVED: the slot lives at `node` now.
  void assign(std::uint16_t slot, const NodeAddress& node);

  // Every node the map names, masters first.
  const std::vector<NodeAddress>& nodes() const { return nodes_; }
  // The distinct masters serving at least one slot.
  std::vector<NodeAddress> masters() const;
  bool empty() const { return covered_ == 0; }

 private:
  static constexpr std::int16_t kNone = -1;
  std::int16_t index_of(const NodeAddress& node);

  std::vector<NodeAddress> nodes_;
  std::array<std::int16_t, 16384> owner_;
  std::size_t covered_ = 0;
};

}  // namespace conveyor::redis
