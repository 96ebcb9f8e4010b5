#include "support/sqs_emulator.h"

#include "queue/sqs/blocking_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <array>
#include <stdexcept>

namespace conveyor::testing {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// One client call to its end; the emulator failing a call fails the test.
template <class Call>
auto run_call(const sqs::ClientOptions& options, Call call) {
  auto outcome = sqs::call_blocking(options, call);
  if (!outcome) throw std::runtime_error("SQS emulator: " + outcome.error().to_string());
  return std::move(*outcome);
}

}  // namespace

SqsEmulator::SqsEmulator() {
  process_ = ChildProcess::spawn({NODE_BINARY, FAUXQS_LAUNCHER, "--port", "0", "--region", std::string(region)});
  constexpr std::string_view ready = "listening on ";
  while (auto line = process_.read_line(30s)) {
    if (line->starts_with(ready)) {
      endpoint_ = "http://" + line->substr(ready.size());
      return;
    }
  }
  throw std::runtime_error("SQS emulator: fauxqs did not start (is `npm ci` done in tools/fauxqs?)");
}

sqs::ClientOptions SqsEmulator::client_options() const {
  sqs::ClientOptions options;
  options.endpoint = endpoint_;
  options.region = std::string(region);
  options.credentials = credentials();
  return options;
}

std::vector<std::string> SqsEmulator::environment() const {
  const aws::Credentials keys = credentials();
  // A short long poll: a worker's shutdown waits its receives out, and tests stop workers often.
  return {"QUEUE=SQS", "SQS_ENDPOINT=" + endpoint_, "AWS_REGION=" + std::string(region), "SQS_WAIT_TIME=1s",
          "AWS_ACCESS_KEY_ID=" + keys.access_key_id, "AWS_SECRET_ACCESS_KEY=" + keys.secret_access_key};
}

std::string SqsEmulator::create_queue(const std::string& name, const std::map<std::string, std::string>& attributes) {
  return run_call(client_options(), [&](sqs::Client& client) { return client.create_queue(name, attributes); });
}

std::map<std::string, std::size_t> SqsEmulator::counts(const std::string& queue_url) const {
  static constexpr std::array<std::string_view, 3> names = {
      "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"};
  auto attributes = run_call(client_options(),
                             [&](sqs::Client& client) { return client.get_queue_attributes(queue_url, names); });
  std::map<std::string, std::size_t> out;
  for (std::string_view name : names) {
    auto found = attributes.find(std::string(name));
    out[std::string(name)] = found == attributes.end() ? 0 : std::stoul(found->second);
  }
  return out;
}

std::size_t SqsEmulator::messages_in(const std::string& queue_url) const {
  std::size_t total = 0;
  for (const auto& [name, count] : counts(queue_url)) total += count;
  return total;
}

}  // namespace conveyor::testing
