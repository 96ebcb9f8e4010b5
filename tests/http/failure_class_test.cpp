// The failure classification, exhaustively: every label, and each code the
// client documents (and the Asio, Beast and OpenSSL codes behind them) maps
// to exactly one class; descriptions name the deadline that passed.
#include "http/failure_class.h"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <set>
#include <string>

#include "http/client_error.h"

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using conveyor::error_code;
using conveyor::http::all_failure_classes;
using conveyor::http::ClientError;
using conveyor::http::FailureClass;
using conveyor::http::PartnerResponse;
using conveyor::http::classify;
using conveyor::http::describe;
using conveyor::http::label;
using namespace std::chrono_literals;

TEST(FailureClassTest, LabelsAreExactlyTheAgreedList) {
  std::vector<std::string> labels;
  for (FailureClass c : all_failure_classes) labels.emplace_back(label(c));
  EXPECT_EQ(labels, (std::vector<std::string>{"dns_error", "connect_timeout", "refused", "timeout", "reset",
                                              "tls_error", "malformed", "too_large", "2xx", "3xx", "4xx", "5xx"}));
}

TEST(FailureClassTest, EveryKnownErrorHasItsClass) {
  const std::vector<std::pair<error_code, FailureClass>> table = {
      {asio::error::host_not_found, FailureClass::dns_error},
      {asio::error::host_not_found_try_again, FailureClass::dns_error},
      {asio::error::no_data, FailureClass::dns_error},
      {asio::error::no_recovery, FailureClass::dns_error},
      {asio::error::service_not_found, FailureClass::dns_error},
      {ClientError::connect_timeout, FailureClass::connect_timeout},
      {asio::error::connection_refused, FailureClass::refused},
      {asio::error::host_unreachable, FailureClass::refused},
      {asio::error::network_unreachable, FailureClass::refused},
      {asio::error::network_down, FailureClass::refused},
      {ClientError::request_timeout, FailureClass::timeout},
      {asio::error::timed_out, FailureClass::timeout},
      {boost::beast::error::timeout, FailureClass::timeout},
      {conveyor::Error::connection_closed, FailureClass::reset},
      {asio::error::connection_reset, FailureClass::reset},
      {asio::error::connection_aborted, FailureClass::reset},
      {asio::error::broken_pipe, FailureClass::reset},
      {asio::error::eof, FailureClass::reset},
      {asio::ssl::error::stream_truncated, FailureClass::reset},
      {bhttp::error::end_of_stream, FailureClass::reset},
      {bhttp::error::partial_message, FailureClass::reset},
      {error_code(0x0A000086, asio::error::get_ssl_category()), FailureClass::tls_error},  // certificate verify failed
      {asio::ssl::error::unexpected_result, FailureClass::tls_error},
      {conveyor::Error::http_protocol, FailureClass::malformed},
      {bhttp::error::bad_version, FailureClass::malformed},
      {bhttp::error::bad_chunk, FailureClass::malformed},
      {bhttp::error::bad_content_length, FailureClass::malformed},
      {ClientError::response_too_large, FailureClass::too_large},
      {bhttp::error::body_limit, FailureClass::too_large},
      {bhttp::error::header_limit, FailureClass::too_large},
      {bhttp::error::buffer_overflow, FailureClass::too_large},
      // Our own doing, or a kind the list does not name: the fallback.
      {asio::error::operation_aborted, FailureClass::reset},
      {boost::system::errc::make_error_code(boost::system::errc::invalid_argument), FailureClass::reset},
  };
  std::set<FailureClass> covered;
  for (const auto& [ec, expected] : table) {
    EXPECT_EQ(label(classify(ec)), label(expected)) << ec.category().name() << ":" << ec.value() << " " << ec.message();
    covered.insert(expected);
  }
  EXPECT_EQ(covered.size(), 8u) << "every transport class appears in the table";
}

TEST(FailureClassTest, AnswersAreTheirStatusClass) {
  EXPECT_EQ(classify(200u), FailureClass::status_2xx);
  EXPECT_EQ(classify(299u), FailureClass::status_2xx);
  EXPECT_EQ(classify(301u), FailureClass::status_3xx);
  EXPECT_EQ(classify(400u), FailureClass::status_4xx);
  EXPECT_EQ(classify(499u), FailureClass::status_4xx);
  EXPECT_EQ(classify(500u), FailureClass::status_5xx);
  EXPECT_EQ(classify(599u), FailureClass::status_5xx);
  EXPECT_EQ(classify(199u), FailureClass::malformed);
  EXPECT_EQ(classify(600u), FailureClass::malformed);

  EXPECT_EQ(classify(conveyor::Result<PartnerResponse>(PartnerResponse{.status = 429, .body_prefix = {}, .retry_after = {}})), FailureClass::status_4xx);
  EXPECT_EQ(classify(conveyor::Result<PartnerResponse>(error_code(ClientError::request_timeout))),
            FailureClass::timeout);
}

TEST(FailureClassTest, TimeoutsAreStillTimeoutsAsConditions) {
  EXPECT_TRUE(error_code(ClientError::connect_timeout) == boost::system::errc::timed_out);
  EXPECT_TRUE(error_code(ClientError::request_timeout) == boost::system::errc::timed_out);
  EXPECT_FALSE(error_code(ClientError::response_too_large) == boost::system::errc::timed_out);
}

TEST(FailureClassTest, DescriptionsStartWithTheLabelAndNameTheDeadline) {
  const conveyor::http::CallTimeouts timeouts{.connect = 2'000ms, .request = 300ms};
  EXPECT_EQ(describe(ClientError::request_timeout, timeouts), "timeout: no answer within REQUEST_TIMEOUT (300ms)");
  EXPECT_EQ(describe(asio::error::timed_out, timeouts), "timeout: no answer within REQUEST_TIMEOUT (300ms)");
  EXPECT_EQ(describe(ClientError::connect_timeout, timeouts),
            "connect_timeout: no connection within CONNECT_TIMEOUT (2s)");
  EXPECT_EQ(describe(asio::error::connection_refused, timeouts), "refused: Connection refused");
  EXPECT_EQ(describe(conveyor::Error::http_protocol, timeouts), "malformed: malformed HTTP response");
  EXPECT_EQ(describe(ClientError::response_too_large, timeouts), "too_large: response too large");
  EXPECT_EQ(describe(conveyor::Error::connection_closed, timeouts), "reset: connection closed");
}

}  // namespace
