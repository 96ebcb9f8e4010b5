// The Redis connection against a real redis-server: replies reach the right
// callers under heavy pipelining, bytes survive untouched, logins and
// databases work, and a dying server fails commands instead of hanging them.
// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// of an Asio awaitable (operator new and delete are both Asio's own).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "redis/connection.h"
#include "redis/endpoint.h"
#include "support/child_process.h"
#include "support/coroutine.h"
#include "support/redis_server.h"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using conveyor::error_code;
using conveyor::Error;
using conveyor::Result;
using conveyor::redis::Connection;
using conveyor::redis::ConnectError;
using conveyor::redis::Endpoint;
using conveyor::redis::Reply;
using conveyor::redis::Script;
using conveyor::redis::parse_endpoint;
using conveyor::testing::RedisServer;
using Args = std::vector<std::string_view>;

void run(asio::io_context& io, std::function<asio::awaitable<void>()> body,
         std::chrono::milliseconds limit = 30s) {
  conveyor::testing::run_coroutine(io, std::move(body), limit);
}

Endpoint endpoint_of(const RedisServer& server) { return parse_endpoint(server.url()).value(); }

asio::awaitable<std::unique_ptr<Connection>> connect_or_fail(const Endpoint& endpoint) {
  std::string why;
  auto connection = co_await Connection::connect(co_await asio::this_coro::executor, endpoint, 5s, &why);
  if (!connection) {
    ADD_FAILURE() << "connect failed: " << why;
    co_return nullptr;
  }
  co_return std::move(*connection);
}

// One command; the words go through a variadic call because GCC 12 cannot
// keep a braced list alive across a co_await in the same expression.
template <class... Words>
asio::awaitable<Result<Reply>> call(Connection& connection, const Words&... words) {
  const Args args{std::string_view(words)...};
  co_return co_await connection.command(args);
}

std::string binary_bytes(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(random() & 0xff);
  return out;
}

class ConnectionTest : public ::testing::Test {
 protected:
  RedisServer server;
  asio::io_context io;
};

TEST_F(ConnectionTest, SetAndGetAreBinarySafe) {
  run(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(endpoint_of(server));
    CO_ASSERT(connection);
    std::string every_byte;
    for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
    const std::string key = std::string("key\0with\r\nbreaks", 16);
    const std::string values[] = {every_byte, "", "\r\n$5\r\n*1\r\n", binary_bytes(10 * 1024 * 1024, 7)};
    for (const auto& value : values) {
      auto set = co_await call(*connection, "SET", key, value);
      CO_ASSERT(set);
      EXPECT_EQ(set->type, Reply::Type::status);
      EXPECT_EQ(set->string, "OK");
      auto get = co_await call(*connection, "GET", key);
      CO_ASSERT(get);
      EXPECT_EQ(get->type, Reply::Type::string);
      EXPECT_EQ(get->string.size(), value.size());
      EXPECT_TRUE(get->string == value);
    }
    auto missing = co_await call(*connection, "GET", "no-such-key");
    CO_ASSERT(missing);
    EXPECT_TRUE(missing->is_nil());
  });
  EXPECT_EQ(server.integer({"STRLEN", std::string("key\0with\r\nbreaks", 16)}), 10 * 1024 * 1024);
}

TEST_F(ConnectionTest, TenThousandConcurrentCommandsEachGetTheirOwnReply) {
  constexpr int kCallers = 10'000;
  int finished = 0;
  int wrong = 0;
  run(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(endpoint_of(server));
    CO_ASSERT(connection);
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
    for (int i = 0; i < kCallers; ++i) {
      asio::co_spawn(
          executor,
          [&, i]() -> asio::awaitable<void> {
            const std::string message = "message-" + std::to_string(i) + std::string(i % 97, 'x');
            auto echo = co_await call(*connection, "ECHO", message);
            if (!echo || echo->string != message) ++wrong;
            auto count = co_await call(*connection, "INCR", "counter");
            if (!count || count->type != Reply::Type::integer) ++wrong;
            if (++finished == kCallers) all_done.cancel();
          },
          asio::detached);
    }
    co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
  });
  EXPECT_EQ(finished, kCallers);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(server.query({"GET", "counter"}), std::to_string(kCallers));
}

TEST_F(ConnectionTest, PipelineReturnsRepliesInOrder) {
  run(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(endpoint_of(server));
    CO_ASSERT(connection);
    const std::vector<Args> commands = {
        {"SET", "a", "1"}, {"INCR", "a"}, {"GET", "a"}, {"LPUSH", "a", "x"}, {"MGET", "a", "b"}};
    auto replies = co_await connection->pipeline(commands);
    CO_ASSERT(replies && replies->size() == 5);
    EXPECT_EQ((*replies)[0].string, "OK");
    EXPECT_EQ((*replies)[1].integer, 2);
    EXPECT_EQ((*replies)[2].string, "2");
    EXPECT_TRUE((*replies)[3].is_error());
    EXPECT_TRUE((*replies)[3].string.starts_with("WRONGTYPE"));
    CO_ASSERT((*replies)[4].type == Reply::Type::array && (*replies)[4].elements.size() == 2);
    EXPECT_EQ((*replies)[4].elements[0].string, "2");
    EXPECT_TRUE((*replies)[4].elements[1].is_nil());

    const std::vector<Args> no_commands;
    auto none = co_await connection->pipeline(no_commands);
    CO_ASSERT(none);
    EXPECT_TRUE(none->empty());
  });
}

TEST_F(ConnectionTest, ErrorRepliesAreRepliesAndEmptyCommandsAreRefused) {
  run(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(endpoint_of(server));
    CO_ASSERT(connection);
    auto error = co_await call(*connection, "NOSUCHCOMMAND", "x");
    CO_ASSERT(error);
    EXPECT_EQ(error->type, Reply::Type::error);
    EXPECT_TRUE(error->string.starts_with("ERR unknown command")) << error->string;

    const Args nothing;
    auto empty = co_await connection->command(nothing);
    CO_ASSERT(!empty);
    EXPECT_EQ(empty.error(), asio::error::invalid_argument);
    const std::vector<Args> with_empty = {{"PING"}, {}};
    auto bad_pipeline = co_await connection->pipeline(with_empty);
    CO_ASSERT(!bad_pipeline);

    auto ping = co_await call(*connection, "PING");  // still in step
    CO_ASSERT(ping);
    EXPECT_EQ(ping->string, "PONG");
    EXPECT_TRUE(connection->is_open());
  });
}

TEST_F(ConnectionTest, SelectsTheDatabaseOfTheUrl) {
  run(io, [&]() -> asio::awaitable<void> {
    auto endpoint = endpoint_of(server);
    endpoint.db = 3;
    auto connection = co_await connect_or_fail(endpoint);
    CO_ASSERT(connection);
    CO_ASSERT(co_await call(*connection, "SET", "where", "db3"));
    auto info = co_await call(*connection, "CLIENT", "INFO");
    CO_ASSERT(info);
    EXPECT_NE(info->string.find(" db=3 "), std::string::npos) << info->string;

    endpoint.db = 99;  // redis-server has 16 databases
    std::string why;
    auto refused = co_await Connection::connect(co_await asio::this_coro::executor, endpoint, 5s, &why);
    CO_ASSERT(!refused);
    EXPECT_EQ(refused.error(), ConnectError::select_failed);
    EXPECT_NE(why.find("SELECT"), std::string::npos) << why;
  });
  EXPECT_EQ(server.query({"GET", "where"}), "(nil)");  // db 0 untouched
}

TEST(ConnectionAuth, LogsInWithThePasswordAndNeverLeaksIt) {
  const std::string password = "correct-horse-battery";
  RedisServer server;
  server.query({"CONFIG", "SET", "requirepass", password});
  asio::io_context io;
  run(io, [&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    Endpoint endpoint = parse_endpoint("redis://:" + password + "@127.0.0.1:" + std::to_string(server.port())).value();
    auto connection = co_await connect_or_fail(endpoint);
    CO_ASSERT(connection);
    auto ping = co_await call(*connection, "PING");
    CO_ASSERT(ping);
    EXPECT_EQ(ping->string, "PONG");

    const std::string wrong = "wrong-password-1234";
    endpoint.password = wrong;
    std::string why;
    auto refused = co_await Connection::connect(executor, endpoint, 5s, &why);
    CO_ASSERT(!refused);
    EXPECT_EQ(refused.error(), ConnectError::auth_failed);
    EXPECT_FALSE(why.empty());
    EXPECT_EQ(why.find(wrong), std::string::npos) << why;
    EXPECT_EQ(refused.error().message().find(wrong), std::string::npos);
    EXPECT_NE(why.find("***"), std::string::npos) << "the endpoint is named, masked: " << why;

    endpoint.password.clear();  // no AUTH: the connection works, commands are refused
    auto anonymous = co_await connect_or_fail(endpoint);
    CO_ASSERT(anonymous);
    auto noauth = co_await call(*anonymous, "GET", "x");
    CO_ASSERT(noauth);
    EXPECT_TRUE(noauth->is_error());
    EXPECT_TRUE(noauth->string.starts_with("NOAUTH")) << noauth->string;
  });
}

TEST_F(ConnectionTest, LogsInWithUsernameAndPassword) {
  server.query({"ACL", "SETUSER", "alice", "on", ">alice-secret", "~*", "&*", "+@all"});
  run(io, [&]() -> asio::awaitable<void> {
    auto endpoint = endpoint_of(server);
    endpoint.username = "alice";
    endpoint.password = "alice-secret";
    auto connection = co_await connect_or_fail(endpoint);
    CO_ASSERT(connection);
    auto whoami = co_await call(*connection, "ACL", "WHOAMI");
    CO_ASSERT(whoami);
    EXPECT_EQ(whoami->string, "alice");

    endpoint.password = "not-alice-secret";
    std::string why;
    auto refused = co_await Connection::connect(co_await asio::this_coro::executor, endpoint, 5s, &why);
    CO_ASSERT(!refused);
    EXPECT_EQ(refused.error(), ConnectError::auth_failed);
    EXPECT_EQ(why.find("not-alice-secret"), std::string::npos) << why;
  });
}

// Waits (bounded) until the server has `n` clients blocked, e.g. in BLPOP.
asio::awaitable<bool> blocked_clients(const RedisServer& server, int n) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  const std::string wanted = "blocked_clients:" + std::to_string(n) + "\r";
  for (int round = 0; round < 500; ++round) {
    if (server.query({"INFO", "clients"}).find(wanted) != std::string::npos) co_return true;
    tick.expires_after(10ms);
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return false;
}

TEST_F(ConnectionTest, KilledServerFailsPendingAndLaterCommands) {
  run(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(endpoint_of(server));
    CO_ASSERT(connection);
    auto executor = co_await asio::this_coro::executor;
    // Commands that would wait forever for an answer.
    int failed = 0;
    asio::steady_timer all_failed(executor, asio::steady_timer::time_point::max());
    for (int i = 0; i < 5; ++i) {
      asio::co_spawn(
          executor,
          [&]() -> asio::awaitable<void> {
            auto reply = co_await call(*connection, "BLPOP", "never-filled", "0");
            EXPECT_FALSE(reply);
            if (++failed == 5) all_failed.cancel();
          },
          asio::detached);
    }
    CO_ASSERT(co_await blocked_clients(server, 1));  // one connection, five BLPOPs queued
    server.kill();
    co_await all_failed.async_wait(asio::as_tuple(asio::use_awaitable));
    EXPECT_EQ(failed, 5);
    EXPECT_FALSE(connection->is_open());
    auto later = co_await call(*connection, "PING");
    EXPECT_FALSE(later);
  });
}

TEST_F(ConnectionTest, CloseAndDestructionFailPendingCommands) {
  run(io, [&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    for (const bool destroy : {false, true}) {
      auto connection = co_await connect_or_fail(endpoint_of(server));
      CO_ASSERT(connection);
      std::optional<Result<Reply>> outcome;
      asio::steady_timer done(executor, asio::steady_timer::time_point::max());
      asio::co_spawn(
          executor,
          [&, c = connection.get()]() -> asio::awaitable<void> {
            outcome = co_await call(*c, "BLPOP", "never-filled", "0");
            done.cancel();
          },
          asio::detached);
      CO_ASSERT(co_await blocked_clients(server, 1));
      if (destroy) connection.reset();
      else connection->close();
      co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
      CO_ASSERT(outcome && !*outcome);
      EXPECT_EQ(outcome->error(), Error::connection_closed);
      if (!destroy) {
        auto later = co_await call(*connection, "PING");
        CO_ASSERT(!later);
        EXPECT_EQ(later.error(), Error::connection_closed);
      }
    }
  });
}

// A worker's io_context may stop with a command in flight, its caller's frame owning the
// connection: the frame waits on the connection, which holds the frame's handler. Destroying the
// io_context must still free both and close the socket, not leave them holding each other.
TEST_F(ConnectionTest, DestroyingTheIoContextMidCommandClosesTheConnection) {
  const auto clients = [&] {
    const std::string info = server.query({"INFO", "clients"});
    const auto at = info.find("connected_clients:");
    return at == std::string::npos ? -1 : std::atoi(info.c_str() + at + 18);
  };
  const int before = clients();  // the test's own query client
  {
    asio::io_context doomed;
    bool waiting = false;
    asio::co_spawn(
        doomed,
        [&]() -> asio::awaitable<void> {
          auto connection = co_await connect_or_fail(endpoint_of(server));
          if (!connection) co_return;
          waiting = true;
          (void)co_await call(*connection, "BLPOP", "never-filled", "0");
          ADD_FAILURE() << "BLPOP on an empty list answered";
        },
        asio::detached);
    for (int round = 0; round < 500 && server.query({"INFO", "clients"}).find("blocked_clients:1\r") == std::string::npos;
         ++round) {
      doomed.run_for(10ms);
    }
    ASSERT_TRUE(waiting);
    ASSERT_EQ(clients(), before + 1);
  }  // the io_context goes with the command still waiting
  int now = clients();
  for (int round = 0; round < 300 && now != before; ++round) {
    std::this_thread::sleep_for(10ms);
    now = clients();
  }
  EXPECT_EQ(now, before) << "the connection outlived its io_context: its socket is still open";
}

TEST_F(ConnectionTest, ACommandLeftUnansweredFailsTheConnectionAfterTheReplyTimeout) {
  run(io, [&]() -> asio::awaitable<void> {
    Endpoint endpoint = endpoint_of(server);
    endpoint.reply_timeout = 300ms;
    auto connection = co_await connect_or_fail(endpoint);
    CO_ASSERT(connection);
    const auto start = std::chrono::steady_clock::now();
    // BLPOP stands in for a server that has stopped answering.
    auto reply = co_await call(*connection, "BLPOP", "never-filled", "0");
    CO_ASSERT(!reply);
    EXPECT_EQ(reply.error(), asio::error::timed_out);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
    EXPECT_FALSE(connection->is_open());
  });
}

TEST(ConnectionConnect, RefusedAndSilentServersFailInTime) {
  asio::io_context io;
  run(io, [&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    Endpoint nobody;
    nobody.port = conveyor::testing::free_port();
    auto refused = co_await Connection::connect(executor, nobody, 5s);
    CO_ASSERT(!refused);
    EXPECT_EQ(refused.error(), asio::error::connection_refused);

    // A listener that accepts (in the kernel) but never answers our AUTH.
    asio::ip::tcp::acceptor silent(executor, {asio::ip::make_address("127.0.0.1"), 0});
    Endpoint mute;
    mute.port = silent.local_endpoint().port();
    mute.password = "pw";
    const auto start = std::chrono::steady_clock::now();
    auto timed_out = co_await Connection::connect(executor, mute, 200ms);
    CO_ASSERT(!timed_out);
    EXPECT_EQ(timed_out.error(), asio::error::timed_out);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  });
}

TEST_F(ConnectionTest, ScriptsLoadThemselvesOnNoscript) {
  const Script script("return KEYS[1] .. ':' .. ARGV[1]");
  EXPECT_EQ(script.sha1(), server.query({"SCRIPT", "LOAD", script.source()}));
  server.query({"SCRIPT", "FLUSH"});
  run(io, [&]() -> asio::awaitable<void> {
    auto connection = co_await connect_or_fail(endpoint_of(server));
    CO_ASSERT(connection);
    const std::vector<std::string_view> keys = {"k"};
    const std::vector<std::string_view> args = {"v"};
    for (int round = 0; round < 2; ++round) {  // first NOSCRIPT, then cached
      auto reply = co_await script.run(*connection, keys, args);
      CO_ASSERT(reply);
      EXPECT_EQ(reply->string, "k:v");
    }
    const Script broken("this is not lua");
    const std::vector<std::string_view> no_words;
    auto error = co_await broken.run(*connection, no_words, no_words);
    CO_ASSERT(error);
    EXPECT_TRUE(error->is_error());
  });
  EXPECT_EQ(server.query({"SCRIPT", "EXISTS", script.sha1()}), "1");
}

// ---- TLS ------------------------------------------------------------------

// A temporary directory, removed with everything in it.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/conveyor-tls-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

// A self-signed certificate for 127.0.0.1, made by the openssl tool.
bool make_certificate(const std::filesystem::path& cert, const std::filesystem::path& key) {
  auto openssl = conveyor::testing::ChildProcess::spawn(
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
       "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key.string(), "-out", cert.string()});
  openssl.read_all(30s);
  return openssl.wait(30s) == 0 && std::filesystem::exists(cert);
}

TEST(ConnectionTls, VerifiesTheServerCertificate) {
  TempDir dir;
  const auto cert = dir.path / "cert.pem";
  const auto key = dir.path / "key.pem";
  if (!make_certificate(cert, key)) GTEST_SKIP() << "the openssl tool could not make a certificate";
  const auto tls_port = conveyor::testing::free_port();
  RedisServer server({"--tls-port", std::to_string(tls_port), "--tls-cert-file", cert.string(),
                      "--tls-key-file", key.string(), "--tls-ca-cert-file", cert.string(),
                      "--tls-auth-clients", "no"});
  const std::string base = "rediss://127.0.0.1:" + std::to_string(tls_port) + "/0";
  asio::io_context io;
  run(io, [&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    const Endpoint with_ca = parse_endpoint(base + "?ca_file=" + cert.string()).value();
    const Endpoint system_ca = parse_endpoint(base).value();
    const Endpoint no_verify = parse_endpoint(base + "?verify=false").value();
    auto trusted = co_await connect_or_fail(with_ca);
    CO_ASSERT(trusted);
    const std::string big = binary_bytes(3 * 1024 * 1024, 3);
    auto set = co_await call(*trusted, "SET", "tls", big);
    CO_ASSERT(set);
    auto get = co_await call(*trusted, "GET", "tls");
    CO_ASSERT(get);
    EXPECT_TRUE(get->string == big);

    std::string why;
    auto untrusted = co_await Connection::connect(executor, system_ca, 5s, &why);
    EXPECT_FALSE(untrusted.has_value()) << "a self-signed certificate must not pass the system CAs";
    EXPECT_NE(why.find("TLS"), std::string::npos) << why;

    auto unverified = co_await connect_or_fail(no_verify);
    CO_ASSERT(unverified);
    auto ping = co_await call(*unverified, "PING");
    CO_ASSERT(ping);
    EXPECT_EQ(ping->string, "PONG");
  });
}

// ---- endpoints ------------------------------------------------------------

TEST(Endpoint, ParsesTheFormsOfRedisUrl) {
  auto plain = parse_endpoint("redis://localhost");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "localhost");
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
  EXPECT_FALSE(plain->tls);
  EXPECT_TRUE(plain->password.empty());

  auto full = parse_endpoint("redis://alice:p%40ss@10.0.0.5:7000/4");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->username, "alice");
  EXPECT_EQ(full->password, "p@ss");
  EXPECT_EQ(full->host, "10.0.0.5");
  EXPECT_EQ(full->port, 7000);
  EXPECT_EQ(full->db, 4);

  auto password_only = parse_endpoint("redis://:secret@host/");
  ASSERT_TRUE(password_only);
  EXPECT_EQ(password_only->username, "");
  EXPECT_EQ(password_only->password, "secret");

  auto redis_cli_style = parse_endpoint("redis://secret@host");
  ASSERT_TRUE(redis_cli_style);
  EXPECT_EQ(redis_cli_style->password, "secret");
  EXPECT_EQ(redis_cli_style->username, "");

  auto tls = parse_endpoint("rediss://cache.example.com:6380?ca_file=/etc/ca.pem&verify=false");
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->tls_ca_file, "/etc/ca.pem");
  EXPECT_FALSE(tls->tls_verify);

  auto v6 = parse_endpoint("redis://[::1]:6390/1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 6390);
}

TEST(Endpoint, RejectsUnusableUrlsWithAReason) {
  for (const char* bad : {"", "not a url", "http://host", "redis://", "redis://host:abc", "redis://host:70000",
                          "redis://host:0", "redis://host/abc", "redis://host/1/2", "redis://host/-1",
                          "redis://host?foo=1", "rediss://host?verify=maybe", "redis://host?verify=false",
                          "redis://host#fragment", "rediss://host?ca_file="}) {
    std::string why;
    auto parsed = parse_endpoint(bad, &why);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error(), Error::bad_url) << bad;
    }
    EXPECT_FALSE(why.empty()) << bad;
  }
  std::string why;
  EXPECT_FALSE(parse_endpoint("redis://u:topsecret@host:badport", &why));
  EXPECT_EQ(why.find("topsecret"), std::string::npos) << why;
}

TEST(Endpoint, ToStringMasksThePassword) {
  auto endpoint = parse_endpoint("rediss://alice:topsecret@host:6380/2?ca_file=/ca.pem").value();
  const std::string text = endpoint.to_string();
  EXPECT_EQ(text.find("topsecret"), std::string::npos) << text;
  EXPECT_NE(text.find("***"), std::string::npos) << text;
  auto back = parse_endpoint(text);
  ASSERT_TRUE(back) << text;
  EXPECT_EQ(back->host, "host");
  EXPECT_EQ(back->port, 6380);
  EXPECT_EQ(back->db, 2);
  EXPECT_EQ(back->username, "alice");
  EXPECT_EQ(back->tls_ca_file, "/ca.pem");
  EXPECT_TRUE(back->tls);

  EXPECT_EQ(Endpoint{}.to_string(), "redis://127.0.0.1:6379/0");
  Endpoint v6;
  v6.host = "::1";
  EXPECT_EQ(v6.to_string(), "redis://[::1]:6379/0");
}

}  // namespace
