// Where a Redis server is and how to log in: parsed from a REDIS_URL of the
// form redis://[[user]:password@]host[:port][/db][?ca_file=PATH&verify=BOOL],
// or rediss:// for TLS; or redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/MASTER_NAME[/db]
// (rediss+sentinel:// for TLS), where the hosts are Redis Sentinels asked for
// the master at each connect (redis/sentinel.h). The password is kept out of
// every formatted form (to_string masks it) and out of every error text.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace conveyor::redis {

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;
  bool tls = false;
  // TLS only. Empty: the system's CA paths. verify=false accepts any
  // certificate (test setups only: it gives up protection against MITM).
  std::string tls_ca_file;
  bool tls_verify = true;
  // Not from the URL: a command unanswered this long fails the connection
  // (timed_out) so its owner reconnects rather than waiting forever. We send
  // no blocking commands, and our scripts run in milliseconds.
  std::chrono::milliseconds reply_timeout{30'000};

  // redis+sentinel:// only (empty otherwise): the sentinels, asked in turn for
  // the address of `master_name` at each connect; host and port above are
  // unused then. The sentinels' password is not in the URL: it comes from
  // REDIS_SENTINEL_PASSWORD (empty: no AUTH to the sentinels).
  struct Sentinel {
    std::string host;
    std::uint16_t port = 26379;
  };
  std::vector<Sentinel> sentinels;
  std::string master_name;
  std::string sentinel_password;

  // "redis://127.0.0.1:6379/0", with the password shown as "***".
  std::string to_string() const;
};

// Fails with Error::bad_url (and a reason in `why`) for anything else.
// As redis-cli does, a userinfo without ':' ("redis://secret@host") is the
// password. `why` never contains the password.
Result<Endpoint> parse_endpoint(std::string_view url, std::string* why = nullptr);

}  // namespace conveyor::redis
