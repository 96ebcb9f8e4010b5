#include "publish/message_source.h"
#include "queue/message_problem.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>
#include <vector>

namespace conveyor::publish {
namespace {

TEST(GeneratedMessages, AreShapedLikeTheOldPublisher) {
  GeneratedMessages source(3);
  for (std::size_t i = 0; i < 3; ++i) {
    auto message = source.next();
    ASSERT_TRUE(message);
    const auto value = boost::json::parse(*message).as_object();
    EXPECT_EQ(value.size(), 3u);
    EXPECT_TRUE(value.at("p").is_string());
    EXPECT_TRUE(value.at("m").is_string());
    EXPECT_EQ(value.at("i").to_number<std::size_t>(), i);
  }
  EXPECT_FALSE(source.next());
}

TEST(GeneratedMessages, AreDistinct) {
  EXPECT_NE(generated_message(1), generated_message(2));
  EXPECT_EQ(generated_message(7), generated_message(7));
}

TEST(MessageProblem, ExplainsWhatIsWrong) {
  EXPECT_EQ(queue::message_problem(R"({"p":"1"})"), std::nullopt);
  EXPECT_EQ(queue::message_problem("[1,2]"), "not a JSON object");
  EXPECT_EQ(queue::message_problem("\"text\""), "not a JSON object");
  ASSERT_TRUE(queue::message_problem(R"({"p":)"));
  EXPECT_EQ(queue::message_problem(R"({"p":)")->rfind("invalid JSON", 0), 0u);
  EXPECT_TRUE(queue::message_problem(""));
  EXPECT_TRUE(queue::message_problem("\xff\xfe"));
}

TEST(JsonLines, SkipsAndReportsBadLinesByNumber) {
  std::istringstream in("{\"a\":1}\n\nnot json\n{\"b\":2}\r\n[3]\n{\"c\":3}");
  std::vector<std::pair<std::size_t, std::string>> rejected;
  JsonLines source(in, [&](std::size_t line, const std::string& why) { rejected.emplace_back(line, why); });
  std::vector<std::string> got;
  while (auto m = source.next()) got.push_back(*m);
  EXPECT_EQ(got, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}));
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].first, 3u);
  EXPECT_EQ(rejected[1].first, 5u);
  EXPECT_EQ(rejected[1].second, "not a JSON object");
  EXPECT_EQ(source.rejected(), 2u);
}

}  // namespace
}  // namespace conveyor::publish
