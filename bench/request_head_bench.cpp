// What writing a partner POST's head costs (http/request_head.h), per request: the default
// target with an Idempotency-Key, and a route's own target with two extra headers. The buffer is
// reused across requests, as each pooled connection reuses its own.
//   ./build/bench/request_head_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "http/request_head.h"

namespace {

using conveyor::http::HeaderField;
using conveyor::http::RequestHead;

const std::vector<HeaderField> kFixed = {{"Authorization", "Bearer 3f2a9c7e4b1d8f6a0e5c2b9d7a4f1e8c6b3d0a7f"},
                                         {"User-Agent", "conveyor/0.1.0"}};
constexpr std::string_view kKey = "9f86d081884c7d65:137";  // a Redis lease id, as the dispatcher passes it
constexpr std::size_t kBodySize = 300;

void BM_RequestHead_DefaultTargetWithKey(benchmark::State& state) {
  const RequestHead head("/v1/messages", "partner.example.com", "application/json", kFixed);
  std::string out;
  for (auto _ : state) {
    head.format(out, {}, kBodySize, kKey, {});
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["head_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_RequestHead_DefaultTargetWithKey);

void BM_RequestHead_RouteTargetTwoHeaders(benchmark::State& state) {
  const RequestHead head("/v1/messages", "partner.example.com", "application/json", kFixed);
  const std::string target = "/v2/tenants/acme-logistics/shipments/ORD-0012345678/notify?channel=sms";
  const std::vector<HeaderField> headers = {{"X-Tenant", "acme-logistics"}, {"X-Route", "sms-br-priority"}};
  std::string out;
  for (auto _ : state) {
    head.format(out, target, kBodySize, kKey, headers);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["head_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_RequestHead_RouteTargetTwoHeaders);

}  // namespace
