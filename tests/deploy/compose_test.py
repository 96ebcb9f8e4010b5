"""docker-compose.yml runs the old design's services with Conveyor, configured from .env as before.

No container runs here (no cgroups), so this checks the file as Compose reads it: the services and
their profiles (redis and worker by default, partner and publisher under demo, the SQS emulator
under sqs), Redis with AOF on a named volume, a worker that `--scale worker=N` can replicate (no
container_name, no host port) and that is given longer than its drain to stop, every key of
.env.example reaching the worker (and the publisher) through env_file or environment, overrides
that point at Compose's own services, and the fauxqs the tests pin. Run: python3
tests/deploy/compose_test.py (ctest: Deploy.Compose).
"""

import json
import os
import unittest
from urllib.parse import urlsplit

import yaml

from settings_reference import ROOT, env_example, seconds

COMPOSE = os.path.join(ROOT, "docker-compose.yml")
FAUXQS_VERSION = "1.9.2"  # tools/fauxqs/package.json pins the tests' emulator to it
CONVEYOR_SERVICES = ("worker", "partner", "publisher")


def env_files(service):
    """The paths of a service's env_file, whichever of Compose's spellings it uses."""
    value = service.get("env_file", [])
    entries = value if isinstance(value, list) else [value]
    return [e if isinstance(e, str) else e["path"] for e in entries]


def environment(service):
    """A service's `environment:` as a dict, from either the mapping or the list form."""
    value = service.get("environment", {})
    if isinstance(value, dict):
        return {k: "" if v is None else str(v) for k, v in value.items()}
    return dict(item.split("=", 1) if "=" in item else (item, "") for item in value)


def keys_reaching(service):
    """The keys a container of the service gets: a `.env` env_file gives every key .env.example lists
    (.env is a copy of it), and `environment:` adds its own."""
    keys = set(environment(service))
    if any(os.path.normpath(path) == ".env" for path in env_files(service)):
        keys |= set(env_example())
    return keys


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(COMPOSE, encoding="utf-8") as f:
            cls.compose = yaml.safe_load(f)
        cls.services = cls.compose["services"]
        cls.settings = env_example()

    def test_the_services_and_their_profiles(self):
        self.assertEqual(set(self.services), {"redis", "worker", "partner", "publisher", "sqs"})
        profiles = {name: s.get("profiles", []) for name, s in self.services.items()}
        self.assertEqual(profiles["redis"], [], "redis starts with a plain `docker compose up`")
        self.assertEqual(profiles["worker"], [], "the worker starts with a plain `docker compose up`")
        self.assertEqual(profiles["partner"], ["demo"])
        self.assertEqual(profiles["publisher"], ["demo"])
        self.assertEqual(profiles["sqs"], ["sqs"])

    def test_redis_keeps_the_queue_in_an_append_only_file_on_a_named_volume(self):
        redis = self.services["redis"]
        command = redis["command"] if isinstance(redis["command"], list) else redis["command"].split()
        self.assertIn("--appendonly", command)
        self.assertEqual(command[command.index("--appendonly") + 1], "yes")
        data = [v for v in redis.get("volumes", []) if (v.split(":")[1] if isinstance(v, str) else v["target"]) == "/data"]
        self.assertEqual(len(data), 1, "redis keeps /data (its AOF) on a volume")
        source = data[0].split(":")[0] if isinstance(data[0], str) else data[0]["source"]
        self.assertIn(source, self.compose.get("volumes") or {}, f"{source} is not a named volume")
        self.assertIn("test", redis.get("healthcheck", {}), "the worker waits for redis to be healthy")

    def test_the_worker_scales(self):
        worker = self.services["worker"]
        for fixed in ("container_name", "hostname", "ports"):
            self.assertNotIn(fixed, worker, f"`--scale worker=N` needs no fixed {fixed}")
        self.assertEqual(worker.get("build"), ".", "the worker runs the image of the repository's Dockerfile")
        self.assertEqual(worker["command"], ["work"])
        self.assertFalse(worker.get("healthcheck", {}).get("disable"), "the image's HEALTHCHECK probes the worker")
        self.assertEqual(worker["depends_on"]["redis"]["condition"], "service_healthy")

    def test_the_worker_has_longer_than_the_drain_to_stop(self):
        grace = seconds(self.services["worker"].get("stop_grace_period", "10s"))  # Docker's default
        # SHUTDOWN_TIMEOUT for calls in flight, and on SQS the long polls under way (docs/reliability.md).
        drain = seconds(self.settings["SHUTDOWN_TIMEOUT"]) + seconds(self.settings["SQS_WAIT_TIME"])
        self.assertGreater(grace, drain, "SIGKILL would cut the drain short: in-flight calls would be retried")

    def test_every_env_key_reaches_the_conveyor_services(self):
        for name in ("worker", "publisher"):
            missing = set(self.settings) - keys_reaching(self.services[name])
            self.assertEqual(missing, set(), f"{name} never sees these .env keys")

    def test_overrides_are_known_keys(self):
        for name in CONVEYOR_SERVICES:
            unknown = set(environment(self.services[name])) - set(self.settings)
            self.assertEqual(unknown, set(), f"{name}: not a Conveyor setting (a typo?)")

    def test_overrides_point_at_composes_own_services(self):
        for name in ("worker", "publisher"):
            url = urlsplit(environment(self.services[name]).get("REDIS_URL", ""))
            self.assertEqual(url.hostname, "redis", f"{name} reaches the redis service")
            self.assertEqual(url.port or 6379, 6379)
            depends = self.services[name].get("depends_on", {})
            self.assertIn("redis", depends if isinstance(depends, (dict, list)) else [])

    def test_the_partner_is_reachable_from_the_worker(self):
        command = self.services["partner"]["command"]
        self.assertEqual(command[0], "partner")
        listen = command[command.index("--listen") + 1]
        self.assertEqual(listen.rsplit(":", 1)[0], "0.0.0.0", "the simulator must listen beyond its loopback")
        self.assertTrue(self.services["partner"].get("healthcheck", {}).get("disable"),
                        "the image's check probes a worker's admin listener, which the simulator has not")
        self.assertEqual(self.services["publisher"]["command"][0], "publish")
        self.assertEqual(self.services["publisher"].get("restart"), "no", "the publisher runs once")

    def test_the_sqs_emulator_is_the_tests_fauxqs(self):
        sqs = self.services["sqs"]
        self.assertTrue(sqs["image"].startswith("node:"), sqs["image"])
        mounts = {v.split(":")[1]: v.split(":")[0] for v in sqs["volumes"]}
        package = mounts[os.path.join(sqs["working_dir"], "package.json")]
        self.assertEqual(os.path.normpath(package), os.path.join("tools", "fauxqs", "package.json"))
        with open(os.path.join(ROOT, package), encoding="utf-8") as f:
            self.assertEqual(json.load(f)["dependencies"]["fauxqs"], FAUXQS_VERSION)
        self.assertIn(os.path.join(sqs["working_dir"], "package-lock.json"), mounts, "installed from the lock file")
        self.assertIn("npm ci", " ".join(sqs["command"]))
        self.assertIn("test", sqs.get("healthcheck", {}))
        with open(os.path.join(ROOT, mounts[sqs["environment"]["FAUXQS_INIT"]]), encoding="utf-8") as f:
            queues = {q["name"] for q in json.load(f)["queues"]}
        channel = self.settings["CHANNEL_NAME"]
        self.assertEqual(queues, {channel, f"{channel}-dead"}, "the queue and its dead-letter queue exist at start")

    def test_every_bind_mount_and_env_file_exists(self):
        for name, service in self.services.items():
            for volume in service.get("volumes", []):
                source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
                if source.startswith("."):
                    self.assertTrue(os.path.exists(os.path.join(ROOT, source)), f"{name}: {source} is missing")
            for path in env_files(service):
                if path != ".env":  # the operator's copy of .env.example, never committed
                    self.assertTrue(os.path.exists(os.path.join(ROOT, path)), f"{name}: {path} is missing")


if __name__ == "__main__":
    unittest.main()
