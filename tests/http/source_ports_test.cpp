// use_system_port_range against the kernel of the machine running the tests: the socket carries
// the system's ephemeral range as its own (where the kernel has IP_LOCAL_PORT_RANGE), and a
// connection made with it gets a source port inside that range.
#include "http/source_ports.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <fstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace conveyor::http {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

TEST(SourcePorts, ASocketSearchesTheSystemRangeAsItsOwn) {
  std::ifstream file("/proc/sys/net/ipv4/ip_local_port_range");
  std::uint32_t low = 0, high = 0;
  ASSERT_TRUE(file >> low >> high);

  asio::io_context io;
  tcp::acceptor listener(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket socket(io);
  socket.open(tcp::v4());
  use_system_port_range(socket);

  std::uint32_t range = 0;
  socklen_t size = sizeof range;
  if (::getsockopt(socket.native_handle(), IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range, &size) == 0) {
    EXPECT_EQ(range & 0xffff, low);
    EXPECT_EQ(range >> 16, high);
  } else {
    EXPECT_EQ(errno, ENOPROTOOPT) << "only a kernel without the option (before 6.3) may refuse it";
  }
  socket.connect(listener.local_endpoint());
  const auto port = socket.local_endpoint().port();
  EXPECT_GE(port, low);
  EXPECT_LE(port, high);
}

TEST(SourcePorts, AClosedSocketIsLeftAlone) {
  asio::io_context io;
  tcp::socket socket(io);
  use_system_port_range(socket);  // nothing to set: must neither throw nor open it
  EXPECT_FALSE(socket.is_open());
}

}  // namespace
}  // namespace conveyor::http
