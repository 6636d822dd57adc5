"""Smoke test of bench/transitions.py: a --quick run on its own PostgreSQL database.

It checks that every run completes the happy path and the result carries its ratios and goals,
never how fast anything is. PostgreSQL only (the bench's baselines are psycopg and Django).
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.slow


def _url() -> str | None:
    raw = os.environ.get("TEST_DATABASE_URL") or ""
    if not raw.startswith(("postgresql", "postgres://")):
        return None
    u = make_url(raw.replace("postgres://", "postgresql://", 1))
    return u.set(database=f"{u.database}_tbench").render_as_string(hide_password=False)


@pytest.mark.skipif(_url() is None, reason="the transitions bench runs on PostgreSQL (TEST_DATABASE_URL)")
def test_quick_transitions_bench_runs(monkeypatch):
    from bench import transitions

    monkeypatch.setenv("BENCH_DATABASE_URL", _url())
    # A browser test earlier on this xdist worker leaves Playwright's event loop running in this
    # thread; Django then refuses synchronous queries. The bench alone runs without a loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    peer = importlib.util.find_spec("django_fsm") is not None
    result = transitions.bench_transitions(quick=True, peer=peer, log=lambda _: None)
    m = result["median"]
    sizes = transitions.QUICK
    assert m["kinerja_1"]["transitions"] == sizes["serial"] * transitions.EVENTS
    assert m["raw_1"]["transitions"] == sizes["serial"] * transitions.EVENTS
    assert m["kinerja_n"]["transitions"] == sizes["concurrent"] * transitions.EVENTS
    assert result["serial"]["goal"] == transitions.GOAL_SERIAL and result["serial"]["ratio"] > 0
    if peer:
        assert m["django_n"]["transitions"] == sizes["concurrent"] * transitions.EVENTS
        assert result["concurrent"]["goal"] == transitions.GOAL_CONCURRENT
    assert result["statements"]["statements_per_transition"] <= 4
    lines = transitions.report_transitions(result)
    assert any("goal" in line for line in lines)
