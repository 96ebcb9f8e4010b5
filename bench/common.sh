# Shared by the bench/ scripts (sourced, not run): a scratch folder and the child processes,
# removed and killed on exit; free ports below the ephemeral range; GET over bash's /dev/tcp; a
# redis-server or fauxqs to work against; CPU and memory of process trees. Expects `set -euo pipefail` and the repository as the folder.
BIN=./build/conveyor
[ -x "$BIN" ] || { echo "build first: ./scripts/build" >&2; exit 2; }

work=$(mktemp -d "/tmp/conveyor-$(basename "$0" .sh)-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))  # below the ephemeral range (32768+), which outgoing connections use
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

# Starts a redis-server on a free port (killed on exit); sets redis_port, queue_pid and REDIS_URL.
start_redis() {
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
    --logfile "$work/redis.log" &
  queue_pid=$!
  pids+=($queue_pid)
  disown  # killed on exit; keep bash from reporting it
  for _ in $(seq 1 200); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  redis-cli -p "$redis_port" ping >/dev/null || { echo "redis-server did not start:" >&2; cat "$work/redis.log" >&2; exit 1; }
  export REDIS_URL="redis://127.0.0.1:$redis_port/0"
}

# Starts the fauxqs SQS emulator (tools/fauxqs, one Node process) on a free port (killed on exit)
# with the given queues; sets queue_pid and exports SQS_ENDPOINT and the emulator's credentials.
start_fauxqs() {  # queue-name...
  local args=() q
  for q in "$@"; do args+=(--queue "$q"); done
  node tools/fauxqs/launch.mjs --port 0 "${args[@]}" >"$work/fauxqs.out" 2>"$work/fauxqs.err" &
  queue_pid=$!
  pids+=($queue_pid)
  disown
  for _ in $(seq 1 200); do grep -q listening "$work/fauxqs.out" 2>/dev/null && break; sleep 0.05; done
  grep -q listening "$work/fauxqs.out" || { echo "fauxqs did not start:" >&2; cat "$work/fauxqs.err" >&2; exit 1; }
  export SQS_ENDPOINT="http://$(sed -n 's/^listening on //p' "$work/fauxqs.out")" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
}

# A process's own CPU time (user + system) so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Starts `conveyor partner` on a free port (killed on exit) with the given options, its output in
# $work/partner-NAME.*; sets partner (host:port) and partner_pid.
start_partner() {  # name [partner options...]
  local name=$1
  shift
  "$BIN" partner --listen 127.0.0.1:0 "$@" >"$work/partner-$name.out" 2>"$work/partner-$name.err" &
  partner_pid=$!
  pids+=($partner_pid)
  disown
  for _ in $(seq 1 200); do grep -q listening "$work/partner-$name.out" 2>/dev/null && break; sleep 0.05; done
  partner=$(sed -n 's/^listening on //p' "$work/partner-$name.out")
  [ -n "$partner" ] || { echo "the partner simulator did not start:" >&2; cat "$work/partner-$name.err" >&2; exit 1; }
}

# The process trees of the given pids: the pids and all their descendants, one a line.
tree_pids() {  # pid...
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v roots="$*" '
    { pid = $1; line = $0; sub(/^.*\) /, "", line); split(line, f, " "); parent[pid] = f[2] }
    END {
      n = split(roots, r, " ")
      for (i = 1; i <= n; i++) if (r[i] in parent) in_tree[r[i]] = 1
      do { grew = 0; for (p in parent) if (!(p in in_tree) && (parent[p] in in_tree)) { in_tree[p] = 1; grew = 1 } } while (grew)
      for (p in in_tree) print p
    }'
}

# What the process trees of the given pids use now: "ticks rss_kib pss_kib" where ticks is their
# CPU time (user + system, with that of children they have reaped) in clock ticks, rss_kib their
# resident memory summed (pages shared between forked processes counted in each), and pss_kib
# their proportional set size summed (shared pages divided among their sharers).
tree_usage() {  # pid...
  local tree
  tree=$(tree_pids "$@")
  [ -n "$tree" ] || { echo "0 0 0"; return; }
  local stats=() rollups=() p
  for p in $tree; do stats+=("/proc/$p/stat"); rollups+=("/proc/$p/smaps_rollup"); done
  local pss
  pss=$({ cat "${rollups[@]}" 2>/dev/null || true; } | awk '/^Pss:/ { kib += $2 } END { print kib + 0 }')
  { cat "${stats[@]}" 2>/dev/null || true; } | awk -v pss="$pss" -v page_kib=$(($(getconf PAGESIZE) / 1024)) '
    { line = $0; sub(/^.*\) /, "", line); split(line, f, " "); ticks += f[12] + f[13] + f[14] + f[15]; rss += f[22] }
    END { printf "%d %d %d\n", ticks, rss * page_kib, pss }'
}

# Samples tree_usage of the given pids every 0.5 s in the background until $work/done exists,
# keeping the highest sums in $work/peak ("rss_kib pss_kib").
sample_peak_memory() {  # pid...
  echo "0 0" >"$work/peak"
  (
    peak_rss=0 peak_pss=0
    until [ -f "$work/done" ]; do
      read -r _ rss pss < <(tree_usage "$@")
      [ "$rss" -gt "$peak_rss" ] && peak_rss=$rss
      [ "$pss" -gt "$peak_pss" ] && peak_pss=$pss
      echo "$peak_rss $peak_pss" >"$work/peak.new" && mv "$work/peak.new" "$work/peak"
      sleep 0.5
    done
  ) &
  pids+=($!)
  disown
}
