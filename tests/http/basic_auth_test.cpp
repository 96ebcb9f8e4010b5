// HTTP Basic credentials: what a client sends reads back the same on the
// server, whatever base64 padding the pair needs; anything else is not Basic.
#include "http/basic_auth.h"

#include <gtest/gtest.h>

namespace conveyor::http {
namespace {

TEST(BasicAuth, RoundTripsWithEveryPadding) {
  // RFC 7617's example first, then pairs of 3n, 3n+1 and 3n+2 bytes.
  EXPECT_EQ(basic_authorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  for (const auto& [user, password] : {std::pair{"ab", "cdef"}, {"ab", "cdefg"}, {"ab", "cdefgh"}, {"a", ""},
                                       {"carrier-a", "s3cret:with:colons"}}) {
    const auto parsed = parse_basic_authorization(basic_authorization(user, password));
    ASSERT_TRUE(parsed) << user << ":" << password;
    EXPECT_EQ(parsed->user, user);
    EXPECT_EQ(parsed->password, password);  // split at the first colon only
  }
}

TEST(BasicAuth, OtherValuesAreNotBasic) {
  EXPECT_FALSE(parse_basic_authorization(""));
  EXPECT_FALSE(parse_basic_authorization("Bearer abc"));
  EXPECT_FALSE(parse_basic_authorization("Basic !!!!"));
  EXPECT_FALSE(parse_basic_authorization("Basic bm9jb2xvbg=="));  // "nocolon"
  EXPECT_FALSE(parse_basic_authorization("Basic " + std::string(5000, 'A')));
}

TEST(BasicAuth, SameSecretComparesWholeStrings) {
  EXPECT_TRUE(same_secret("s3cret", "s3cret"));
  EXPECT_FALSE(same_secret("s3cret", "s3cre"));
  EXPECT_FALSE(same_secret("s3cret", "s3creT"));
  EXPECT_TRUE(same_secret("", ""));
}

}  // namespace
}  // namespace conveyor::http
