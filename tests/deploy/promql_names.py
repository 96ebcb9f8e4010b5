"""The series a PromQL expression selects, and the expressions of the operator files in deploy/.

Used by the deploy tests to check that the Grafana dashboard and the alert rules name only metrics a
worker exports. Standard library only; no state, no threads.
"""

import json
import re

AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
# Followed by a parenthesised list of label names, which are not metrics.
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "offset", "bool", "inf", "nan", "atan2"}
# Series Prometheus itself writes for each target, not the worker.
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                 "scrape_samples_post_metric_relabeling", "scrape_series_added"}

_IDENT_START = re.compile(r"[A-Za-z_:]")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Selector:
    """A metric name with its label matchers, each (label, op, value)."""

    def __init__(self, name, matchers):
        self.name = name
        self.matchers = matchers

    def __repr__(self):
        inner = ", ".join(f'{label}{op}"{value}"' for label, op, value in self.matchers)
        return f"{self.name}{{{inner}}}"


def _skip_string(text, i):
    quote = text[i]
    i += 1
    while i < len(text) and text[i] != quote:
        i += 2 if text[i] == "\\" and quote != "`" else 1
    if i >= len(text):
        raise ValueError(f"unterminated string in: {text}")
    return i + 1


def _skip_balanced(text, i, open_char, close_char):
    depth = 0
    while i < len(text):
        c = text[i]
        if c in "\"'`":
            i = _skip_string(text, i)
            continue
        if c == open_char:
            depth += 1
        elif c == close_char:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced {open_char}{close_char} in: {text}")


def _skip_space(text, i):
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _matchers(text, i):
    """Parses {label op "value", ...} from text[i] == '{'; returns (matchers, index after '}')."""
    out = []
    i += 1
    while True:
        i = _skip_space(text, i)
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        if i < len(text) and text[i] == "}":
            return out, i + 1
        label = _LABEL.match(text, i)
        if not label:
            raise ValueError(f"bad label matcher at {i} in: {text}")
        i = _skip_space(text, label.end())
        op = next((o for o in ("=~", "!~", "!=", "=") if text.startswith(o, i)), None)
        if op is None:
            raise ValueError(f"bad label matcher operator at {i} in: {text}")
        i = _skip_space(text, i + len(op))
        if i >= len(text) or text[i] not in "\"'`":
            raise ValueError(f"label matcher value is not a string at {i} in: {text}")
        end = _skip_string(text, i)
        out.append((label.group(), op, text[i + 1:end - 1]))
        i = end


def selectors(expr):
    """Every series selector of a PromQL expression (Grafana's $variables allowed), in order."""
    out = []
    i = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
        elif c == "#":
            end = expr.find("\n", i)
            i = len(expr) if end < 0 else end
        elif c == "$":  # a Grafana variable: $name, ${name}, ${name:format}
            i = _skip_balanced(expr, i + 1, "{", "}") if expr.startswith("{", i + 1) else i + 1
            while i < len(expr) and (expr[i].isalnum() or expr[i] == "_"):
                i += 1
        elif c == "[":  # a range or subquery: durations and variables only
            i = _skip_balanced(expr, i, "[", "]")
        elif c == "{":  # a selector without a name: {__name__="..."}
            matchers, i = _matchers(expr, i)
            names = [v for label, op, v in matchers if label == "__name__" and op == "="]
            if names:
                out.append(Selector(names[0], [m for m in matchers if m[0] != "__name__"]))
        elif c.isdigit() or (c == "." and expr[i + 1:i + 2].isdigit()):  # a number or a duration
            while i < len(expr) and (expr[i].isalnum() or expr[i] in "._"):
                i += 1
        elif _IDENT_START.match(c):
            word = _IDENT.match(expr, i).group()
            i = _skip_space(expr, i + len(word))
            following = expr[i] if i < len(expr) else ""
            if word in LABEL_LIST_KEYWORDS:
                if following == "(":
                    i = _skip_balanced(expr, i, "(", ")")
            elif word.lower() in KEYWORDS:
                pass
            elif following == "(" or (word in AGGREGATIONS and _IDENT.match(expr, i)
                                        and _IDENT.match(expr, i).group() in ("by", "without")):
                pass  # a function or an aggregation
            else:
                matchers = []
                if following == "{":
                    matchers, i = _matchers(expr, i)
                out.append(Selector(word, matchers))
        else:
            i += 1
    return out


def _split_top_level(text):
    """Splits on commas outside brackets and strings."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c in "\"'`":
            i = _skip_string(text, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def template_query_exprs(query):
    """The PromQL inside a Grafana Prometheus variable query (label_values, query_result, metrics)."""
    query = query.strip()
    m = re.fullmatch(r"(label_values|query_result)\s*\((.*)\)", query, re.S)
    if not m:
        return []
    if m.group(1) == "query_result":
        return [m.group(2)]
    args = _split_top_level(m.group(2))
    return [args[0]] if len(args) == 2 else []  # label_values(label) alone names no metric


def dashboard_exprs(dashboard):
    """(where, expr) for every target of every panel (rows' nested panels too), every annotation
    query and every query variable of a Grafana dashboard model."""
    def all_panels(panels):
        for panel in panels:
            yield panel
            yield from all_panels(panel.get("panels", []))

    out = []
    for panel in all_panels(dashboard.get("panels", [])):
        out.extend((f'panel "{panel.get("title", "")}"', t["expr"])
                   for t in panel.get("targets", []) if isinstance(t.get("expr"), str))
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if isinstance(annotation.get("expr"), str):
            out.append((f'annotation "{annotation.get("name", "")}"', annotation["expr"]))
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query", "") if isinstance(query, dict) else (query or "")
        out.extend((f"variable ${var['name']}", e) for e in template_query_exprs(query))
    return out


def load_dashboard_exprs(path):
    with open(path, encoding="utf-8") as f:
        return dashboard_exprs(json.load(f))


def rule_exprs(text):
    """(rule name, expr) for every rule of a Prometheus rule file.

    A small reader for the YAML subset rule files use (no PyYAML in the standard library): `expr:`
    on one line, or a block scalar (`|`, `>`). A plain scalar continued on the next lines is refused
    rather than misread, and every `- alert:` / `- record:` must have exactly one expr.
    """
    lines = text.splitlines()
    out, name, i = [], None, 0
    rules = 0
    while i < len(lines):
        line = lines[i]
        rule = re.match(r"^\s*(?:-\s*)?(alert|record):\s*(\S+)", line)
        if rule:
            rules += 1
            name = rule.group(2)
        m = re.match(r"^(\s*)(?:-\s*)?expr:\s*(.*?)\s*$", line)
        if not m:
            i += 1
            continue
        indent, value = len(m.group(1)), m.group(2)
        i += 1
        if value and value[0] in "|>":
            block = []
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                block.append(lines[i])
                i += 1
            out.append((name, "\n".join(block)))
            continue
        if i < len(lines) and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > indent:
            raise ValueError(f"rule {name}: a multi-line expr must be a block scalar (expr: |)")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1].replace("''", "'") if value[0] == "'" else json.loads(value)
        out.append((name, value))
    if len(out) != rules:
        raise ValueError(f"found {len(out)} exprs for {rules} rules")
    return out


def load_rule_exprs(path):
    with open(path, encoding="utf-8") as f:
        return rule_exprs(f.read())
