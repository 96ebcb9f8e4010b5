"""The Dockerfile builds the Debian package with the project's own scripts and installs it on a slim
image that runs the worker safely.

No container runs here (no cgroups), so this reads the Dockerfile as BuildKit parses it
(instructions, continuation lines, stages) and checks: a build stage on debian:bookworm running
`./scripts/install-deps --build-only` then `./scripts/package` (the chroot install test's steps),
scripts that exist; a runtime stage on debian:bookworm-slim that installs the .deb scripts/package
writes with apt (which resolves its dependencies, unlike dpkg -i); a non-root numeric USER; a
HEALTHCHECK running deploy/docker/conveyor-healthcheck (tested against a worker by
healthcheck_test.py); STOPSIGNAL SIGTERM; conveyor as PID 1 (exec-form ENTRYPOINT, CMD work); and a
.dockerignore that keeps build trees, node_modules and .env out but .git in. Run: python3
tests/deploy/dockerfile_test.py (ctest: Deploy.Dockerfile).
"""

import json
import os
import re
import shlex
import unittest

from settings_reference import ROOT

DOCKERFILE = os.path.join(ROOT, "Dockerfile")
DOCKERIGNORE = os.path.join(ROOT, ".dockerignore")
# What builds the package on a bare Debian 12, in order: the chroot install test runs the same.
BUILD_STEPS = ["./scripts/install-deps --build-only", "./scripts/package"]
DEB_GLOB = "build-package/conveyor_*.deb"  # where scripts/package leaves the package
HEALTHCHECK_SCRIPT = "deploy/docker/conveyor-healthcheck"


def instructions(path):
    """[(INSTRUCTION, arguments)] with comments dropped and continuation lines joined."""
    out, pending = [], ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if pending and line.lstrip().startswith("#"):
                continue  # a comment inside a continued instruction
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            text = (pending + line).strip()
            pending = ""
            word, _, rest = text.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages(path):
    """[{"from": image, "name": alias or None, "steps": [(INSTRUCTION, arguments)]}], in order."""
    out = []
    for word, rest in instructions(path):
        if word == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            out.append({"from": m.group(1), "name": m.group(2), "steps": []})
        elif out:
            out[-1]["steps"].append((word, rest))
    return out


def run_commands(stage):
    """The shell commands of a stage's RUN instructions, split on && and ;."""
    commands = []
    for word, rest in stage["steps"]:
        if word == "RUN":
            commands += [c.strip() for c in re.split(r"&&|;", rest) if c.strip()]
    return commands


def dockerignore_matches(pattern, path):
    """Whether a .dockerignore pattern excludes path (relative to the context): Go's filepath.Match
    per path element, ** for any number of elements, and a matched directory excludes its contents."""
    regex = ""
    for part in re.split(r"(\*\*/|\*|\?)", pattern.strip("/")):
        regex += {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
    return re.fullmatch(regex + "(?:/.*)?", path) is not None


def last(stage_or_steps, instruction):
    found = [rest for word, rest in stage_or_steps if word == instruction]
    return found[-1] if found else None


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = stages(DOCKERFILE)
        cls.build, cls.runtime = cls.stages[0], cls.stages[-1]

    def test_two_stages_on_debian_12(self):
        self.assertEqual(len(self.stages), 2)
        self.assertEqual(self.build["from"], "debian:bookworm")
        self.assertEqual(self.runtime["from"], "debian:bookworm-slim")

    def test_the_build_stage_runs_the_projects_scripts_in_order(self):
        commands = run_commands(self.build)
        at = [commands.index(step) if step in commands else -1 for step in BUILD_STEPS]
        self.assertNotIn(-1, at, f"the build stage must run {BUILD_STEPS}; it runs {commands}")
        self.assertEqual(at, sorted(at), "dependencies first, then the package")
        copies = [rest for word, rest in self.build["steps"] if word == "COPY"]
        self.assertIn(". .", copies, "the whole source tree goes into the build")

    def test_the_scripts_it_runs_exist(self):
        for step in BUILD_STEPS:
            script, *flags = shlex.split(step)
            path = os.path.join(ROOT, script)
            self.assertTrue(os.access(path, os.X_OK), f"{script} is missing or not executable")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for flag in flags:
                self.assertTrue(flag in text, f"{script} knows no {flag}")

    def test_the_runtime_installs_the_package_with_apt(self):
        copies = [rest for word, rest in self.runtime["steps"] if word == "COPY"]
        deb_copy = [c for c in copies if c.startswith(f"--from={self.build['name']} ") and DEB_GLOB in c]
        self.assertEqual(len(deb_copy), 1, f"the runtime stage copies {DEB_GLOB} from the build stage")
        target = deb_copy[0].split()[-1].rstrip("/")
        commands = run_commands(self.runtime)
        self.assertIn(f"cd {target}", commands)
        installs = [c for c in commands if re.match(r"apt-get install\b", c)]
        self.assertTrue(any(re.search(r"(^|\s)\./conveyor_\*\.deb(\s|$)", c) for c in installs),
                        f"apt-get install ./conveyor_*.deb resolves the package's dependencies: {installs}")
        self.assertFalse(any(c.startswith("dpkg -i") for c in commands), "dpkg -i leaves dependencies missing")
        self.assertIn("rm -rf /var/lib/apt/lists/* /tmp/deb", commands, "the image keeps no apt lists or .deb")

    def test_it_runs_as_a_numeric_non_root_user(self):
        user = last(self.runtime["steps"], "USER")
        self.assertIsNotNone(user, "no USER: the worker would run as root")
        uid = user.split(":")[0]
        self.assertTrue(uid.isdigit(), f"USER {user}: runAsNonRoot can only verify a numeric user")
        self.assertNotEqual(int(uid), 0)
        words = [w for w, _ in self.runtime["steps"]]
        self.assertGreater(words.index("USER"), max(i for i, w in enumerate(words) if w == "RUN"),
                           "USER comes after the steps that need root")

    def test_the_healthcheck_probes_the_admin_listener(self):
        check = last(self.runtime["steps"], "HEALTHCHECK")
        self.assertIsNotNone(check, "no HEALTHCHECK")
        m = re.search(r"\bCMD\s+(.*)$", check)
        self.assertIsNotNone(m, check)
        self.assertEqual(json.loads(m.group(1)), ["conveyor-healthcheck"])
        copies = [rest.split() for word, rest in self.runtime["steps"] if word == "COPY"]
        self.assertIn([HEALTHCHECK_SCRIPT, "/usr/local/bin/conveyor-healthcheck"], copies)
        self.assertTrue(os.access(os.path.join(ROOT, HEALTHCHECK_SCRIPT), os.X_OK))
        for option in ("--interval", "--timeout", "--start-period"):
            self.assertIn(option, check)

    def test_conveyor_is_pid_1_and_stops_on_sigterm(self):
        self.assertEqual(last(self.runtime["steps"], "STOPSIGNAL"), "SIGTERM")
        # The exec (JSON) form: a shell form would make /bin/sh PID 1, which never passes SIGTERM on.
        self.assertEqual(json.loads(last(self.runtime["steps"], "ENTRYPOINT")), ["conveyor"])
        self.assertEqual(json.loads(last(self.runtime["steps"], "CMD")), ["work"])

    def test_the_build_context_leaves_out_build_trees_and_secrets(self):
        with open(DOCKERIGNORE, encoding="utf-8") as f:
            patterns = [line.strip() for line in f if line.strip() and not line.startswith("#")]

        def ignored(path):
            result = False
            for pattern in patterns:
                if dockerignore_matches(pattern.lstrip("!"), path):
                    result = not pattern.startswith("!")
            return result

        for path in ("build/conveyor", "build-package/conveyor_0.1.0_amd64.deb", "build-asan/x",
                     "tools/fauxqs/node_modules/fauxqs/package.json", ".env"):
            self.assertTrue(ignored(path), f"{path} would be sent to the build")
        for path in (".git/HEAD", "scripts/install-deps", "src/main.cpp", HEALTHCHECK_SCRIPT, "CMakeLists.txt",
                     "cmake/build_commit.cmake"):
            self.assertFalse(ignored(path), f"{path} is needed by the build")


if __name__ == "__main__":
    unittest.main()
