"""Conveyor's settings as the deploy tests read them: the keys and defaults .env.example documents
(tests/config/settings_test.cpp checks that it lists every KeySpec of src/config/settings.cpp, so it
is the machine-readable list of what a worker reads), and durations in Conveyor's format ("30s",
"100ms", "5m", "180d"; a bare number is seconds), compounds like Compose's "1m30s" included.
"""

import os
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ENV_EXAMPLE = os.path.join(ROOT, ".env.example")

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|min|s|m|h|d|)")
_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def env_example(path=ENV_EXAMPLE):
    """{KEY: default} of every KEY=value line of .env.example (values unquoted, comments dropped)."""
    settings = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = _LINE.match(line.strip())
            if not m:
                continue
            value = m.group(2)
            if value[:1] in ("'", '"'):
                value = value[1:value.index(value[0], 1)]
            else:
                value = re.sub(r"\s+#.*$", "", value).strip()
            settings[m.group(1)] = value
    return settings


def seconds(duration):
    """Seconds of a duration string; ValueError if it is not one."""
    text = str(duration).strip()
    if not text:
        raise ValueError("empty duration")
    total, at = 0.0, 0
    for m in _PART.finditer(text):
        if m.start() != at:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        at = m.end()
    if at != len(text):
        raise ValueError(f"not a duration: {duration!r}")
    return total
