# Shared by the bench/ scripts (sourced, not run): a scratch folder and the child processes,
# removed and killed on exit; free ports below the ephemeral range; GET over bash's /dev/tcp; a
# redis-server to work against. Expects `set -euo pipefail` and the repository as the folder.
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
