#!/usr/bin/env bash
# End-to-end benchmark: redis-server, the partner simulator with a fixed
# delay, the publisher and one worker, all on this machine (127.0.0.1 only).
# Prints wall time against the ideal N x delay / concurrency, the worker's CPU
# seconds and peak RSS, and the partner's distinct/duplicate key counts.
#
#   bench/e2e.sh [N=1000000] [CONCURRENCY=16000] [THREADS=2] [DELAY=1s] [PARTNER_THREADS=1]
#
# WORKER_BIN=path runs that build of conveyor as the worker (e.g. build-uring/conveyor, the
# io_uring backend), everything else from build/.
# WORKER_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 runs the worker on
# jemalloc instead of glibc malloc, to measure the allocator's share.
# SHARDS=N spreads the messages over N shards and works them all.
# QUEUE=SQS runs the same path on Amazon SQS's protocol against the fauxqs
# emulator (tools/fauxqs, one Node process on 127.0.0.1) instead of Redis; the
# queue server's own CPU is measured either way, to show which side limits.
# PARTNER=host:port PARTNER_PID=pid works against a simulator already running (bench/floor.sh).
# SCRAPE=1 has a scraper GET the worker's /metrics every second while it runs,
# as Prometheus would, to measure what collecting metrics costs.
# The last line, "RESULT key=value ...", is for bench/compare.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000000}
CONCURRENCY=${2:-16000}
THREADS=${3:-2}
DELAY=${4:-1s}
PARTNER_THREADS=${5:-1}
. bench/common.sh
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (scripts/install-deps installs it)" >&2; exit 2; }

QUEUE=${QUEUE:-REDIS}
SHARDS=${SHARDS:-1}
if [ "$QUEUE" = SQS ]; then
  # SQS queue names allow no colon; shards are <name>-0 .. <name>-N-1.
  CHANNEL_NAME=bench-shipments
  queues=("$CHANNEL_NAME-dead")
  if [ "$SHARDS" -le 1 ]; then queues+=("$CHANNEL_NAME"); else
    for i in $(seq 0 $((SHARDS - 1))); do queues+=("$CHANNEL_NAME-$i"); done
  fi
  start_fauxqs "${queues[@]}"
else
  CHANNEL_NAME=bench:shipments
  start_redis
fi

if [ -n "${PARTNER:-}" ]; then  # a simulator already running (bench/floor.sh): PARTNER=host:port PARTNER_PID=pid
  partner=$PARTNER
  partner_pid=${PARTNER_PID:?PARTNER needs PARTNER_PID}
else
  start_partner e2e --delay "$DELAY" --threads "$PARTNER_THREADS"
fi

export QUEUE SHARDS CHANNEL_NAME TARGET_URL="http://$partner/shipments"
"$BIN" publish --count "$N" | sed 's/^/publish: /'

admin_port=$(free_port)
SCRAPE=${SCRAPE:-0}
if [ "$SCRAPE" = 1 ]; then
  (  # like Prometheus with scrape_interval 1s, until the worker's listener goes away
    for _ in $(seq 1 2000); do
      sleep 1
      http_get 127.0.0.1 "$admin_port" /metrics >/dev/null 2>&1 && echo scraped >>"$work/scrapes" || true
      [ -f "$work/done" ] && break
    done
  ) &
  pids+=($!)
  disown
fi
partner_cpu_before=$(cpu_ticks "$partner_pid")
queue_cpu_before=$(cpu_ticks "$queue_pid")
/usr/bin/time -f '%e %U %S %M' -o "$work/time" \
  env ${WORKER_PRELOAD:+LD_PRELOAD=$WORKER_PRELOAD} "${WORKER_BIN:-$BIN}" work --until-empty --concurrency "$CONCURRENCY" --threads "$THREADS" --report "$work/report.json" \
  --admin-listen "127.0.0.1:$admin_port" \
  >"$work/work.out" 2>"$work/work.err" || { cat "$work/work.err" >&2; exit 1; }
touch "$work/done"
partner_cpu_after=$(cpu_ticks "$partner_pid")
queue_cpu_after=$(cpu_ticks "$queue_pid")

read -r wall user sys rss_kb <"$work/time"
stats=$(http_get 127.0.0.1 "${partner##*:}" /stats)
unique=$(grep -o '"unique_keys":[0-9]*' <<<"$stats" | cut -d: -f2)
dups=$(grep -o '"duplicates":[0-9]*' <<<"$stats" | cut -d: -f2)
delay_s=$(awk -v d="$DELAY" 'BEGIN { if (d ~ /ms$/) { sub(/ms$/, "", d); print d / 1000 } else { sub(/s$/, "", d); print d } }')
ideal=$(awk -v n="$N" -v d="$delay_s" -v c="$CONCURRENCY" 'BEGIN { printf "%.2f", n * d / c }')
ticks=$(getconf CLK_TCK)

echo "worker: $(cat "$work/work.out")"
[ -n "${SHOW_LOG:-}" ] && sed "s/^/  log: /" "$work/work.err"
scrapes=0
[ -f "$work/scrapes" ] && scrapes=$(wc -l <"$work/scrapes")
echo "reproduce: QUEUE=$QUEUE SHARDS=$SHARDS SCRAPE=$SCRAPE ${WORKER_BIN:+WORKER_BIN=$WORKER_BIN }${WORKER_PRELOAD:+WORKER_PRELOAD=$WORKER_PRELOAD }bench/e2e.sh $N $CONCURRENCY $THREADS $DELAY $PARTNER_THREADS"
awk -v n="$N" -v c="$CONCURRENCY" -v t="$THREADS" -v d="$DELAY" -v wall="$wall" -v ideal="$ideal" \
    -v user="$user" -v sys="$sys" -v rss="$rss_kb" -v unique="$unique" -v dups="$dups" \
    -v pcpu="$(( (partner_cpu_after - partner_cpu_before) ))" -v ticks="$ticks" -v shards="$SHARDS" \
    -v queue="$QUEUE" -v qcpu="$(( (queue_cpu_after - queue_cpu_before) ))" -v scrapes="$scrapes" 'BEGIN {
  printf "\nQUEUE=%s N=%d concurrency=%d threads=%d delay=%s shards=%d\n", queue, n, c, t, d, shards
  printf "  wall time          %.2f s\n", wall
  printf "  ideal              %.2f s (N x delay / concurrency)\n", ideal
  printf "  efficiency         %.2f x ideal\n", wall / ideal
  printf "  throughput         %.0f msg/s\n", n / wall
  printf "  worker CPU         %.2f s (user %.2f + sys %.2f)\n", user + sys, user, sys
  printf "  worker peak RSS    %.1f MiB\n", rss / 1024
  printf "  worker CPU / 100k  %.2f s\n", (user + sys) * 100000 / n
  printf "  queue server CPU   %.2f s (%s, while the worker ran)\n", qcpu / ticks, queue == "SQS" ? "fauxqs" : "redis-server"
  printf "  partner CPU        %.2f s\n", pcpu / ticks
  printf "  partner unique     %d (lost: %d)\n", unique, n - unique
  printf "  partner duplicates %d\n", dups
  printf "  /metrics scrapes   %d\n", scrapes
  printf "RESULT queue=%s shards=%d n=%d wall=%.2f ideal=%.2f msgs_per_s=%.0f cpu=%.2f cpu_per_100k=%.2f rss_mib=%.1f queue_cpu=%.2f partner_cpu=%.2f lost=%d duplicates=%d scrapes=%d\n", \
    queue, shards, n, wall, ideal, n / wall, user + sys, (user + sys) * 100000 / n, rss / 1024, qcpu / ticks, pcpu / ticks, n - unique, dups, scrapes
}'
