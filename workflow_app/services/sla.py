"""Due dates from the SLA of the state an event enters."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from workflow_app.clock import ZONE_OFFSETS, end_of_local_day


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (weekends skipped)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def resolve_due(sla: dict | None, cycle, zone: str, now: datetime, fields: dict) -> datetime | None:
    """The ``due_at`` (naive UTC) for an SLA rule, or None when the state has no deadline."""
    if not sla:
        return None
    today = (now + timedelta(hours=ZONE_OFFSETS[zone])).date()
    candidates: list[date] = []
    if "working_days" in sla:
        candidates.append(add_working_days(today, int(sla["working_days"])))
    if "until" in sla:
        candidates.append(getattr(cycle, sla["until"]))
    if "or_working_days" in sla:
        candidates.append(add_working_days(today, int(sla["or_working_days"])))
    if "until_field" in sla:
        value = fields.get(sla["until_field"])
        if isinstance(value, date):
            candidates.append(value)
    if not candidates:
        return None
    return end_of_local_day(max(candidates), zone)


def sla_for(transition, cycle) -> dict | None:
    """The transition's SLA, overridden by the cycle's policy when it names the event."""
    policy = (cycle.sla_policy or {}).get("events", {}) if cycle is not None else {}
    return policy.get(transition.event, transition.sla)
