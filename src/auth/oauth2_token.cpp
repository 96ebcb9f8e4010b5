#include "auth/oauth2_token.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/throw_exception.hpp>
#include <charconv>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "http/basic_auth.h"
#include "core/text.h"
#include "http/client.h"
#include "http/form_encode.h"

namespace conveyor::auth {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using http::form_encode;
using namespace std::chrono_literals;

constexpr auto default_lifetime = 3600s;       // expires_in absent (RFC 6749 §5.1: RECOMMENDED)
constexpr auto longest_lifetime = 366 * 24h;   // anything longer is read as this
constexpr auto first_backoff = 1s, longest_backoff = 30s;
constexpr std::size_t max_token_response = 64 * 1024;

class TokenCategory : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "conveyor.oauth2"; }
  std::string message(int value) const override {
    switch (static_cast<TokenError>(value)) {
      case TokenError::rejected: return "the token endpoint refused the request";
      case TokenError::bad_response: return "the token endpoint's answer holds no usable token";
      case TokenError::shutting_down: return "the token source is shutting down";
    }
    return "unknown token error";
  }
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

// Printable ASCII only: a token is sent as a header value, and an endpoint's
// error text is quoted in logs.
bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string_view string_field(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value && value->is_string() ? std::string_view(value->get_string()) : std::string_view{};
}

// Seconds from a JSON number or a numeric string (some endpoints quote it);
// nullopt when absent, -1 when unusable.
std::optional<std::int64_t> expires_in(const json::object& object) {
  const json::value* value = object.if_contains("expires_in");
  if (!value || value->is_null()) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) return static_cast<std::int64_t>(std::min<std::uint64_t>(value->get_uint64(), INT64_MAX));
  if (value->is_double()) return static_cast<std::int64_t>(value->get_double());
  if (value->is_string()) {
    const std::string_view text = value->get_string();
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc{} && end == text.data() + text.size()) return seconds;
  }
  return -1;
}

}  // namespace

const boost::system::error_category& token_category() noexcept {
  static const TokenCategory category;
  return category;
}

void throw_exception_from_error(const TokenFailure& failure, const boost::source_location& location) {
  boost::throw_exception(boost::system::system_error(failure.code, failure.message), location);
}

class OAuth2TokenSource::Impl {
 public:
  explicit Impl(OAuth2Options options);
  ~Impl();

  // The current token, or the failure still within its back-off; nullopt
  // when the caller must wait for a fetch.
  std::optional<TokenOutcome> try_now();
  TokenPtr current() const;
  void invalidate(const TokenPtr& used);

  // Completes with the next fetch's outcome, on the caller's executor.
  template <class CompletionToken>
  auto async_wait(CompletionToken&& completion) {
    return asio::async_initiate<CompletionToken, void(TokenOutcome)>(
        [this](auto handler) {
          auto executor = asio::prefer(asio::get_associated_executor(handler),
                                       asio::execution::outstanding_work.tracked);
          enqueue(Waiter{std::move(executor), asio::any_completion_handler<void(TokenOutcome)>(std::move(handler))});
        },
        completion);
  }

  TokenSourceCounters counters() const noexcept {
    return {fetches_.load(std::memory_order_relaxed), fetch_failures_.load(std::memory_order_relaxed),
            invalidations_.load(std::memory_order_relaxed)};
  }
  const std::string& token_url() const noexcept { return token_url_; }

 private:
  struct Waiter {
    asio::any_io_executor executor;  // the caller's, with outstanding work tracked
    asio::any_completion_handler<void(TokenOutcome)> handler;
  };

  static void complete(Waiter&& waiter, TokenOutcome outcome) {
    asio::post(waiter.executor, [handler = std::move(waiter.handler), outcome = std::move(outcome)]() mutable {
      std::move(handler)(std::move(outcome));
    });
  }
  // A token is not handed out in the last tenth of its life (at most 5 s):
  // it must still be good when the partner reads it.
  static bool usable(const TokenPtr& token, Clock::time_point now) {
    if (!token) return false;
    const auto skew = std::min<Clock::duration>(5s, (token->expires_at - token->issued_at) / 10);
    return now < token->expires_at - skew;
  }

  void enqueue(Waiter&& waiter);
  void start_fetch_locked();  // mutex_ held
  asio::awaitable<void> fetch();
  TokenOutcome read_token(const http::PartnerResponse& response, Clock::time_point sent_at) const;
  TokenFailure failure(error_code code, std::string_view what) const;
  void finish(TokenOutcome outcome);           // on the thread
  void schedule(Clock::time_point at);         // on the thread
  void on_timer();                             // on the thread

  const OAuth2Options options_;
  std::string token_url_;
  std::string form_body_;
  std::vector<http::HeaderField> headers_;

  // Destroyed in reverse: the timer and the client before the io_context
  // whose services they use; frames parked in it are torn down last.
  std::unique_ptr<asio::io_context> io_;
  std::optional<http::PartnerClient> client_;
  std::optional<asio::steady_timer> refresh_timer_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;

  mutable std::mutex mutex_;  // guards everything below
  TokenPtr current_;
  Clock::time_point refresh_at_{};
  mutable bool used_ = false;  // token() or current() called since the last fetch
  bool fetching_ = false;
  bool stopped_ = false;
  std::optional<TokenFailure> last_failure_;
  Clock::time_point failure_until_{};
  Clock::duration backoff_{0};
  std::vector<Waiter> waiters_;

  std::atomic<std::uint64_t> fetches_{0}, fetch_failures_{0}, invalidations_{0};
};

OAuth2TokenSource::Impl::Impl(OAuth2Options options)
    : options_(std::move(options)), io_(std::make_unique<asio::io_context>(1)) {
  if (options_.client_id.empty()) throw std::invalid_argument("oauth2: client_id is empty");
  auto client = http::form_client_options(options_.token_url, options_.connect_timeout, options_.request_timeout, 2,
                                         max_token_response, options_.tls_ca_file);
  client.tls_insecure = options_.tls_insecure;
  try {
    client_.emplace(io_->get_executor(), std::move(client));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("oauth2: token_url: {}", e.what()));
  }
  token_url_ = client_->target().to_string();

  form_body_ = "grant_type=client_credentials";
  if (!options_.scope.empty()) form_body_ += "&scope=" + form_encode(options_.scope);
  headers_.push_back({"Accept", "application/json"});
  if (options_.client_auth == OAuth2Options::ClientAuth::basic) {
    headers_.push_back({"Authorization", http::basic_authorization(form_encode(options_.client_id),
                                                                   form_encode(options_.client_secret))});
  } else {
    form_body_ += "&client_id=" + form_encode(options_.client_id);
    form_body_ += "&client_secret=" + form_encode(options_.client_secret);
  }

  refresh_timer_.emplace(*io_);
  work_.emplace(io_->get_executor());
  thread_ = std::thread([io = io_.get()] { io->run(); });
}

OAuth2TokenSource::Impl::~Impl() {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    waiters.swap(waiters_);
  }
  work_.reset();
  io_->stop();
  thread_.join();
  for (Waiter& waiter : waiters) {
    complete(std::move(waiter), TokenFailure{make_error_code(TokenError::shutting_down),
                                             fmt::format("oauth2 token source for {} is shutting down", token_url_)});
  }
  refresh_timer_.reset();
  client_.reset();
  io_.reset();  // destroys a fetch still parked in it
}

std::optional<TokenOutcome> OAuth2TokenSource::Impl::try_now() {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  used_ = true;
  if (usable(current_, now)) {
    // Past its refresh time with no refresh running (the timer's refresh
    // failed and is backing off, or the route was idle): start one now.
    if (now >= refresh_at_ && !fetching_ && now >= failure_until_ && !stopped_) start_fetch_locked();
    return TokenOutcome(current_);
  }
  if (last_failure_ && now < failure_until_) return TokenOutcome(*last_failure_);
  return std::nullopt;
}

TokenPtr OAuth2TokenSource::Impl::current() const {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  used_ = true;
  return usable(current_, now) ? current_ : nullptr;
}

void OAuth2TokenSource::Impl::invalidate(const TokenPtr& used) {
  std::lock_guard lock(mutex_);
  if (!used || used != current_ || stopped_) return;  // already replaced: someone else refreshed
  current_.reset();
  invalidations_.fetch_add(1, std::memory_order_relaxed);
  if (!fetching_) start_fetch_locked();
}

void OAuth2TokenSource::Impl::enqueue(Waiter&& waiter) {
  std::optional<TokenOutcome> now_outcome;
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    if (stopped_) {
      now_outcome = TokenFailure{make_error_code(TokenError::shutting_down),
                                 fmt::format("oauth2 token source for {} is shutting down", token_url_)};
    } else if (usable(current_, now)) {  // a fetch ended between try_now() and here
      now_outcome = TokenOutcome(current_);
    } else if (last_failure_ && now < failure_until_) {
      now_outcome = TokenOutcome(*last_failure_);
    } else {
      waiters_.push_back(std::move(waiter));
      if (!fetching_) start_fetch_locked();
      return;
    }
  }
  complete(std::move(waiter), std::move(*now_outcome));
}

void OAuth2TokenSource::Impl::start_fetch_locked() {
  fetching_ = true;
  asio::co_spawn(*io_, fetch(), asio::detached);
}

asio::awaitable<void> OAuth2TokenSource::Impl::fetch() {
  fetches_.fetch_add(1, std::memory_order_relaxed);
  const auto sent_at = Clock::now();
  auto response = co_await client_->post(form_body_, headers_);
  if (!response) {
    finish(failure(response.error(), fmt::format("unreachable ({})", response.error().message())));
  } else {
    finish(read_token(*response, sent_at));
  }
}

TokenFailure OAuth2TokenSource::Impl::failure(error_code code, std::string_view what) const {
  return TokenFailure{code, fmt::format("token endpoint {}: {}", token_url_, what)};
}

TokenOutcome OAuth2TokenSource::Impl::read_token(const http::PartnerResponse& response,
                                                 Clock::time_point sent_at) const {
  error_code ec;
  const json::value parsed = json::parse(response.body_prefix, ec);
  const json::object* object = !ec && parsed.is_object() ? &parsed.get_object() : nullptr;
  if (response.status < 200 || response.status >= 300) {
    std::string why = fmt::format("answered {}", response.status);
    if (object && !string_field(*object, "error").empty()) {
      why += ": " + quote_remote(string_field(*object, "error"), options_.client_secret);
      const auto description = string_field(*object, "error_description");
      if (!description.empty()) why += " (" + quote_remote(description, options_.client_secret) + ")";
    }
    return failure(make_error_code(TokenError::rejected), why);
  }
  const auto bad = [&](std::string_view why) { return failure(make_error_code(TokenError::bad_response), why); };
  if (!object) return bad(fmt::format("answered {} without a JSON object", response.status));
  const std::string_view value = string_field(*object, "access_token");
  if (value.empty() || !printable(value)) return bad("no usable access_token in its answer");
  const std::string_view type = string_field(*object, "token_type");
  if (!type.empty() && !iequals(type, "bearer")) {
    return bad(fmt::format("token_type \"{}\" is not Bearer", quote_remote(type, options_.client_secret)));
  }
  const auto seconds = expires_in(*object);
  if (seconds && *seconds <= 0) return bad("expires_in is not a positive number of seconds");
  const auto lifetime = std::min<Clock::duration>(seconds ? std::chrono::seconds(*seconds) : default_lifetime,
                                                  longest_lifetime);
  auto token = std::make_shared<AccessToken>();
  token->value = std::string(value);
  token->token_type = type.empty() ? "Bearer" : std::string(type);
  token->issued_at = sent_at;  // the endpoint's clock started no later than our request
  token->expires_at = sent_at + lifetime;
  token->authorization = "Bearer " + token->value;
  return TokenPtr(std::move(token));
}

void OAuth2TokenSource::Impl::finish(TokenOutcome outcome) {
  std::vector<Waiter> waiters;
  const auto now = Clock::now();
  std::optional<Clock::time_point> next_timer;
  {
    std::lock_guard lock(mutex_);
    fetching_ = false;
    if (outcome) {
      current_ = *outcome;
      const auto lifetime = current_->expires_at - current_->issued_at;
      const auto refresh_after = std::max<Clock::duration>(
          lifetime / 2, std::min<Clock::duration>(lifetime * 4 / 5, lifetime - std::chrono::seconds(60)));
      refresh_at_ = current_->issued_at + refresh_after;
      last_failure_.reset();
      backoff_ = Clock::duration{0};
      failure_until_ = {};
      used_ = !waiters_.empty();
      next_timer = refresh_at_;
    } else {
      fetch_failures_.fetch_add(1, std::memory_order_relaxed);
      backoff_ = std::clamp<Clock::duration>(backoff_ * 2, first_backoff, longest_backoff);
      failure_until_ = now + backoff_;
      last_failure_ = outcome.error();
      if (usable(current_, now)) next_timer = failure_until_;  // refresh again while it lasts
    }
    waiters.swap(waiters_);
  }
  if (next_timer) schedule(*next_timer);
  for (Waiter& waiter : waiters) complete(std::move(waiter), outcome);
}

void OAuth2TokenSource::Impl::schedule(Clock::time_point at) {
  refresh_timer_->expires_at(at);
  refresh_timer_->async_wait([this](error_code ec) {
    if (!ec) on_timer();
  });
}

void OAuth2TokenSource::Impl::on_timer() {
  std::lock_guard lock(mutex_);
  // Refresh only a token someone used since it was fetched: an idle route
  // lets it lapse and fetches again on its next call.
  if (fetching_ || stopped_ || !used_ || !usable(current_, Clock::now())) return;
  start_fetch_locked();
}

OAuth2TokenSource::OAuth2TokenSource(OAuth2Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

OAuth2TokenSource::~OAuth2TokenSource() = default;

boost::asio::awaitable<TokenOutcome> OAuth2TokenSource::token() {
  if (auto now = impl_->try_now()) co_return std::move(*now);
  co_return co_await impl_->async_wait(asio::use_awaitable);
}

TokenPtr OAuth2TokenSource::current() const { return impl_->current(); }

void OAuth2TokenSource::invalidate(const TokenPtr& used) { impl_->invalidate(used); }

TokenSourceCounters OAuth2TokenSource::counters() const noexcept { return impl_->counters(); }

const std::string& OAuth2TokenSource::token_url() const noexcept { return impl_->token_url(); }

}  // namespace conveyor::auth
