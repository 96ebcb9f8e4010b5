#include "redis/slot_map.h"

#include <algorithm>

namespace conveyor::redis {
namespace {

// [ip, port, id, ...] of one node in a CLUSTER SLOTS entry.
bool node_of(const Reply& entry, const NodeAddress& asked, NodeAddress& out) {
  if (entry.type != Reply::Type::array || entry.elements.size() < 2) return false;
  const Reply& ip = entry.elements[0];
  const Reply& port = entry.elements[1];
  if (ip.type != Reply::Type::string || port.type != Reply::Type::integer) return false;
  if (port.integer <= 0 || port.integer > 65535) return false;
  out.host = ip.string.empty() || ip.string == "?" ? asked.host : ip.string;
  out.port = static_cast<std::uint16_t>(port.integer);
  return true;
}

}  // namespace

Result<SlotMap> SlotMap::parse(const Reply& slots, const NodeAddress& asked) {
  if (slots.type != Reply::Type::array) return make_error_code(Error::redis_unexpected);
  SlotMap map;
  // Masters first, so that nodes() lists them before the replicas.
  std::vector<NodeAddress> replicas;
  for (const Reply& range : slots.elements) {
    if (range.type != Reply::Type::array || range.elements.size() < 3) return make_error_code(Error::redis_unexpected);
    const Reply& first = range.elements[0];
    const Reply& last = range.elements[1];
    if (first.type != Reply::Type::integer || last.type != Reply::Type::integer || first.integer < 0 ||
        last.integer >= kSlotCount || first.integer > last.integer) {
      return make_error_code(Error::redis_unexpected);
    }
    NodeAddress master;
    if (!node_of(range.elements[2], asked, master)) return make_error_code(Error::redis_unexpected);
    const std::int16_t index = map.index_of(master);
    for (auto slot = first.integer; slot <= last.integer; ++slot) {
      if (map.owner_[static_cast<std::size_t>(slot)] == kNone) ++map.covered_;
      map.owner_[static_cast<std::size_t>(slot)] = index;
    }
    for (std::size_t i = 3; i < range.elements.size(); ++i) {
      NodeAddress replica;
      if (node_of(range.elements[i], asked, replica)) replicas.push_back(std::move(replica));
    }
  }
  for (const auto& replica : replicas) map.index_of(replica);
  return map;
}

const NodeAddress* SlotMap::master_of(std::uint16_t slot) const {
  const std::int16_t index = owner_[slot % owner_.size()];
  return index == kNone ? nullptr : &nodes_[static_cast<std::size_t>(index)];
}

void SlotMap::assign(std::uint16_t slot, const NodeAddress& node) {
  auto& owner = owner_[slot % owner_.size()];
  if (owner == kNone) ++covered_;
  owner = index_of(node);
}

std::vector<NodeAddress> SlotMap::masters() const {
  std::vector<std::int16_t> seen;
  std::vector<NodeAddress> out;
  for (const auto index : owner_) {
    if (index == kNone || std::ranges::find(seen, index) != seen.end()) continue;
    seen.push_back(index);
    out.push_back(nodes_[static_cast<std::size_t>(index)]);
  }
  return out;
}

std::int16_t SlotMap::index_of(const NodeAddress& node) {
  const auto found = std::ranges::find(nodes_, node);
  if (found != nodes_.end()) return static_cast<std::int16_t>(found - nodes_.begin());
  nodes_.push_back(node);
  return static_cast<std::int16_t>(nodes_.size() - 1);
}

}  // namespace conveyor::redis
