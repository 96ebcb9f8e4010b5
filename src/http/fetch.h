// One-off HTTP exchanges over plain http://, one connection per call: the
// blocking GET of operator tooling and tests (the demo reads the partner
// simulator's /stats with it), and request(), an awaitable any-method exchange
// with headers and deadlines, for rare calls such as fetching AWS credentials
// from a metadata endpoint. Not for hot paths. request() runs on the caller's
// executor and owns nothing after it completes; nothing here logs (header
// values may be secrets).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "http/client.h"

namespace conveyor::http {

struct FetchedPage {
  unsigned status = 0;
  std::string body;
};

// GET `url` (a body of up to 1 GiB); fails with an error_code on a bad URL, connect failure or the
// deadline passing.
Result<FetchedPage> fetch(std::string_view url, std::chrono::milliseconds timeout);

// Views only: they must stay valid until request() completes.
struct FetchRequest {
  std::string_view method = "GET";  // an HTTP token: GET, PUT, POST ...
  std::string_view url;             // http:// only
  std::span<const HeaderField> headers = {};
  std::string_view body = {};  // sent with Content-Length when not empty
  // TCP connect; a host name's lookup runs in the system resolver, bounded only by its own
  // timeouts (the metadata endpoints are IP literals, looked up at once).
  std::chrono::milliseconds connect_timeout{1'000};
  std::chrono::milliseconds timeout{5'000};  // the whole exchange, connect included
  std::size_t max_body = 64 * 1024;          // a longer answer fails with ClientError::response_too_large
};

// Any status is a successful Result. Fails with Error::bad_url (not an http:// URL with a host),
// errc::invalid_argument (a method or header Beast refuses), ClientError::connect_timeout (no
// connection within connect_timeout), ClientError::request_timeout (the whole deadline passed),
// ClientError::response_too_large, or the socket's or parser's own error.
boost::asio::awaitable<Result<FetchedPage>> request(FetchRequest request);

}  // namespace conveyor::http
