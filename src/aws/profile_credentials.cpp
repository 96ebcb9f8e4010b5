#include "aws/profile_credentials.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/text.h"

namespace conveyor::aws {
namespace {

namespace asio = boost::asio;

std::string path_of(const std::string& given, const std::string& home, std::string_view default_name) {
  if (given.empty()) return home.empty() ? std::string() : fmt::format("{}/.aws/{}", home, default_name);
  if (given.starts_with("~/") && !home.empty()) return home + given.substr(1);
  return given;
}

// The file's sections, or none when it does not exist or cannot be read (as the SDKs do).
IniSections read_ini(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return parse_ini(text.str());
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

IniSections parse_ini(std::string_view text) {
  IniSections sections;
  std::map<std::string, std::string>* section = nullptr;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool indented = !line.empty() && (line.front() == ' ' || line.front() == '\t');
    line = trim_blanks(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      const auto close = line.find(']');
      section = close == std::string_view::npos ? nullptr
                                                : &sections[std::string(trim_blanks(line.substr(1, close - 1)))];
      continue;
    }
    if (!section || indented) continue;
    const auto equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    (*section)[lower(trim_blanks(line.substr(0, equals)))] = std::string(trim_blanks(line.substr(equals + 1)));
  }
  return sections;
}

ProfileCredentials::ProfileCredentials(ProfileOptions options)
    : options_(std::move(options)),
      profile_(options_.profile.empty() ? "default" : options_.profile),
      credentials_file_(path_of(options_.credentials_file, options_.home, "credentials")),
      config_file_(path_of(options_.config_file, options_.home, "config")) {}

std::string ProfileCredentials::name() const { return fmt::format("profile '{}'", profile_); }

asio::awaitable<SourceOutcome> ProfileCredentials::fetch() {
  const std::string files = fmt::format("{} or {}", credentials_file_.empty() ? "(no HOME)" : credentials_file_,
                                        config_file_.empty() ? "(no HOME)" : config_file_);
  const auto failed = [&](bool configured, std::string why) {
    return SourceFailure{configured, std::move(why)};
  };
  // The config file's keys first, then the credentials file's over them.
  std::map<std::string, std::string> keys;
  bool found = false;
  const IniSections config = read_ini(config_file_);
  for (const std::string& section : {profile_ == "default" ? std::string("default") : std::string(),
                                     "profile " + profile_}) {
    if (auto it = config.find(section); !section.empty() && it != config.end()) {
      found = true;
      for (const auto& [key, value] : it->second) keys[key] = value;
    }
  }
  const IniSections credentials = read_ini(credentials_file_);
  if (auto it = credentials.find(profile_); it != credentials.end()) {
    found = true;
    for (const auto& [key, value] : it->second) keys[key] = value;
  }
  if (!found) co_return failed(!options_.profile.empty(), fmt::format("not found in {}", files));
  const auto value = [&](const char* key) {
    auto it = keys.find(key);
    return it == keys.end() ? std::string() : it->second;
  };

  const std::string key_id = value("aws_access_key_id"), secret = value("aws_secret_access_key");
  if (!key_id.empty() || !secret.empty()) {
    if (key_id.empty()) co_return failed(true, "aws_secret_access_key is set without aws_access_key_id");
    if (secret.empty()) co_return failed(true, "aws_access_key_id is set without aws_secret_access_key");
    co_return TimedCredentials{{key_id, secret, value("aws_session_token")}, std::nullopt};
  }
  for (const char* unsupported : {"source_profile", "credential_source", "credential_process", "sso_session",
                                  "sso_start_url"}) {
    if (!value(unsupported).empty()) {
      co_return failed(true, fmt::format("{} is not supported; give static keys, role_arn with "
                                         "web_identity_token_file, or use another source of the chain",
                                         unsupported));
    }
  }
  if (!value("role_arn").empty()) {
    if (value("web_identity_token_file").empty()) {
      co_return failed(true, "role_arn needs web_identity_token_file (source_profile is not supported)");
    }
    WebIdentityOptions web = options_.web_identity;
    web.role_arn = value("role_arn");
    web.token_file = path_of(value("web_identity_token_file"), options_.home, "");
    web.session_name = value("role_session_name");
    web.origin = fmt::format("{} (web identity)", name());
    WebIdentityCredentials source(std::move(web));
    co_return co_await source.fetch();
  }
  co_return failed(false, "holds no credentials");
}

}  // namespace conveyor::aws
