#include "support/conveyor_harness.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "http/fetch.h"
#include "publish/message_source.h"

namespace conveyor::testing {
namespace {

constexpr auto kHttpTimeout = std::chrono::seconds(10);

boost::json::value get_json(const std::string& url) {
  auto page = http::fetch(url, kHttpTimeout);
  if (!page || page->status != 200) throw std::runtime_error("GET " + url + " failed");
  return boost::json::parse(page->body);
}

}  // namespace

PartnerSimulator::PartnerSimulator(std::vector<std::string> extra_args) {
  std::vector<std::string> argv = {CONVEYOR_BINARY, "partner", "--listen", "127.0.0.1:0", "--record-bodies"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = ChildProcess::spawn(argv);
  const auto line = process_.read_line(std::chrono::seconds(10));
  const std::string prefix = "listening on ";
  if (!line || !line->starts_with(prefix)) throw std::runtime_error("the partner simulator did not start");
  address_ = line->substr(prefix.size());
}

std::string PartnerSimulator::url(const std::string& path) const { return "http://" + address_ + path; }

boost::json::object PartnerSimulator::stats() const { return get_json(url("/stats")).as_object(); }

std::uint64_t PartnerSimulator::stat(const char* name) const { return stats().at(name).to_number<std::uint64_t>(); }

std::multiset<std::string> PartnerSimulator::bodies() const {
  std::multiset<std::string> out;
  const boost::json::value page = get_json(url("/bodies"));
  for (const auto& body : page.as_array()) out.insert(std::string(body.as_string()));
  return out;
}

void PartnerSimulator::outage(std::chrono::milliseconds duration) const {
  get_json(url("/outage?ms=" + std::to_string(duration.count())));
}

std::vector<std::int64_t> PartnerSimulator::arrivals() const {
  std::vector<std::int64_t> out;
  const boost::json::value page = get_json(url("/arrivals"));
  for (const auto& at : page.as_array()) out.push_back(at.to_number<std::int64_t>());
  std::sort(out.begin(), out.end());
  return out;
}

std::multiset<std::string> PartnerSimulator::targets() const {
  std::multiset<std::string> out;
  const boost::json::value page = get_json(url("/targets"));
  for (const auto& target : page.as_array()) out.insert(std::string(target.as_string()));
  return out;
}

std::vector<PartnerSimulator::Served> PartnerSimulator::delays() const {
  std::vector<Served> out;
  const boost::json::value page = get_json(url("/delays"));
  for (const auto& row : page.as_array()) {
    out.push_back({row.at(0).to_number<std::int64_t>(), row.at(1).to_number<std::int64_t>()});
  }
  std::sort(out.begin(), out.end(), [](const Served& a, const Served& b) { return a.arrived_us < b.arrived_us; });
  return out;
}

ChildProcess start_conveyor(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv = {CONVEYOR_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  // Workers of tests running side by side must not share the default admin port: a free one
  // each, unless the test chose.
  std::vector<std::string> full_env = env;
  const bool chosen = std::getenv("ADMIN_LISTEN") != nullptr ||
                      std::any_of(env.begin(), env.end(), [](const std::string& e) { return e.starts_with("ADMIN_LISTEN="); });
  if (!chosen) full_env.emplace_back("ADMIN_LISTEN=127.0.0.1:0");
  return ChildProcess::spawn(argv, full_env, ChildProcess::Stderr::into_stdout);
}

Finished run_conveyor(const std::vector<std::string>& args, std::chrono::seconds timeout,
                      const std::vector<std::string>& env) {
  auto child = start_conveyor(args, env);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Finished result;
  result.output = child.read_all(timeout);  // returns at EOF, i.e. when the child exits
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  const auto code = child.wait(std::max(left, std::chrono::milliseconds(100)));
  result.exit_code = code ? *code : -1;
  return result;
}

double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double peak_rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmHWM:")) return std::stod(line.substr(6)) / 1024.0;  // "VmHWM:   123 kB"
  }
  return -1;
}

std::multiset<std::string> generated_messages(std::size_t n) {
  std::multiset<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.insert(publish::generated_message(i));
  return out;
}

}  // namespace conveyor::testing
