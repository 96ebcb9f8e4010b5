"""deploy/docker/conveyor-healthcheck, the image's HEALTHCHECK, tells a live worker from a dead one.

Runs the script as Docker would (its environment holding ADMIN_LISTEN) against a real `conveyor
work` on redis-server, both on free 127.0.0.1 ports: healthy (exit 0) while the worker answers,
also when ADMIN_LISTEN names the wildcard 0.0.0.0 (probed on loopback); unhealthy (exit 1) when the
worker is frozen (SIGSTOP: the connection opens, no answer comes), once it has exited, when /healthz
answers 503 (a stub server: a silent lane cannot be forced from outside), and with ADMIN_LISTEN=off.
Run: python3 tests/deploy/healthcheck_test.py --conveyor build/conveyor [--redis-server PATH]
(ctest: Deploy.Healthcheck).
"""

import argparse
import http.server
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

from processes import Child, TimedOut, free_port, redis_answers, wait_for
from settings_reference import ROOT

SCRIPT = os.path.join(ROOT, "deploy", "docker", "conveyor-healthcheck")
TEST_BOUND_SECONDS = 90
ANSWER_SECONDS = 1  # HEALTH_TIMEOUT given to the script: how long a frozen worker is waited for

ARGS = None  # --conveyor, --redis-server


def healthcheck(admin_listen):
    """(exit status, stderr) of the script with ADMIN_LISTEN set as given (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "ADMIN_LISTEN"}
    env["HEALTH_TIMEOUT"] = str(ANSWER_SECONDS)
    if admin_listen is not None:
        env["ADMIN_LISTEN"] = admin_listen
    done = subprocess.run([SCRIPT], env=env, capture_output=True, text=True, timeout=ANSWER_SECONDS + 10)
    return done.returncode, done.stderr


class Answer503(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"lane 1 has been silent for 6s\n"
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class HealthcheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.TemporaryDirectory(prefix="conveyor-healthcheck-")
        cls.children = []
        try:
            redis_port = free_port()
            cls.children.append(Child([ARGS.redis_server, "--port", str(redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", cls.workdir.name]))
            wait_for("redis-server to answer PING", lambda: redis_answers(redis_port), 15)
            env = dict(os.environ, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", CHANNEL_NAME="shipments",
                       TARGET_URL="http://127.0.0.1:9/shipments", THREADS="1", ADMIN_LISTEN="127.0.0.1:0")
            cls.worker = Child([ARGS.conveyor, "work"], env=env)
            cls.children.append(cls.worker)
            cls.port = int(cls.worker.line_matching(r"admin http://127\.0\.0\.1:(\d+)", 15).group(1))
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for child in reversed(cls.children):
            child.stop()
        cls.workdir.cleanup()

    def test_1_healthy_while_the_worker_answers(self):
        self.assertEqual(healthcheck(f"127.0.0.1:{self.port}"), (0, ""))

    def test_2_a_wildcard_listener_is_probed_on_loopback(self):
        self.assertEqual(healthcheck(f"0.0.0.0:{self.port}"), (0, ""))

    def test_3_unhealthy_while_the_worker_is_frozen(self):
        os.kill(self.worker.process.pid, signal.SIGSTOP)
        try:
            status, stderr = healthcheck(f"127.0.0.1:{self.port}")
        finally:
            os.kill(self.worker.process.pid, signal.SIGCONT)
        self.assertEqual(status, 1)
        self.assertIn(f"no answer from 127.0.0.1:{self.port}", stderr)
        wait_for("the thawed worker to answer again", lambda: healthcheck(f"127.0.0.1:{self.port}")[0] == 0, 15)

    def test_4_unhealthy_once_the_worker_has_exited(self):
        self.worker.stop()
        self.assertEqual(self.worker.process.returncode, 0, "SIGTERM drains and exits 0")
        status, stderr = healthcheck(f"127.0.0.1:{self.port}")
        self.assertEqual(status, 1)
        self.assertIn("nothing listens", stderr)

    def test_unhealthy_on_a_503_and_says_why(self):
        server = http.server.HTTPServer(("127.0.0.1", 0), Answer503)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            status, stderr = healthcheck(f"127.0.0.1:{server.server_address[1]}")
        finally:
            server.shutdown()
            server.server_close()
        self.assertEqual(status, 1)
        self.assertIn("503", stderr)
        self.assertIn("lane 1 has been silent", stderr)

    def test_unhealthy_without_a_listener_to_probe(self):
        for listen in ("off", "127.0.0.1:0"):
            status, stderr = healthcheck(listen)
            self.assertEqual(status, 1, listen)
            self.assertIn(listen, stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conveyor", required=True, help="the conveyor binary")
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    ARGS, rest = parser.parse_known_args()
    ARGS.conveyor = os.path.abspath(ARGS.conveyor)

    def out_of_time(signum, frame):
        raise TimedOut(f"the test took over {TEST_BOUND_SECONDS}s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(TEST_BOUND_SECONDS)
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
