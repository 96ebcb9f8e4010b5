// RESP without a server: a command's bytes as append_command writes them, and replies parsed
// by ReplyReader whole, in order, across any split of the bytes, with protocol errors as values.
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "redis/command_encoding.h"
#include "redis/reply_reader.h"

namespace {

using namespace conveyor::redis;
using Args = std::vector<std::string_view>;

TEST(Resp, CommandsAreBulkStringArraysAppendedToTheBuffer) {
  std::string out = "kept";
  ASSERT_TRUE(append_command(out, Args{"SET", "k", std::string_view("a\0b\r\n", 5)}));
  constexpr char expected[] = "kept*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\0b\r\n\r\n";
  EXPECT_EQ(out, std::string(expected, sizeof expected - 1));
}

TEST(Resp, AnEmptyCommandIsRefusedAndWritesNothing) {
  std::string out = "kept";
  EXPECT_FALSE(append_command(out, Args{}));
  EXPECT_EQ(out, "kept");
  ASSERT_TRUE(append_command(out, Args{std::string_view{}}));  // an empty argument is fine
  EXPECT_EQ(out, "kept*1\r\n$0\r\n\r\n");
}

TEST(Resp, EvalshaNamesTheScriptThenTheKeyCountKeysAndArguments) {
  const Args keys{"k1", "k2"}, args{"a1"};
  EXPECT_EQ(evalsha_arguments("0123abcd", "2", keys, args), (Args{"EVALSHA", "0123abcd", "2", "k1", "k2", "a1"}));
  EXPECT_EQ(evalsha_arguments("0123abcd", "0", {}, {}), (Args{"EVALSHA", "0123abcd", "0"}));
}

TEST(Resp, RepliesComeOutWholeAndInOrderHoweverTheBytesAreSplit) {
  const std::string bytes = "*4\r\n:7\r\n$5\r\nhello\r\n$-1\r\n*1\r\n+OK\r\n-ERR no\r\n";
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    ReplyReader reader;
    std::vector<Reply> replies;
    for (std::string_view part : {std::string_view(bytes).substr(0, cut), std::string_view(bytes).substr(cut)}) {
      ASSERT_TRUE(reader.feed(part));
      while (true) {
        auto reply = reader.next();
        ASSERT_TRUE(reply) << reply.error().message();
        if (!*reply) break;
        replies.push_back(std::move(**reply));
      }
    }
    ASSERT_EQ(replies.size(), 2u) << "cut at " << cut;
    const Reply& array = replies[0];
    ASSERT_EQ(array.type, Reply::Type::array);
    ASSERT_EQ(array.elements.size(), 4u);
    EXPECT_EQ(array.elements[0].integer, 7);
    EXPECT_EQ(array.elements[1].string, "hello");
    EXPECT_TRUE(array.elements[2].is_nil());
    EXPECT_EQ(array.elements[3].elements.at(0).type, Reply::Type::status);
    EXPECT_EQ(array.elements[3].elements.at(0).string, "OK");
    EXPECT_TRUE(replies[1].is_error());
    EXPECT_EQ(replies[1].string, "ERR no");
  }
}

TEST(Resp, BytesThatAreNotRespFailTheReader) {
  ReplyReader reader;
  ASSERT_TRUE(reader.feed("?what\r\n"));
  auto reply = reader.next();
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error(), make_error_code(conveyor::Error::redis_protocol));
  EXPECT_FALSE(reader.feed("+OK\r\n"));  // failed for good
}

}  // namespace
