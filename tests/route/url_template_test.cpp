// URL templates: placeholders fill only the path and the query, and no value a message carries can
// change the server or add a path segment.
#include "route/url_template.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace conveyor::route {
namespace {

UrlTemplate parse(std::string_view url) {
  std::string why;
  auto t = parse_url_template(url, &why);
  EXPECT_TRUE(t) << url << ": " << why;
  return t ? *t : UrlTemplate{};
}

std::string refusal(std::string_view url) {
  std::string why;
  auto t = parse_url_template(url, &why);
  EXPECT_FALSE(t) << url;
  return why;
}

Expanded expand(const UrlTemplate& t, std::string_view json) {
  return t.expand(boost::json::parse(json).as_object());
}

TEST(UrlTemplate, FillsPathAndQueryAndExposesTheOrigin) {
  const auto t = parse("https://api.example:8443/v2/shipments/{p}?ref={ref}&x=1");
  EXPECT_TRUE(t.tls());
  EXPECT_EQ(t.host(), "api.example");
  EXPECT_EQ(t.port(), 8443);
  EXPECT_EQ(t.origin(), "https://api.example:8443");
  EXPECT_EQ(t.fields(), (std::vector<std::string>{"p", "ref"}));
  const auto e = expand(t, R"({"p": "A1", "ref": 42})");
  ASSERT_TRUE(e.ok()) << e.failure;
  EXPECT_EQ(e.target, "/v2/shipments/A1?ref=42&x=1");
}

TEST(UrlTemplate, DefaultPortsAndAPlainUrl) {
  const auto t = parse("http://127.0.0.1/shipments");
  EXPECT_EQ(t.port(), 80);
  EXPECT_FALSE(t.has_placeholders());
  EXPECT_EQ(t.fixed_target(), "/shipments");
  EXPECT_EQ(expand(t, "{}").target, "/shipments");
  EXPECT_EQ(parse("https://h").port(), 443);
  EXPECT_EQ(parse("https://h").fixed_target(), "/");
  EXPECT_EQ(parse("https://h?a={a}").expand(boost::json::parse(R"({"a":"b"})").as_object()).target, "/?a=b");
  EXPECT_EQ(parse("http://[::1]:9/x").host(), "::1");
}

TEST(UrlTemplate, PlaceholdersCannotReachSchemeHostPortOrUserInfo) {
  const std::string rule = "placeholders may fill only the path and the query";
  EXPECT_EQ(refusal("https://{h}/x"), rule);
  EXPECT_EQ(refusal("https://{h}.example.com/x"), rule);
  EXPECT_EQ(refusal("https://api.example{h}/x"), rule);
  EXPECT_EQ(refusal("https://api.example.com{p}"), rule);
  EXPECT_EQ(refusal("https://api.example:{port}/x"), rule);
  EXPECT_EQ(refusal("https://{user}@api.example/x"), rule);
  EXPECT_EQ(refusal("https://u:{pw}@api.example/x"), rule);
  EXPECT_EQ(refusal("{s}://api.example/x"), rule);
  EXPECT_EQ(refusal("http{s}://api.example/x"), rule);
}

TEST(UrlTemplate, RefusesWhatCannotBeAPartnerUrl) {
  EXPECT_EQ(refusal("ftp://h/x"), "unsupported scheme \"ftp\" (only http and https)");
  EXPECT_EQ(refusal("api.example/x"), "not an absolute http:// or https:// URL");
  EXPECT_EQ(refusal("https://user:pw@h/x"), "user info in the URL is not supported; pass credentials as a header");
  EXPECT_EQ(refusal("https://h:99999/x"), "invalid port \"99999\"");
  EXPECT_EQ(refusal("https://h/x#{p}"), "a fragment (#...) is never sent to a server; remove it");
  EXPECT_EQ(refusal("https://h/x/{p"), "a '{' without its '}' at column 13");
  EXPECT_EQ(refusal("https://h/x/p}"), "a '}' without its '{' at column 14");
  EXPECT_EQ(refusal("https://h/x/{}"), "an empty placeholder {}: name the message's field");
  EXPECT_EQ(refusal("https://h/x/{a b}"),
            "placeholder {a b}: a field name has only letters, digits, '_', '-' and '.'");
  EXPECT_NE(refusal("https:///x").find("host"), std::string::npos);
}

TEST(UrlTemplate, ValuesArePercentEncodedSoTheyNeverLeaveTheirSegment) {
  const auto t = parse("http://h/s/{p}/x?q={p}");
  auto target = [&](std::string_view value_json) {
    const auto e = expand(t, std::string(R"({"p": )") + std::string(value_json) + "}");
    EXPECT_TRUE(e.ok()) << e.failure;
    return e.target;
  };
  EXPECT_EQ(target(R"("a/b")"), "/s/a%2Fb/x?q=a%2Fb");
  EXPECT_EQ(target(R"("../../admin")"), "/s/..%2F..%2Fadmin/x?q=..%2F..%2Fadmin");
  EXPECT_EQ(target(R"("a?b#c")"), "/s/a%3Fb%23c/x?q=a%3Fb%23c");
  EXPECT_EQ(target(R"("evil.com@x")"), "/s/evil.com%40x/x?q=evil.com%40x");
  EXPECT_EQ(target(R"("100%")"), "/s/100%25/x?q=100%25");
  EXPECT_EQ(target(R"("a&b=c d+e")"), "/s/a%26b%3Dc%20d%2Be/x?q=a%26b%3Dc%20d%2Be");
  EXPECT_EQ(target(R"("é✓")"), "/s/%C3%A9%E2%9C%93/x?q=%C3%A9%E2%9C%93");
  EXPECT_EQ(target(R"("A-z_0.9~")"), "/s/A-z_0.9~/x?q=A-z_0.9~");
  EXPECT_EQ(target("12"), "/s/12/x?q=12");
  EXPECT_EQ(target("-7"), "/s/-7/x?q=-7");
  EXPECT_EQ(target("18446744073709551615"), "/s/18446744073709551615/x?q=18446744073709551615");
  EXPECT_EQ(target("2.5"), "/s/2.5/x?q=2.5");
  EXPECT_EQ(target("true"), "/s/true/x?q=true");
}

TEST(UrlTemplate, AFieldThatCannotFillTheUrlIsAFailureNamingIt) {
  const auto t = parse("http://h/s/{p}?q={q}");
  EXPECT_EQ(expand(t, R"({"q": 1})").failure, "field \"p\" for the URL is missing");
  EXPECT_EQ(expand(t, R"({"p": null, "q": 1})").failure, "field \"p\" for the URL is null");
  EXPECT_EQ(expand(t, R"({"p": {}, "q": 1})").failure, "field \"p\" for the URL is an object");
  EXPECT_EQ(expand(t, R"({"p": [1], "q": 1})").failure, "field \"p\" for the URL is an array");
  EXPECT_EQ(expand(t, R"({"p": "", "q": 1})").failure, "field \"p\" for the URL is empty");
  EXPECT_EQ(expand(t, R"({"p": "..", "q": 1})").failure, "field \"p\" for the URL is \"..\", a dot segment");
  EXPECT_EQ(expand(t, R"({"p": ".", "q": 1})").failure, "field \"p\" for the URL is \".\", a dot segment");
  EXPECT_EQ(expand(t, R"({"p": "a"})").failure, "field \"q\" for the URL is missing");
  // In the query an empty value is harmless.
  const auto e = expand(t, R"({"p": "a", "q": ""})");
  EXPECT_TRUE(e.ok());
  EXPECT_EQ(e.target, "/s/a?q=");
  EXPECT_TRUE(expand(t, R"({"p": "a", "q": 1})").target.find("/s/a?q=1") == 0);
}

}  // namespace
}  // namespace conveyor::route
