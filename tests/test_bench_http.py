"""Smoke test of bench/http.py: a --quick run (gunicorn as the Dockerfile runs it, the worker).

It checks that the benchmark runs and counts right, never how fast anything is. PostgreSQL only:
it uses BENCH_HTTP_DATABASE_URL (default kinerja_http_bench) and REDIS_URL's Redis.
"""

from __future__ import annotations

import os

import pytest

from bench import http as bench_http

pytestmark = pytest.mark.slow


def test_commands_come_from_the_dockerfile_and_compose():
    web = bench_http.dockerfile_web_command()
    assert web[:2] == ["gunicorn", "wsgi:app"] and "--threads" in " ".join(web)
    moved = bench_http.with_bind(web, 1234)
    assert moved[-1] == "--bind=127.0.0.1:1234" and "0.0.0.0:8000" not in " ".join(moved)
    assert bench_http.compose_worker_command()


def test_quick_http_bench_runs(monkeypatch):
    if not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres"):
        pytest.skip("the HTTP bench runs on PostgreSQL")
    if os.environ.get("REDIS_URL"):
        monkeypatch.setenv("BENCH_HTTP_REDIS_URL", os.environ["REDIS_URL"])
    result = bench_http.bench_http(quick=True, log=lambda message: None)
    n = result["clients"] * result["appraisals_per_client"] * len(result["events"])
    assert result["http"]["count"] == n and result["in_process"]["count"] == n
    assert result["raw_sql"]["count"] == n
    assert result["ratio"]["rate_vs_in_process"] > 0 and result["ratio"]["p99_vs_raw_sql"] > 0
    assert result["http"]["pending_outbox_at_end"] >= 0
    lines = bench_http.report_http(result)
    assert any("rate, events/s" in line for line in lines)
