// A child process (the demo's redis-server and partner, the tests' workers):
// spawned with its stdout on a pipe (stderr passes through), read line by line
// with deadlines, signalled, and reaped. The destructor SIGKILLs and reaps a
// child still running, so a failure never leaves servers behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace conveyor {

class ChildProcess {
 public:
  // What happens to the child's stderr.
  enum class Stderr { inherit, into_stdout };

  // Throws std::runtime_error if the program cannot be started.
  // `env` entries ("KEY=VALUE") are added to the inherited environment.
  static ChildProcess spawn(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env = {}, Stderr err = Stderr::inherit);

  ChildProcess() = default;  // no process
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }

  // Next line of stdout without its newline; nullopt on timeout or EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Everything left on stdout until EOF or the timeout.
  std::string read_all(std::chrono::milliseconds timeout);

  void signal(int sig);
  // Exit code (or 128 + signal number) once the child ends; nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  ChildProcess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}
  void reset() noexcept;

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
  std::optional<int> status_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (the caller retries if
// another process takes it first).
unsigned short free_port();
// Whether 127.0.0.1:`port` can be bound now (the same caveat).
bool port_is_free(unsigned short port);

// Polls `condition` every `interval` until it holds or `timeout` passes
// (for waiting on another process, which offers nothing to block on).
template <class Condition>
bool wait_until(Condition&& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

}  // namespace conveyor

#include <thread>

template <class Condition>
bool conveyor::wait_until(Condition&& condition, std::chrono::milliseconds timeout,
                                   std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}
