"""deploy/kubernetes/ runs the workers with probes, a clean stop, secrets kept secret, and KEDA
autoscalers that read the queue the workers read.

No cluster runs here, so this checks the manifests as the API server and KEDA would read them:
every file parses into objects of known kinds; the Deployment takes its settings from the ConfigMap
and the Secret, probes /readyz and /healthz on the port ADMIN_LISTEN names (on a non-loopback
address, which needs ADMIN_TOKEN), and gives a pod longer than SHUTDOWN_TIMEOUT (plus SQS_WAIT_TIME,
the long polls a stopping SQS worker waits out) to stop; ADMIN_TOKEN and the other secrets appear in
Secrets only; resources, a locked-down securityContext and a scrape annotation are set; THREADS
matches the CPU limit; and every ScaledObject targets the Deployment, keeps a worker (minReplicaCount
>= 1), and watches the lists or queues CHANNEL_NAME and SHARDS name. Run: python3
tests/deploy/kubernetes_test.py (ctest: Deploy.Kubernetes).
"""

import glob
import math
import os
import re
import unittest
from urllib.parse import urlsplit

import yaml

from settings_reference import ROOT, env_example, seconds

DIRECTORY = os.path.join(ROOT, "deploy", "kubernetes")
SECRET_KEYS = {"ADMIN_TOKEN", "PARTNER_AUTHORIZATION", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
               "AWS_ACCESS_KEY_ID"}
KINDS = {"ConfigMap", "Secret", "Deployment", "ScaledObject", "TriggerAuthentication"}


def load_objects():
    """{relative path: [object, ...]} of every manifest under deploy/kubernetes/."""
    out = {}
    for path in sorted(glob.glob(os.path.join(DIRECTORY, "**", "*.yaml"), recursive=True)):
        with open(path, encoding="utf-8") as f:
            out[os.path.relpath(path, DIRECTORY)] = [d for d in yaml.safe_load_all(f) if d is not None]
    return out


def redis_lists(channel, shards):
    return [channel] if shards == 1 else [f"{channel}:{i}" for i in range(shards)]


def sqs_queues(channel, shards):
    return [channel] if shards == 1 else [f"{channel}-{i}" for i in range(shards)]


def cpu_cores(quantity):
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


class KubernetesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = load_objects()
        cls.objects = [o for objects in cls.files.values() for o in objects if o.get("kind") != "Kustomization"]
        cls.by_kind = {}
        for o in cls.objects:
            cls.by_kind.setdefault(o["kind"], []).append(o)
        [cls.deployment] = cls.by_kind["Deployment"]
        [cls.configmap] = cls.by_kind["ConfigMap"]
        cls.config = dict(env_example(), **cls.configmap["data"])  # what the worker runs with
        cls.pod = cls.deployment["spec"]["template"]["spec"]
        [cls.container] = cls.pod["containers"]

    def named(self, kind, name):
        found = [o for o in self.by_kind.get(kind, []) if o["metadata"]["name"] == name]
        self.assertEqual(len(found), 1, f"no {kind} named {name}")
        return found[0]

    def admin_port(self):
        listen = self.config["ADMIN_LISTEN"]
        host, _, port = listen.rpartition(":")
        self.assertNotIn(host.strip("[]"), ("127.0.0.1", "localhost", "::1"),
                         "the kubelet probes the pod's IP: a loopback ADMIN_LISTEN fails every probe")
        return int(port)

    def test_every_manifest_parses_into_known_kinds(self):
        self.assertTrue(self.files)
        for o in self.objects:
            self.assertIn(o["kind"], KINDS)
            self.assertTrue(o.get("apiVersion"))
            self.assertTrue(o["metadata"].get("name"))
        self.assertEqual(set(self.by_kind), KINDS)

    def test_the_kustomization_lists_the_base_manifests(self):
        with open(os.path.join(DIRECTORY, "kustomization.yaml"), encoding="utf-8") as f:
            resources = yaml.safe_load(f)["resources"]
        base = {p for p in self.files if os.path.dirname(p) == "" and p != "kustomization.yaml"}
        self.assertEqual(set(resources), base)

    def test_settings_come_from_the_configmap_and_the_secret(self):
        sources = self.container["envFrom"]
        configmaps = [s["configMapRef"]["name"] for s in sources if "configMapRef" in s]
        secrets = [s["secretRef"] for s in sources if "secretRef" in s]
        self.assertEqual(configmaps, [self.configmap["metadata"]["name"]])
        required = [s["name"] for s in secrets if not s.get("optional")]
        for name in required + configmaps:
            self.assertTrue(self.named("Secret" if name in required else "ConfigMap", name))
        self.assertIn("ADMIN_TOKEN", self.named("Secret", required[0]).get("stringData", {}))
        unknown = set(self.configmap["data"]) - set(env_example())
        self.assertEqual(unknown, set(), "ConfigMap keys Conveyor does not read (a typo?)")

    def test_the_probes_reach_the_admin_listener(self):
        port = self.admin_port()
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = self.container[probe]["httpGet"]
            self.assertEqual(get["path"], path)
            self.assertEqual(ports.get(get["port"], get["port"]), port, f"{probe} probes another port than ADMIN_LISTEN's")

    def test_a_pod_has_longer_than_the_drain_to_stop(self):
        grace = self.pod["terminationGracePeriodSeconds"]
        drain = seconds(self.config["SHUTDOWN_TIMEOUT"]) + seconds(self.config["SQS_WAIT_TIME"])
        self.assertGreater(grace, drain, "SIGKILL would cut the drain short")

    def test_secrets_live_in_secrets_only(self):
        for o in self.objects:
            if o["kind"] in ("Secret", "TriggerAuthentication"):  # the latter names a Secret's keys, no value
                continue
            text = yaml.safe_dump(o)
            for key in SECRET_KEYS:
                self.assertNotRegex(text, rf"\b{key}\b\s*:", f"{key} in the {o['kind']} {o['metadata']['name']}")
        for env in self.container.get("env", []):
            if env["name"] in SECRET_KEYS:
                self.assertIn("secretKeyRef", env.get("valueFrom", {}), f"{env['name']} as a literal value")
        self.assertTrue(any("ADMIN_TOKEN" in (s.get("stringData") or s.get("data") or {})
                            for s in self.by_kind["Secret"]))

    def test_resources_and_a_locked_down_container(self):
        resources = self.container["resources"]
        for kind in ("requests", "limits"):
            self.assertIn("cpu", resources[kind])
            self.assertIn("memory", resources[kind])
        self.assertTrue(self.pod["securityContext"]["runAsNonRoot"])
        self.assertNotEqual(self.pod["securityContext"].get("runAsUser", 0), 0)
        security = self.container["securityContext"]
        self.assertTrue(security["readOnlyRootFilesystem"])
        self.assertFalse(security["allowPrivilegeEscalation"])
        self.assertEqual(security["capabilities"]["drop"], ["ALL"])

    def test_threads_match_the_cpu_limit(self):
        threads = int(self.config["THREADS"])
        self.assertGreater(threads, 0, "THREADS=0 counts the node's cores, not the pod's CPU limit")
        self.assertLessEqual(threads, math.ceil(cpu_cores(self.container["resources"]["limits"]["cpu"])))

    def test_prometheus_finds_the_metrics(self):
        annotations = self.deployment["spec"]["template"]["metadata"].get("annotations", {})
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        self.assertEqual(annotations.get("prometheus.io/scrape"), "true")
        self.assertEqual(int(annotations["prometheus.io/port"]), self.admin_port())
        self.assertEqual(ports.get("metrics"), self.admin_port(), "a port named metrics, for a PodMonitor")

    def scaled_objects(self, trigger_type):
        found = [o for o in self.by_kind["ScaledObject"] if any(t["type"] == trigger_type for t in o["spec"]["triggers"])]
        self.assertEqual(len(found), 1, f"one ScaledObject with {trigger_type} triggers")
        return found[0]

    def test_every_scaled_object_scales_the_deployment_and_keeps_a_worker(self):
        self.assertGreaterEqual(len(self.by_kind["ScaledObject"]), 2)
        for o in self.by_kind["ScaledObject"]:
            target = o["spec"]["scaleTargetRef"]
            self.assertEqual(target["name"], self.deployment["metadata"]["name"], o["metadata"]["name"])
            self.assertEqual(target.get("kind", "Deployment"), "Deployment")
            # Redis: leases and the delayed retries are not in the list KEDA counts; Prometheus: the
            # figures come from the workers. SQS counts in-flight and delayed messages but keeps one too.
            self.assertGreaterEqual(o["spec"].get("minReplicaCount", 0), 1, o["metadata"]["name"])
        self.assertNotIn("replicas", self.deployment["spec"], "an applied replicas resets the autoscaler's count")

    def test_the_redis_triggers_watch_the_shard_lists(self):
        triggers = self.scaled_objects("redis")["spec"]["triggers"]
        expected = redis_lists(self.config["CHANNEL_NAME"], int(self.config["SHARDS"]))
        self.assertEqual(sorted(t["metadata"]["listName"] for t in triggers), sorted(expected))
        url = urlsplit(self.config["REDIS_URL"])
        database = (url.path.strip("/") or "0")
        for t in triggers:
            self.assertEqual(t["metadata"]["address"], f"{url.hostname}:{url.port or 6379}", "REDIS_URL's server")
            self.assertEqual(t["metadata"].get("databaseIndex", "0"), database, "REDIS_URL's database")
            self.assertGreater(int(t["metadata"]["listLength"]), 0)

    def test_the_sqs_triggers_watch_the_shard_queues(self):
        scaled = self.scaled_objects("aws-sqs-queue")
        triggers = scaled["spec"]["triggers"]
        expected = sqs_queues(self.config["CHANNEL_NAME"], int(self.config["SHARDS"]))
        self.assertEqual(sorted(urlsplit(t["metadata"]["queueURL"]).path.rsplit("/", 1)[-1] for t in triggers),
                         sorted(expected))
        for t in triggers:
            self.assertTrue(t["metadata"]["awsRegion"])
            self.assertEqual(t["metadata"].get("scaleOnInFlight", "true"), "true", "retries wait as in-flight messages")
            self.assertEqual(t["metadata"].get("scaleOnDelayed"), "true", "parked messages wait as delayed ones")
            auth = self.named("TriggerAuthentication", t["authenticationRef"]["name"])
            for ref in auth["spec"].get("secretTargetRef", []):
                self.assertIn(ref["key"], self.named("Secret", ref["name"])["stringData"])

    def test_the_prometheus_trigger_takes_the_max_across_workers(self):
        [trigger] = self.scaled_objects("prometheus")["spec"]["triggers"]
        query = trigger["metadata"]["query"]
        self.assertRegex(query, r"\bmax\s+by\s*\([^)]*\bshard\b[^)]*\)\s*\(\s*conveyor_queue_messages\b",
                         "every worker exports the same queue figures: max() them, never sum() the raw series")
        self.assertNotRegex(query, r"\bsum\s*(by\s*\([^)]*\))?\s*\(\s*conveyor_queue_messages\b")
        self.assertTrue(re.search(r'state=~?"[^"]*waiting', query), "the waiting messages drive it")
        self.assertEqual(trigger["metadata"].get("ignoreNullValues"), "false",
                         "no answer from Prometheus must not read as an empty queue")


if __name__ == "__main__":
    unittest.main()
