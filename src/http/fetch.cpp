#include "http/fetch.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

namespace conveyor::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;

constexpr std::uint64_t kMaxPage = std::uint64_t{1} << 30;

asio::awaitable<Result<FetchedPage>> get(std::string host, std::string port, std::string target) {
  auto executor = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(executor);
  beast::tcp_stream stream(executor);
  error_code ec;
  const auto endpoints = co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  beast::http::request<beast::http::empty_body> request(beast::http::verb::get, target, 11);
  request.set(beast::http::field::host, host);
  request.set(beast::http::field::connection, "close");
  co_await beast::http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  beast::flat_buffer buffer;
  // Tools read whole pages (the simulator's /bodies of a test run): no 8 MB default limit.
  beast::http::response_parser<beast::http::string_body> parser;
  parser.body_limit(kMaxPage);
  co_await beast::http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  auto response = parser.release();
  co_return FetchedPage{response.result_int(), std::move(response.body())};
}

}  // namespace

Result<FetchedPage> fetch(std::string_view url, std::chrono::milliseconds timeout) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http" || parsed->host().empty()) return make_error_code(Error::bad_url);
  std::string target = parsed->encoded_target().empty() ? "/" : std::string(parsed->encoded_target());
  std::string port = parsed->has_port() ? std::string(parsed->port()) : "80";

  asio::io_context io;
  Result<FetchedPage> result = make_error_code(asio::error::timed_out);
  asio::co_spawn(io, get(std::string(parsed->host()), port, target), [&](std::exception_ptr e, Result<FetchedPage> r) {
    if (e) std::rethrow_exception(e);
    result = std::move(r);
  });
  io.run_for(timeout);
  return result;
}

}  // namespace conveyor::http
