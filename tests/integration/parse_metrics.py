#!/usr/bin/python3
"""Reads a Prometheus text exposition on stdin with the reference parser (python3-prometheus-client)
and prints its samples as JSON lines: {"name", "labels", "value", "family", "type"}.
Exits 1, saying why, if the text does not parse."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    for family in text_string_to_metric_families(sys.stdin.read()):
        for sample in family.samples:
            print(json.dumps({"name": sample.name, "labels": sample.labels, "value": sample.value,
                              "family": family.name, "type": family.type}))
except Exception as error:  # the parser raises ValueError and others on malformed input
    print(f"unparsable exposition: {error}", file=sys.stderr)
    sys.exit(1)
