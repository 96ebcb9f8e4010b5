#include "redis/node_list.h"

#include <algorithm>
#include <charconv>

#include <boost/url/parse.hpp>

namespace conveyor::redis {
namespace {

bool parse_node(std::string_view text, NodeAddress& out) {
  auto authority = boost::urls::parse_authority(boost::urls::string_view(text.data(), text.size()));
  if (!authority || authority->has_userinfo() || authority->encoded_host().empty()) return false;
  out.host = authority->host_address();
  if (!authority->has_port()) return true;
  const std::string_view port = authority->port();
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return false;
  out.port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

UrlParts split_url(std::string_view after_scheme) {
  const std::size_t authority_end = std::min(after_scheme.find_first_of("/?#"), after_scheme.size());
  const std::string_view authority = after_scheme.substr(0, authority_end);
  const std::size_t at = authority.rfind('@');
  const std::size_t hosts_begin = at == std::string_view::npos ? 0 : at + 1;
  return {authority.substr(0, hosts_begin), authority.substr(hosts_begin), after_scheme.substr(authority_end)};
}

NodeList parse_node_list(std::string_view hosts, std::uint16_t default_port) {
  NodeList list;
  for (std::size_t begin = 0; begin <= hosts.size() && !hosts.empty();) {
    const std::size_t comma = std::min(hosts.find(',', begin), hosts.size());
    NodeAddress node{.host = {}, .port = default_port};
    if (!parse_node(hosts.substr(begin, comma - begin), node)) {
      list.bad = list.nodes.size() + 1;
      return list;
    }
    list.nodes.push_back(std::move(node));
    begin = comma + 1;
  }
  return list;
}

}  // namespace conveyor::redis
