// Web identity (IRSA on EKS): STS AssumeRoleWithWebIdentity trades the token
// Kubernetes projects into the pod (AWS_WEB_IDENTITY_TOKEN_FILE) for temporary
// credentials of AWS_ROLE_ARN. The Query API call is unsigned: one form POST to
// the STS endpoint, an XML answer whose few elements are read by hand (no XML
// library is approved; the shape is fixed). The token file is read again at
// every fetch (Kubernetes rotates it). fetch() runs on the awaiting executor
// with its own short-lived HTTP client; one caller at a time.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "aws/credentials_provider.h"

namespace conveyor::aws {

struct WebIdentityOptions {
  std::string role_arn{};
  std::string token_file{};
  std::string session_name{};  // empty: "conveyor-<milliseconds since the epoch>", as the SDKs make one up
  std::string sts_endpoint{};  // http(s)://host[:port] (AWS_ENDPOINT_URL_STS); empty: https://sts.<region>.amazonaws.com
  std::string region{};
  std::string origin = "web identity";  // how name() calls it, e.g. "profile 'ci' (web identity)"
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{10'000};
  std::string tls_ca_file{};  // tests only: trust this CA for an https endpoint
};

class WebIdentityCredentials final : public CredentialsSource {
 public:
  explicit WebIdentityCredentials(WebIdentityOptions options);
  std::string name() const override { return options_.origin; }
  // Temporary credentials with their Expiration. Always configured when it fails: the token file
  // unreadable, the endpoint unreachable or not http(s), STS's refusal (its Code and Message), an
  // answer without the four Credentials elements. Never quotes the token.
  boost::asio::awaitable<SourceOutcome> fetch() override;

  const std::string& sts_url() const noexcept { return sts_url_; }

 private:
  const WebIdentityOptions options_;
  const std::string sts_url_;  // where the POST goes
};

// The text of the first <name>…</name> element in `xml` (after `after`'s opening tag when given),
// with the five predefined entities decoded; nullopt when absent. Enough for STS's fixed answers.
std::optional<std::string> xml_element(std::string_view xml, std::string_view name, std::string_view after = {});

}  // namespace conveyor::aws
