"""Due dates from the SLA of the state an event enters, in working days.

An SLA rule resolves to ``(working_days, until)``; the due date is the later of
``entered + working_days`` and ``until``, both pushed back by the holder's leave, and ``due_at``
is the end of that day in the unit's time zone (WIB/WITA/WIT).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from workflow_app.clock import ZONE_OFFSETS, end_of_local_day
from workflow_app.services import calendar


def sla_for(transition, cycle) -> dict | None:
    """The transition's SLA, overridden by the cycle's policy when it names the event."""
    policy = (cycle.sla_policy or {}).get("events", {}) if cycle is not None else {}
    return policy.get(transition.event, transition.sla)


def resolve_rule(sla: dict | None, cycle, fields: dict) -> tuple[int | None, date | None]:
    if not sla:
        return None, None
    days = sla.get("working_days", sla.get("or_working_days"))
    until = None
    if "until" in sla:
        until = getattr(cycle, sla["until"])
    if "until_field" in sla:
        value = fields.get(sla["until_field"])
        if isinstance(value, str):
            value = date.fromisoformat(value)
        until = value
    return (int(days) if days is not None else None), until


def local_date(moment: datetime, zone: str) -> date:
    return (moment + timedelta(hours=ZONE_OFFSETS[zone])).date()


def due_date(
    entered: date,
    working_days: int | None,
    until: date | None,
    cal: calendar.WorkCalendar,
) -> date | None:
    """The due date; ``cal`` carries the holder's leave as days off (the paused clock)."""
    candidates = []
    if working_days is not None:
        candidates.append(cal.add_working_days(entered, working_days))
    if until is not None:
        # A fixed date moves back by the working days of leave taken before it.
        plain = cal.without_leave()
        lost = sum(1 for d in cal.off if entered < d <= until and plain.is_working_day(d))
        candidates.append(cal.add_working_days(until, lost) if lost else until)
    return max(candidates) if candidates else None


def due_at(
    entered_at: datetime,
    zone: str,
    working_days: int | None,
    until: date | None,
    cal: calendar.WorkCalendar,
) -> datetime | None:
    day = due_date(local_date(entered_at, zone), working_days, until, cal)
    return None if day is None else end_of_local_day(day, zone)


def add_working_days(start: date, days: int) -> date:
    """Working days on the national calendar (no cycle overrides, no leave)."""
    return calendar.WorkCalendar().add_working_days(start, days)


def working_days_left(
    due_at: datetime | None, zone: str, cal: calendar.WorkCalendar, now: datetime
) -> int | None:
    """Working days from today to the due day, both in ``zone``: 0 when due today, negative when
    overdue (by that many working days), None without a due date."""
    if due_at is None:
        return None
    today, due = local_date(now, zone), local_date(due_at, zone)
    if due >= today:
        return cal.working_days_between(today, due)
    return -cal.working_days_between(due, today)
