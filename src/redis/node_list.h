// The host list in the authority of a redis+cluster:// or redis+sentinel:// URL: host[:port]
// entries separated by commas (IPv6 hosts in brackets), which a single URL parser cannot read.
// Pure functions; callable from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "redis/endpoint.h"

namespace conveyor::redis {

// What follows a URL's "scheme://", cut at the authority's edges.
struct UrlParts {
  std::string_view userinfo;  // up to and with the last '@' of the authority; empty when none
  std::string_view hosts;     // the rest of the authority
  std::string_view rest;      // from the first '/', '?' or '#' on
};
UrlParts split_url(std::string_view after_scheme);

struct NodeList {
  std::vector<NodeAddress> nodes;  // in the order given
  std::size_t bad = 0;  // 1-based index of the first entry that is not host[:port] (port 1-65535); 0: none
};
// Empty `hosts` gives no node. `default_port` for an entry without one.
NodeList parse_node_list(std::string_view hosts, std::uint16_t default_port);

}  // namespace conveyor::redis
