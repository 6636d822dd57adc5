"""Working days: weekends, Indonesian public holidays and cuti bersama, per-cycle overrides.

National days come from the maintained ``holidays`` package (categories ``public`` and
``government``, the latter being cuti bersama). A cycle may add or remove days in its
``sla_policy["holidays"] = {"add": [...], "remove": [...]}``. An actor's recorded leave is
passed as extra days off, which is how the SLA clock pauses during leave.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def national_holidays(year: int) -> frozenset[date]:
    days = holidays.country_holidays("ID", years=year, categories=("public", "government"))
    return frozenset(days.keys())


def expand_ranges(ranges: Iterable[tuple[date, date]]) -> frozenset[date]:
    days: set[date] = set()
    for start, end in ranges:
        current = start
        while current <= end:
            days.add(current)
            current += timedelta(days=1)
    return frozenset(days)


class WorkCalendar:
    def __init__(self, add: Iterable[date] = (), remove: Iterable[date] = (), off: Iterable[date] = ()):
        self.add = frozenset(add)
        self.remove = frozenset(remove)
        self.off = frozenset(off)

    def is_holiday(self, day: date) -> bool:
        if day in self.remove:
            return False
        return day in self.add or day in national_holidays(day.year)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day) and day not in self.off

    def without_leave(self) -> WorkCalendar:
        return WorkCalendar(self.add, self.remove)

    def add_working_days(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
        current = start
        remaining = days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def subtract_working_days(self, end: date, days: int) -> date:
        current = end
        remaining = days
        while remaining > 0:
            current -= timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``."""
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count


def _dates(values) -> set[date]:
    out = set()
    for value in values or ():
        out.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
    return out


def for_cycle(cycle, leave_days: Iterable[date] = ()) -> WorkCalendar:
    policy = (getattr(cycle, "sla_policy", None) or {}).get("holidays", {}) if cycle is not None else {}
    return WorkCalendar(_dates(policy.get("add")), _dates(policy.get("remove")), leave_days)
