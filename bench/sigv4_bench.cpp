// What signing an SQS call costs (aws/sigv4.h), per signature: ReceiveMessage and a
// DeleteMessageBatch of 10 entries, with the JSON bodies and the three signed headers the SQS
// client sends, under temporary credentials (a session token, as on ECS, EKS or EC2). Then the
// client's whole per-call step (sqs::signed_headers: the signature and its header lines).
//   ./build/bench/sigv4_bench
#include <benchmark/benchmark.h>

#include <array>
#include <string>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "aws/sigv4.h"
#include "http/target.h"
#include "queue/sqs/sqs_client.h"

namespace {

namespace aws = conveyor::aws;
namespace json = boost::json;

constexpr std::string_view kQueueUrl = "https://sqs.sa-east-1.amazonaws.com/123456789012/shipments";
constexpr std::string_view kHost = "sqs.sa-east-1.amazonaws.com";
constexpr std::string_view kDate = "20261130T120000Z";

const aws::Credentials& credentials() {
  static const aws::Credentials c{
      "ASIAQNZGKJ3EXAMPLE7Q", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
      "IQoJb3JpZ2luX2VjEJr//////////wEaCXNhLWVhc3QtMSJHMEUCIQDexampleTokenBody0123456789abcdefghijklmnop"
      "qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/exampleexampleexampleexampleexampleexampleexample"
      "exampleexampleexampleexampleexampleexampleexampleexampleexampleexampleexample=="};
  return c;
}

std::string receive_body() {  // as sqs::Client::receive_message writes it
  return json::serialize(json::object{{"QueueUrl", kQueueUrl},
                                      {"MaxNumberOfMessages", 10},
                                      {"WaitTimeSeconds", 20},
                                      {"MessageSystemAttributeNames", json::array{"ApproximateReceiveCount"}},
                                      {"AttributeNames", json::array{"ApproximateReceiveCount"}},
                                      {"VisibilityTimeout", 30}});
}

std::string delete_batch_body() {  // as sqs::Client::delete_message_batch writes it, 10 entries
  json::array entries;
  for (int i = 0; i < 10; ++i) {
    // Real receipt handles are ~180-byte base64 strings.
    entries.push_back(json::object{
        {"Id", std::to_string(i)},
        {"ReceiptHandle",
         fmt::format("AQEB{:02d}x7Kq3mZP0vN8tJ2wYfLr5cHdUeGbS1oA9iQ6lVjXnMk4TzRyWs+CgFhEuDpOaB/IeK9LqN2mZ7vJ3xYcR8"
                     "tU5wHfSg1dOiPkA6lVbXnMe4TzRyWs+CgFhEuDpOaB/IeK9LqN2mZ7vJ3xYcR8tU5wHfSg1dOiPkA6lVbXn{:04d}==",
                     i, i)}});
  }
  return json::serialize(json::object{{"QueueUrl", kQueueUrl}, {"Entries", std::move(entries)}});
}

void sign(benchmark::State& state, std::string_view action, const std::string& body) {
  const std::string target = fmt::format("AmazonSQS.{}", action);
  const std::array<aws::Header, 3> headers = {aws::Header{"Host", std::string(kHost)},
                                              aws::Header{"Content-Type", "application/x-amz-json-1.0"},
                                              aws::Header{"X-Amz-Target", target}};
  const aws::SigningRequest request{.method = "POST", .path = "/", .query = {}, .headers = headers, .body = body};
  if (!aws::sign(request, credentials(), "sa-east-1", "sqs", kDate)) {
    state.SkipWithError("signing failed");
    return;
  }
  for (auto _ : state) {
    auto signature = aws::sign(request, credentials(), "sa-east-1", "sqs", kDate);
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_SigV4_ReceiveMessage(benchmark::State& state) { sign(state, "ReceiveMessage", receive_body()); }
BENCHMARK(BM_SigV4_ReceiveMessage);

void BM_SigV4_DeleteMessageBatch10(benchmark::State& state) { sign(state, "DeleteMessageBatch", delete_batch_body()); }
BENCHMARK(BM_SigV4_DeleteMessageBatch10);

void BM_SqsSignedHeaders_DeleteMessageBatch10(benchmark::State& state) {
  const auto target = conveyor::http::parse_target(fmt::format("https://{}/", kHost));
  const std::string body = delete_batch_body();
  const auto sign_call = [&] {
    return conveyor::sqs::signed_headers(*target, "DeleteMessageBatch", body, credentials(), "sa-east-1", kDate);
  };
  if (!target || !sign_call()) {
    state.SkipWithError("signing failed");
    return;
  }
  for (auto _ : state) {
    auto headers = sign_call();
    benchmark::DoNotOptimize(headers);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SqsSignedHeaders_DeleteMessageBatch10);

}  // namespace
