"""Scoring schemes. Each appraisal records the scheme and rule version it was scored under."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

RATINGS = ("di_bawah", "sesuai", "di_atas")
PREDIKATS = ("sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang")
# Below Baik, development (training) is mandatory before an appraisal can close.
TRAINING_REQUIRED = frozenset({"butuh_perbaikan", "kurang", "sangat_kurang"})
# The rest may close without training (and the sweep closes them once objections are spent).
NO_TRAINING_PREDIKATS = tuple(p for p in PREDIKATS if p not in TRAINING_REQUIRED)

# PermenPANRB 6/2022 quadrant matrix: (rating hasil kerja, rating perilaku kerja) -> predikat.
MATRIX_6_2022 = {
    ("di_atas", "di_bawah"): "kurang",
    ("di_atas", "sesuai"): "baik",
    ("di_atas", "di_atas"): "sangat_baik",
    ("sesuai", "di_bawah"): "kurang",
    ("sesuai", "sesuai"): "baik",
    ("sesuai", "di_atas"): "baik",
    ("di_bawah", "di_bawah"): "sangat_kurang",
    ("di_bawah", "sesuai"): "butuh_perbaikan",
    ("di_bawah", "di_atas"): "butuh_perbaikan",
}

PREDIKAT_LABELS = {
    "sangat_baik": {"id": "Sangat Baik", "en": "Very good"},
    "baik": {"id": "Baik", "en": "Good"},
    "butuh_perbaikan": {"id": "Butuh Perbaikan", "en": "Needs improvement"},
    "kurang": {"id": "Kurang/Misconduct", "en": "Poor/Misconduct"},
    "sangat_kurang": {"id": "Sangat Kurang", "en": "Very poor"},
}


@dataclass(frozen=True)
class Scheme:
    name: str
    version: str
    predikat: Callable[[str, str], str]


def _predikat_6_2022(hasil_kerja: str, perilaku: str) -> str:
    try:
        return MATRIX_6_2022[(hasil_kerja, perilaku)]
    except KeyError:
        raise ValueError(f"unknown ratings {hasil_kerja!r}, {perilaku!r}") from None


SCHEMES = {
    "permenpanrb_6_2022": Scheme("permenpanrb_6_2022", "2022.1", _predikat_6_2022),
}
DEFAULT_SCHEME = "permenpanrb_6_2022"


def scheme(name: str) -> Scheme:
    return SCHEMES[name]


def training_required(predikat: str | None) -> bool:
    return predikat in TRAINING_REQUIRED


def is_extreme(rating: str | None) -> bool:
    return rating in ("di_atas", "di_bawah")
