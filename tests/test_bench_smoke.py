"""Smoke test of bench/: a --quick run on its own temporary SQLite database.

It checks that the benchmark produces sane results, never how fast anything is: speed and memory
are reported by ``make bench`` as ratios against a baseline measured in the same run.
"""

from __future__ import annotations

import json

import pytest

from bench import run as bench

pytestmark = pytest.mark.slow


def test_quick_bench_runs_and_counts_right(tmp_path, capsys):
    out = tmp_path / "bench.json"

    # Not the `app` fixtures' database: the bench makes and removes its own temp SQLite file.
    assert bench.main(["--quick", "--db", "sqlite", "--repeat", "1", "--json", str(out)]) == 0

    results = json.loads(out.read_text())
    n = bench.QUICK_EMPLOYEES
    meta, launch, dash = results["meta"], results["launch"], results["dashboards"]
    assert meta["employees"] == n
    assert meta["db"]["dialect"] == "sqlite"
    assert meta["machine"]["cpu_count"] >= 1

    assert results["setup"]["employees_inactive"] > 0  # present, and skipped by launch
    assert launch["bulk"]["created"] == n
    assert launch["relaunch"]["created"] == 0
    assert launch["naive"]["created"] == min(n, bench.QUICK_NAIVE_SAMPLE)
    for key in ("bulk", "relaunch", "naive"):
        assert launch[key]["seconds"] > 0
        assert launch[key]["tracemalloc_peak"] > 0
    assert launch["ratio_time_per_row"] > 0

    assert dash["appraisals"] == n
    summary = dash["summary"]
    assert summary["total"] == n
    assert sum(summary["by_state"].values()) == n
    assert 0 < summary["overdue"] <= summary["open"] < n
    assert sum(summary["ageing_days"].values()) == summary["open"]
    assert summary["units"] == results["setup"]["units"]  # every unit has at least its head
    assert 0 < dash["stuck"]["total"] <= summary["open"]
    assert dash["stuck"]["page_size"] == bench.PER_PAGE
    for key in ("summary", "stuck"):
        assert dash[key]["ratio_time"] > 0
        assert dash[key]["ratio_tracemalloc"] > 0

    sweep = results["sweep"]
    assert sweep["appraisals"] == n
    assert sweep["due"]["rows"] >= 1
    for key in ("none_due", "due"):
        assert sweep[key]["ratio_time"] > 0

    printed = capsys.readouterr().out
    assert "launch: bulk INSERT" in printed and "service and naive agree" in printed
    assert "sweep, nothing due" in printed and "UPDATE … RETURNING" in printed
