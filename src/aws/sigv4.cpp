#include "aws/sigv4.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <ostream>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace conveyor::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";

using Digest = std::array<unsigned char, 32>;

error_code invalid_argument() { return make_error_code(boost::system::errc::invalid_argument); }
// OpenSSL only fails here when it cannot allocate (or SHA-256 is unavailable).
error_code crypto_failure() { return make_error_code(boost::system::errc::not_enough_memory); }

// Explicit fetches: OpenSSL 3's implicit ones (EVP_sha256() and friends) look
// the algorithm up under a lock on every call.
struct Algorithms {
  std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> sha256{EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free};
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> hmac{EVP_MAC_fetch(nullptr, "HMAC", nullptr), &EVP_MAC_free};
};

const Algorithms& algorithms() {
  static const Algorithms fetched;
  return fetched;
}

bool sha256(std::string_view data, Digest& out) {
  const EVP_MD* md = algorithms().sha256.get();
  unsigned int size = 0;
  return md && EVP_Digest(data.data(), data.size(), out.data(), &size, md, nullptr) == 1 && size == out.size();
}

// One HMAC-SHA256 context re-keyed for each step of the key derivation.
class HmacSha256 {
 public:
  HmacSha256() {
    if (EVP_MAC* mac = algorithms().hmac.get()) ctx_.reset(EVP_MAC_CTX_new(mac));
    if (!ctx_) return;
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx_.get(), params) != 1) ctx_.reset();
  }

  bool compute(const unsigned char* key, std::size_t key_size, std::string_view data, Digest& out) {
    std::size_t size = 0;
    return ctx_ && EVP_MAC_init(ctx_.get(), key, key_size, nullptr) == 1 &&
           EVP_MAC_update(ctx_.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
           EVP_MAC_final(ctx_.get(), out.data(), &size, out.size()) == 1 && size == out.size();
  }

 private:
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx_{nullptr, &EVP_MAC_CTX_free};
};

// Wipes derived keys and the "AWS4" + secret buffer when signing ends, so no
// copy of key material outlives the call in freed memory.
template <class Buffer>
struct Wipe {
  Buffer& buffer;
  ~Wipe() { OPENSSL_cleanse(buffer.data(), buffer.size()); }
};

void append_hex(std::string& out, const Digest& digest) {
  constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 2 * std::tuple_size_v<Digest>> text;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    text[2 * i] = kHex[digest[i] >> 4];
    text[2 * i + 1] = kHex[digest[i] & 0x0f];
  }
  out.append(text.data(), text.size());
}

bool is_alnum(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_unreserved(unsigned char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 7230 token: anything else could forge lines or separators in the
// canonical request.
bool is_token(std::string_view text) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return is_alnum(static_cast<unsigned char>(c)) || kSymbols.find(c) != std::string_view::npos;
  });
}

// Scope parts and key ids end up inside "Credential=KEY/date/region/service/...",
// so '/' ',' and anything non-printable would change its meaning.
bool is_scope_part(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '/' && c != ',';
  });
}

bool is_printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

bool is_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return false;
  for (std::size_t i = 0; i < 15; ++i) {
    if (i != 8 && (text[i] < '0' || text[i] > '9')) return false;
  }
  return true;
}

void append_encoded_byte(std::string& out, unsigned char c) {
  constexpr char kHex[] = "0123456789ABCDEF";
  if (is_unreserved(c)) {
    out += static_cast<char>(c);
  } else {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0x0f];
  }
}

void append_encoded(std::string& out, std::string_view text) {
  for (char c : text) append_encoded_byte(out, static_cast<unsigned char>(c));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Query text may arrive raw ("ሴ=bar") or already escaped ("%E1%88%B4=bar");
// both mean the same parameter, so escapes are decoded before the one true
// encoding. '+' stays a literal plus (SigV4 is not form encoding), and a '%'
// that starts no valid escape is a literal percent.
std::string reencode_query_part(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        append_encoded_byte(out, static_cast<unsigned char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    append_encoded_byte(out, static_cast<unsigned char>(text[i]));
  }
  return out;
}

void append_canonical_query(std::string& out, std::string_view query) {
  if (query.empty()) return;
  std::vector<std::pair<std::string, std::string>> params;
  for (std::size_t begin = 0; begin <= query.size();) {
    std::size_t end = query.find('&', begin);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view param = query.substr(begin, end - begin);
    begin = end + 1;
    if (param.empty()) continue;  // "a=1&&b=2": no parameter between the '&'s
    const std::size_t equals = param.find('=');
    params.emplace_back(reencode_query_part(param.substr(0, equals)),
                        equals == std::string_view::npos ? std::string() : reencode_query_part(param.substr(equals + 1)));
  }
  // Byte order of the encoded forms, values breaking ties between repeated keys.
  std::sort(params.begin(), params.end());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i) out += '&';
    out += params[i].first;
    out += '=';
    out += params[i].second;
  }
}

// Each segment is encoded as given, so an already escaped path is escaped a
// second time, as AWS expects from every service but S3.
void append_canonical_path(std::string& out, std::string_view path, bool normalize) {
  if (path.empty() || path == "/") {
    out += '/';
    return;
  }
  if (!normalize) {
    for (char c : path) {
      if (c == '/') {
        out += '/';
      } else {
        append_encoded_byte(out, static_cast<unsigned char>(c));
      }
    }
    return;
  }
  // RFC 3986 remove_dot_segments, plus dropping empty segments ("//").
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  for (std::size_t begin = 0; begin <= path.size();) {
    std::size_t end = path.find('/', begin);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(begin, end - begin);
    begin = end + 1;
    // A path ending in "/", "/." or "/.." names a directory: keep it one.
    trailing_slash = segment.empty() || segment == "." || segment == "..";
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
  }
  out += '/';
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i) out += '/';
    append_encoded(out, segments[i]);
  }
  if (trailing_slash && !segments.empty()) out += '/';
}

// Trimmed, with every run of whitespace (folded lines included) one space.
// Appends word by word: values such as session tokens are long.
void append_canonical_value(std::string& out, std::string_view value) {
  std::size_t pos = 0;
  bool first = true;
  while (pos < value.size()) {
    while (pos < value.size() && is_space(value[pos])) ++pos;
    if (pos == value.size()) break;
    std::size_t end = pos;
    while (end < value.size() && !is_space(value[end])) ++end;
    if (!first) out += ' ';
    out.append(value.substr(pos, end - pos));
    first = false;
    pos = end;
  }
}

bool equals_lowercase(std::string_view text, std::string_view lowercase) {
  return text.size() == lowercase.size() &&
         std::equal(text.begin(), text.end(), lowercase.begin(), [](char a, char b) { return to_lower(a) == b; });
}

bool is_signer_owned(std::string_view name, bool content_sha256) {
  return equals_lowercase(name, "authorization") || equals_lowercase(name, "x-amz-date") ||
         equals_lowercase(name, "x-amz-security-token") ||
         (content_sha256 && equals_lowercase(name, "x-amz-content-sha256"));
}

struct CanonicalHeader {
  std::string name;  // lowercase
  std::string_view value;
};

}  // namespace

std::string Credentials::to_string() const {
  return fmt::format("Credentials{{access_key_id={}, secret_access_key={}, session_token={}}}", access_key_id,
                     secret_access_key.empty() ? "(none)" : "***", session_token.empty() ? "(none)" : "***");
}

std::ostream& operator<<(std::ostream& out, const Credentials& credentials) { return out << credentials.to_string(); }

Result<Signature> sign(const SigningRequest& request, const Credentials& credentials, std::string_view region,
                       std::string_view service, std::string_view amz_date, const SigningOptions& options) {
  if (!is_amz_date(amz_date) || !is_scope_part(region) || !is_scope_part(service) ||
      !is_scope_part(credentials.access_key_id) || credentials.secret_access_key.empty() ||
      !is_printable(credentials.session_token) || !is_token(request.method)) {
    return invalid_argument();
  }

  Signature result;
  result.amz_date = amz_date;
  Digest digest;
  if (!sha256(request.body, digest)) return crypto_failure();
  std::string payload_hash;
  payload_hash.reserve(2 * digest.size());
  append_hex(payload_hash, digest);
  if (options.add_content_sha256) result.content_sha256 = payload_hash;

  std::vector<CanonicalHeader> headers;
  headers.reserve(request.headers.size() + 3);
  bool has_host = false;
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name)) return invalid_argument();
    if (is_signer_owned(name, options.add_content_sha256)) continue;
    std::string lowercase(name);
    std::transform(lowercase.begin(), lowercase.end(), lowercase.begin(), to_lower);
    has_host = has_host || lowercase == "host";
    headers.push_back({std::move(lowercase), value});
  }
  if (!has_host) return invalid_argument();
  headers.push_back({"x-amz-date", amz_date});
  if (!credentials.session_token.empty() && options.sign_session_token) {
    headers.push_back({"x-amz-security-token", credentials.session_token});
  }
  if (options.add_content_sha256) headers.push_back({"x-amz-content-sha256", result.content_sha256});
  // Stable: repeated headers keep their order when their values are joined.
  std::stable_sort(headers.begin(), headers.end(),
                   [](const CanonicalHeader& a, const CanonicalHeader& b) { return a.name < b.name; });

  std::string signed_headers;
  std::string& canonical = result.canonical_request;
  canonical.reserve(256 + request.path.size() + request.query.size() + 64 * headers.size());
  canonical += request.method;
  canonical += '\n';
  append_canonical_path(canonical, request.path, options.normalize_path);
  canonical += '\n';
  append_canonical_query(canonical, request.query);
  canonical += '\n';
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const bool repeated = i > 0 && headers[i].name == headers[i - 1].name;
    if (repeated) {
      canonical += ',';
    } else {
      if (i > 0) {
        canonical += '\n';
        signed_headers += ';';
      }
      canonical += headers[i].name;
      canonical += ':';
      signed_headers += headers[i].name;
    }
    append_canonical_value(canonical, headers[i].value);
  }
  canonical += "\n\n";
  canonical += signed_headers;
  canonical += '\n';
  canonical += payload_hash;

  const std::string_view date = amz_date.substr(0, 8);
  std::string scope;
  scope.reserve(date.size() + region.size() + service.size() + kTerminator.size() + 3);
  scope.append(date).append("/").append(region).append("/").append(service).append("/").append(kTerminator);

  if (!sha256(canonical, digest)) return crypto_failure();
  std::string& string_to_sign = result.string_to_sign;
  string_to_sign.reserve(kAlgorithm.size() + amz_date.size() + scope.size() + 2 * digest.size() + 3);
  string_to_sign.append(kAlgorithm).append("\n").append(amz_date).append("\n").append(scope).append("\n");
  append_hex(string_to_sign, digest);

  // kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
  std::string secret_key;
  const Wipe<std::string> wipe_secret{secret_key};
  secret_key.reserve(4 + credentials.secret_access_key.size());
  secret_key.append("AWS4").append(credentials.secret_access_key);
  Digest key;
  const Wipe<Digest> wipe_key{key};
  HmacSha256 hmac;
  if (!hmac.compute(reinterpret_cast<const unsigned char*>(secret_key.data()), secret_key.size(), date, key) ||
      !hmac.compute(key.data(), key.size(), region, key) || !hmac.compute(key.data(), key.size(), service, key) ||
      !hmac.compute(key.data(), key.size(), kTerminator, key) ||
      !hmac.compute(key.data(), key.size(), string_to_sign, digest)) {
    return crypto_failure();
  }
  result.signature.reserve(2 * digest.size());
  append_hex(result.signature, digest);

  result.authorization.reserve(kAlgorithm.size() + credentials.access_key_id.size() + scope.size() +
                               signed_headers.size() + result.signature.size() + 40);
  result.authorization.append(kAlgorithm)
      .append(" Credential=")
      .append(credentials.access_key_id)
      .append("/")
      .append(scope)
      .append(", SignedHeaders=")
      .append(signed_headers)
      .append(", Signature=")
      .append(result.signature);
  return result;
}

void add_signature_headers(Headers& headers, const Signature& signature, const Credentials& credentials) {
  const bool content_sha256 = !signature.content_sha256.empty();
  std::erase_if(headers, [&](const Header& header) { return is_signer_owned(header.first, content_sha256); });
  // The order and spelling of the AWS test suite's signed requests.
  if (!credentials.session_token.empty()) headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  headers.emplace_back("X-Amz-Date", signature.amz_date);
  if (content_sha256) headers.emplace_back("x-amz-content-sha256", signature.content_sha256);
  headers.emplace_back("Authorization", signature.authorization);
}

std::string format_amz_date(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto whole_seconds = floor<seconds>(time);
  const auto day = floor<days>(whole_seconds);
  const year_month_day date{day};
  const hh_mm_ss clock{whole_seconds - day};
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), clock.hours().count(),
                     clock.minutes().count(), clock.seconds().count());
}

}  // namespace conveyor::aws
