#include "http/basic_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace conveyor::http {

std::string basic_authorization(std::string_view user, std::string_view password) {
  std::string plain;
  plain.reserve(user.size() + 1 + password.size());
  plain.append(user).append(1, ':').append(password);
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  OPENSSL_cleanse(plain.data(), plain.size());
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

std::optional<BasicCredentials> parse_basic_authorization(std::string_view header) {
  constexpr std::string_view basic = "Basic ";
  if (!header.starts_with(basic) || header.size() - basic.size() > 4096) return std::nullopt;
  const std::string_view encoded = header.substr(basic.size());
  std::string decoded(encoded.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                reinterpret_cast<const unsigned char*>(encoded.data()), static_cast<int>(encoded.size()));
  if (n < 0) return std::nullopt;
  decoded.resize(static_cast<std::size_t>(n));
  // The block decoder counts the '=' padding as NUL bytes.
  for (std::size_t i = encoded.size(); i > 0 && encoded[i - 1] == '=' && !decoded.empty(); --i) decoded.pop_back();
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

bool same_secret(std::string_view given, std::string_view expected) {
  return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

}  // namespace conveyor::http
