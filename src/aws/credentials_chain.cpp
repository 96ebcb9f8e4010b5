#include "aws/credentials_chain.h"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "aws/container_credentials.h"
#include "aws/environment_credentials.h"
#include "aws/instance_credentials.h"
#include "aws/profile_credentials.h"
#include "aws/refreshing_credentials.h"
#include "aws/web_identity_credentials.h"

namespace conveyor::aws {
namespace {

namespace asio = boost::asio;

// Web identity from the environment: not configured without both keys.
class EnvironmentWebIdentity final : public CredentialsSource {
 public:
  explicit EnvironmentWebIdentity(WebIdentityOptions options) : options_(options), source_(std::move(options)) {}
  std::string name() const override { return source_.name(); }
  asio::awaitable<SourceOutcome> fetch() override {
    if (options_.token_file.empty() || options_.role_arn.empty()) {
      co_return SourceFailure{false, "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set"};
    }
    co_return co_await source_.fetch();
  }

 private:
  const WebIdentityOptions options_;
  WebIdentityCredentials source_;
};

SourceOutcome fetch_blocking(CredentialsSource& source) {
  asio::io_context io;
  auto future = asio::co_spawn(io, source.fetch(), asio::use_future);
  io.run();
  return future.get();
}

}  // namespace

std::vector<std::unique_ptr<CredentialsSource>> chain_sources(const ChainSettings& settings) {
  WebIdentityOptions web;
  web.region = settings.region;
  web.sts_endpoint = settings.sts_endpoint;
  web.connect_timeout = settings.connect_timeout;

  std::vector<std::unique_ptr<CredentialsSource>> sources;
  sources.push_back(std::make_unique<EnvironmentCredentials>(settings.environment));

  ProfileOptions profile{.profile = settings.profile,
                         .credentials_file = settings.shared_credentials_file,
                         .config_file = settings.config_file,
                         .home = settings.home,
                         .web_identity = web};
  sources.push_back(std::make_unique<ProfileCredentials>(std::move(profile)));

  web.role_arn = settings.role_arn;
  web.token_file = settings.web_identity_token_file;
  web.session_name = settings.role_session_name;
  sources.push_back(std::make_unique<EnvironmentWebIdentity>(std::move(web)));

  sources.push_back(std::make_unique<ContainerCredentials>(
      ContainerOptions{.relative_uri = settings.container_relative_uri,
                       .full_uri = settings.container_full_uri,
                       .authorization_token = settings.container_authorization_token,
                       .authorization_token_file = settings.container_authorization_token_file,
                       .connect_timeout = settings.connect_timeout}));

  InstanceOptions instance;
  if (!settings.imds_endpoint.empty()) instance.endpoint = settings.imds_endpoint;
  instance.disabled = settings.imds_disabled;
  sources.push_back(std::make_unique<InstanceCredentials>(std::move(instance)));
  return sources;
}

std::shared_ptr<CredentialsProvider> resolve_credentials(std::vector<std::unique_ptr<CredentialsSource>> sources) {
  std::vector<std::string> tried;
  for (auto& source : sources) {
    SourceOutcome outcome = fetch_blocking(*source);
    if (!outcome) {
      if (outcome.error().configured) {
        throw NoCredentialsError(fmt::format("AWS credentials from {}: {}", source->name(), outcome.error().message));
      }
      tried.push_back(fmt::format("{} ({})", source->name(), outcome.error().message));
      continue;
    }
    const std::string name = source->name();
    if (!outcome->expiration) return std::make_shared<StaticCredentials>(std::move(outcome->credentials), name);
    return std::make_shared<RefreshingCredentials>(std::move(source), std::move(*outcome));
  }
  throw NoCredentialsError(fmt::format("no AWS credentials found; tried {}", fmt::join(tried, "; ")));
}

}  // namespace conveyor::aws
