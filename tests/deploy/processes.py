"""Child processes for the deploy tests that run a real worker: free 127.0.0.1 ports, waits on
conditions with deadlines (never a sleep and hope), and children in their own process groups whose
output is kept for the failure message and stopped with SIGTERM, then SIGKILL. Used by
metric_names_test.py and healthcheck_test.py; single-threaded callers (one reader thread per child).
"""

import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request


class TimedOut(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, condition, seconds):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimedOut(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.1)


class Child:
    """A child process in its own process group, its merged output read by a thread."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=env, start_new_session=True, text=True, errors="replace")
        self.lines = queue.Queue()
        self.output = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)  # end of output: the child has exited


    def line_matching(self, pattern, seconds):
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimedOut(f"{self.argv[:2]} printed no line matching {pattern!r} in {seconds}s")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"{self.argv[:2]} exited with {self.process.wait()} before printing a line "
                                     f"matching {pattern!r}")
            m = re.search(pattern, line)
            if m:
                return m

    def stop(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)


def redis_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def http_get(url):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read().decode()
