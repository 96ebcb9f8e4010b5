"""The Grafana dashboard and the alert rules of deploy/ name only metrics a real worker exports.

Starts redis-server and `conveyor partner` on free 127.0.0.1 ports and `conveyor work` with its
admin listener on a free port, delivers a few messages (and dead-letters two, one after a retry),
reads GET /metrics with prometheus_client's parser, and fails listing every series the dashboard or
the rules select that the exposition lacks: a metric name, or a label value a matcher asks for.
Children are killed at the end; the whole test is bounded in time.

Run: python3 tests/deploy/metric_names_test.py --conveyor build/conveyor [--redis-server PATH]
(ctest: Deploy.MetricNames).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from prometheus_client.parser import text_string_to_metric_families

import promql_names
from processes import Child, TimedOut, free_port, http_get, redis_answers, wait_for

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "conveyor.json")
ALERTS = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")

DELIVERED = 20            # messages the partner accepts
TEST_BOUND_SECONDS = 120  # the whole test, children included
WAIT_SECONDS = 60         # for the worker to finish the messages and its sampler to see the dead letters
# Labels Prometheus adds to every series from its target, not the worker.
TARGET_LABELS = {"job", "instance"}
# Every metric of the issue 9 contract, and the routes' gauges of issue 10: the dashboard shows each of them.
CONTRACT_SAMPLES = [
    "conveyor_messages_total", "conveyor_partner_requests_total",
    "conveyor_partner_request_duration_seconds_bucket", "conveyor_partner_request_duration_seconds_sum",
    "conveyor_partner_request_duration_seconds_count", "conveyor_in_flight", "conveyor_queue_messages",
    "conveyor_circuit_open", "conveyor_partner_connections", "conveyor_ready", "conveyor_build_info",
    "conveyor_route_concurrency_limit", "conveyor_route_paused", "conveyor_route_rate_limit_per_second",
    "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
    "process_start_time_seconds",
]


def samples(exposition):
    """{sample name: [labels dict, ...]}, parsed by prometheus_client (sample names keep _total, _bucket...)."""
    out = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample.labels)
    return out


def sample_value(exposition, name, **labels):
    total = None
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total = (total or 0) + sample.value
    return total


def missing_series(where, expr, exported):
    """What a selector of expr asks for that the exposition lacks, as readable lines."""
    problems = []
    for selector in promql_names.selectors(expr):
        if selector.name in promql_names.SCRAPE_SERIES:
            continue
        if selector.name not in exported:
            problems.append(f"{where}: metric {selector.name} is not exported (in: {' '.join(expr.split())})")
            continue
        for label, op, value in selector.matchers:
            if op != "=" or label in TARGET_LABELS or "$" in value:
                continue
            if not any(labels.get(label) == value for labels in exported[selector.name]):
                problems.append(f'{where}: no {selector.name} sample has {label}="{value}"')
    return problems


def run_worker_and_scrape(conveyor, redis_server, workdir):
    children = []
    try:
        redis_port = free_port()
        children.append(Child([redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", workdir, "--logfile", ""]))
        wait_for("redis-server to answer PING", lambda: redis_answers(redis_port), 15)

        partner = Child([conveyor, "partner", "--listen", "127.0.0.1:0", "--delay", "5ms", "--status-field", "status"])
        children.append(partner)
        partner_address = partner.line_matching(r"listening on (\S+)", 15).group(1)

        # One route with limits of its own, so that its flow-control series are exported too.
        routes = os.path.join(workdir, "routes.toml")
        with open(routes, "w") as f:
            f.write(f'[[route]]\nname = "default"\nurl = "http://{partner_address}/shipments"\n'
                    'concurrency = 8\nrate = "1000/s"\n')
        env = dict(os.environ, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", CHANNEL_NAME="shipments", SHARDS="2",
                   ROUTES_FILE=routes, CONCURRENCY="8", THREADS="1",
                   MAX_ATTEMPTS="2", RETRY_BASE="50ms", RETRY_MAX_DELAY="100ms", CIRCUIT_FAILURES="0")
        messages = os.path.join(workdir, "messages.jsonl")
        with open(messages, "w") as f:
            for n in range(DELIVERED):
                f.write(f'{{"shipment_id": {n}}}\n')
            f.write('{"shipment_id": "refused", "status": 400}\n')    # dead-lettered at once
            f.write('{"shipment_id": "unavailable", "status": 503}\n')  # retried, then out of attempts
        published = subprocess.run([conveyor, "publish", "--input", messages], env=env, capture_output=True,
                                   text=True, timeout=30)
        if published.returncode != 0:
            raise AssertionError(f"conveyor publish failed: {published.stdout}{published.stderr}")

        worker = Child([conveyor, "work", "--admin-listen", "127.0.0.1:0"], env=env)
        children.append(worker)
        admin = worker.line_matching(r"admin (http://127\.0\.0\.1:\d+)", 15).group(1)

        def finished():
            text = http_get(admin + "/metrics")
            done = (sample_value(text, "conveyor_messages_total", outcome="delivered") == DELIVERED
                    and sample_value(text, "conveyor_messages_total", outcome="dead_lettered") == 2
                    and sample_value(text, "conveyor_queue_messages", state="dead") == 2)
            return text if done else None

        return wait_for(f"{DELIVERED} delivered and 2 dead letters sampled on {admin}/metrics", finished, WAIT_SECONDS)
    except Exception:
        for child in children:
            sys.stderr.write(f"--- output of {' '.join(child.argv[:2])}:\n{''.join(child.output[-40:])}")
        raise
    finally:
        for child in reversed(children):
            child.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conveyor", required=True, help="the conveyor binary")
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    args = parser.parse_args()

    def out_of_time(signum, frame):
        raise TimedOut(f"the test took over {TEST_BOUND_SECONDS}s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(TEST_BOUND_SECONDS)

    exprs = promql_names.load_dashboard_exprs(DASHBOARD) + [
        (f"alerts.yml rule {rule}", expr) for rule, expr in promql_names.load_rule_exprs(ALERTS)]
    with tempfile.TemporaryDirectory(prefix="conveyor-metric-names-") as workdir:
        exposition = run_worker_and_scrape(os.path.abspath(args.conveyor), args.redis_server, workdir)
    exported = samples(exposition)

    problems = []
    for where, expr in exprs:
        problems.extend(missing_series(where if where.startswith("alerts") else f"conveyor.json {where}", expr, exported))
    on_dashboard = {s.name for where, expr in exprs if not where.startswith("alerts")
                    for s in promql_names.selectors(expr)}
    problems.extend(f"conveyor.json: the dashboard does not show {name}"
                    for name in CONTRACT_SAMPLES if name not in on_dashboard)

    checked = sorted({s.name for _, expr in exprs for s in promql_names.selectors(expr)} - promql_names.SCRAPE_SERIES)
    if problems:
        print(f"FAILED: {len(problems)} problem(s) against the worker's /metrics:")
        for p in problems:
            print("  " + p)
        print("exported sample names: " + ", ".join(sorted(exported)))
        return 1
    print(f"every metric named by the dashboard and the alert rules is exported: {', '.join(checked)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
