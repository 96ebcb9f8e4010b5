"""Package.Install: `cmake --install BUILD --prefix DIR` puts every file the package ships under DIR
and nothing outside it, and the systemd unit it installs has the settings issue 11 asks for, with
TimeoutStopSec and LimitNOFILE that suit the defaults in .env.example. (scripts/test-package
installs the real .deb on a bare Debian 12 and runs `systemd-analyze verify` there.)

Usage: install_test.py --build BUILD_DIR --source SOURCE_DIR --configured-prefix PREFIX
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument("--build", required=True)
parser.add_argument("--source", required=True)
parser.add_argument("--configured-prefix", required=True)
args = parser.parse_args()

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def seconds(text):
    match = re.fullmatch(r"(\d+)(ms|s|min|m|h)?", text.strip())
    assert match, f"not a duration: {text!r}"
    scale = {"ms": 0.001, "s": 1, None: 1, "min": 60, "m": 60, "h": 3600}[match.group(2)]
    return int(match.group(1)) * scale


def env_example_default(key):
    with open(os.path.join(args.source, ".env.example")) as f:
        for line in f:
            if line.startswith(key + "="):
                return line.split("=", 1)[1].strip()
    raise SystemExit(f"{key} is not in .env.example")


with tempfile.TemporaryDirectory() as prefix:
    done = subprocess.run(["cmake", "--install", args.build, "--prefix", prefix], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"cmake --install failed:\n{done.stdout}{done.stderr}")
    installed = sorted(os.path.relpath(os.path.join(d, f), prefix) for d, _, files in os.walk(prefix) for f in files)
    expected = ["bin/conveyor", "etc/conveyor/conveyor.env.example", "lib/systemd/system/conveyor-work@.service",
                "share/man/man1/conveyor.1.gz"]
    check(installed == expected, f"installed {installed}, expected {expected}")
    for line in done.stdout.splitlines():
        if line.startswith("-- Installing:") or line.startswith("-- Up-to-date:"):
            path = line.split(":", 1)[1].strip()
            check(path.startswith(prefix + "/"), f"installed outside the prefix: {path}")

    version = subprocess.run([os.path.join(prefix, "bin/conveyor"), "--version"], capture_output=True, text=True)
    check(re.match(r"conveyor \d+\.\d+\.\d+ \(commit ", version.stdout) is not None,
          f"the installed conveyor --version printed {version.stdout!r}")

    unit_path = os.path.join(prefix, "lib/systemd/system/conveyor-work@.service")
    unit = {}
    with open(unit_path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")) and "=" in line:
                key, value = line.split("=", 1)
                unit.setdefault(key, []).append(value)

    def one(key):
        values = unit.get(key, [])
        check(len(values) == 1, f"{key}= appears {len(values)} times in the unit")
        return values[0] if values else ""

    for key, value in {"Restart": "on-failure", "KillSignal": "SIGTERM", "DynamicUser": "yes",
                       "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes"}.items():
        check(one(key) == value, f"{key}={one(key)!r}, expected {value!r}")
    binary = os.path.join(args.configured_prefix, "bin/conveyor")
    check(one("ExecStart").startswith(binary + " "), f"ExecStart={one('ExecStart')!r} does not run {binary}")
    sysconf = "/etc" if args.configured_prefix == "/usr" else os.path.join(args.configured_prefix, "etc")
    check(one("LoadCredential") == f"env:{sysconf}/conveyor/%i.env",
          f"instance %i must read {sysconf}/conveyor/%i.env, got LoadCredential={one('LoadCredential')!r}")
    check("--env-file ${CREDENTIALS_DIRECTORY}/env work" in one("ExecStart"), "ExecStart must read the credential")

    shutdown = seconds(env_example_default("SHUTDOWN_TIMEOUT"))
    stop = seconds(one("TimeoutStopSec"))
    check(stop >= shutdown + 10,
          f"TimeoutStopSec={stop}s leaves the default SHUTDOWN_TIMEOUT ({shutdown}s) no room to give leases back")
    concurrency = int(env_example_default("CONCURRENCY"))
    nofile = int(one("LimitNOFILE"))
    check(nofile >= 4 * concurrency, f"LimitNOFILE={nofile} is tight for the default CONCURRENCY={concurrency}")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"installed {len(expected)} files under the prefix; the unit has every setting asked for")
