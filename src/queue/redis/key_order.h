// Per-key ordering on Redis: which messages share an ordering key (OrderRule, plain data, given
// to RedisQueue at construction), and the Lua the queue's scripts share to keep one message per
// key in delivery while the later ones wait in a list per key (see redis_queue.h for the keys).
// Everything here is immutable and free of state: any thread may call it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "redis/reply.h"

namespace conveyor::queue {

// One route's rule, as the routes file (or ORDER_KEY, for the single route) gives it. Rules are
// tried in order and the first that matches decides: a rule with an empty `field` matches every
// message, else the message's top-level `field` must be one of `equals` (compared as text: a
// string as it is, a number or boolean as written). The matching rule's `order_by` names the
// field whose value is the ordering key; empty, or a message without that field (or not JSON),
// has no key and is delivered without waiting for anything.
struct OrderRule {
  std::string field;
  std::vector<std::string> equals;
  std::string order_by;
};

// The rules as the lease script reads them (a JSON array); "" when no rule orders anything, so
// that a queue without ordering decodes no message at all.
std::string order_rules_json(const std::vector<OrderRule>& rules);

// The single rule of ORDER_KEY: every message ordered by `field`; none if `field` is empty.
std::vector<OrderRule> order_by_field(const std::string& field);

// Lua functions the lease and outcome scripts start with. They take O = {leases, delayed,
// holders, key_of, waiting, wait}: the channel's keys, `wait` being the prefix of the wait lists.
//   order_key(rules, body)  the body's ordering key, or nil
//   order_pass_on(O, key)   the key's first waiter holds it now, due at once; none: it is free
//   order_release(O, id)    `id` leaves delivery for good (delivered, dead-lettered, vanished):
//                           if it holds its key, the key passes on
//   order_alive(O, id)      whether `id` is still leased or due (a holder that is neither has
//                           vanished: its key passes on when the next message of that key
//                           meets it, or when order_sweep does)
//   order_sweep(O, cursor)  checks the next few holders (HSCAN from the cursor kept in the key
//                           `cursor`) and passes on the keys of those that vanished; the lease
//                           script runs it when it leased nothing while messages are parked
std::string_view order_lua();

// Messages parked behind their keys, from GET <channel>:order:waiting (absent: 0).
Result<std::size_t> parked_count(const redis::Reply& reply);

}  // namespace conveyor::queue
