// LOG_FORMAT=json: every record is one line holding one JSON object, whatever its message holds.
#include "core/log_format.h"

#include <gtest/gtest.h>

#include <regex>

#include <boost/json/parse.hpp>

namespace conveyor {
namespace {

boost::json::object format(std::string_view message, spdlog::level::level_enum level = spdlog::level::info,
                           std::string* raw = nullptr) {
  spdlog::details::log_msg msg("conveyor", level, spdlog::string_view_t(message.data(), message.size()));
  spdlog::memory_buf_t buf;
  JsonLogFormatter().format(msg, buf);
  const std::string line(buf.data(), buf.size());
  if (raw) *raw = line;
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one record, one line: " << line;
  boost::system::error_code ec;
  auto value = boost::json::parse(line, ec);
  EXPECT_FALSE(ec) << line;
  EXPECT_TRUE(value.is_object()) << line;
  return value.is_object() ? value.as_object() : boost::json::object{};
}

std::string message_of(std::string_view message) {
  const auto line = format(message);
  return line.contains("message") ? std::string(line.at("message").as_string()) : "(no message)";
}

TEST(JsonLogFormat, HasTimeLevelMessageAndLogger) {
  std::string raw;
  const auto line = format("working shipments", spdlog::level::info, &raw);
  EXPECT_EQ(raw.rfind(R"({"time":")", 0), 0u) << "time first: " << raw;
  EXPECT_TRUE(std::regex_match(std::string(line.at("time").as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << line.at("time");
  EXPECT_EQ(line.at("level"), "info");
  EXPECT_EQ(line.at("message"), "working shipments");
  EXPECT_EQ(line.at("logger"), "conveyor");
  EXPECT_TRUE(line.at("thread").is_number());
}

TEST(JsonLogFormat, LevelsAreSpeltAsLogLevelSpellsThem) {
  EXPECT_EQ(format("m", spdlog::level::trace).at("level"), "trace");
  EXPECT_EQ(format("m", spdlog::level::debug).at("level"), "debug");
  EXPECT_EQ(format("m", spdlog::level::warn).at("level"), "warn");
  EXPECT_EQ(format("m", spdlog::level::err).at("level"), "error");
  EXPECT_EQ(format("m", spdlog::level::critical).at("level"), "critical");
}

TEST(JsonLogFormat, QuotesBackslashesAndControlCharactersSurvive) {
  const std::string message = "partner said \"no\" \\ {\"a\":1}\n\tline two\r\x01\x1b[31m\x7f end";
  EXPECT_EQ(message_of(message), message);
}

TEST(JsonLogFormat, NulBytesSurvive) {
  const std::string message("a\0b", 3);
  EXPECT_EQ(message_of(message), message);
}

TEST(JsonLogFormat, InvalidUtf8IsReplacedSoTheLineStillParses) {
  EXPECT_EQ(message_of("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");  // valid: unchanged
  EXPECT_EQ(message_of("bad \xff\xfe end"), "bad \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(message_of("cut \xe2\x82"), "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(message_of("surrogate \xed\xa0\x80"), "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(message_of("overlong \xc0\xaf"), "overlong \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(JsonLogFormat, ValidUtf8KeepsFourByteCharacters) {
  EXPECT_EQ(valid_utf8("\xf0\x9f\x9a\x9a truck"), "\xf0\x9f\x9a\x9a truck");
  EXPECT_EQ(valid_utf8("\xf4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // past U+10FFFF
}

}  // namespace
}  // namespace conveyor
