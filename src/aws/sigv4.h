// AWS Signature Version 4, Authorization-header form: the canonical request,
// string to sign and signature AWS recomputes on its side. Pure, thread-safe,
// never throws or logs; Credentials never format their secret or token.
#pragma once

#include <chrono>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace conveyor::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // secret: never logged
  std::string session_token;      // secret; empty for long-term keys

  // "Credentials{access_key_id=AKID..., secret_access_key=***, session_token=***}".
  std::string to_string() const;
};
std::ostream& operator<<(std::ostream& out, const Credentials& credentials);  // as to_string()

using Header = std::pair<std::string, std::string>;  // name as sent, value as sent
using Headers = std::vector<Header>;

// Views only: the caller keeps the request alive while sign() runs.
struct SigningRequest {
  std::string_view method;
  // As sent, possibly unnormalized; empty means "/". Every byte but '/' and
  // the unreserved ones is escaped, even '%': non-S3 services sign the path
  // escaped twice (S3 callers pass it unescaped, with normalize_path off).
  std::string_view path;
  std::string_view query;  // as sent, without the '?'; percent-escapes are decoded then re-encoded
  // Every header AWS will see unchanged (Host is required). Authorization,
  // X-Amz-Date and X-Amz-Security-Token are the signer's own and skipped here,
  // so the headers of an earlier, already signed attempt can be passed as they are.
  std::span<const Header> headers;
  std::string_view body;
};

struct SigningOptions {
  // RFC 3986 dot-segment removal and "//" collapsing: every service but S3
  // expects it.
  bool normalize_path = true;
  // Sign and send X-Amz-Content-Sha256 (S3 requires it, SQS does not).
  // When set, a caller-provided X-Amz-Content-Sha256 is replaced.
  bool add_content_sha256 = false;
  // False leaves X-Amz-Security-Token out of the signature while still sending
  // it, for the few services that want the token added after signing.
  bool sign_session_token = true;
};

// Everything derived from one signing; canonical_request contains the session
// token when it is signed, so none of this is ever logged.
struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;       // lowercase hex
  std::string authorization;   // the Authorization header value
  std::string amz_date;        // the X-Amz-Date header value
  std::string content_sha256;  // the X-Amz-Content-Sha256 value; empty unless asked for
};

// `amz_date` is "YYYYMMDD'T'HHMMSS'Z'" (see format_amz_date). Fails with
// errc::invalid_argument, for requests AWS could only refuse or that would
// forge lines of the canonical request: a malformed date; a method or header
// name that is not an HTTP token; a region, service or key id that is empty or
// holds '/', ',', spaces or controls; an empty secret; a session token with
// spaces or controls; no Host header. errc::not_enough_memory if OpenSSL fails.
Result<Signature> sign(const SigningRequest& request, const Credentials& credentials, std::string_view region,
                       std::string_view service, std::string_view amz_date, const SigningOptions& options = {});

// Appends X-Amz-Security-Token (when `credentials` has one), X-Amz-Date,
// X-Amz-Content-Sha256 (when `signature` has one) and Authorization to
// `headers`, first removing copies left by an earlier attempt, so a retried
// request can be re-signed in place. `credentials` must be those that signed.
void add_signature_headers(Headers& headers, const Signature& signature, const Credentials& credentials);

// The X-Amz-Date text of `time` in UTC, e.g. "20150830T123600Z"; sub-second
// parts are dropped (AWS allows 5 minutes of skew).
std::string format_amz_date(std::chrono::system_clock::time_point time);

}  // namespace conveyor::aws

template <>
struct fmt::formatter<conveyor::aws::Credentials> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const conveyor::aws::Credentials& credentials, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(credentials.to_string(), ctx);
  }
};
