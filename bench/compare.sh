#!/usr/bin/env bash
# Runs bench/e2e.sh on both backends, 1 and 8 shards, one after another in one
# session, and prints them side by side: messages/s, worker CPU per 100k
# messages, worker peak RSS, and the queue server's own CPU (redis-server or
# the fauxqs emulator), which tells whether the worker or the queue limits.
#
#   bench/compare.sh [N=200000] [CONCURRENCY=16000] [THREADS=2] [DELAY=1s] [PARTNER_THREADS=1]
set -euo pipefail
cd "$(dirname "$0")/.."

args=("${1:-200000}" "${2:-16000}" "${3:-2}" "${4:-1s}" "${5:-1}")
results=()
for queue in REDIS SQS; do
  for shards in 1 8; do
    echo "== QUEUE=$queue SHARDS=$shards bench/e2e.sh ${args[*]}" >&2
    line=$(QUEUE=$queue SHARDS=$shards bench/e2e.sh "${args[@]}" | tee /dev/stderr | grep '^RESULT ')
    results+=("$line")
  done
done

value() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
echo
echo "N=${args[0]} concurrency=${args[1]} threads=${args[2]} delay=${args[3]} on $(nproc) cores, $(date -u +%F)"
printf '%-6s %6s %10s %8s %10s %14s %10s %13s %6s %5s\n' queue shards wall ideal msg/s "CPU/100k msg" "RSS MiB" "queue CPU s" lost dups
for r in "${results[@]}"; do
  printf '%-6s %6s %9ss %7ss %10s %13ss %10s %13s %6s %5s\n' "$(value "$r" queue)" "$(value "$r" shards)" \
    "$(value "$r" wall)" "$(value "$r" ideal)" "$(value "$r" msgs_per_s)" "$(value "$r" cpu_per_100k)" \
    "$(value "$r" rss_mib)" "$(value "$r" queue_cpu)" "$(value "$r" lost)" "$(value "$r" duplicates)"
done
echo "reproduce: bench/compare.sh ${args[*]}"
