#include "aws/sigv4.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace conveyor::aws {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono;
using namespace std::chrono_literals;

const fs::path kSuite = SIGV4_TESTDATA;
constexpr std::size_t kSuiteCases = 38;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---------------------------------------------------------------------------
// The AWS test suite, case by case.

struct SuiteRequest {
  std::string request_line;
  std::string method;
  std::string path;
  std::string query;
  Headers headers;
  std::string body;
};

// The suite's HTTP text: "\n" line ends, a header line starting with
// whitespace continues the previous value. The fold is kept as sent (line
// break included), because collapsing it is the signer's job.
std::optional<SuiteRequest> parse_request(std::string_view text) {
  SuiteRequest request;
  std::size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = std::min(end + 1, text.size());
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      // The target may contain spaces ("GET /example space/ HTTP/1.1").
      const std::size_t method_end = line.find(' ');
      const std::size_t version_begin = line.rfind(' ');
      if (method_end == std::string_view::npos || version_begin <= method_end) return std::nullopt;
      request.request_line = line;
      request.method = line.substr(0, method_end);
      const std::string_view target = line.substr(method_end + 1, version_begin - method_end - 1);
      const std::size_t question = target.find('?');
      request.path = target.substr(0, question);
      if (question != std::string_view::npos) request.query = target.substr(question + 1);
      first = false;
    } else if (line.empty()) {
      request.body = text.substr(pos);
      break;
    } else if (line.front() == ' ' || line.front() == '\t') {
      if (request.headers.empty()) return std::nullopt;
      request.headers.back().second.append("\n").append(line);
    } else {
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) return std::nullopt;
      request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
  }
  if (first) return std::nullopt;
  return request;
}

// A signed request as the suite writes it, from the request line and headers.
std::string render(const SuiteRequest& request, const Headers& headers) {
  std::string text = request.request_line + "\n";
  for (const auto& [name, value] : headers) text.append(name).append(":").append(value).append("\n");
  return text.append("\n").append(request.body);
}

struct SuiteContext {
  Credentials credentials;
  std::string region;
  std::string service;
  system_clock::time_point time;
  SigningOptions options;
};

system_clock::time_point parse_timestamp(const std::string& text) {
  int year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char zone = 0;
  const int fields = std::sscanf(text.c_str(), "%d-%u-%uT%u:%u:%u%c", &year, &month, &day, &hour, &minute, &second, &zone);
  EXPECT_TRUE(fields == 7 && zone == 'Z') << text;
  return sys_days{std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day}} + hours{hour} +
         minutes{minute} + seconds{second};
}

SuiteContext parse_context(const std::string& text) {
  const boost::json::object json = boost::json::parse(text).as_object();
  const boost::json::object& credentials = json.at("credentials").as_object();
  SuiteContext context;
  context.credentials.access_key_id = credentials.at("access_key_id").as_string();
  context.credentials.secret_access_key = credentials.at("secret_access_key").as_string();
  if (const auto* token = credentials.if_contains("token")) context.credentials.session_token = token->as_string();
  context.region = json.at("region").as_string();
  context.service = json.at("service").as_string();
  context.time = parse_timestamp(std::string(json.at("timestamp").as_string()));
  context.options.normalize_path = json.at("normalize").as_bool();
  context.options.add_content_sha256 = json.at("sign_body").as_bool();
  if (const auto* omit = json.if_contains("omit_session_token")) context.options.sign_session_token = !omit->as_bool();
  return context;
}

std::vector<std::string> suite_cases() {
  std::vector<std::string> cases;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kSuite, ec)) {
    if (entry.is_directory()) cases.push_back(entry.path().filename().string());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

bool has_header_form(const std::string& name) { return fs::exists(kSuite / name / "header-canonical-request.txt"); }

TEST(Sigv4Suite, IsCompleteAndEveryCaseHasTheHeaderForm) {
  const auto cases = suite_cases();
  EXPECT_EQ(cases.size(), kSuiteCases) << "expected the whole suite under " << kSuite;
  EXPECT_TRUE(std::all_of(cases.begin(), cases.end(), has_header_form));
}

class Sigv4SuiteCase : public testing::TestWithParam<std::string> {};

TEST_P(Sigv4SuiteCase, MatchesByteForByte) {
  const fs::path dir = kSuite / GetParam();
  if (!has_header_form(GetParam())) {
    GTEST_SKIP() << "presigned-URL (query-string) form only; Conveyor signs with the Authorization header";
  }
  const SuiteContext context = parse_context(read_text(dir / "context.json"));
  const std::string request_text = read_text(dir / "request.txt");
  const auto request = parse_request(request_text);
  ASSERT_TRUE(request) << request_text;
  const std::string amz_date = format_amz_date(context.time);

  const SigningRequest to_sign{request->method, request->path, request->query, request->headers, request->body};
  const auto signature =
      sign(to_sign, context.credentials, context.region, context.service, amz_date, context.options);
  ASSERT_TRUE(signature) << signature.error().message();
  EXPECT_EQ(signature->canonical_request, read_text(dir / "header-canonical-request.txt"));
  EXPECT_EQ(signature->string_to_sign, read_text(dir / "header-string-to-sign.txt"));
  EXPECT_EQ(signature->signature, read_text(dir / "header-signature.txt"));

  const std::string signed_request = read_text(dir / "header-signed-request.txt");
  constexpr std::string_view kAuthorization = "\nAuthorization:";
  const std::size_t at = signed_request.find(kAuthorization);
  ASSERT_NE(at, std::string::npos);
  const std::size_t begin = at + kAuthorization.size();
  EXPECT_EQ(signature->authorization, signed_request.substr(begin, signed_request.find('\n', begin) - begin));

  Headers headers = request->headers;
  add_signature_headers(headers, *signature, context.credentials);
  EXPECT_EQ(render(*request, headers), signed_request);

  // A retry re-signs the already signed headers: the signer's own are
  // ignored, so nothing changes, and the helper replaces rather than repeats.
  const SigningRequest again{request->method, request->path, request->query, headers, request->body};
  const auto resigned = sign(again, context.credentials, context.region, context.service, amz_date, context.options);
  ASSERT_TRUE(resigned);
  EXPECT_EQ(resigned->canonical_request, signature->canonical_request);
  EXPECT_EQ(resigned->authorization, signature->authorization);
  add_signature_headers(headers, *resigned, context.credentials);
  EXPECT_EQ(render(*request, headers), signed_request);
}

std::string case_name(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Aws, Sigv4SuiteCase, testing::ValuesIn(suite_cases()), case_name);

// ---------------------------------------------------------------------------
// Beyond the suite.

const Credentials kCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const Credentials kSessionCredentials{"ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                      "FwoGZXIvYXdzEXAMPLETOKEN=="};
constexpr std::string_view kDate = "20150830T123600Z";

Result<Signature> sign_simple(std::string_view method, std::string_view path, std::string_view query,
                              const Headers& headers, const SigningOptions& options = {},
                              const Credentials& credentials = kCredentials) {
  return sign({method, path, query, headers, ""}, credentials, "us-east-1", "service", kDate, options);
}

std::string line_of(const std::string& text, std::size_t index) {
  std::size_t begin = 0;
  for (std::size_t i = 0; i < index; ++i) begin = text.find('\n', begin) + 1;
  return text.substr(begin, text.find('\n', begin) - begin);
}

std::string canonical_path(std::string_view path, bool normalize = true) {
  SigningOptions options;
  options.normalize_path = normalize;
  const auto signature = sign_simple("GET", path, "", {{"Host", "example.amazonaws.com"}}, options);
  return signature ? line_of(signature->canonical_request, 1) : "(error)";
}

std::string canonical_query(std::string_view query) {
  const auto signature = sign_simple("GET", "/", query, {{"Host", "example.amazonaws.com"}});
  return signature ? line_of(signature->canonical_request, 2) : "(error)";
}

// The worked example of the AWS General Reference ("Create a canonical request
// for Signature Version 4" and the tasks after it): IAM ListUsers.
TEST(Sigv4, MatchesTheDocumentedIamExample) {
  const Headers headers{{"Host", "iam.amazonaws.com"},
                        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  const auto signature =
      sign({"GET", "/", "Action=ListUsers&Version=2010-05-08", headers, ""}, kCredentials, "us-east-1", "iam", kDate);
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(signature->signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

// What Conveyor will send: an AWS JSON 1.0 call with temporary credentials.
// Expected values from an independent Python (hashlib/hmac) implementation.
TEST(Sigv4, SignsAnSqsJsonCall) {
  const std::string body =
      R"({"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/123456789012/jobs","MaxNumberOfMessages":10,"WaitTimeSeconds":20})";
  Headers headers{{"Host", "sqs.eu-west-1.amazonaws.com"},
                  {"Content-Type", "application/x-amz-json-1.0"},
                  {"X-Amz-Target", "AmazonSQS.ReceiveMessage"}};
  const std::string amz_date = format_amz_date(sys_days{2024y / February / 29} + 23h + 59min + 59s);
  const auto signature = sign({"POST", "/", "", headers, body}, kSessionCredentials, "eu-west-1", "sqs", amz_date);
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->canonical_request,
            "POST\n/\n\n"
            "content-type:application/x-amz-json-1.0\n"
            "host:sqs.eu-west-1.amazonaws.com\n"
            "x-amz-date:20240229T235959Z\n"
            "x-amz-security-token:FwoGZXIvYXdzEXAMPLETOKEN==\n"
            "x-amz-target:AmazonSQS.ReceiveMessage\n\n"
            "content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n"
            "aadbe0f426108491dd3b7c4dfb8bfef9fba58e7f04c4b3e888a463e925101414");
  EXPECT_EQ(signature->authorization,
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20240229/eu-west-1/sqs/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
            "Signature=32eb982dfe4b5a59475550375f396d355369b530619c346cc0388a5baf058977");
  EXPECT_TRUE(signature->content_sha256.empty());

  add_signature_headers(headers, *signature, kSessionCredentials);
  const Headers expected{{"Host", "sqs.eu-west-1.amazonaws.com"},
                         {"Content-Type", "application/x-amz-json-1.0"},
                         {"X-Amz-Target", "AmazonSQS.ReceiveMessage"},
                         {"X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLETOKEN=="},
                         {"X-Amz-Date", "20240229T235959Z"},
                         {"Authorization", signature->authorization}};
  EXPECT_EQ(headers, expected);
}

TEST(Sigv4, NormalizesPathsLikeRfc3986) {
  EXPECT_EQ(canonical_path(""), "/");
  EXPECT_EQ(canonical_path("/"), "/");
  EXPECT_EQ(canonical_path("/a/b/../c/./d"), "/a/c/d");
  EXPECT_EQ(canonical_path("/a/b/.."), "/a/");
  EXPECT_EQ(canonical_path("/a/b/."), "/a/b/");
  EXPECT_EQ(canonical_path("/../../x"), "/x");
  EXPECT_EQ(canonical_path("///a///b"), "/a/b");
  EXPECT_EQ(canonical_path("/a..b/.c/..."), "/a..b/.c/...");  // only whole "." and ".." segments are special
}

TEST(Sigv4, EncodesPathSegmentsOnceMoreThanSent) {
  EXPECT_EQ(canonical_path("/a b/c+d:e@f"), "/a%20b/c%2Bd%3Ae%40f");
  EXPECT_EQ(canonical_path("/a%20b"), "/a%2520b");  // non-S3 services sign the escaped path escaped again
  EXPECT_EQ(canonical_path("/a%20b", false), "/a%2520b");
  EXPECT_EQ(canonical_path("/a/../b//c/", false), "/a/../b//c/");
  EXPECT_EQ(canonical_path("/\xe1\x88\xb4", false), "/%E1%88%B4");
}

TEST(Sigv4, CanonicalizesQueries) {
  EXPECT_EQ(canonical_query(""), "");
  EXPECT_EQ(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");  // repeated keys: by value
  EXPECT_EQ(canonical_query("flag&a=1"), "a=1&flag=");       // a key without a value
  EXPECT_EQ(canonical_query("a=&b"), "a=&b=");
  EXPECT_EQ(canonical_query("&a=1&&b=2&"), "a=1&b=2");
  EXPECT_EQ(canonical_query("B=1&a=1&_=1"), "B=1&_=1&a=1");  // byte order: uppercase first
  EXPECT_EQ(canonical_query("a=x+y%20z"), "a=x%2By%20z");    // '+' is a plus, not a space
  EXPECT_EQ(canonical_query("path=/a/b&eq=b=c"), "eq=b%3Dc&path=%2Fa%2Fb");
  EXPECT_EQ(canonical_query("k=%e1%88%b4"), "k=%E1%88%B4");  // escapes are normalized, not doubled
  EXPECT_EQ(canonical_query("k=%41%7e"), "k=A~");
  EXPECT_EQ(canonical_query("k=100%&j=%zz&i=%4"), "i=%254&j=%25zz&k=100%25");  // a stray '%' is a percent
  // Sorted after encoding: "%E1..." < "A" < "a".
  EXPECT_EQ(canonical_query("a=1&A=1&\xe1\x88\xb4=1"), "%E1%88%B4=1&A=1&a=1");
}

TEST(Sigv4, CanonicalizesHeaders) {
  const Headers headers{{"Host", "example.amazonaws.com"},
                        {"X-Spaces", "  a\t\tb \r\n c  "},
                        {"X-Empty", ""},
                        {"X-Blank", "   "},
                        {"X-Dup", "1"},
                        {"Content-Type", "text/plain"},
                        {"x-DUP", " 2 "}};
  const auto signature = sign_simple("GET", "/", "", headers);
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->canonical_request,
            "GET\n/\n\n"
            "content-type:text/plain\n"
            "host:example.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n"
            "x-blank:\n"
            "x-dup:1,2\n"
            "x-empty:\n"
            "x-spaces:a b c\n\n"
            "content-type;host;x-amz-date;x-blank;x-dup;x-empty;x-spaces\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sigv4, HashesTheBody) {
  const auto signature = sign({"POST", "/", "", Headers{{"Host", "h"}}, "Param1=value1"}, kCredentials, "us-east-1",
                              "service", kDate);
  ASSERT_TRUE(signature);
  EXPECT_EQ(line_of(signature->canonical_request, 7),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_TRUE(signature->content_sha256.empty());
}

TEST(Sigv4, SignerOwnedHeadersFromTheCallerAreIgnored) {
  const auto clean = sign_simple("GET", "/", "", {{"Host", "h"}}, {}, kSessionCredentials);
  const auto stale = sign_simple("GET", "/", "",
                                 {{"authorization", "AWS4-HMAC-SHA256 old"},
                                  {"Host", "h"},
                                  {"X-AMZ-DATE", "20000101T000000Z"},
                                  {"X-Amz-Security-Token", "old"}},
                                 {}, kSessionCredentials);
  ASSERT_TRUE(clean && stale);
  EXPECT_EQ(stale->canonical_request, clean->canonical_request);
  EXPECT_EQ(stale->authorization, clean->authorization);
}

TEST(Sigv4, ContentSha256IsTheCallersUnlessAskedFor) {
  const Headers headers{{"Host", "h"}, {"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"}};
  const auto callers = sign_simple("PUT", "/", "", headers);
  ASSERT_TRUE(callers);
  EXPECT_NE(callers->canonical_request.find("\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"), std::string::npos);
  Headers sent = headers;
  add_signature_headers(sent, *callers, kCredentials);
  EXPECT_EQ(sent[1], headers[1]);

  SigningOptions options;
  options.add_content_sha256 = true;
  const auto ours = sign_simple("PUT", "/", "", headers, options);
  ASSERT_TRUE(ours);
  const std::string empty_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  EXPECT_EQ(ours->content_sha256, empty_hash);
  EXPECT_NE(ours->canonical_request.find("\nx-amz-content-sha256:" + empty_hash + "\n"), std::string::npos);
  add_signature_headers(sent, *ours, kCredentials);
  EXPECT_EQ(std::count_if(sent.begin(), sent.end(), [](const Header& h) { return h.first == "x-amz-content-sha256"; }),
            1);
  EXPECT_EQ(std::count_if(sent.begin(), sent.end(), [](const Header& h) { return h.second == "UNSIGNED-PAYLOAD"; }),
            0);
}

TEST(Sigv4, AnUnsignedSessionTokenIsStillSent) {
  SigningOptions options;
  options.sign_session_token = false;
  const auto signature = sign_simple("GET", "/", "", {{"Host", "h"}}, options, kSessionCredentials);
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->canonical_request.find("x-amz-security-token"), std::string::npos);
  Headers headers{{"Host", "h"}};
  add_signature_headers(headers, *signature, kSessionCredentials);
  EXPECT_NE(std::find(headers.begin(), headers.end(), Header{"X-Amz-Security-Token", kSessionCredentials.session_token}),
            headers.end());
}

TEST(Sigv4, RefusesWhatAwsCouldOnlyRefuse) {
  const Headers host{{"Host", "h"}};
  const auto invalid = make_error_code(boost::system::errc::invalid_argument);
  const auto refused = [&](const SigningRequest& request, const Credentials& credentials, std::string_view region,
                           std::string_view service, std::string_view amz_date) {
    const auto signature = sign(request, credentials, region, service, amz_date);
    return !signature && signature.error() == invalid;
  };
  const SigningRequest get{"GET", "/", "", host, ""};
  ASSERT_FALSE(refused(get, kCredentials, "us-east-1", "sqs", kDate));

  for (std::string_view date : {"", "2015-08-30T12:36:00Z", "20150830T123600", "20150830X123600Z", "2015083OT123600Z",
                                "20150830T123600Z "}) {
    EXPECT_TRUE(refused(get, kCredentials, "us-east-1", "sqs", date)) << date;
  }
  for (std::string_view part : {"", "us/east", "us east", "a,b", "us\n"}) {
    EXPECT_TRUE(refused(get, kCredentials, part, "sqs", kDate)) << part;
    EXPECT_TRUE(refused(get, kCredentials, "us-east-1", part, kDate)) << part;
    EXPECT_TRUE(refused(get, {std::string(part), "secret", ""}, "us-east-1", "sqs", kDate)) << part;
  }
  EXPECT_TRUE(refused(get, {"AKID", "", ""}, "us-east-1", "sqs", kDate));
  EXPECT_TRUE(refused(get, {"AKID", "secret", "tok\r\nX-Evil: 1"}, "us-east-1", "sqs", kDate));
  for (std::string_view method : {"", "GE T", "GET\n"}) {
    EXPECT_TRUE(refused({method, "/", "", host, ""}, kCredentials, "us-east-1", "sqs", kDate)) << method;
  }
  for (const char* name : {"", "Bad Name", "X:Y", "X\nY", "X;Y"}) {
    const Headers headers{{"Host", "h"}, {name, "v"}};
    EXPECT_TRUE(refused({"GET", "/", "", headers, ""}, kCredentials, "us-east-1", "sqs", kDate)) << name;
  }
  const Headers no_host{{"X-Other", "h"}};
  EXPECT_TRUE(refused({"GET", "/", "", no_host, ""}, kCredentials, "us-east-1", "sqs", kDate));
}

TEST(Sigv4, IsSafeToCallFromManyThreads) {
  const auto expected = sign_simple("GET", "/", "a=1", {{"Host", "h"}});
  ASSERT_TRUE(expected);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int& count : mismatches) {
    threads.emplace_back([&count, &expected] {
      for (int i = 0; i < 200; ++i) {
        const auto signature = sign_simple("GET", "/", "a=1", {{"Host", "h"}});
        if (!signature || signature->authorization != expected->authorization) ++count;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

// ---------------------------------------------------------------------------
// Formatting.

TEST(CredentialsFormat, NeverShowsTheSecretOrTheToken) {
  const Credentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "SessionTokenSecretValue"};
  std::ostringstream streamed;
  streamed << credentials;
  for (const std::string& text : {credentials.to_string(), fmt::format("{}", credentials),
                                  fmt::format("{:>120}", credentials), streamed.str(),
                                  testing::PrintToString(credentials)}) {
    EXPECT_NE(text.find("AKIDEXAMPLE"), std::string::npos) << text;
    EXPECT_EQ(text.find("wJalr"), std::string::npos) << text;
    EXPECT_EQ(text.find("EXAMPLEKEY"), std::string::npos) << text;
    EXPECT_EQ(text.find("SessionToken"), std::string::npos) << text;
  }
  EXPECT_EQ(credentials.to_string(), "Credentials{access_key_id=AKIDEXAMPLE, secret_access_key=***, session_token=***}");
  EXPECT_EQ((Credentials{"AKID", "s", ""}.to_string()),
            "Credentials{access_key_id=AKID, secret_access_key=***, session_token=(none)}");
}

TEST(AmzDate, FormatsUtcToTheSecond) {
  EXPECT_EQ(format_amz_date(sys_days{2015y / August / 30} + 12h + 36min), "20150830T123600Z");
  EXPECT_EQ(format_amz_date(sys_days{2015y / August / 30} + 12h + 36min + 999ms), "20150830T123600Z");
  EXPECT_EQ(format_amz_date(system_clock::time_point{}), "19700101T000000Z");
  EXPECT_EQ(format_amz_date(sys_days{2024y / February / 29} + 23h + 59min + 59s), "20240229T235959Z");
  EXPECT_EQ(format_amz_date(sys_days{2100y / March / 1} + 1h + 2min + 3s), "21000301T010203Z");
  // Before the epoch, time rounds down, not towards zero.
  EXPECT_EQ(format_amz_date(sys_days{1970y / January / 1} - 500ms), "19691231T235959Z");
}

}  // namespace
}  // namespace conveyor::aws
