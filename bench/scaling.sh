#!/usr/bin/env bash
# Scaling benchmark (issue 12), in one run on this machine (127.0.0.1 only), side by side:
#   - one redis-server against a Redis Cluster of 3 masters + 3 replicas, the queue in 6 shards;
#   - one `conveyor work` process against four, on each;
#   - the capacity plan's inputs: messages per worker CPU-second (one thread, fast partner), Redis
#     CPU per 1,000 messages (lease + acknowledge: the servers' ticks from /proc/PID/stat while
#     the workers ran, publish excluded) on one node and summed over the masters, the SQS worker's
#     CPU per message (bench/e2e.sh QUEUE=SQS on fauxqs) and the Redis worker's at a 1 s partner
#     (bench/e2e.sh: 10,000 in flight, 2 threads); what a legacy producer's one RPUSH per call
#     costs Redis (redis-benchmark), and the memory a waiting message takes.
# Each scenario publishes N messages over 6 shards, then drains them with fresh `conveyor partner
# --delay 1ms` and the workers (--threads 1 --concurrency CONCURRENCY each). It waits (at most
# QUIET_WAIT seconds) for the load average to fall below 1.5 first, repeats everything ROUNDS
# times, and prints each round, the spread, and the command.
#
#   bench/scaling.sh [N=100000] [CONCURRENCY=200] [ROUNDS=2] [SQS_N=20000] [SLOW_N=100000]
#
# SLOW_N=0 skips the 1 s partner run; SQS_N=0 the SQS one. Every worker and bench/e2e.sh run is
# bounded by `timeout 600`; with the defaults a run takes 5-10 minutes, the quiet waits included.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-100000}
CONCURRENCY=${2:-200}
ROUNDS=${3:-2}
SQS_N=${4:-20000}
SLOW_N=${5:-100000}
QUIET_WAIT=${QUIET_WAIT:-300}
SHARDS=6
DELAY=1ms
CHANNEL=scaling
. bench/common.sh
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (scripts/install-deps installs it)" >&2; exit 2; }
hz=$(getconf CLK_TCK)
sum_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }

# A free port whose cluster bus port (+10000) is free too, both below the ephemeral range.
free_node_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 2700))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 10000))") 2>/dev/null; then
      echo "$p"; return
    fi
  done
  echo "no free port" >&2; exit 1
}

# Starts a redis-server on `port` with extra arguments (killed on exit); sets node_pid. Fails
# (status 1, the server killed) if it does not answer PING within 10 s.
try_node() {
  local port=$1; shift
  mkdir -p "$work/redis-$port"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work/redis-$port" \
    --logfile "$work/redis-$port/log" "$@" &
  node_pid=$!
  pids+=($node_pid)
  disown
  for _ in $(seq 1 200); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$node_pid" 2>/dev/null || true
  return 1
}
start_node() {
  try_node "$@" && return
  echo "redis-server on $1 did not start:" >&2; cat "$work/redis-$1/log" >&2; exit 1
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u '+%Y-%m-%d %H:%M UTC')"

# One redis-server.
single_port=$(free_port)
start_node "$single_port"
single_pid=$node_pid
single_url="redis://127.0.0.1:$single_port/0"

# The cluster: six nodes, three masters with a replica each (as tests/support/redis_cluster.cpp).
cluster_ports=()
declare -A pid_of
for _ in 1 2 3 4 5 6; do
  for attempt in 1 2 3 4 5; do  # a port taken between the check and the bind: another one
    port=$(free_node_port)
    try_node "$port" --cluster-enabled yes --cluster-node-timeout 1000 --cluster-config-file nodes.conf && break
    [ "$attempt" -lt 5 ] || { echo "no cluster node started:" >&2; cat "$work/redis-$port/log" >&2; exit 1; }
  done
  cluster_ports+=("$port")
  pid_of[$port]=$node_pid
done
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${cluster_ports[@]}") --cluster-replicas 1 --cluster-yes \
  >"$work/cluster-create.log" 2>&1 || { cat "$work/cluster-create.log" >&2; exit 1; }
cluster_ok() {
  local p
  for p in "${cluster_ports[@]}"; do
    redis-cli -p "$p" cluster info | grep -q '^cluster_state:ok' || return 1
    if redis-cli -p "$p" info replication | grep -q '^role:slave'; then
      redis-cli -p "$p" info replication | grep -q '^master_link_status:up' || return 1
    fi
  done
}
for _ in $(seq 1 300); do cluster_ok && break; sleep 0.1; done
cluster_ok || { echo "the cluster did not form in 30 s" >&2; exit 1; }
master_pids=()
replica_pids=()
for p in "${cluster_ports[@]}"; do
  if [ "$(redis-cli -p "$p" role | head -1)" = master ]; then master_pids+=("${pid_of[$p]}"); else replica_pids+=("${pid_of[$p]}"); fi
done
cluster_url="redis+cluster://$(printf '127.0.0.1:%s,' "${cluster_ports[@]}" | sed 's/,$//')"
echo "cluster: ${#master_pids[@]} masters, ${#replica_pids[@]} replicas; shards on masters:"
for i in $(seq 0 $((SHARDS - 1))); do
  slot=$(redis-cli -p "${cluster_ports[0]}" cluster keyslot "$CHANNEL:$i")
  master=$(redis-cli -p "${cluster_ports[0]}" cluster nodes | awk -v s="$slot" '$3 ~ /master/ {
    for (f = 9; f <= NF; f++) { split($f, r, "-"); if (s >= r[1] && s <= (r[2] == "" ? r[1] : r[2])) { sub(/@.*/, "", $2); print $2 } } }')
  printf '  %s:%d slot %d on master %s\n' "$CHANNEL" "$i" "$slot" "$master"
done

# One redis-server's used_memory (0 for the cluster: not measured there).
used_memory() {
  if [ "$1" = "$single_url" ]; then redis-cli -p "$single_port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; else echo 0; fi
}

# One scenario: NAME URL PROCESSES QUEUE_PIDS... (the Redis servers whose CPU counts; replicas
# are measured apart). Appends "RESULT round=R name=..." to $work/results.
run_scenario() {
  local name=$1 url=$2 procs=$3; shift 3
  local queue_pids=("$@")
  "$BIN" partner --listen 127.0.0.1:0 --delay "$DELAY" --threads 1 >"$work/partner.out" 2>"$work/partner.err" &
  local partner_pid=$!
  pids+=($partner_pid)
  disown
  for _ in $(seq 1 200); do grep -q listening "$work/partner.out" 2>/dev/null && break; sleep 0.05; done
  local partner
  partner=$(sed -n 's/^listening on //p' "$work/partner.out")
  [ -n "$partner" ] || { echo "the simulator did not start:" >&2; cat "$work/partner.err" >&2; exit 1; }

  # The publish is measured apart: Redis CPU (pipelined RPUSH of 1,000 per call) and, on one
  # node, the memory the waiting messages take.
  local p0 m0 p1 m1 q0 r0 q1 r1 start end i
  p0=$(sum_ticks "${queue_pids[@]}")
  m0=$(used_memory "$url")
  "$BIN" publish --redis-url "$url" --channel "$CHANNEL" --shards "$SHARDS" --count "$N" >/dev/null
  p1=$(sum_ticks "${queue_pids[@]}")
  m1=$(used_memory "$url")

  local workers=()
  q0=$(sum_ticks "${queue_pids[@]}")
  r0=0; [ "$url" = "$cluster_url" ] && r0=$(sum_ticks "${replica_pids[@]}")
  start=$(date +%s.%N)
  for i in $(seq 1 "$procs"); do
    rm -f "$work/report.$i"
    /usr/bin/time -f '%U %S %M' -o "$work/time.$i" timeout 600 \
      "$BIN" work --until-empty --redis-url "$url" --channel "$CHANNEL" --shards "$SHARDS" \
      --target-url "http://$partner/shipments" --threads 1 --concurrency "$CONCURRENCY" --admin-listen off \
      --report "$work/report.$i" >"$work/work.$i.out" 2>"$work/work.$i.err" &
    workers+=($!)
  done
  for i in $(seq 1 "$procs"); do
    wait "${workers[$((i - 1))]}" || { echo "worker $i of $name failed:" >&2; cat "$work/work.$i.err" >&2; exit 1; }
  done
  end=$(date +%s.%N)
  q1=$(sum_ticks "${queue_pids[@]}")
  r1=0; [ "$url" = "$cluster_url" ] && r1=$(sum_ticks "${replica_pids[@]}")

  local stats unique dups cpu=0 rss=0 split=""
  stats=$(http_get 127.0.0.1 "${partner##*:}" /stats)
  unique=$(grep -o '"unique_keys":[0-9]*' <<<"$stats" | cut -d: -f2)
  dups=$(grep -o '"duplicates":[0-9]*' <<<"$stats" | cut -d: -f2)
  kill -9 "$partner_pid" 2>/dev/null || true
  for i in $(seq 1 "$procs"); do
    read -r user sys kb <"$work/time.$i"
    cpu=$(awk -v c="$cpu" -v u="$user" -v s="$sys" 'BEGIN { print c + u + s }')
    [ "$kb" -gt "$rss" ] && rss=$kb
    split+="$(grep -o '"delivered":[0-9]*' "$work/report.$i" | cut -d: -f2),"
  done
  awk -v round="$round" -v name="$name" -v procs="$procs" -v n="$N" -v wall="$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" \
      -v cpu="$cpu" -v rss="$rss" -v q="$((q1 - q0))" -v r="$((r1 - r0))" -v hz="$hz" -v unique="$unique" -v dups="$dups" \
      -v delivered="${split%,}" -v pub="$((p1 - p0))" -v mem="$((m1 - m0))" 'BEGIN {
    k = split(delivered, d, ","); shares = ""
    for (i = 1; i <= k; i++) shares = shares (i > 1 ? "/" : "") sprintf("%.1f", 100 * d[i] / n)
    printf "RESULT round=%d name=%s procs=%d n=%d wall=%.2f msgs_per_s=%.0f worker_cpu=%.2f worker_us=%.1f msgs_per_cpu_s=%.0f rss_mib=%.1f redis_cpu=%.2f redis_ms_per_1k=%.2f replica_cpu=%.2f publish_ms_per_1k=%.2f waiting_bytes_per_msg=%.0f shares=%s lost=%d duplicates=%d\n", \
      round, name, procs, n, wall, n / wall, cpu, cpu * 1e6 / n, n / cpu, rss / 1024, q / hz, q / hz * 1e6 / n, r / hz, pub / hz * 1e6 / n, mem / n, shares, n - unique, dups
  }' | tee -a "$work/results"
}

wait_for_quiet() {
  local load
  for _ in $(seq 1 $((QUIET_WAIT / 5))); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    awk -v l="$load" 'BEGIN { exit !(l < 1.5) }' && { echo "load average $load (< 1.5): measuring"; return; }
    sleep 5
  done
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "WARNING: load average still $load after ${QUIET_WAIT} s; measuring anyway (compare ratios only)"
}

# What a legacy producer costs Redis: one RPUSH of a 64-byte message per call, 50 clients
# (redis-benchmark), against the pipelined publish above.
legacy_rpush() {
  local t0 t1
  t0=$(cpu_ticks "$single_pid")
  redis-benchmark -p "$single_port" -t rpush -n "$N" -c 50 -P 1 -d 64 -q >/dev/null
  t1=$(cpu_ticks "$single_pid")
  redis-cli -p "$single_port" del mylist >/dev/null
  echo "RESULT round=$round name=legacy-rpush n=$N redis_ms_per_1k=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$N" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')" |
    tee -a "$work/results"
}

touch "$work/results"
for round in $(seq 1 "$ROUNDS"); do
  echo
  echo "round $round: $(uptime)"
  wait_for_quiet
  run_scenario single-1 "$single_url" 1 "$single_pid"
  run_scenario single-4 "$single_url" 4 "$single_pid"
  run_scenario cluster-1 "$cluster_url" 1 "${master_pids[@]}"
  run_scenario cluster-4 "$cluster_url" 4 "${master_pids[@]}"
  legacy_rpush
  if [ "$SQS_N" -gt 0 ]; then
    QUEUE=SQS SHARDS=$SHARDS timeout 600 bench/e2e.sh "$SQS_N" "$CONCURRENCY" 1 "$DELAY" 1 >"$work/sqs.out" 2>&1 ||
      { cat "$work/sqs.out" >&2; exit 1; }
    sed -n "s/^RESULT /RESULT round=$round name=sqs-1 /p" "$work/sqs.out" | tee -a "$work/results"
  fi
  if [ "$SLOW_N" -gt 0 ]; then
    timeout 600 bench/e2e.sh "$SLOW_N" 10000 2 1s 1 >"$work/slow.out" 2>&1 || { cat "$work/slow.out" >&2; exit 1; }
    sed -n "s/^RESULT /RESULT round=$round name=slow-1s /p" "$work/slow.out" | tee -a "$work/results"
  fi
done

echo
echo "reproduce: QUIET_WAIT=$QUIET_WAIT bench/scaling.sh $N $CONCURRENCY $ROUNDS $SQS_N $SLOW_N"
echo "N=$N over $SHARDS shards, partner --delay $DELAY, each worker --threads 1 --concurrency $CONCURRENCY; min-max over $ROUNDS round(s)"
awk '
  function field(k,   i, kv) { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return "" }
  function span(key, v) {
    if (!((key) in lo) || v < lo[key]) lo[key] = v
    if (!((key) in hi) || v > hi[key]) hi[key] = v
  }
  function show(key, fmt) { return lo[key] == hi[key] ? sprintf(fmt, lo[key]) : sprintf(fmt "-" fmt, lo[key], hi[key]) }
  {
    name = field("name"); round = field("round")
    if (name == "legacy-rpush") { span(name, field("redis_ms_per_1k")); next }
    if (name == "sqs-1" || name == "slow-1s") {
      span(name "/rss", field("rss_mib"))
      span(name "/rate", field("msgs_per_s")); span(name "/us", field("cpu_per_100k") * 10)
      span(name "/q", field("queue_cpu") * 1e6 / field("n")); seen[name] = 1; next
    }
    seen[name] = 1
    span(name "/rate", field("msgs_per_s")); span(name "/us", field("worker_us")); span(name "/per_cpu", field("msgs_per_cpu_s"))
    span(name "/q", field("redis_ms_per_1k")); span(name "/rep", field("replica_cpu") * 1e6 / field("n"))
    span(name "/pub", field("publish_ms_per_1k")); span(name "/mem", field("waiting_bytes_per_msg")); span(name "/rss", field("rss_mib"))
    rate[round, name] = field("msgs_per_s")
    shares[name] = shares[name] (shares[name] == "" ? "" : "; ") field("shares")
    bad += field("lost") + field("duplicates")
  }
  END {
    printf "\n%-10s %-17s %-15s %-17s %-24s %s\n", "scenario", "msg/s", "worker us/msg", "msgs per CPU-s", "Redis CPU ms per 1k msgs", "split (%)"
    n = split("single-1 single-4 cluster-1 cluster-4", names, " ")
    for (i = 1; i <= n; i++) if (seen[names[i]]) {
      k = names[i]
      printf "%-10s %-17s %-15s %-17s %-24s %s\n", k, show(k "/rate", "%.0f"), show(k "/us", "%.1f"), show(k "/per_cpu", "%.0f"), \
        show(k "/q", "%.2f") (k ~ /cluster/ ? " (masters; replicas " show(k "/rep", "%.2f") ")" : ""), shares[k]
    }
    if (seen["sqs-1"]) printf "%-10s %-17s %-15s %-17s %-24s\n", "sqs-1", show("sqs-1/rate", "%.0f"), show("sqs-1/us", "%.1f"), "", show("sqs-1/q", "%.2f") " (fauxqs)"
    if (seen["slow-1s"]) printf "%-10s %-17s %-15s %-17s %-24s\n", "slow-1s", show("slow-1s/rate", "%.0f"), show("slow-1s/us", "%.1f"), "", show("slow-1s/q", "%.2f")
    printf "\npublish (conveyor publish, pipelined RPUSH of 1,000): Redis CPU %s ms per 1k msgs on one node, %s summed over the masters\n", \
      show("single-1/pub", "%.2f"), show("cluster-1/pub", "%.2f")
    printf "legacy producers (redis-benchmark -t rpush -P 1 -d 64 -c 50): Redis CPU %s ms per 1k msgs on one node\n", show("legacy-rpush", "%.2f")
    printf "memory per waiting message on one node: %s bytes (used_memory after publish - before, / N)\n", show("single-1/mem", "%.0f")
    printf "worker peak RSS: %s MiB (one process, --concurrency %s)", show("single-1/rss", "%.1f"), concurrency
    printf (seen["slow-1s"] ? "; %s MiB (slow-1s: 10,000 in flight, 1 s partner)\n" : "\n"), show("slow-1s/rss", "%.1f")
    printf "\nratios within a round (msg/s):\n"
    for (r = 1; (r, "single-1") in rate; r++)
      printf "  round %d: cluster/single %.2f (1 process), %.2f (4 processes); 4/1 processes %.2f (single), %.2f (cluster)\n", r, \
        rate[r, "cluster-1"] / rate[r, "single-1"], rate[r, "cluster-4"] / rate[r, "single-4"], \
        rate[r, "single-4"] / rate[r, "single-1"], rate[r, "cluster-4"] / rate[r, "cluster-1"]
    printf "lost + duplicates over all Redis scenarios: %d\n", bad
  }' concurrency="$CONCURRENCY" "$work/results"
