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

gnuplot -e "dir='$charts'; delay='$(sed -n 's/^# delay: //p' "$results")'" "$here/charts.gp"
