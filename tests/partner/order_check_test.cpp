// The partner simulator's ordering check: numbers answered 200 per key must strictly increase,
// and two calls for one key must never be in progress at once.
#include <gtest/gtest.h>

#include "partner/order_check.h"

namespace {

using conveyor::partner::OrderCheck;

TEST(OrderCheck, NumbersAnsweredOkMustIncreasePerKey) {
  OrderCheck check("k", "n");
  for (const char* body : {R"({"k":"a","n":1})", R"({"k":"b","n":1})", R"({"k":"a","n":3})"}) {
    check.begin(body).answered_ok();
  }
  EXPECT_EQ(check.order_violations(), 0u);
  check.begin(R"({"k":"a","n":2})").answered_ok();  // after 3
  check.begin(R"({"k":"a","n":3})").answered_ok();  // 3 again
  EXPECT_EQ(check.order_violations(), 2u);
  check.begin(R"({"k":"a","n":1})");  // not answered 200: a retry may come back with it
  check.begin(R"({"k":"a","n":4})").answered_ok();
  EXPECT_EQ(check.order_violations(), 2u);
  EXPECT_EQ(check.overlaps(), 0u);
}

TEST(OrderCheck, TwoCallsForOneKeyInProgressAtOnceOverlap) {
  OrderCheck check("k", "n");
  {
    auto first = check.begin(R"({"k":"a","n":1})");
    auto other_key = check.begin(R"({"k":"b","n":1})");
    EXPECT_EQ(check.overlaps(), 0u);
    auto second = check.begin(R"({"k":"a","n":2})");
    EXPECT_EQ(check.overlaps(), 1u);
  }
  check.begin(R"({"k":"a","n":3})");  // the others ended
  EXPECT_EQ(check.overlaps(), 1u);
}

TEST(OrderCheck, KeysAreTextAndUntrackedBodiesCountNothing) {
  OrderCheck check("k", "n");
  auto number = check.begin(R"({"k":7,"n":1})");
  auto text = check.begin(R"({"k":"x7","n":1})");
  auto keyless = check.begin(R"({"n":1})");
  auto keyless_too = check.begin(R"({"n":1})");
  auto not_json = check.begin("nope");
  EXPECT_EQ(check.overlaps(), 0u);
  check.begin(R"({"k":7,"n":2})").answered_ok();
  EXPECT_EQ(check.overlaps(), 1u);

  OrderCheck off("", "");
  EXPECT_FALSE(off.enabled());
  off.begin(R"({"k":"a","n":1})").answered_ok();
  off.begin(R"({"k":"a","n":1})").answered_ok();
  EXPECT_EQ(off.order_violations() + off.overlaps(), 0u);
}

}  // namespace
