#include "dispatch/delivery_policy.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace conveyor::dispatch {
namespace {

constexpr std::chrono::hours kLongestRetryAfter{12};

bool parse_number(std::string_view text, unsigned& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// IMF-fixdate, the form HTTP/1.1 senders must use: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  std::tm tm{};
  const std::string copy(text);
  const char* end = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

std::optional<RetryableStatuses> RetryableStatuses::parse(std::string_view list, std::string* why) {
  RetryableStatuses out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    unsigned code = 0;
    if (item.size() == 3 && item[0] >= '1' && item[0] <= '5' && (item.substr(1) == "xx" || item.substr(1) == "XX")) {
      const unsigned hundred = static_cast<unsigned>(item[0] - '0') * 100;
      out.ranges_.emplace_back(hundred, hundred + 99);
    } else if (parse_number(item, code) && code >= 100 && code <= 599) {
      out.ranges_.emplace_back(code, code);
    } else {
      if (why) *why = fmt::format("'{}' is neither a status code (100-599) nor a class like 5xx", item);
      return std::nullopt;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

bool RetryableStatuses::contains(unsigned status) const {
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [status](const auto& range) { return status >= range.first && status <= range.second; });
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  unsigned seconds = 0;
  if (parse_number(value, seconds)) return std::chrono::seconds(seconds);
  auto date = parse_http_date(value);
  if (!date) return std::nullopt;
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(*date - now));
}

DeliveryPolicy::DeliveryPolicy(DeliveryPolicyOptions options)
    : options_(std::move(options)), random_(std::random_device{}()) {
  options_.max_attempts = std::max<std::uint32_t>(options_.max_attempts, 1);
}

std::chrono::milliseconds DeliveryPolicy::backoff(std::uint32_t attempt) {
  const auto base = std::max<long long>(options_.retry_base.count(), 0);
  const auto cap = std::max<long long>(options_.retry_max_delay.count(), 0);
  const unsigned doublings = std::min<std::uint32_t>(attempt > 0 ? attempt - 1 : 0, 40);
  const long long ceiling = base > (cap >> doublings) ? cap : std::min(cap, base << doublings);
  return std::chrono::milliseconds(std::uniform_int_distribution<long long>(0, ceiling)(random_));
}

Verdict DeliveryPolicy::judge(std::uint32_t attempt, const Result<PartnerAnswer>& answer,
                              std::chrono::system_clock::time_point now) {
  if (answer && answer->delivered()) return {};

  Verdict verdict;
  queue::DeadLetter& why = verdict.dead_letter;
  std::string& failure = verdict.failure;
  if (answer) {
    why.status = answer->status;
    why.response = answer->body_prefix.substr(0, queue::DeadLetter::response_limit);
    failure = fmt::format("partner answered {}", answer->status);
    if (!options_.retryable.contains(answer->status)) {
      verdict.kind = Verdict::Kind::dead_letter;
      why.reason = failure;  // retrying cannot help
      return verdict;
    }
  } else {
    failure = http::describe(answer.error(), options_.timeouts);
  }
  if (attempt >= options_.max_attempts) {
    verdict.kind = Verdict::Kind::dead_letter;
    why.reason = fmt::format("gave up after {} attempts; last: {}", attempt, failure);
    return verdict;
  }
  verdict.kind = Verdict::Kind::retry;
  verdict.delay = backoff(attempt);
  if (answer) {
    if (auto after = parse_retry_after(answer->retry_after, now)) {
      verdict.delay = std::max(verdict.delay, std::min<std::chrono::milliseconds>(*after, kLongestRetryAfter));
    }
  }
  return verdict;
}

}  // namespace conveyor::dispatch
