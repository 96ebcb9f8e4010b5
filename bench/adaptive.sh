#!/usr/bin/env bash
# Adaptive concurrency against a congested partner: redis-server, `conveyor partner --capacity C
# --delay D` (up to C requests in progress each take D; past C, D x (n/C)^2; past 2C, 503 at once)
# and one worker with one route, run twice for the same time: `adaptive = true, concurrency = 2000`,
# then a fixed `concurrency = 2000`. The partner's in_flight is sampled every 250 ms.
# Prints, per run: the knee found (median partner in_flight once settled), the settle time (the
# first sample from which every later one stays within 20 % of C), the partner-side p50/p99
# latency after settling (the delay the partner gave each call, GET /delays), 503s, and delivered
# per second (the partner's 200s over the run's time). All on 127.0.0.1.
#
#   bench/adaptive.sh [SECONDS=30] [CAPACITY=200] [DELAY=200ms] [THREADS=2] [PARTNER_THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_RUN=${1:-30}
CAPACITY=${2:-200}
DELAY=${3:-200ms}
THREADS=${4:-2}
PARTNER_THREADS=${5:-2}
. bench/common.sh
start_redis
export QUEUE=REDIS

# One run: $1 = adaptive | fixed. Prints its figures.
run() {
  local mode=$1 channel="bench:adaptive-$1"
  start_partner "$mode" --capacity "$CAPACITY" --delay "$DELAY" --threads "$PARTNER_THREADS" --record-arrivals
  {
    echo '[[route]]'
    echo "name = \"partner\""
    echo "url = \"http://$partner/shipments\""
    echo 'concurrency = 2000'
    [ "$mode" = adaptive ] && echo 'adaptive = true'
  } >"$work/routes-$mode.toml"
  # A backlog the partner cannot finish: its best is C / D per second.
  local backlog
  backlog=$(awk -v c="$CAPACITY" -v d="$DELAY" -v s="$SECONDS_RUN" 'BEGIN {
    sub(/ms$/, "", d); printf "%d", 1.5 * c / (d / 1000) * s + 5000 }')
  CHANNEL_NAME=$channel TARGET_URL="http://$partner/shipments" "$BIN" publish --count "$backlog" >/dev/null
  CHANNEL_NAME=$channel "$BIN" work --routes "$work/routes-$mode.toml" --threads "$THREADS" --admin-listen off \
    >"$work/work-$mode.out" 2>&1 &
  local worker_pid=$!
  pids+=($worker_pid)
  local start end
  start=$(date +%s.%N)
  end=$(awk -v s="$start" -v d="$SECONDS_RUN" 'BEGIN { printf "%.3f", s + d }')
  : >"$work/samples-$mode"
  while awk -v now="$(date +%s.%N)" -v end="$end" 'BEGIN { exit !(now < end) }'; do
    local in_flight
    in_flight=$(http_get 127.0.0.1 "${partner##*:}" /stats | grep -o '"in_flight":[0-9]*' | cut -d: -f2)
    echo "$(awk -v now="$(date +%s.%N)" -v s="$start" 'BEGIN { printf "%.3f", now - s }') $in_flight" >>"$work/samples-$mode"
    sleep 0.25
  done
  local stats
  stats=$(http_get 127.0.0.1 "${partner##*:}" /stats)
  kill -TERM "$worker_pid"
  wait "$worker_pid" || true
  http_get 127.0.0.1 "${partner##*:}" /delays >"$work/delays-$mode.json"
  http_get 127.0.0.1 "${partner##*:}" /arrivals >"$work/arrivals-$mode.json"
  python3 - "$mode" "$work/samples-$mode" "$work/delays-$mode.json" "$stats" "$CAPACITY" "$SECONDS_RUN" \
    "$work/arrivals-$mode.json" <<'EOF'
import collections, json, statistics, sys
mode, samples_path, delays_path, stats, capacity, seconds, arrivals_path = sys.argv[1:8]
capacity, seconds = int(capacity), float(seconds)
samples = [tuple(map(float, line.split())) for line in open(samples_path) if len(line.split()) == 2]
stats = json.loads(stats)
low, high = 0.8 * capacity, 1.2 * capacity
settled_at = None
for i, (t, _) in enumerate(samples):
    if all(low <= n <= high for _, n in samples[i:]) and samples[-1][0] - t >= 5:
        settled_at = t
        break
delays = json.load(open(delays_path))
first = delays[0][0] if delays else 0
# Judged from settling (or, never settled, after the first 5 s).
since = settled_at if settled_at is not None else 5.0
after = sorted(d for at, d in delays if (at - first) / 1e6 >= since)
steady = [n for t, n in samples if t >= since]
# A POST refused at once (503) has an arrival and no delay.
refused = collections.Counter(json.load(open(arrivals_path))) - collections.Counter(at for at, _ in delays)
refused_after = sum(c for at, c in refused.items() if (at - first) / 1e6 >= since)
def q(xs, p):
    return xs[min(len(xs) - 1, int(p * len(xs)))] / 1000 if xs else float("nan")
print(f"{mode:8s} knee (median partner in_flight) {statistics.median(steady) if steady else float('nan'):.0f}"
      f"  [min {min(steady) if steady else 0:.0f}, max {max(steady) if steady else 0:.0f}]")
print(f"{'':8s} settled at {('%.2f s' % settled_at) if settled_at is not None else 'never'}"
      f" (every later sample within [{low:.0f}, {high:.0f}])")
print(f"{'':8s} partner-side latency after {since:.2f} s: p50 {q(after, 0.50):.0f} ms, p99 {q(after, 0.99):.0f} ms")
print(f"{'':8s} delivered {stats['ok']} in {seconds:.0f} s = {stats['ok'] / seconds:.0f}/s;"
      f" 503s {stats['failed']} ({refused_after} after {since:.2f} s)")
print(f"RESULT mode={mode} knee={statistics.median(steady) if steady else 0:.0f} settle_s={settled_at if settled_at is not None else -1}"
      f" p50_ms={q(after, 0.50):.0f} p99_ms={q(after, 0.99):.0f} per_s={stats['ok'] / seconds:.0f} refused={stats['failed']} refused_after={refused_after}")
EOF
  kill -9 "$partner_pid" 2>/dev/null || true
}

echo "capacity $CAPACITY, delay $DELAY: the partner's best is $(awk -v c="$CAPACITY" -v d="$DELAY" 'BEGIN { sub(/ms$/, "", d); printf "%.0f", c / (d / 1000) }')/s"
run adaptive
run fixed
echo "reproduce: bench/adaptive.sh $SECONDS_RUN $CAPACITY $DELAY $THREADS $PARTNER_THREADS"
