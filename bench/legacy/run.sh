#!/usr/bin/env bash
# The old design (../../../shared/seed, see README.md here) end to end, as its users ran it:
# publisher.py fills the Redis channel with one RPUSH per message, then subscriber.py LPOPs each
# and calls push_data.delay(p, m) onto a Celery broker in another database of the same
# redis-server, and a Celery worker (prefork or gevent) POSTs each to the partner simulator
# (`conveyor partner --delay DELAY`). All on 127.0.0.1, run by Debian's /usr/bin/python3.
#
#   bench/legacy/run.sh [--quick] prefork|gevent [N] [CONCURRENCY] [DELAY]
#
# Defaults: prefork N=10000 CONCURRENCY=64, gevent N=20000 CONCURRENCY=1000, DELAY=1s;
# --quick (CI smoke): N=500, DELAY=100ms. The clock starts once the Celery worker is ready
# (a long-running service does not start per batch) and the subscriber starts; it stops when the
# partner has every message, after TIMEOUT seconds (default 60 + 3 x ideal + N / 100), or when the
# partner has seen no call for STALL seconds (default 30) and has none in progress, after the subscriber finished.
# CPU (per 100k delivered) and peak memory are the legacy system's: the subscriber and every Celery process (the
# publisher is not counted; redis-server, queue and broker both, is reported on its own, as
# bench/e2e.sh reports it). The last lines are "RESULT key=value ..." and "reproduce: ...".
# Exits 1 when a message is lost or duplicated.
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=0
if [ "${1:-}" = --quick ]; then quick=1; shift; fi
POOL=${1:-}
case "$POOL" in
  prefork) default_n=10000 default_c=64 ;;
  gevent) default_n=20000 default_c=1000 ;;
  *) echo "usage: bench/legacy/run.sh [--quick] prefork|gevent [N] [CONCURRENCY] [DELAY]" >&2; exit 2 ;;
esac
default_delay=1s
if [ "$quick" = 1 ]; then default_n=500 default_delay=100ms; fi
N=${2:-$default_n}
CONCURRENCY=${3:-$default_c}
DELAY=${4:-$default_delay}
STALL=${STALL:-30}

PYTHON=/usr/bin/python3  # Debian's python3-celery and friends are installed for it alone
"$PYTHON" -c 'import celery, gevent, redis, requests' 2>/dev/null ||
  { echo "needs Debian's python3-celery, python3-gevent, python3-redis and python3-requests (scripts/install-deps)" >&2; exit 2; }
. bench/common.sh

delay_s=$(awk -v d="$DELAY" 'BEGIN { if (d ~ /ms$/) { sub(/ms$/, "", d); print d / 1000 } else { sub(/s$/, "", d); print d } }')
ideal=$(awk -v n="$N" -v d="$delay_s" -v c="$CONCURRENCY" 'BEGIN { printf "%.2f", n * d / c }')
# Bounded: three times the ideal, plus a second per 100 messages (the gevent worker is CPU-bound
# at a few hundred a second), plus a minute.
TIMEOUT=${TIMEOUT:-$(awk -v i="$ideal" -v n="$N" 'BEGIN { printf "%d", 60 + 3 * i + n / 100 }')}
ticks_per_s=$(getconf CLK_TCK)
now() { date +%s.%N; }
stat_field() { grep -o "\"$1\":[0-9]*" <<<"$2" | cut -d: -f2; }

start_redis
start_partner legacy --delay "$DELAY" --threads "${PARTNER_THREADS:-1}"
export PYTHONPATH="$PWD/bench/legacy" CHANNEL_NAME=legacy:shipments \
  CELERY_BROKER_URL="redis://127.0.0.1:$redis_port/1" TARGET_URL="http://$partner/shipments" \
  LEGACY_READY_FILE="$work/celery.ready"
[ "$POOL" = gevent ] && export LEGACY_HTTP_POOL=$CONCURRENCY

publish_start=$(now)
"$PYTHON" bench/legacy/publisher.py "$N" >"$work/publisher.out"
publish_s=$(awk -v a="$publish_start" -v b="$(now)" 'BEGIN { print b - a }')
echo "publisher.py: $N messages in ${publish_s} s" >&2

# Its own session, so that its prefork children are killed with it on exit.
setsid "$PYTHON" -m celery -A task worker --pool "$POOL" --concurrency "$CONCURRENCY" --loglevel WARNING \
  --without-mingle --without-gossip >"$work/celery.out" 2>"$work/celery.err" &
celery_pid=$!
pids+=("-$celery_pid")
disown
for _ in $(seq 1 1200); do [ -f "$LEGACY_READY_FILE" ] && break; sleep 0.1; done
[ -f "$LEGACY_READY_FILE" ] || { echo "the Celery worker was not ready in 120 s:" >&2; tail -20 "$work/celery.err" >&2; exit 1; }
echo "celery worker: $POOL pool, concurrency $CONCURRENCY, ready" >&2

read -r celery_before _ _ < <(tree_usage "$celery_pid")
queue_before=$(cpu_ticks "$queue_pid")
partner_before=$(cpu_ticks "$partner_pid")
sample_peak_memory "$celery_pid"
start=$(now)
/usr/bin/time -f '%e %U %S %M' -o "$work/subscriber.time" "$PYTHON" bench/legacy/subscriber.py \
  >"$work/subscriber.out" 2>"$work/subscriber.err" &
subscriber_pid=$!
pids+=($subscriber_pid)

# Until the partner has all N, the deadline, or a stall once the subscriber is done.
deadline=$(awk -v s="$start" -v t="$TIMEOUT" 'BEGIN { printf "%.3f", s + t }')
last_progress="" last_change=$start outcome=complete
while :; do
  stats=$(http_get 127.0.0.1 "${partner##*:}" /stats)
  unique=$(stat_field unique_keys "$stats")
  [ "$unique" -ge "$N" ] && break
  t=$(now)
  progress="$(stat_field requests "$stats") $(stat_field ok "$stats") $(stat_field failed "$stats")"
  [ "$progress" != "$last_progress" ] || [ "$(stat_field in_flight "$stats")" != 0 ] && { last_progress=$progress; last_change=$t; }
  if awk -v t="$t" -v d="$deadline" 'BEGIN { exit !(t > d) }'; then outcome="timeout after ${TIMEOUT} s"; break; fi
  if ! kill -0 "$subscriber_pid" 2>/dev/null &&
     awk -v t="$t" -v l="$last_change" -v s="$STALL" 'BEGIN { exit !(t - l > s) }'; then
    outcome="no call to the partner for ${STALL} s"; break
  fi
  sleep 0.1
done
end=$(now)
read -r celery_after _ _ < <(tree_usage "$celery_pid")
queue_after=$(cpu_ticks "$queue_pid")
partner_after=$(cpu_ticks "$partner_pid")
touch "$work/done"
wait "$subscriber_pid" 2>/dev/null || true  # done long before the tasks, unless timed out
[ -s "$work/subscriber.time" ] || { kill -9 "$subscriber_pid" 2>/dev/null || true; echo "0 0 0 0" >"$work/subscriber.time"; }
read -r sub_wall sub_user sub_sys sub_rss < <(tail -1 "$work/subscriber.time")
sleep 0.6  # the sampler's last round
# The Celery processes' peak, sampled, plus the subscriber's own (exact; it runs while they are busiest).
read -r peak_rss peak_pss <"$work/peak"
peak_rss=$((peak_rss + sub_rss)) peak_pss=$((peak_pss + sub_rss))

stats=$(http_get 127.0.0.1 "${partner##*:}" /stats)
unique=$(stat_field unique_keys "$stats")
dups=$(stat_field duplicates "$stats")
failed=$(stat_field failed "$stats")
if [ "$outcome" != complete ] || [ "$unique" -ne "$N" ] || [ "$failed" -ne 0 ]; then
  echo "stopped: $outcome; the Celery worker's last words:" >&2
  # (without the warning that it runs as root)
  sed '/SecurityWarning/,/warnings.warn(SecurityWarning/d' "$work/celery.err" | tail -20 | sed 's/^/  celery: /' >&2
fi
echo "subscriber.py: $(cat "$work/subscriber.out") in $sub_wall s, CPU $sub_user s user + $sub_sys s system" >&2

quick_flag=""
[ "$quick" = 1 ] && quick_flag="--quick "
awk -v pool="$POOL" -v n="$N" -v c="$CONCURRENCY" -v d="$DELAY" -v start="$start" -v end="$end" -v ideal="$ideal" \
    -v cb="$celery_before" -v ca="$celery_after" -v su="$sub_user" -v ss="$sub_sys" -v tps="$ticks_per_s" \
    -v rss="$peak_rss" -v pss="$peak_pss" -v unique="$unique" -v dups="$dups" -v failed="$failed" \
    -v qcpu=$((queue_after - queue_before)) -v pcpu=$((partner_after - partner_before)) -v publish="$publish_s" 'BEGIN {
  wall = end - start
  cpu = (ca - cb) / tps + su + ss
  printf "RESULT system=legacy-%s n=%d concurrency=%d delay=%s wall=%.2f ideal=%.2f msgs_per_s=%.0f cpu=%.2f cpu_per_100k=%.2f rss_mib=%.1f pss_mib=%.1f delivered=%d lost=%d duplicates=%d failed=%d queue_cpu=%.2f partner_cpu=%.2f publish_msgs_per_s=%.0f\n", \
    pool, n, c, d, wall, ideal, unique / wall, cpu, cpu * 100000 / (unique > 0 ? unique : n), rss / 1024, pss / 1024, unique, n - unique, dups, failed, \
    qcpu / tps, pcpu / tps, n / publish
}'
echo "reproduce: ${PARTNER_THREADS:+PARTNER_THREADS=$PARTNER_THREADS }bench/legacy/run.sh $quick_flag$POOL $N $CONCURRENCY $DELAY"
[ "$unique" -eq "$N" ] && [ "$dups" -eq 0 ]
