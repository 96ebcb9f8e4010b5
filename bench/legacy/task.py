"""The old design's task.py, rebuilt: the Celery app (Redis broker, no result backend, as the seed)
and push_data(p, m), which POSTs the message to the partner (TARGET_URL) with requests. Each worker
process keeps one requests.Session, so calls reuse keep-alive connections; its pool holds
LEGACY_HTTP_POOL connections (the gevent pool's concurrency, so no greenlet opens a connection
of its own per call) and reads no proxy settings from the environment per call. Each POST carries an Idempotency-Key derived from (p, m) so the partner
simulator can count delivered and duplicated messages; a call that fails raises, and Celery,
as configured by default, does not retry it: that message is lost, as in the seed.

When LEGACY_READY_FILE is set, the worker creates that file once it consumes from the broker.
"""
import hashlib
import os

import requests
from celery import Celery
from celery.signals import worker_ready

app = Celery("task", broker=os.environ["CELERY_BROKER_URL"])
app.conf.task_ignore_result = True

_session = None
_session_pid = None


def session():
    """This process's Session: prefork children each make their own after the fork."""
    global _session, _session_pid
    if _session_pid != os.getpid():
        _session = requests.Session()
        _session.trust_env = False  # no proxy or .netrc lookups in the environment on every call
        size = int(os.environ.get("LEGACY_HTTP_POOL", "1"))
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=size)
        _session.mount("http://", adapter)
        _session_pid = os.getpid()
    return _session


@app.task
def push_data(p, m):
    key = hashlib.sha1(("%s\n%s" % (p, m)).encode("utf-8")).hexdigest()
    response = session().post(os.environ["TARGET_URL"], json=dict(p=p, m=m),
                              headers={"Idempotency-Key": key}, timeout=30)
    response.raise_for_status()


# Celery keeps the app's result backend in a thread-local, which gevent's patching makes greenlet-
# local: unset, every task (a greenlet of its own) would build a backend again, reading every
# installed package's entry points each time (about 40 % of its time in a profile). No
# result is stored (task_ignore_result, no backend), so one backend serves every greenlet.
push_data.backend = app.backend


@worker_ready.connect
def _ready(**_):
    path = os.environ.get("LEGACY_READY_FILE")
    if path:
        open(path, "w").close()
