"""The Grafana dashboard deploy/grafana/conveyor.json imports anywhere and lays out cleanly.

No Grafana runs here, so this checks what an import relies on: a dashboard model of schema 39 whose
every query goes through the `datasource` variable (no data source uid of one installation), the
job and instance variables the panels filter on, unique panel ids and query refIds, and panels that
fit the 24-column grid without overlapping. Run: python3 tests/deploy/dashboard_test.py
(ctest: Deploy.Dashboard).
"""

import json
import os
import unittest

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "grafana", "conveyor.json")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def all_panels(panels):
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(PATH, encoding="utf-8") as f:
            cls.dashboard = json.load(f)
        cls.panels = list(all_panels(cls.dashboard["panels"]))
        cls.variables = {v["name"]: v for v in cls.dashboard["templating"]["list"]}

    def test_a_model_grafana_imports(self):
        self.assertEqual(self.dashboard["schemaVersion"], 39)
        self.assertEqual(self.dashboard["title"], "Conveyor")
        self.assertEqual(self.dashboard["uid"], "conveyor")
        self.assertNotIn("id", self.dashboard, "an exported id would overwrite another dashboard on import")

    def test_every_query_uses_the_datasource_variable(self):
        self.assertEqual(self.variables["datasource"]["type"], "datasource")
        self.assertEqual(self.variables["datasource"]["query"], "prometheus")
        for panel in self.panels:
            if panel["type"] == "row":
                continue
            self.assertEqual(panel.get("datasource"), DATASOURCE, panel["title"])
            self.assertTrue(panel.get("targets"), f'{panel["title"]} has no query')
            for target in panel["targets"]:
                self.assertEqual(target.get("datasource"), DATASOURCE, panel["title"])
        for name in ("job", "instance"):
            self.assertEqual(self.variables[name].get("datasource"), DATASOURCE, name)

    def test_panels_filter_on_job_and_instance(self):
        for panel in self.panels:
            for target in panel.get("targets", []):
                self.assertIn('job=~"$job"', target["expr"], panel["title"])

    def test_ids_and_ref_ids_are_unique(self):
        ids = [p["id"] for p in self.panels]
        self.assertEqual(len(ids), len(set(ids)))
        for panel in self.panels:
            refs = [t["refId"] for t in panel.get("targets", [])]
            self.assertEqual(len(refs), len(set(refs)), panel["title"])

    def test_panels_fit_the_grid_without_overlapping(self):
        taken = {}
        for panel in self.panels:
            g = panel["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, panel["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), taken, f'{panel["title"]} overlaps {taken.get((x, y))}')
                    taken[(x, y)] = panel["title"]


if __name__ == "__main__":
    unittest.main()
