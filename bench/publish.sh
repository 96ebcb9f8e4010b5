#!/usr/bin/env bash
# Publish rate: one publisher fills a fresh, empty queue with N generated messages, on this machine
# (127.0.0.1 only). Prints the publisher's wall time, CPU seconds (user + sys) and peak RSS (from
# /usr/bin/time), the queue server's CPU while it ran, and how many messages the queue then holds.
#
#   bench/publish.sh conveyor|legacy [N=1000000]
#
# conveyor: `conveyor publish --count N` (pipelined multi-value RPUSH, or SendMessageBatch on SQS);
# legacy: bench/legacy/publisher.py, the old design's one RPUSH per call (Redis only).
# QUEUE=SQS publishes to the fauxqs emulator (tools/fauxqs) instead of redis-server (conveyor only).
# The last lines are "RESULT key=value ..." (delivered: the messages the queue holds; lost: N minus
# those; duplicates: those beyond N) and "reproduce: ...". Exits 1 unless the queue holds exactly N.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM=${1:-}
N=${2:-1000000}
QUEUE=${QUEUE:-REDIS}
case "$SYSTEM/$QUEUE" in
  conveyor/REDIS | conveyor/SQS | legacy/REDIS) ;;
  *) echo "usage: [QUEUE=REDIS|SQS] bench/publish.sh conveyor|legacy [N]  (legacy: REDIS only)" >&2; exit 2 ;;
esac
. bench/common.sh
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (scripts/install-deps installs it)" >&2; exit 2; }

if [ "$QUEUE" = SQS ]; then
  CHANNEL_NAME=bench-publish  # SQS queue names allow no colon
  start_fauxqs "$CHANNEL_NAME" "$CHANNEL_NAME-dead"  # stats asks for the dead-letter queue too
else
  CHANNEL_NAME=bench:publish
  start_redis
fi
export QUEUE CHANNEL_NAME SHARDS=1

if [ "$SYSTEM" = conveyor ]; then
  publisher=("$BIN" publish --count "$N")
else
  /usr/bin/python3 -c 'import redis' 2>/dev/null || { echo "needs Debian's python3-redis (scripts/install-deps)" >&2; exit 2; }
  publisher=(/usr/bin/python3 bench/legacy/publisher.py "$N")
fi

queue_before=$(cpu_ticks "$queue_pid")
/usr/bin/time -f '%e %U %S %M' -o "$work/time" "${publisher[@]}" >"$work/publish.out" 2>"$work/publish.err" ||
  { cat "$work/publish.err" >&2; exit 1; }
queue_after=$(cpu_ticks "$queue_pid")
echo "publish: $(cat "$work/publish.out")"
read -r wall user sys rss_kb < <(tail -1 "$work/time")
held=$("$BIN" stats --json | grep -o '"waiting":[0-9]*' | cut -d: -f2 | awk '{ n += $1 } END { print n + 0 }')

echo "reproduce: QUEUE=$QUEUE bench/publish.sh $SYSTEM $N"
awk -v name="$SYSTEM" -v queue="$QUEUE" -v n="$N" -v wall="$wall" -v user="$user" -v sys="$sys" -v rss="$rss_kb" \
    -v held="$held" -v qcpu=$((queue_after - queue_before)) -v tps="$(getconf CLK_TCK)" 'BEGIN {
  if (wall <= 0) wall = 0.01  # /usr/bin/time counts in hundredths
  delivered = held < n ? held : n
  printf "RESULT system=%s-publish queue=%s n=%d wall=%.2f msgs_per_s=%.0f cpu=%.2f cpu_per_100k=%.2f rss_mib=%.1f queue_cpu=%.2f delivered=%d lost=%d duplicates=%d\n", \
    name, queue, n, wall, n / wall, user + sys, (user + sys) * 100000 / n, rss / 1024, qcpu / tps, delivered, n - delivered, held - delivered
}'
[ "$held" -eq "$N" ]
