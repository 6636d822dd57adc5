"""Smoke test of bench/delivery.py: a tiny run on PostgreSQL and Redis, checking counts, not speed.

It needs PostgreSQL (``TEST_DATABASE_URL``; the bench uses a database of its own beside it,
``<name>_delivery_bench``, whose schema it rebuilds) and the test session's Redis db (flushed).
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

from bench import delivery

pytestmark = pytest.mark.slow


def test_a_tiny_delivery_bench_delivers_everything_and_reports_each_goal(redis_url, monkeypatch):
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the delivery bench needs PostgreSQL (TEST_DATABASE_URL)")
    parsed = make_url("postgresql://" + url.split("://", 1)[1])
    bench_url = parsed.set(database=f"{parsed.database}_delivery_bench").render_as_string(hide_password=False)
    monkeypatch.setenv("BENCH_DATABASE_URL", bench_url)
    monkeypatch.setenv("BENCH_REDIS_URL", redis_url)

    r = delivery.bench_delivery(
        quick=True, employees=400, transitions=60, baseline=4, sustained=1.0, log=lambda _: None
    )

    assert r["in_app"]["notifications"] == r["in_app"]["rows"] == 60
    assert r["email"]["emails"] == 60
    assert r["email"]["smtp_connections"] == 1  # one email job of 60, one SMTP session
    assert r["baseline"]["emails"] == 4 and r["baseline"]["smtp_connections"] == 4
    assert r["launch"]["emails"] == r["launch"]["notifications"] >= 400
    assert r["launch"]["extrapolated"] and r["launch"]["seconds_100k"] > 0
    assert r["sustained"]["written"] > 0 and r["sustained"]["delivered_after"] <= r["sustained"]["written"]
    assert r["ratio"] > 0 and r["goal"] == 5.0
    assert set(r["met"]) == {"in_app", "email", "ratio", "launch_100k", "sustained"}
    lines = delivery.report_delivery(r)
    assert any("emails/s" in line and "≥ 5×" in line for line in lines)
    assert any("launch emails for 100,000 (extrapolated" in line for line in lines)
