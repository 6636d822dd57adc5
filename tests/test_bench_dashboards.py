"""Smoke test of bench/dashboards.py: benchmark 2 alone on a temporary SQLite database.

It checks that the benchmark runs and that its cross-checks hold (the service's summary and
stuck page equal the one GROUP BY, the top-50 and the naive footnote), never how fast it is.
"""

from __future__ import annotations

import pytest

from bench import dashboards, run

pytestmark = pytest.mark.slow


def test_dashboards_bench_runs_and_agrees(tmp_path):
    from workflow_app import create_app
    from workflow_app.extensions import db

    url = f"sqlite:///{tmp_path}/bench-dashboards.db"
    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "", "OUTBOX_KICK": False})
    with app.app_context():
        try:
            run.reset_schema()
            org = run.build_org(600)
            cycle = run.make_cycle(org["root_id"], "Smoke")
            assert run.fire_launch(run.hr_actor(org["root_path"]), cycle) == 600
            result = dashboards.bench_dashboards(org, 1, lambda _m: None)
        finally:
            db.session.remove()
            db.engine.dispose()

    assert result["appraisals"] == 600
    assert result["naive_skipped"] is False
    summary, stuck = result["summary"], result["stuck"]
    assert summary["total"] == 600 and sum(summary["ageing_days"].values()) == summary["open"]
    assert 0 < stuck["total"] == stuck["total_exact"] and stuck["page_size"] == run.PER_PAGE
    for d in (summary, stuck):
        assert d["service"]["p95"] >= d["service"]["seconds"] > 0
        assert d["baseline"]["seconds"] > 0 and d["ratio"] > 0
        assert d["goal"]["p95_seconds"] == 0.1 and isinstance(d["met"], bool)
        assert d["ratio_time"] > 0
    lines = dashboards.report_dashboards(result)
    assert any("monitoring summary" in line and "GROUP BY" in line for line in lines)
    assert any("stuck list, page 1" in line for line in lines)
    assert "(service and naive agree)" in lines[-1]
