#include "partner/simulator.h"

#include <boost/json/parse.hpp>
#include <charconv>

#include <csignal>
#include <cstdio>
#include <random>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "core/limits.h"

namespace conveyor::partner {
namespace {

namespace net = boost::asio;
using http::ServerRequest;
using http::ServerResponse;

constexpr std::string_view kJson = "application/json";

ServerResponse json(unsigned status, std::string body) {
  return ServerResponse{status, kJson, std::move(body), {}, {}};
}

// {"ok":true,"label":"AAA…"} of `bytes` bytes, or {"ok":true} when that is longer.
std::string ok_body(std::size_t bytes) {
  constexpr std::string_view head = R"({"ok":true,"label":")", tail = R"("})";
  if (bytes < head.size() + tail.size()) return R"({"ok":true})";
  std::string body(head);
  body.append(bytes - head.size() - tail.size(), 'A');
  body.append(tail);
  return body;
}

bool valid(const SimulatorOptions& o) {
  // Written so that NaN fails too.
  return o.fail_rate >= 0.0 && o.fail_rate <= 1.0 && o.drop_rate >= 0.0 && o.drop_rate <= 1.0 && o.delay.count() >= 0 &&
         o.delay_jitter.count() >= 0;
}

}  // namespace

Simulator::Simulator(SimulatorOptions options)
    : options_(std::move(options)),
      ok_body_(ok_body(options_.response_bytes)),
      stats_(options_.record_bodies),
      order_(options_.order_field, options_.seq_field),
      server_(http::ServerOptions{.listen = options_.listen, .threads = options_.threads},
              *this) {}

Simulator::~Simulator() {
  server_.stop();
  server_.wait();
}

error_code Simulator::start() {
  if (!valid(options_)) return make_error_code(boost::system::errc::invalid_argument);
  if (!options_.oauth_client.empty()) {
    try {
      tokens_ = std::make_unique<TokenIssuer>(options_.oauth_client, options_.token_ttl);
    } catch (const std::invalid_argument&) {
      return make_error_code(boost::system::errc::invalid_argument);
    }
  }
  if (auto ec = server_.listen()) return ec;
  server_.start();
  return {};
}

boost::asio::ip::tcp::endpoint Simulator::local_endpoint() const { return server_.local_endpoint(); }

void Simulator::run() { server_.wait(); }

void Simulator::stop() { server_.stop(); }

bool Simulator::chance(double rate) {
  if (rate <= 0.0) return false;
  if (rate >= 1.0) return true;
  // One engine per thread: no shared state on the hot path.
  thread_local std::minstd_rand engine(std::random_device{}());
  return std::bernoulli_distribution(rate)(engine);
}

std::chrono::milliseconds Simulator::draw_delay() const {
  if (options_.delay_jitter.count() <= 0) return options_.delay;
  thread_local std::minstd_rand engine(std::random_device{}());
  std::uniform_int_distribution<std::int64_t> extra(0, options_.delay_jitter.count());
  return options_.delay + std::chrono::milliseconds(extra(engine));
}

unsigned Simulator::marked_status(std::string_view body) const {
  if (options_.status_field.empty()) return 0;
  error_code ec;
  const auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return 0;
  const auto* field = value.get_object().if_contains(options_.status_field);
  if (!field || !field->is_int64()) return 0;
  const auto status = field->get_int64();
  return status >= 100 && status <= 599 ? static_cast<unsigned>(status) : 0;
}

net::awaitable<ServerResponse> Simulator::handle(const ServerRequest& request) {
  if (request.method() != "POST") co_return handle_get(request);
  if (tokens_) {  // OAuth2: the token endpoint, and a live bearer token on every other POST
    if (request.path() == "/oauth/token") co_return tokens_->issue(request);
    if (!tokens_->authorized(request.header("Authorization"))) co_return TokenIssuer::refusal();
  }

  stats_.received();
  const auto arrived = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_);
  if (options_.record_arrivals) {
    std::lock_guard lock(arrivals_mutex_);
    arrivals_.push_back(arrived.count());
    targets_.emplace_back(request.target());
  }
  auto order_call = order_.begin(request.body());  // in progress until this frame ends
  if (std::chrono::steady_clock::now().time_since_epoch().count() < down_until_.load(std::memory_order_relaxed)) {
    stats_.abandoned();
    ServerResponse dropped;
    dropped.drop_connection = true;
    co_return dropped;
  }
  std::chrono::nanoseconds delay = draw_delay();
  // Capacity mode: the delay grows with the load past the capacity; past twice it, 503 at once.
  struct InProgress {
    std::atomic<std::size_t>& count;
    ~InProgress() { count.fetch_sub(1, std::memory_order_relaxed); }
  };
  std::optional<InProgress> in_progress;
  if (options_.capacity > 0) {
    const std::size_t n = in_progress_.fetch_add(1, std::memory_order_relaxed) + 1;
    in_progress.emplace(in_progress_);  // in place: a copy would count down twice
    if (n > 2 * options_.capacity) {
      stats_.answered_failed();
      co_return json(503, R"({"ok":false,"error":"over capacity"})");
    }
    if (n > options_.capacity) {
      const double load = static_cast<double>(n) / static_cast<double>(options_.capacity);
      delay = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.delay * load * load);
    }
  }
  if (options_.record_arrivals) {
    std::lock_guard lock(arrivals_mutex_);
    delays_.emplace_back(arrived.count(), std::chrono::duration_cast<std::chrono::microseconds>(delay).count());
  }
  if (delay.count() > 0) {
    net::steady_timer timer(co_await net::this_coro::executor, delay);
    auto slot = request.cancellation_slot();
    auto [ec] = co_await timer.async_wait(
        net::bind_cancellation_slot(slot, net::as_tuple(net::use_awaitable)));
    slot.clear();  // the timer dies with this frame
    if (ec) {
      stats_.abandoned();
      co_return json(503, R"({"ok":false,"error":"stopping"})");
    }
  }
  if (const unsigned status = marked_status(request.body()); status != 0 && (status < 200 || status >= 300)) {
    stats_.answered_failed();
    ServerResponse response = json(status, fmt::format(R"({{"ok":false,"error":"the message asked for {}"}})", status));
    if (options_.retry_after && (status == 429 || status == 503)) {
      response.extra_header_name = "Retry-After";
      response.extra_header_value = std::to_string(options_.retry_after->count());
    }
    co_return response;
  }
  if (chance(options_.drop_rate)) {
    stats_.abandoned();
    ServerResponse dropped;
    dropped.drop_connection = true;
    co_return dropped;
  }
  if (chance(options_.fail_rate)) {
    stats_.answered_failed();
    ServerResponse response = json(503, R"({"ok":false,"error":"simulated failure"})");
    if (options_.retry_after) {
      response.extra_header_name = "Retry-After";
      response.extra_header_value = std::to_string(options_.retry_after->count());
    }
    co_return response;
  }
  stats_.answered_ok(request.idempotency_key(), request.body());
  order_call.answered_ok();
  co_return json(200, ok_body_);
}

ServerResponse Simulator::handle_get(const ServerRequest& request) const {
  if (request.method() != "GET" && request.method() != "HEAD") {
    return json(405, R"({"error":"method not allowed"})");
  }
  const auto path = request.path();
  if (path == "/stats") {
    std::string body = to_json(stats_.snapshot());
    if (order_.enabled()) {
      body.pop_back();  // the closing brace
      body += fmt::format(R"(,"order_violations":{},"overlaps":{}}})", order_.order_violations(), order_.overlaps());
    }
    if (tokens_) {  // its own fields, only when the token endpoint is on
      body.pop_back();  // the closing brace
      body += fmt::format(R"(,"tokens_issued":{},"unauthorized":{}}})", tokens_->tokens_issued(),
                          tokens_->unauthorized());
    }
    return json(200, std::move(body));
  }
  if (path == "/healthz") return json(200, R"({"ok":true})");
  if (path == "/outage") {
    const auto target = request.target();
    const auto at = target.find("ms=");
    std::int64_t ms = 0;
    if (at == std::string_view::npos ||
        std::from_chars(target.data() + at + 3, target.data() + target.size(), ms).ec != std::errc{} || ms < 0) {
      return json(400, R"({"error":"expected /outage?ms=N"})");
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    down_until_.store(until.time_since_epoch().count(), std::memory_order_relaxed);
    return json(200, fmt::format(R"({{"down_for_ms":{}}})", ms));
  }
  if (path == "/arrivals") {
    if (!options_.record_arrivals) return json(404, R"({"error":"record_arrivals is off"})");
    boost::json::array array;
    std::lock_guard lock(arrivals_mutex_);
    array.reserve(arrivals_.size());
    for (const std::int64_t at : arrivals_) array.emplace_back(at);
    return json(200, boost::json::serialize(array));
  }
  if (path == "/targets") {
    if (!options_.record_arrivals) return json(404, R"({"error":"record_arrivals is off"})");
    boost::json::array array;
    std::lock_guard lock(arrivals_mutex_);
    for (const auto& target : targets_) array.emplace_back(target);
    return json(200, boost::json::serialize(array));
  }
  if (path == "/delays") {
    if (!options_.record_arrivals) return json(404, R"({"error":"record_arrivals is off"})");
    boost::json::array array;
    std::lock_guard lock(arrivals_mutex_);
    array.reserve(delays_.size());
    for (const auto& [at, delay] : delays_) array.emplace_back(boost::json::array{at, delay});
    return json(200, boost::json::serialize(array));
  }
  if (path == "/bodies") {
    if (!stats_.records_bodies()) return json(404, R"({"error":"record_bodies is off"})");
    boost::json::array array;
    for (auto& body : stats_.bodies()) array.emplace_back(body);
    return json(200, boost::json::serialize(array));
  }
  return json(404, R"({"error":"not found"})");
}

std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  if (address.is_v6()) return fmt::format("[{}]:{}", address.to_string(), endpoint.port());
  return fmt::format("{}:{}", address.to_string(), endpoint.port());
}

int run_partner(const SimulatorOptions& options) {
  raise_open_files_limit();
  Simulator simulator(options);

  // Installed before serving so that an early SIGTERM still stops us cleanly.
  net::io_context signals_context(1);
  net::signal_set signals(signals_context, SIGINT, SIGTERM);
  signals.async_wait([&simulator](const error_code&, int) { simulator.stop(); });

  if (!valid(options)) {
    fmt::print(stderr, "conveyor partner: fail rate must be within 0..1 and delay not negative\n");
    return 2;
  }
  if (!options.oauth_client.empty()) {
    try {
      TokenIssuer check(options.oauth_client, options.token_ttl);
    } catch (const std::invalid_argument& e) {
      fmt::print(stderr, "conveyor partner: {}\n", e.what());  // never quotes the secret
      return 2;
    }
  }
  if (const auto ec = simulator.start()) {
    fmt::print(stderr, "conveyor partner: cannot listen on {}: {}\n", options.listen, ec.message());
    return ec == boost::system::errc::invalid_argument ? 2 : 1;
  }
  fmt::print("listening on {}\n", format_endpoint(simulator.local_endpoint()));
  std::fflush(stdout);

  signals_context.run();
  simulator.run();
  return 0;
}

}  // namespace conveyor::partner
