# The benchmark report's charts (SVG), drawn from the data bench/report.sh writes beside them:
# throughput.dat and legacy.dat (messages/s against messages in flight), cpu-per-delay.dat (worker
# CPU per message against the partner's delay) and e2e.dat (CPU seconds per 100k, end to end).
#   gnuplot -e "dir='docs/charts'; delay='1s'; chart='throughput'" bench/charts.gp
# draws the one chart named (throughput, cpu-per-delay or e2e), or all three without chart=.
if (!exists("dir")) dir = "docs/charts"
if (!exists("delay")) delay = "1s"
if (!exists("chart")) chart = "all"
set terminal svg size 760,440 dynamic enhanced font "sans,12" background rgb "white"
set grid
set key top left box opaque
set datafile commentschars "#"

if (chart eq "all" || chart eq "throughput") {
set output dir."/throughput.svg"
set title "Messages/s against messages in flight, partner answering after ".delay
set logscale xy 10
set xlabel "messages in flight (concurrency)"
set ylabel "messages/s"
set format x "%.0f"
set format y "%.0f"
plot dir."/throughput.dat" using 1:3 with lines dashtype 2 linecolor rgb "#888888" title "ideal (in flight / delay)", \
     dir."/throughput.dat" using 1:2 with linespoints pointtype 7 linewidth 2 linecolor rgb "#1f77b4" title "Conveyor (Redis)", \
     dir."/legacy.dat" using 1:2 with points pointtype 5 pointsize 1.3 linecolor rgb "#d62728" title "old design (Celery)", \
     dir."/legacy.dat" using 1:2:3 with labels offset 0,1.2 font "sans,10" notitle
}

if (chart eq "all" || chart eq "cpu-per-delay") {
set output dir."/cpu-per-delay.svg"
set title "Conveyor worker CPU per message against the partner's delay, 1,000 in flight"
unset logscale
set logscale x 10
set xlabel "partner delay (ms)"
set ylabel "worker CPU per message (µs)"
set yrange [0:*]
set key top right
plot dir."/cpu-per-delay.dat" using 1:2 with linespoints pointtype 7 linewidth 2 linecolor rgb "#1f77b4" title "µs per message", \
     dir."/cpu-per-delay.dat" using 1:2:(sprintf("%.0f", $2)) with labels offset 0,1 font "sans,10" notitle
}

if (chart eq "all" || chart eq "e2e") {
set output dir."/e2e.svg"
set title "CPU seconds per 100,000 messages end to end, partner answering after ".delay." (log scale)"
unset logscale
unset xlabel
set logscale y 10
set yrange [*:*]
set ylabel "CPU seconds per 100k messages"
set style fill solid 0.8 border -1
set boxwidth 0.6
set xtics font "sans,10"
set key off
plot dir."/e2e.dat" using 0:2:xtic(1) with boxes linecolor rgb "#1f77b4", \
     dir."/e2e.dat" using 0:2:(sprintf("%.1f", $2)) with labels offset 0,0.8 font "sans,10"
}
