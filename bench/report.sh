#!/usr/bin/env bash
# The benchmark report from bench/run's results file (its "# key: value" header and one
# "row=ID key=value ..." line per row): prints the report's Markdown (tables, ratios, the machine and
# the date) and writes the charts' data (*.dat) and the charts (*.svg, gnuplot with bench/charts.gp)
# into CHARTS_DIR, which the report links as charts/. Run again on a kept results file to redo both.
#
#   bench/report.sh RESULTS_FILE CHARTS_DIR > report.md
set -euo pipefail
results=${1:?usage: bench/report.sh RESULTS_FILE CHARTS_DIR}
charts=${2:?usage: bench/report.sh RESULTS_FILE CHARTS_DIR}
here=$(dirname "$0")
mkdir -p "$charts"

awk -v charts="$charts" -f "$here/report.awk" "$results"

delay=$(sed -n 's/^# delay: //p' "$results")
for chart in throughput cpu-per-delay e2e; do  # one at a time: a chart without data leaves the others
  gnuplot -e "dir='$charts'; delay='$delay'; chart='$chart'" "$here/charts.gp" 2>"$charts/$chart.err" ||
    { rm -f "$charts/$chart.svg"; echo "bench/report.sh: no $chart chart (its rows failed?): $(grep -v '^ *$' "$charts/$chart.err" | tail -1)" >&2; }
  rm -f "$charts/$chart.err"
done
