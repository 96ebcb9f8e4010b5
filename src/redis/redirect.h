// What a Redis Cluster node's error reply asks of the client: go elsewhere (MOVED: the slot lives
// there now; ASK: this once, send ASKING first), wait and try again (TRYAGAIN: a multi-key command
// mid-migration; CLUSTERDOWN: a failover in progress), or nothing (any other reply). Pure
// functions, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "redis/endpoint.h"
#include "redis/reply.h"

namespace conveyor::redis {

struct Redirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  std::uint16_t slot = 0;
  NodeAddress node;
};

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 [::1]:6381"; nullopt for anything else.
std::optional<Redirect> parse_redirect(std::string_view error);
std::optional<Redirect> parse_redirect(const Reply& reply);

// TRYAGAIN or CLUSTERDOWN: the command was not run; the same command may succeed shortly.
bool is_transient_cluster_error(const Reply& reply);

}  // namespace conveyor::redis
