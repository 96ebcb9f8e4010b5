#!/usr/bin/env bash
# End-to-end benchmark: redis-server, the partner simulator with a fixed
# delay, the publisher and one worker, all on this machine (127.0.0.1 only).
# Prints wall time against the ideal N x delay / concurrency, the worker's CPU
# seconds and peak RSS, and the partner's distinct/duplicate key counts.
#
#   bench/e2e.sh [N=1000000] [CONCURRENCY=16000] [THREADS=2] [DELAY=1s] [PARTNER_THREADS=1]
#
# WORKER_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 runs the worker on
# jemalloc instead of glibc malloc, to measure the allocator's share.
# SHARDS=N spreads the messages over N shard lists and works them all.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000000}
CONCURRENCY=${2:-16000}
THREADS=${3:-2}
DELAY=${4:-1s}
PARTNER_THREADS=${5:-1}
BIN=./build/conveyor
[ -x "$BIN" ] || { echo "build first: ./scripts/build" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (scripts/install-deps installs it)" >&2; exit 2; }

work=$(mktemp -d /tmp/conveyor-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port" >&2; exit 1
}

http_get() {  # host port path -> body
  exec 3<>"/dev/tcp/$1/$2"
  printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$3" "$1" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" &
pids+=($!)
disown  # killed on exit; keep bash from reporting it
for _ in $(seq 1 200); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$redis_port" ping >/dev/null || { echo "redis-server did not start:" >&2; cat "$work/redis.log" >&2; exit 1; }

"$BIN" partner --listen 127.0.0.1:0 --delay "$DELAY" --threads "$PARTNER_THREADS" >"$work/partner.out" 2>"$work/partner.err" &
partner_pid=$!
pids+=($partner_pid)
disown
for _ in $(seq 1 200); do grep -q listening "$work/partner.out" 2>/dev/null && break; sleep 0.05; done
partner=$(sed -n 's/^listening on //p' "$work/partner.out")

export SHARDS=${SHARDS:-1} CHANNEL_NAME=bench:shipments REDIS_URL="redis://127.0.0.1:$redis_port/0" TARGET_URL="http://$partner/shipments"
"$BIN" publish --count "$N" | sed 's/^/publish: /'

partner_cpu_before=$(awk '{print $14 + $15}' "/proc/$partner_pid/stat")
/usr/bin/time -f '%e %U %S %M' -o "$work/time" \
  env ${WORKER_PRELOAD:+LD_PRELOAD=$WORKER_PRELOAD} "$BIN" work --until-empty --concurrency "$CONCURRENCY" --threads "$THREADS" --report "$work/report.json" \
  >"$work/work.out" 2>"$work/work.err" || { cat "$work/work.err" >&2; exit 1; }
partner_cpu_after=$(awk '{print $14 + $15}' "/proc/$partner_pid/stat")

read -r wall user sys rss_kb <"$work/time"
stats=$(http_get 127.0.0.1 "${partner##*:}" /stats)
unique=$(grep -o '"unique_keys":[0-9]*' <<<"$stats" | cut -d: -f2)
dups=$(grep -o '"duplicates":[0-9]*' <<<"$stats" | cut -d: -f2)
delay_s=$(awk -v d="$DELAY" 'BEGIN { if (d ~ /ms$/) { sub(/ms$/, "", d); print d / 1000 } else { sub(/s$/, "", d); print d } }')
ideal=$(awk -v n="$N" -v d="$delay_s" -v c="$CONCURRENCY" 'BEGIN { printf "%.2f", n * d / c }')
ticks=$(getconf CLK_TCK)

echo "worker: $(cat "$work/work.out")"
awk -v n="$N" -v c="$CONCURRENCY" -v t="$THREADS" -v d="$DELAY" -v wall="$wall" -v ideal="$ideal" \
    -v user="$user" -v sys="$sys" -v rss="$rss_kb" -v unique="$unique" -v dups="$dups" \
    -v pcpu="$(( (partner_cpu_after - partner_cpu_before) ))" -v ticks="$ticks" -v shards="$SHARDS" 'BEGIN {
  printf "\nN=%d concurrency=%d threads=%d delay=%s shards=%d\n", n, c, t, d, shards
  printf "  wall time          %.2f s\n", wall
  printf "  ideal              %.2f s (N x delay / concurrency)\n", ideal
  printf "  efficiency         %.2f x ideal\n", wall / ideal
  printf "  throughput         %.0f msg/s\n", n / wall
  printf "  worker CPU         %.2f s (user %.2f + sys %.2f)\n", user + sys, user, sys
  printf "  worker peak RSS    %.1f MiB\n", rss / 1024
  printf "  partner CPU        %.2f s\n", pcpu / ticks
  printf "  partner unique     %d (lost: %d)\n", unique, n - unique
  printf "  partner duplicates %d\n", dups
}'
echo "reproduce: SHARDS=$SHARDS ${WORKER_PRELOAD:+WORKER_PRELOAD=$WORKER_PRELOAD }bench/e2e.sh $N $CONCURRENCY $THREADS $DELAY $PARTNER_THREADS"
