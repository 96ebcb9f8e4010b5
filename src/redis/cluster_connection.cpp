#include "redis/cluster_connection.h"

// GCC 12 reports a false -Wmismatched-new-delete when it inlines the frame
// of an Asio awaitable (operator new and delete are both Asio's own).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <map>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "redis/redirect.h"
#include "redis/slot.h"

namespace conveyor::redis {

namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A command is redirected at most this often before its last reply is handed back.
constexpr int kMaxRedirects = 5;
// TRYAGAIN / CLUSTERDOWN: waits of 10 ms doubling to 320 ms, about 5 s in all; a failover with a
// cluster-node-timeout of a few seconds is over by then, a longer one shows as an error reply.
constexpr std::chrono::milliseconds kFirstPause{10};
constexpr std::chrono::milliseconds kMaxPause{320};
constexpr std::chrono::milliseconds kTransientBudget{5'000};

std::string name_of(const NodeAddress& node) {
  return node.host.find(':') == std::string::npos ? fmt::format("{}:{}", node.host, node.port)
                                                  : fmt::format("[{}]:{}", node.host, node.port);
}

// The owning copy of a command, kept across retries.
using Command = std::vector<std::string>;

Command copy_of(std::span<const std::string_view> args) { return Command(args.begin(), args.end()); }

std::vector<std::string_view> views_of(const Command& command) {
  return std::vector<std::string_view>(command.begin(), command.end());
}

}  // namespace

struct ClusterConnection::State {
  State(asio::any_io_executor executor, Endpoint endpoint, std::chrono::milliseconds timeout)
      : executor(std::move(executor)), endpoint(std::move(endpoint)), timeout(timeout) {}

  struct Node {
    explicit Node(const asio::any_io_executor& executor) : connected(executor, asio::steady_timer::time_point::max()) {}
    std::shared_ptr<Connection> connection;
    bool connecting = false;
    asio::steady_timer connected;  // cancelled when a connect attempt ends
  };

  asio::any_io_executor executor;
  const Endpoint endpoint;  // the seeds' login and TLS settings
  const std::chrono::milliseconds timeout;
  SlotMap map;
  std::map<std::string, std::unique_ptr<Node>> nodes;  // by "host:port"
  error_code failure;  // set once: every command fails with it from then on

  void fail(error_code ec) {
    if (failure) return;
    failure = ec;
    for (auto& entry : nodes) {
      if (entry.second->connection) entry.second->connection->close();
      entry.second->connected.cancel();
    }
  }

  // The master of `slot`, or any master for a keyless command.
  NodeAddress route(std::optional<std::uint16_t> slot) const {
    if (slot) {
      if (const NodeAddress* master = map.master_of(*slot)) return *master;
    }
    const auto& known = map.nodes();
    return known.empty() ? endpoint.seeds.front() : known.front();
  }

  Node& node(const NodeAddress& address) {
    auto& slot = nodes[name_of(address)];
    if (!slot) slot = std::make_unique<Node>(executor);
    return *slot;
  }

  // The node's live connection, or a new one; one connect attempt at a time per node. A failed
  // connect fails the whole cluster connection (see the header).
  static asio::awaitable<Result<std::shared_ptr<Connection>>> acquire(std::shared_ptr<State> self,
                                                                      NodeAddress address, std::string* why) {
    if (self->failure) co_return self->failure;
    Node& node = self->node(address);
    if (node.connection && node.connection->is_open()) co_return node.connection;
    if (node.connecting) {
      co_await node.connected.async_wait(use_tuple);
      if (self->failure) co_return self->failure;
      if (node.connection && node.connection->is_open()) co_return node.connection;
      co_return make_error_code(Error::connection_closed);
    }
    node.connection.reset();
    node.connecting = true;
    auto connected = co_await Connection::connect(self->executor, self->endpoint.at(address), self->timeout, why);
    node.connecting = false;
    node.connected.cancel();
    if (self->failure) co_return self->failure;
    if (!connected) {
      self->fail(connected.error());
      co_return connected.error();
    }
    node.connection = std::move(*connected);
    co_return node.connection;
  }

  // Sends `commands` to `address` in one write (with ASKING first when `asking`). A transport
  // failure fails the cluster connection: the commands may or may not have run.
  static asio::awaitable<Result<std::vector<Reply>>> send(std::shared_ptr<State> self, NodeAddress address,
                                                           std::vector<std::vector<std::string_view>> commands,
                                                           bool asking) {
    auto connection = co_await acquire(self, address, nullptr);
    if (!connection) co_return connection.error();
    const std::shared_ptr<Connection> held = *connection;  // see the header: we may be destroyed meanwhile
    if (asking) commands.insert(commands.begin(), std::vector<std::string_view>{"ASKING"});
    auto replies = co_await held->pipeline(commands);
    if (!replies) {
      self->fail(replies.error());
      co_return replies.error();
    }
    if (asking) replies->erase(replies->begin());
    co_return replies;
  }

  // One command, to its slot's master or to `ask`, following redirects and waiting out
  // TRYAGAIN/CLUSTERDOWN within bounds.
  static asio::awaitable<Result<Reply>> execute(std::shared_ptr<State> self, Command command,
                                                std::optional<NodeAddress> ask) {
    const std::vector<std::string_view> args = views_of(command);
    const auto key = routing_key(args);
    const std::optional<std::uint16_t> slot = key ? std::optional(key_slot(*key)) : std::nullopt;
    auto pause = kFirstPause;
    auto waited = std::chrono::milliseconds(0);
    int redirects = 0;
    asio::steady_timer timer(self->executor);
    while (true) {
      const NodeAddress target = ask ? *ask : self->route(slot);
      std::vector<std::vector<std::string_view>> one{args};
      auto replies = co_await send(self, target, std::move(one), ask.has_value());
      if (!replies) co_return replies.error();
      Reply reply = std::move(replies->front());
      ask.reset();
      if (auto redirect = parse_redirect(reply); redirect && redirects < kMaxRedirects) {
        ++redirects;
        if (redirect->kind == Redirect::Kind::moved) {
          self->map.assign(redirect->slot, redirect->node);
        } else {
          ask = redirect->node;
        }
        continue;
      }
      if (is_transient_cluster_error(reply) && waited < kTransientBudget) {
        timer.expires_after(pause);
        co_await timer.async_wait(use_tuple);
        if (self->failure) co_return self->failure;
        waited += pause;
        pause = std::min(pause * 2, kMaxPause);
        continue;
      }
      co_return reply;
    }
  }
};

ClusterConnection::ClusterConnection(std::shared_ptr<State> state) : state_(std::move(state)) {}

ClusterConnection::~ClusterConnection() { state_->fail(make_error_code(Error::connection_closed)); }

asio::awaitable<Result<std::unique_ptr<Connection>>> ClusterConnection::connect(asio::any_io_executor executor,
                                                                                 const Endpoint& endpoint,
                                                                                 std::chrono::milliseconds timeout,
                                                                                 std::string* why) {
  error_code last = make_error_code(Error::connection_closed);
  for (const NodeAddress& seed : endpoint.seeds) {
    auto state = std::make_shared<State>(executor, endpoint, timeout);
    std::string reason;
    auto connection = co_await State::acquire(state, seed, &reason);
    if (!connection) {
      last = connection.error();
      if (why) *why = reason;
      if (last == ConnectError::auth_failed || last == ConnectError::select_failed) co_return last;
      continue;  // the next seed may answer
    }
    const std::shared_ptr<Connection> held = *connection;
    const std::vector<std::string_view> slots = {"CLUSTER", "SLOTS"};
    auto reply = co_await held->command(slots);
    if (!reply) {
      last = reply.error();
      if (why) *why = fmt::format("lost the connection to cluster seed {}: {}", name_of(seed), last.message());
      continue;
    }
    if (reply->is_error()) {
      last = make_error_code(Error::redis_reply);
      if (why) *why = fmt::format("Redis at {} is not a cluster node: {}", name_of(seed), reply->string);
      continue;
    }
    auto map = SlotMap::parse(*reply, seed);
    if (!map || map->empty()) {
      last = map ? make_error_code(Error::redis_reply) : map.error();
      if (why) *why = fmt::format("the cluster of seed {} serves no slot yet", name_of(seed));
      continue;
    }
    state->map = std::move(*map);
    // The seed's connection was for the map only: a shard's queue then holds one connection, to
    // its slot's master (the lane's socket budget counts one per shard).
    held->close();
    state->nodes.clear();
    co_return std::unique_ptr<Connection>(std::make_unique<ClusterConnection>(std::move(state)));
  }
  co_return last;
}

asio::awaitable<Result<Reply>> ClusterConnection::command(std::span<const std::string_view> args) {
  if (args.empty()) co_return make_error_code(asio::error::invalid_argument);
  co_return co_await State::execute(state_, copy_of(args), std::nullopt);
}

asio::awaitable<Result<std::vector<Reply>>> ClusterConnection::pipeline(
    std::span<const std::vector<std::string_view>> commands) {
  const auto self = state_;  // `this` may go while we wait
  std::vector<Command> owned;
  owned.reserve(commands.size());
  for (const auto& command : commands) {
    if (command.empty()) co_return make_error_code(asio::error::invalid_argument);
    owned.push_back(copy_of(command));
  }
  // Each command's slot; a keyless one takes the next keyed command's (else the previous one's).
  std::vector<std::optional<std::uint16_t>> slots(owned.size());
  for (std::size_t i = 0; i < owned.size(); ++i) {
    const auto args = views_of(owned[i]);
    if (const auto key = routing_key(args)) slots[i] = key_slot(*key);
  }
  std::optional<std::uint16_t> carried;
  for (std::size_t i = owned.size(); i-- > 0;) {
    if (slots[i]) carried = slots[i];
    else slots[i] = carried;
  }
  for (std::size_t i = 0; i < owned.size(); ++i) {
    if (slots[i]) carried = slots[i];
    else slots[i] = carried;
  }

  // One write per node, in the order the nodes first appear.
  std::vector<Reply> out(owned.size());
  std::vector<bool> done(owned.size(), false);
  for (std::size_t first = 0; first < owned.size(); ++first) {
    if (done[first]) continue;
    const NodeAddress target = self->route(slots[first]);
    std::vector<std::size_t> members;
    std::vector<std::vector<std::string_view>> batch;
    for (std::size_t i = first; i < owned.size(); ++i) {
      if (done[i] || !(self->route(slots[i]) == target)) continue;
      members.push_back(i);
      batch.push_back(views_of(owned[i]));
      done[i] = true;
    }
    auto replies = co_await State::send(self, target, std::move(batch), false);
    if (!replies) co_return replies.error();
    for (std::size_t j = 0; j < members.size(); ++j) out[members[j]] = std::move((*replies)[j]);
  }

  // Commands the cluster sent elsewhere, or asked to retry, run again one by one.
  for (std::size_t i = 0; i < owned.size(); ++i) {
    std::optional<NodeAddress> ask;
    if (auto redirect = parse_redirect(out[i])) {
      if (redirect->kind == Redirect::Kind::moved) self->map.assign(redirect->slot, redirect->node);
      else ask = redirect->node;
    } else if (!is_transient_cluster_error(out[i])) {
      continue;
    }
    auto again = co_await State::execute(self, std::move(owned[i]), std::move(ask));
    if (!again) co_return again.error();
    out[i] = std::move(*again);
  }
  co_return out;
}

bool ClusterConnection::is_open() const { return !state_->failure; }

void ClusterConnection::close() { state_->fail(make_error_code(Error::connection_closed)); }

const SlotMap& ClusterConnection::slots() const { return state_->map; }

}  // namespace conveyor::redis
