// The .env reader against python-dotenv's documented behaviour: the cases of its README and of
// its parser tests (tests/test_parser.py), so files written for the old Python stack mean the same.
#include "config/env_file.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "config/config_error.h"

namespace conveyor::config {
namespace {

std::string error_of(std::string_view text) {
  try {
    parse_env_text(text, ".env");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// Regression: a comment after a quoted value was refused as "unterminated quote".
TEST(EnvFile, CommentAfterAQuotedValueIsAccepted) {
  const KeyValues kv = parse_env_text(
      "REDIS_URL='redis://host:6379/0'  # main redis\n"
      "TARGET_URL=\"http://partner/push\" # the partner\n"
      "CHANNEL_NAME='shipments'# no space needed after a quote\n",
      ".env");
  EXPECT_EQ(kv.at("REDIS_URL"), "redis://host:6379/0");
  EXPECT_EQ(kv.at("TARGET_URL"), "http://partner/push");
  EXPECT_EQ(kv.at("CHANNEL_NAME"), "shipments");
}

// python-dotenv's tests/test_parser.py, one line per case: input, then the expected bindings.
TEST(EnvFile, AgreesWithPythonDotenvsParserCases) {
  const std::vector<std::pair<std::string, KeyValues>> cases = {
      {"", {}},
      {"a=b", {{"a", "b"}}},
      {"'a'=b", {{"a", "b"}}},
      {"[=b", {{"[", "b"}}},
      {" a = b ", {{"a", "b"}}},
      {"export a=b", {{"a", "b"}}},
      {" export 'a'=b", {{"a", "b"}}},
      {"# a=b", {}},
      {"a=b#c", {{"a", "b#c"}}},
      {"a=b #c", {{"a", "b"}}},
      {"a= #c", {{"a", ""}}},
      {"a=  # comment", {{"a", ""}}},
      {"a=#b", {{"a", "#b"}}},
      {"a=b\t#c", {{"a", "b"}}},
      {"a=b c", {{"a", "b c"}}},
      {"a=b\tc", {{"a", "b\tc"}}},
      {"a=b  c", {{"a", "b  c"}}},
      {"a=b\u00a0 c", {{"a", "b\u00a0 c"}}},
      {"a=b c ", {{"a", "b c"}}},
      {"a='b c '", {{"a", "b c "}}},
      {"a=\"b c \"", {{"a", "b c "}}},
      {"export export_a=1", {{"export_a", "1"}}},
      {"export port=8000", {{"port", "8000"}}},
      {"a=\"b\nc\"", {{"a", "b\nc"}}},
      {"a='b\nc'", {{"a", "b\nc"}}},
      {"a=\"b\\nc\"", {{"a", "b\nc"}}},
      {"a='b\\nc'", {{"a", "b\\nc"}}},
      {"a=\"b\\\"c\"", {{"a", "b\"c"}}},
      {"a='b\\'c'", {{"a", "b'c"}}},
      {"a=\u00e0", {{"a", "\u00e0"}}},
      {"a=\"\u00e0\"", {{"a", "\u00e0"}}},
      {"no_value_var", {}},
      {"a=b\nc=d", {{"a", "b"}, {"c", "d"}}},
      {"a=b\rc=d", {{"a", "b"}, {"c", "d"}}},
      {"a=b\r\nc=d", {{"a", "b"}, {"c", "d"}}},
      {"a=\nb=c", {{"a", ""}, {"b", "c"}}},
      {"\n\n", {}},
      {"a=b\n\n", {{"a", "b"}}},
      {"a=b\n\nc=d", {{"a", "b"}, {"c", "d"}}},
      {"# comment\na=\"b\nc\"\nd=e\n", {{"a", "b\nc"}, {"d", "e"}}},
      {"a=b\n# comment 1", {{"a", "b"}}},
      {"# comment 1\n# comment 2", {}},
      {"uglyKey[%$=\"S3cr3t_P4ssw#rD\" #\na=b", {{"uglyKey[%$", "S3cr3t_P4ssw#rD"}, {"a", "b"}}},
      {"\xEF\xBB\xBF" "a=b\nc=d", {{"a", "b"}, {"c", "d"}}},  // a UTF-8 byte order mark
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(parse_env_text(text, ".env"), expected) << "input: " << text;
  }
}

// Cases python-dotenv marks as errors (it skips them with a warning; Conveyor refuses the file).
TEST(EnvFile, WhatPythonDotenvCannotParseIsAnErrorNamingTheLine) {
  EXPECT_EQ(error_of("a: b"), ".env:1: expected KEY=VALUE, got 'a: b'");
  EXPECT_EQ(error_of("a=b\nc=\"\nb=c"), ".env:2: unterminated quote in the value of c");
  EXPECT_EQ(error_of("a='x' y"), ".env:1: unexpected text after the closing quote of a's value");
  EXPECT_EQ(error_of("=b"), ".env:1: expected KEY=VALUE, got '=b'");
}

TEST(EnvFile, DoubleQuotesDecodeEscapesAndSingleQuotesKeepThem) {
  const KeyValues kv = parse_env_text(
      "D=\"tab\\there\\\\ \\'q\\' \\x\"\n"
      "S='C:\\dir\\file \\\\ \\t'\n"
      "ENDS_IN_BACKSLASH=\"a\\\\\"\n",
      ".env");
  EXPECT_EQ(kv.at("D"), "tab\there\\ 'q' \\x");  // an unknown escape stays as written
  EXPECT_EQ(kv.at("S"), "C:\\dir\\file \\ \\t");
  EXPECT_EQ(kv.at("ENDS_IN_BACKSLASH"), "a\\");
}

TEST(EnvFile, BindingsKeepTheirLinesAndABareKeySetsNothing) {
  const EnvFile file = parse_env_file("# header\nA=1\nPEM=\"line 1\nline 2\"\nBARE\n\nB=2 # two\n", "conf/.env");
  ASSERT_EQ(file.bindings.size(), 4u);
  EXPECT_EQ(file.bindings[0].line, 2u);
  EXPECT_EQ(file.bindings[1].line, 3u);
  EXPECT_EQ(file.bindings[2].key, "BARE");
  EXPECT_FALSE(file.bindings[2].value.has_value());
  EXPECT_EQ(file.bindings[2].line, 5u);
  EXPECT_EQ(file.bindings[3].line, 7u);
  EXPECT_EQ(file.values(), (KeyValues{{"A", "1"}, {"PEM", "line 1\nline 2"}, {"B", "2"}}));
}

TEST(EnvFile, ErrorsAfterAMultiLineValueNameTheirOwnLine) {
  EXPECT_EQ(error_of("A=\"one\ntwo\"\nthis is not a setting\n"),
            ".env:3: expected KEY=VALUE, got 'this is not a setting'");
}

}  // namespace
}  // namespace conveyor::config
