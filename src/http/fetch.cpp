#include "http/fetch.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <exception>
#include <string>

#include "http/client_error.h"

namespace conveyor::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxPage = std::size_t{1} << 30;

// A deadline of beast::tcp_stream shows as beast::error::timeout: name which one passed.
error_code timed(error_code ec, ClientError which) { return ec == beast::error::timeout ? make_error_code(which) : ec; }

}  // namespace

asio::awaitable<Result<FetchedPage>> request(FetchRequest request) {
  auto parsed = boost::urls::parse_uri(request.url);
  if (!parsed || parsed->scheme() != "http" || parsed->host().empty()) co_return make_error_code(Error::bad_url);
  const std::string host(parsed->host_name().empty() ? parsed->encoded_host_address() : parsed->host_name());
  const std::string port = parsed->has_port() ? std::string(parsed->port()) : "80";
  const std::string target = parsed->encoded_target().empty() ? "/" : std::string(parsed->encoded_target());
  const auto deadline = Clock::now() + request.timeout;

  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  error_code ec;
  beast::http::request<beast::http::string_body> message;
  try {
    message.method_string(request.method);
    message.target(target);
    message.version(11);
    message.set(beast::http::field::host, parsed->encoded_authority());
    message.set(beast::http::field::connection, "close");
    for (const HeaderField& header : request.headers) message.set(header.name, header.value);
  } catch (const std::exception&) {
    co_return make_error_code(boost::system::errc::invalid_argument);
  }
  if (!request.body.empty()) message.body() = std::string(request.body);
  message.prepare_payload();

  // A literal address needs no lookup; a name is looked up within the connect deadline.
  asio::ip::tcp::resolver resolver(executor);
  stream.expires_after(std::min(request.connect_timeout, request.timeout));
  const auto endpoints = co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return timed(ec, ClientError::connect_timeout);

  stream.expires_at(deadline);
  co_await beast::http::async_write(stream, message, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return timed(ec, ClientError::request_timeout);
  beast::flat_buffer buffer;
  beast::http::response_parser<beast::http::string_body> parser;
  parser.body_limit(request.max_body);
  co_await beast::http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::http::error::body_limit) co_return make_error_code(ClientError::response_too_large);
  if (ec) co_return timed(ec, ClientError::request_timeout);
  auto response = parser.release();
  co_return FetchedPage{response.result_int(), std::move(response.body())};
}

Result<FetchedPage> fetch(std::string_view url, std::chrono::milliseconds timeout) {
  asio::io_context io;
  Result<FetchedPage> result = make_error_code(asio::error::timed_out);
  // Tools read whole pages (the simulator's /bodies of a test run): no small limit.
  const FetchRequest get{.url = url, .connect_timeout = timeout, .timeout = timeout, .max_body = kMaxPage};
  asio::co_spawn(io, request(get), [&](std::exception_ptr e, Result<FetchedPage> r) {
    if (e) std::rethrow_exception(e);
    result = std::move(r);
  });
  io.run_for(timeout);  // also bounds a host name's lookup, which request()'s deadlines do not
  return result;
}

}  // namespace conveyor::http
