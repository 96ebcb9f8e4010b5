#!/usr/bin/env bash
# The floor: what the leanest HTTP/1.1 keep-alive client costs per request, against what Conveyor's
# worker costs per delivered message, on the same partner simulator process, in one run.
#   1. wrk (Debian's) POSTs a body of a generated message's size over CONNECTIONS keep-alive
#      connections for WRK_SECONDS to the simulator answering after DELAY; its CPU (user + sys,
#      /usr/bin/time) over the requests it completed is the floor, in µs per request;
#   2. bench/e2e.sh then moves N messages through Redis to the same simulator with CONCURRENCY =
#      CONNECTIONS in flight: the worker's CPU over N is its cost per message.
# Prints both, their ratio (the issue's goal: at most 1.0, required 1.25) and the command.
#   bench/floor.sh [N=1000000] [CONNECTIONS=16000] [THREADS=2] [DELAY=1s] [WRK_SECONDS=60]
# WORKER_PRELOAD is passed to bench/e2e.sh (e.g. to measure an allocator by LD_PRELOAD).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000000}
CONNECTIONS=${2:-16000}
THREADS=${3:-2}
DELAY=${4:-1s}
WRK_SECONDS=${5:-60}
. bench/common.sh
command -v wrk >/dev/null || { echo "needs wrk (scripts/install-deps installs it)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (scripts/install-deps installs it)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"  # one descriptor per connection, wrk's and the simulator's alike
[ "$(ulimit -n)" -gt $((CONNECTIONS + 1000)) ] || { echo "needs more than $((CONNECTIONS + 1000)) descriptors (ulimit -n)" >&2; exit 2; }

start_partner floor --delay "$DELAY" --threads 1

# wrk's request: the body of a generated message (what the 1M run sends), and a header the size of
# Conveyor's Idempotency-Key under another name, so the simulator's key counts stay the worker's.
start_redis
"$BIN" publish --channel floor-sample --count 1 >/dev/null
redis-cli -p "$redis_port" LPOP floor-sample | tr -d '\n' >"$work/body.json"
kill -9 "$queue_pid" 2>/dev/null || true
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Request-Tag"] = "0123456789abcdef:00000000000000001"
local f = io.open("$work/body.json", "rb")
wrk.body = f:read("*a")
f:close()
LUA
echo "floor: wrk -t$THREADS -c$CONNECTIONS -d${WRK_SECONDS}s, POST of $(wc -c <"$work/body.json") bytes, simulator delay $DELAY"
/usr/bin/time -f '%e %U %S' -o "$work/wrk.time" \
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WRK_SECONDS}s" --timeout 10s -s "$work/post.lua" "http://$partner/shipments" \
  >"$work/wrk.out" 2>&1 || { cat "$work/wrk.out" >&2; exit 1; }
sed 's/^/  wrk: /' "$work/wrk.out"
read -r wrk_wall wrk_user wrk_sys <"$work/wrk.time"
wrk_requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$work/wrk.out")
[ -n "$wrk_requests" ] && [ "$wrk_requests" -gt 0 ] || { echo "wrk completed no requests" >&2; exit 1; }

echo "end to end: bench/e2e.sh $N $CONNECTIONS $THREADS $DELAY against the same simulator"
PARTNER=$partner PARTNER_PID=$partner_pid bench/e2e.sh "$N" "$CONNECTIONS" "$THREADS" "$DELAY" | tee "$work/e2e.out" | sed 's/^/  /'
result=$(grep '^RESULT ' "$work/e2e.out")
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }

echo "reproduce: ${WORKER_PRELOAD:+WORKER_PRELOAD=$WORKER_PRELOAD }bench/floor.sh $N $CONNECTIONS $THREADS $DELAY $WRK_SECONDS"
awk -v wn="$wrk_requests" -v wu="$wrk_user" -v ws="$wrk_sys" -v wwall="$wrk_wall" \
    -v n="$N" -v cpu="$(field cpu)" -v wall="$(field wall)" -v ideal="$(field ideal)" -v rss="$(field rss_mib)" \
    -v lost="$(field lost)" -v dups="$(field duplicates)" 'BEGIN {
  floor = (wu + ws) * 1e6 / wn
  worker = cpu * 1e6 / n
  printf "\n  floor (wrk)        %.2f µs per request (%d requests in %.1f s; user %.2f + sys %.2f s)\n", floor, wn, wwall, wu, ws
  printf "  worker             %.2f µs per message (%d messages in %.2f s, %.2f x ideal; %.2f s CPU; %.1f MiB)\n", worker, n, wall, wall / ideal, cpu, rss
  printf "  worker / floor     %.2f  (goal 1.0, required at most 1.25)\n", worker / floor
  printf "  vCPU-s per 1M      %.1f (worker), %.1f (wrk)\n", worker, floor
  printf "  lost %d, duplicates %d\n", lost, dups
  printf "RESULT floor_us=%.2f worker_us=%.2f ratio=%.3f wall=%.2f ideal=%.2f rss_mib=%.1f lost=%d duplicates=%d\n", floor, worker, worker / floor, wall, ideal, rss, lost, dups
}'
