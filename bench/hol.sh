#!/usr/bin/env bash
# Head-of-line isolation: route B (unlimited, its partner answers after 10 ms) alone, then beside a
# route A limited to 100/s that gets one message in three, from one queue. B's throughput (its
# partner's calls over the time from its first to its last) both ways, and the ratio; the issue asks
# for at least 90 %. The mixed run is stopped once B's partner has all of B's messages (A's would
# take N / 3 / 100 seconds). redis-server, two partner simulators and one worker, on 127.0.0.1.
#
#   bench/hol.sh [N=30000] [CONCURRENCY=200] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-30000}
CONCURRENCY=${2:-200}
THREADS=${3:-2}
. bench/common.sh

b_per_second() {  # address -> B's calls per second, first to last
  http_get 127.0.0.1 "${1##*:}" /arrivals | python3 -c '
import json, sys
a = sorted(json.load(sys.stdin))
print(f"{(len(a) - 1) / ((a[-1] - a[0]) / 1e6):.0f}")'
}

start_redis
export QUEUE=REDIS

routes() {  # a-address b-address -> routes file
  cat >"$work/routes.toml" <<TOML
[[route]]
name = "a"
match = { field = "to", equals = ["a"] }
url = "http://$1/shipments"
rate = "100/s"

[[route]]
name = "b"
url = "http://$2/shipments"
TOML
}
b_count=$((N - N / 3))

# B alone: B's two-thirds, nothing for A.
start_partner a-alone --delay 1ms --record-arrivals
a=$partner
start_partner b-alone --delay 10ms --record-arrivals
b=$partner
routes "$a" "$b"
seq 0 $((b_count - 1)) | awk '{ printf "{\"to\":\"b\",\"i\":%d}\n", $1 }' >"$work/alone.jsonl"
CHANNEL_NAME=bench:hol-alone "$BIN" publish --input "$work/alone.jsonl" >/dev/null
CHANNEL_NAME=bench:hol-alone "$BIN" work --routes "$work/routes.toml" --until-empty --concurrency "$CONCURRENCY" \
  --threads "$THREADS" --admin-listen off >"$work/work-alone.out" 2>&1
alone=$(b_per_second "$b")

# B beside A: one message in three is A's.
start_partner a-mixed --delay 1ms --record-arrivals
a=$partner
start_partner b-mixed --delay 10ms --record-arrivals
b=$partner
routes "$a" "$b"
seq 0 $((N - 1)) | awk '{ printf "{\"to\":\"%s\",\"i\":%d}\n", $1 % 3 == 0 ? "a" : "b", $1 }' >"$work/mixed.jsonl"
CHANNEL_NAME=bench:hol-mixed "$BIN" publish --input "$work/mixed.jsonl" >/dev/null
CHANNEL_NAME=bench:hol-mixed "$BIN" work --routes "$work/routes.toml" --concurrency "$CONCURRENCY" \
  --threads "$THREADS" --admin-listen off >"$work/work-mixed.out" 2>&1 &
worker=$!
pids+=($worker)
for _ in $(seq 1 2400); do
  ok=$(http_get 127.0.0.1 "${b##*:}" /stats | grep -o '"ok":[0-9]*' | cut -d: -f2)
  [ "$ok" -ge "$b_count" ] && break
  sleep 0.05
done
a_ok=$(http_get 127.0.0.1 "${a##*:}" /stats | grep -o '"ok":[0-9]*' | cut -d: -f2)
kill -TERM "$worker"
wait "$worker" || true
[ "$ok" -ge "$b_count" ] || { echo "B did not finish in 120 s (delivered $ok of $b_count)" >&2; exit 1; }
mixed=$(b_per_second "$b")

echo "N=$N (B $b_count, A $((N / 3)) limited to 100/s) concurrency=$CONCURRENCY threads=$THREADS, B's partner 10 ms"
echo "  B alone              $alone/s"
echo "  B beside limited A   $mixed/s (A delivered $a_ok meanwhile)"
awk -v m="$mixed" -v a="$alone" 'BEGIN { printf "  ratio                %.1f %%\n", 100 * m / a }'
echo "RESULT b_alone_per_s=$alone b_mixed_per_s=$mixed ratio=$(awk -v m="$mixed" -v a="$alone" 'BEGIN { printf "%.3f", m / a }')"
echo "reproduce: bench/hol.sh $N $CONCURRENCY $THREADS"
