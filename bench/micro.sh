#!/usr/bin/env bash
# The micro-benchmarks (Google Benchmark): runs every BUILD_DIR/bench/*_bench binary for about
# MIN_TIME seconds per benchmark and prints one compact table (name, CPU ns per operation, ns per
# item, items/s, bytes/s) and the command that reproduces it. Builds nothing: run `./scripts/build`
# (or ninja) first. Exits non-zero if any binary fails or any benchmark reports an error; ~10 s in all.
#   bench/micro.sh [FILTER]            (FILTER: a --benchmark_filter regex, e.g. 'Resp|SigV4')
# BUILD_DIR (./build) and MIN_TIME (0.2; ctest's smoke test uses 0.01) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-./build}
MIN_TIME=${MIN_TIME:-0.2}
FILTER=${1:-.}
shopt -s nullglob
binaries=("$BUILD_DIR"/bench/*_bench)
[ ${#binaries[@]} -gt 0 ] || { echo "no benchmarks in $BUILD_DIR/bench: build first (./scripts/build)" >&2; exit 2; }

work=$(mktemp -d /tmp/conveyor-micro-XXXXXX)
trap 'rm -rf "$work"' EXIT

failed=0
for bin in "${binaries[@]}"; do
  name=$(basename "$bin")
  # Benchmark 1.7 takes the minimum time as plain seconds (1.8 adds the "0.2s" form).
  if ! "$bin" --benchmark_min_time="$MIN_TIME" --benchmark_filter="$FILTER" --benchmark_format=json \
      --benchmark_out="$work/$name.json" --benchmark_out_format=json >/dev/null 2>"$work/$name.err"; then
    echo "FAILED: $bin" >&2
    cat "$work/$name.err" >&2
    failed=1
  fi
done

# One table over every binary's JSON; a benchmark that reported an error fails the run too.
/usr/bin/python3 - "$work" <<'PY' || failed=1
import glob, json, os, sys

def items(per_second):
    if not per_second:
        return "-", "-"
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if per_second >= scale:
            return f"{per_second / scale:.2f} {prefix}/s", f"{1e9 / per_second:,.1f}"
    return f"{per_second:.2f} /s", f"{1e9 / per_second:,.1f}"

def bytes_rate(per_second):
    if not per_second:
        return "-"
    for scale, unit in ((2**30, "GiB/s"), (2**20, "MiB/s"), (2**10, "KiB/s")):
        if per_second >= scale:
            return f"{per_second / scale:.2f} {unit}"
    return f"{per_second:.0f} B/s"

rows, errors = [], []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    if os.path.getsize(path) == 0:
        continue  # the filter matched none of its benchmarks (a crash fails its exit status)
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        errors.append(f"{os.path.basename(path)}: no readable output")
        continue
    for b in report.get("benchmarks", []):
        if b.get("error_occurred"):
            errors.append(f"{b['name']}: {b.get('error_message', 'error')}")
            continue
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        per_second, per_item = items(b.get("items_per_second"))
        rows.append((b["name"], f"{b['cpu_time'] * scale:,.1f}", per_item, per_second,
                     bytes_rate(b.get("bytes_per_second"))))

header = ("benchmark", "ns/op (CPU)", "ns/item", "items/s", "bytes/s")
widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
for row in [header] + rows:
    print("  ".join(row[0].ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
for error in errors:
    print(f"ERROR {error}", file=sys.stderr)
sys.exit(1 if errors or not rows else 0)
PY

echo
echo "reproduce: BUILD_DIR=$BUILD_DIR MIN_TIME=$MIN_TIME bench/micro.sh '$FILTER'"
echo "one binary: $BUILD_DIR/bench/<name>_bench --benchmark_min_time=$MIN_TIME"
exit "$failed"
