// Redis Sentinel, as a client sees it: the redis+sentinel:// form of REDIS_URL
// (sentinel hosts and a master name), and the question asked at every connect:
// where is the master now? Connection::connect is the one caller of
// resolve_master, so every user of Redis (queue, producer, stats, dlq, rate
// limits) follows a failover by reconnecting as it already does.
//
// Free functions, no state: each resolution opens its own short connections
// to the sentinels, on the caller's executor, and closes them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "core/error.h"
#include "redis/endpoint.h"

namespace conveyor::redis {

// True for redis+sentinel:// and rediss+sentinel:// URLs.
bool is_sentinel_url(std::string_view url);

// redis[s]+sentinel://[[user]:password@]host[:port][,host[:port]...]/MASTER_NAME[/db][?ca_file=...&verify=...]:
// the hosts are the sentinels (port 26379 by default); user, password, db and
// the TLS parameters are the master's, as in redis://. Fails with
// Error::bad_url and a reason in `why` (never the password) without a host or
// a master name.
Result<Endpoint> parse_sentinel_url(std::string_view url, std::string* why = nullptr);

// The URL of a sentinel endpoint, with the password shown as "***".
std::string sentinel_url(const Endpoint& endpoint);

// Asks each sentinel in turn (SENTINEL get-master-addr-by-name), each within
// `timeout`, and returns the endpoint of the master the first one names: the
// same login, database and TLS settings at that host and port, with no
// sentinels. Sentinels are logged in to with endpoint.sentinel_password, over
// TLS if the endpoint is rediss+sentinel://. Fails with
// ConnectError::no_master, and in `why` what each sentinel answered, if none
// names one. The caller checks that the server is a master (ROLE).
boost::asio::awaitable<Result<Endpoint>> resolve_master(boost::asio::any_io_executor executor,
                                                        const Endpoint& endpoint, std::chrono::milliseconds timeout,
                                                        std::string* why = nullptr);

}  // namespace conveyor::redis
