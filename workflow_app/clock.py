"""The service's notion of now: naive UTC datetimes everywhere in the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

# Indonesia has no daylight saving: each zone is a fixed offset.
ZONE_OFFSETS = {"WIB": 7, "WITA": 8, "WIT": 9}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def local_today(zone: str = "WIB") -> date:
    return (utcnow() + timedelta(hours=ZONE_OFFSETS[zone])).date()


def end_of_local_day(day: date, zone: str = "WIB") -> datetime:
    """The last second of ``day`` in ``zone``, as naive UTC."""
    return datetime.combine(day, time(23, 59, 59)) - timedelta(hours=ZONE_OFFSETS[zone])


def isoformat(value: datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"
