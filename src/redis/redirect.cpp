#include "redis/redirect.h"

#include <charconv>

namespace conveyor::redis {
namespace {

template <class Int>
bool parse_number(std::string_view text, Int& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect out;
  if (error.starts_with("MOVED ")) {
    out.kind = Redirect::Kind::moved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    out.kind = Redirect::Kind::ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const std::size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  if (!parse_number(error.substr(0, space), slot) || slot >= 16384) return std::nullopt;
  out.slot = static_cast<std::uint16_t>(slot);
  const std::string_view address = error.substr(space + 1);
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  unsigned port = 0;
  if (!parse_number(address.substr(colon + 1), port) || port == 0 || port > 65535) return std::nullopt;
  std::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  out.node = {std::string(host), static_cast<std::uint16_t>(port)};
  return out;
}

std::optional<Redirect> parse_redirect(const Reply& reply) {
  if (!reply.is_error()) return std::nullopt;
  return parse_redirect(reply.string);
}

bool is_transient_cluster_error(const Reply& reply) {
  return reply.is_error() && (reply.string.starts_with("TRYAGAIN") || reply.string.starts_with("CLUSTERDOWN"));
}

}  // namespace conveyor::redis
