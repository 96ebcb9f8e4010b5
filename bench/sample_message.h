// A realistic partner message of about 300 bytes, shared by the micro-benchmarks: a shipment
// notification with strings, numbers, a nested object, an array, a boolean and a null. Pure.
#pragma once

#include <cstddef>
#include <string>

#include <fmt/format.h>

namespace conveyor::bench {

inline std::string sample_message(std::size_t i) {
  return fmt::format(
      R"({{"p":"+55119{:08d}","m":"Your shipment {} left the distribution centre and is on its way","i":{},)"
      R"("order":{{"id":"ORD-{:010d}","carrier":"Correios","eta":"2026-12-02T18:00:00Z","weight_kg":1.25}},)"
      R"("tags":["express","tracked"],"locale":"pt-BR","opt_in":true,"retry":null}})",
      i % 100'000'000, i, i, i);
}

}  // namespace conveyor::bench
