"""The cycle (periode penilaian) workflow (SPEC §4), as data."""

VERSION = "2026.1"

DEFINITION = {
    "name": "cycle",
    "version": VERSION,
    "initial": "draft",
    "roles": ["hr", "system"],
    "states": [
        {"name": "draft", "holder": "hr", "label": {"id": "Draf", "en": "Draft"}},
        {"name": "planning", "holder": "hr", "label": {"id": "Perencanaan", "en": "Planning"}},
        {"name": "midyear", "holder": "hr", "label": {"id": "Tengah tahun", "en": "Mid-year"}},
        {
            "name": "assessment",
            "holder": "hr",
            "label": {"id": "Penilaian", "en": "Assessment"},
        },
        {
            "name": "closed",
            "holder": None,
            "terminal": True,
            "label": {"id": "Ditutup", "en": "Closed"},
        },
    ],
    "transitions": [
        {
            # Launching again from planning adds only employees who have no appraisal yet.
            "event": "launch",
            "source": ["draft", "planning"],
            "dest": "planning",
            "roles": ["hr"],
            "guards": ["org_chart_separates_duties"],
            "label": {"id": "Luncurkan", "en": "Launch"},
        },
        {
            "event": "open_midyear",
            "source": ["planning"],
            "dest": "midyear",
            "roles": ["hr", "system"],
            "guards": ["midyear_window_open"],
            "label": {"id": "Buka tengah tahun", "en": "Open mid-year"},
        },
        {
            "event": "open_scoring",
            "source": ["midyear"],
            "dest": "assessment",
            "roles": ["hr", "system"],
            "guards": ["scoring_window_started"],
            "label": {"id": "Buka penilaian", "en": "Open scoring"},
        },
        {
            "event": "close",
            "source": ["assessment"],
            "dest": "closed",
            "roles": ["hr"],
            "guards": ["no_open_appraisals_unless_forced"],
            "fields": ["force", "reason"],
            "label": {"id": "Tutup periode", "en": "Close cycle"},
        },
    ],
}
