"""The scale section of the benchmark report: rendered from its data, and merged without relabelling.

Measuring it takes half an hour (``mnistlib bench --only scale``); here only what the report makes
of the committed data is checked, and that a scale-only run keeps the other sections' machine.
"""

from __future__ import annotations

import json

from mnistlib import bench
from mnistlib.bench.scale import GRADESCOPE_MB, render_scale


def test_the_report_has_a_row_per_notebook_with_its_peak_and_the_gradescope_outcome():
    data = json.loads(bench.REPORT_DATA.read_text())["scale"]
    text = "\n".join(render_scale(data))
    for assignment, row in data["containers"].items():
        line = next(line for line in text.splitlines() if line.startswith(f"| {assignment} |"))
        assert f"{row['unlimited']['peak_mb']['median']:.0f}" in line
        killed = row["gradescope default"]["oom_kills"]
        assert ("out-of-memory" in line) == bool(killed), line
    assert f"{GRADESCOPE_MB} MB" in text and data["machine"]["cpu"] in text
    assert "| one run, --jobs 2 |" in text and "3 shards at once" in text


def test_a_scale_only_run_keeps_the_machine_of_the_other_sections():
    earlier = {"machine": {"cpu": "A"}, "grading": {"x": 1.0}, "dates": {"grading": "2026-12-01"}}
    new = {"machine": {"cpu": "B"}, "scale": {"machine": {"cpu": "B"}}, "dates": {"scale": "2026-12-02"}}
    merged = bench.merge(earlier, new)
    assert merged["machine"] == {"cpu": "A"} and merged["scale"]["machine"] == {"cpu": "B"}
    assert merged["grading"] == {"x": 1.0} and merged["dates"] == {
        "grading": "2026-12-01",
        "scale": "2026-12-02",
    }
