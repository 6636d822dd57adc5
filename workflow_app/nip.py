"""NIP (Nomor Induk Pegawai) validation: 18 digits, birth date, TMT, gender and sequence."""

from __future__ import annotations

from datetime import date

from workflow_app.i18n import N_


def validate_nip(nip: str, today: date | None = None) -> list[str]:
    """Problems with a NIP; an empty list means it is valid.

    Layout: ``YYYYMMDD`` birth date, ``YYYYMM`` TMT (start of service), one gender digit
    (1 male, 2 female) and a 3-digit sequence number (001–999).
    """
    today = today or date.today()
    # ASCII 0-9 only: str.isdigit() also takes "²", full-width and Arabic-Indic digits.
    if not isinstance(nip, str) or len(nip) != 18 or not (nip.isascii() and nip.isdigit()):
        return [N_("A NIP is exactly 18 digits (0-9).")]
    problems = []
    try:
        born = date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        born = None
        problems.append(N_("Digits 1-8 must be a valid birth date (YYYYMMDD)."))
    tmt_year, tmt_month = int(nip[8:12]), int(nip[12:14])
    if not 1 <= tmt_month <= 12:
        problems.append(N_("Digits 9-14 must be a valid TMT (YYYYMM)."))
    elif born is not None:
        if tmt_year - born.year < 17:
            problems.append(N_("The TMT must be at least 17 years after the birth date."))
        if (tmt_year, tmt_month) > (today.year + 1, 12):
            problems.append(N_("The TMT lies too far in the future."))
    if born is not None and not (1900 <= born.year <= today.year - 15):
        problems.append(N_("The birth year is out of range."))
    if nip[14] not in "12":
        problems.append(N_("Digit 15 is the gender digit: 1 or 2."))
    if nip[15:18] == "000":
        problems.append(N_("Digits 16-18 are a sequence number from 001."))
    return problems


def make_nip(born: date, tmt_year: int, tmt_month: int, gender: int, seq: int) -> str:
    """Build a NIP from its parts (for demo data and tests)."""
    return f"{born:%Y%m%d}{tmt_year:04d}{tmt_month:02d}{gender}{seq:03d}"
