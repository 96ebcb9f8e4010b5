#include "cli/logging.h"

#include <memory>
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/status_line.h"

namespace conveyor::cli {
namespace {

// Writes each record through `inner` with the status line erased around it.
class StatusLineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  StatusLineSink(std::shared_ptr<spdlog::sinks::sink> inner, StatusLine& line)
      : inner_(std::move(inner)), line_(line) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    line_.around([&] {
      inner_->log(msg);
      inner_->flush();
    });
  }
  void flush_() override { inner_->flush(); }
  void set_pattern_(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
  StatusLine& line_;
};

}  // namespace

void use_stderr_logging(const std::string& level, const std::string& format) {
  const bool json = format == "json";
  StatusLine& line = StatusLine::on_stderr();
  line.set_enabled(!json && stderr_is_terminal());

  std::shared_ptr<spdlog::sinks::sink> sink;
  if (json) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    sink->set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    sink = std::make_shared<StatusLineSink>(std::move(sink), line);
  }
  auto logger = std::make_shared<spdlog::logger>("conveyor", std::move(sink));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace conveyor::cli
