"""Unit tests of promql_names: the reader that finds the series the deploy/ files select.

Run: python3 tests/deploy/promql_names_test.py (ctest: Deploy.PromqlNames). No server needed.
"""

import os
import unittest

import promql_names

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def names(expr):
    return [s.name for s in promql_names.selectors(expr)]


class SelectorsTest(unittest.TestCase):
    def test_functions_aggregations_and_label_lists_are_not_metrics(self):
        self.assertEqual(names('histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="1"}[5m])))'), ["a_bucket"])
        self.assertEqual(names("sum(rate(a_total[$__rate_interval])) by (job, instance) "
                               "/ on (job) group_left(version) b"), ["a_total", "b"])
        self.assertEqual(names("sum without (instance) (c)"), ["c"])
        self.assertEqual(names("time() - d"), ["d"])

    def test_keywords_numbers_durations_and_strings_are_not_metrics(self):
        self.assertEqual(names("a offset 5m > bool 1e3 and ignoring(x) c unless topk(3, d) or 0x1f"), ["a", "c", "d"])
        self.assertEqual(names('count_values("version", f)'), ["f"])
        self.assertEqual(names('label_replace(g, "dst", "$1", "src", "(.*)")'), ["g"])
        self.assertEqual(names("max_over_time(max by (shard) (h)[10m:1m] offset 20m) > Inf"), ["h"])
        self.assertEqual(names("# k is only mentioned\nl"), ["l"])

    def test_grafana_variables_are_not_metrics(self):
        self.assertEqual(names('m{job=~"$job", instance=~"${instance:regex}"} * $scale'), ["m"])

    def test_matchers_are_kept(self):
        [s] = promql_names.selectors('n_total{outcome="dead_lettered", job=~"a|b", x!="y"}')
        self.assertEqual(s.matchers, [("outcome", "=", "dead_lettered"), ("job", "=~", "a|b"), ("x", "!=", "y")])
        [s] = promql_names.selectors('{__name__="o", state="waiting"}')
        self.assertEqual((s.name, s.matchers), ("o", [("state", "=", "waiting")]))

    def test_template_queries(self):
        self.assertEqual(promql_names.template_query_exprs('label_values(p{job="x", y=~"a,b"}, instance)'),
                         ['p{job="x", y=~"a,b"}'])
        self.assertEqual(promql_names.template_query_exprs("label_values(job)"), [])
        self.assertEqual(promql_names.template_query_exprs("query_result(max(q))"), ["max(q)"])


class RuleExprsTest(unittest.TestCase):
    def test_block_quoted_and_plain_exprs(self):
        text = ("groups:\n  - name: g\n    rules:\n"
                "      - alert: A\n        expr: |\n          a\n            > 1\n        for: 1m\n"
                "      - alert: B\n        expr: 'b{x=\"y\"} == 0'\n"
                "      - record: c:rate\n        expr: rate(c_total[5m])\n")
        self.assertEqual(promql_names.rule_exprs(text),
                         [("A", "          a\n            > 1"), ("B", 'b{x="y"} == 0'), ("c:rate", "rate(c_total[5m])")])

    def test_a_plain_scalar_over_several_lines_is_refused(self):
        with self.assertRaises(ValueError):
            promql_names.rule_exprs("      - alert: A\n        expr: a >\n          1\n")


class DeployFilesTest(unittest.TestCase):
    """Every expression of the operator files names a metric, so the names test checks them all."""

    def test_every_dashboard_query_names_a_metric(self):
        exprs = promql_names.load_dashboard_exprs(os.path.join(ROOT, "deploy", "grafana", "conveyor.json"))
        self.assertGreater(len(exprs), 10)
        for where, expr in exprs:
            self.assertTrue(promql_names.selectors(expr), f"{where}: {expr}")

    def test_every_alert_rule_names_a_metric(self):
        exprs = promql_names.load_rule_exprs(os.path.join(ROOT, "deploy", "prometheus", "alerts.yml"))
        self.assertGreaterEqual(len(exprs), 5)
        for rule, expr in exprs:
            self.assertTrue(promql_names.selectors(expr), f"{rule}: {expr}")


if __name__ == "__main__":
    unittest.main()
