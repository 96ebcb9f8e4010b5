#include "http/source_ports.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <fstream>

namespace conveyor::http {
namespace {

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51  // linux/in.h, Linux 6.3; Debian 12's headers predate it
#endif

// The option's value: the upper bound in the high 16 bits, the lower in the low 16 (ip(7)).
// 0 when the system's range cannot be read, which leaves sockets alone.
std::uint32_t system_range() {
  std::ifstream file("/proc/sys/net/ipv4/ip_local_port_range");
  std::uint32_t low = 0, high = 0;
  if (!(file >> low >> high) || low == 0 || high > 65535 || low >= high) return 0;
  return (high << 16) | low;
}

}  // namespace

void use_system_port_range(boost::asio::ip::tcp::socket& socket) {
  static const std::uint32_t range = system_range();
  if (range == 0 || !socket.is_open()) return;
  (void)::setsockopt(socket.native_handle(), IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range, sizeof range);
}

}  // namespace conveyor::http
