// A real SQS emulator for a test: fauxqs@1.9.2 (tools/fauxqs) started by the project's own Node
// launcher on a free port of 127.0.0.1 only, stopped (SIGKILL and reaped) with this object.
// fauxqs names its queue URLs sqs.<region>.localhost: clients reach it through endpoint().
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/child_process.h"
#include "queue/sqs/sqs_client.h"

namespace conveyor::testing {

class SqsEmulator {
 public:
  static constexpr std::string_view region = "us-east-1";

  // Throws std::runtime_error if the emulator is not listening within 30 s.
  SqsEmulator();

  // http://127.0.0.1:PORT, for SQS_ENDPOINT.
  std::string_view endpoint() const { return endpoint_; }
  // Any credentials do: fauxqs checks no signature.
  static aws::Credentials credentials() { return {"AKIDEXAMPLE", "test-secret", ""}; }
  // Client options for this emulator.
  sqs::ClientOptions client_options() const;
  // The environment a `conveyor` child needs to reach it with QUEUE=SQS.
  std::vector<std::string> environment() const;

  // Creates a queue (CreateQueue over the SQS API) and returns its URL. Throws on failure.
  std::string create_queue(const std::string& name, const std::map<std::string, std::string>& attributes = {});
  // ApproximateNumberOfMessages (visible), ...NotVisible and ...Delayed, by name. Throws on failure.
  std::map<std::string, std::size_t> counts(const std::string& queue_url) const;
  // The three summed: every message the queue still holds.
  std::size_t messages_in(const std::string& queue_url) const;

 private:
  ChildProcess process_;
  std::string endpoint_;
};

}  // namespace conveyor::testing
