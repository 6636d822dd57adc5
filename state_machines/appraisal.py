"""The appraisal workflow (SPEC §3), as data.

Roles are relations of the caller to one appraisal: ``employee`` (the appraisee), ``assessor``
(pejabat penilai kinerja), ``superior`` (atasan pejabat penilai), ``hr`` (pengelola kinerja whose
unit scope contains the appraisal) and ``system`` (scheduled jobs). ``holder`` names who the
appraisal waits on in each state; it drives task lists, stuck reports and escalations.

A ``dest`` of ``"="`` is a reflexive transition: the event is logged and its effect runs, the
state stays, and so do the state's deadline and escalation progress.

SLA forms (resolved by ``workflow_app.services.sla``):
``{"working_days": n}``, ``{"until": "<cycle date field>"}``,
``{"until": "<cycle date field>", "or_working_days": n}`` (the later of the two) and
``{"until_field": "<event field>"}``.
"""

VERSION = "2026.1"

DEFINITION = {
    "name": "appraisal",
    "version": VERSION,
    "initial": "plan_drafted",
    "roles": ["employee", "assessor", "superior", "hr", "system"],
    "states": [
        {
            "name": "plan_drafted",
            "holder": "employee",
            "label": {"id": "Penyusunan SKP", "en": "Plan drafted"},
        },
        {
            "name": "plan_submitted",
            "holder": "assessor",
            "label": {"id": "SKP diajukan", "en": "Plan submitted"},
        },
        {
            "name": "plan_approved",
            "holder": "hr",
            "label": {"id": "SKP ditetapkan", "en": "Plan approved"},
        },
        {
            "name": "midyear_review",
            "holder": "assessor",
            "label": {"id": "Evaluasi tengah tahun", "en": "Mid-year review"},
        },
        {
            "name": "final_review",
            "holder": "assessor",
            "label": {"id": "Penilaian akhir", "en": "Final review"},
        },
        {
            "name": "scored",
            "holder": "assessor",
            "label": {"id": "Sudah dinilai", "en": "Scored"},
        },
        {
            "name": "feedback_given",
            "holder": "assessor",
            "label": {"id": "Umpan balik diberikan", "en": "Feedback given"},
        },
        {
            "name": "training_assigned",
            "holder": "employee",
            "label": {"id": "Pengembangan kompetensi", "en": "Training assigned"},
        },
        {
            "name": "objection_filed",
            "holder": "superior",
            "label": {"id": "Keberatan diajukan", "en": "Objection filed"},
        },
        {
            "name": "closed",
            "holder": None,
            "terminal": True,
            "label": {"id": "Selesai", "en": "Closed"},
        },
        {
            "name": "cancelled",
            "holder": None,
            "terminal": True,
            "label": {"id": "Dibatalkan", "en": "Cancelled"},
        },
    ],
    "transitions": [
        {
            "event": "submit_plan",
            "source": ["plan_drafted"],
            "dest": "plan_submitted",
            "roles": ["employee"],
            "guards": ["plan_complete"],
            "sla": {"working_days": 5},
            "label": {"id": "Ajukan SKP", "en": "Submit plan"},
        },
        {
            "event": "return_plan",
            "source": ["plan_submitted"],
            "dest": "plan_drafted",
            "roles": ["assessor"],
            "required": ["comment"],
            "sla": {"until": "plan_due"},
            "label": {"id": "Kembalikan SKP", "en": "Return plan"},
        },
        {
            "event": "approve_plan",
            "source": ["plan_submitted"],
            "dest": "plan_approved",
            "roles": ["assessor"],
            "sla": {"until": "midyear_start"},
            "label": {"id": "Setujui SKP", "en": "Approve plan"},
        },
        {
            "event": "revise_plan",
            "source": ["plan_approved", "midyear_review"],
            "dest": "plan_drafted",
            "roles": ["assessor", "hr"],
            "required": ["reason"],
            "sla": {"until": "plan_due", "or_working_days": 10},
            "label": {"id": "Revisi SKP", "en": "Revise plan"},
        },
        {
            "event": "open_midyear_review",
            "source": ["plan_approved"],
            "dest": "midyear_review",
            "roles": ["hr", "system"],
            "guards": ["midyear_window_open"],
            "sla": {"until": "midyear_end"},
            "label": {"id": "Buka evaluasi tengah tahun", "en": "Open mid-year review"},
        },
        {
            "event": "complete_midyear_review",
            "source": ["midyear_review"],
            "dest": "final_review",
            "roles": ["assessor"],
            "guards": ["midyear_progress_recorded"],
            "required": ["feedback"],
            "sla": {"until": "scoring_end"},
            "label": {"id": "Selesaikan evaluasi tengah tahun", "en": "Complete mid-year review"},
        },
        {
            "event": "score",
            "source": ["final_review"],
            "dest": "scored",
            "roles": ["assessor"],
            "guards": ["scoring_window_open", "final_realisation_recorded", "ratings_justified"],
            "required": ["rating_hasil_kerja", "rating_perilaku"],
            "fields": ["justification"],
            "sla": {"working_days": 5},
            "label": {"id": "Beri nilai", "en": "Score"},
        },
        {
            "event": "give_feedback",
            "source": ["scored"],
            "dest": "feedback_given",
            "roles": ["assessor"],
            "required": ["feedback"],
            "sla": {"working_days": 10},
            "label": {"id": "Beri umpan balik", "en": "Give feedback"},
        },
        {
            "event": "assign_training",
            "source": ["feedback_given"],
            "dest": "training_assigned",
            "roles": ["assessor", "hr"],
            "guards": ["training_dates_in_cycle"],
            "required": ["trainings"],
            "sla": {"until": "training_due"},
            "label": {"id": "Tetapkan pengembangan kompetensi", "en": "Assign training"},
        },
        {
            "event": "close",
            "source": ["feedback_given", "training_assigned"],
            "dest": "closed",
            "roles": ["hr", "system"],
            "guards": ["closable"],
            "sla": None,
            "label": {"id": "Tutup", "en": "Close"},
        },
        {
            "event": "file_objection",
            "source": ["scored", "feedback_given", "training_assigned"],
            "dest": "objection_filed",
            "roles": ["employee"],
            "guards": ["objection_allowed"],
            "required": ["reason"],
            "sla": {"working_days": 10},
            "label": {"id": "Ajukan keberatan", "en": "File objection"},
        },
        {
            # The employee accepts the result and waives the 14-day right to object, so the
            # appraisal may close before the window ends. The state stays.
            "event": "accept_result",
            "source": ["scored", "feedback_given", "training_assigned"],
            "dest": "=",
            "roles": ["employee"],
            "guards": ["result_acceptable"],
            "sla": None,
            "label": {"id": "Terima hasil penilaian", "en": "Accept the result"},
        },
        {
            "event": "resolve_objection",
            "source": ["objection_filed"],
            "dest": "scored",
            "roles": ["superior"],
            "guards": ["objection_decision_valid"],
            "required": ["decision", "reasoning"],
            "fields": ["rating_hasil_kerja", "rating_perilaku"],
            "sla": {"working_days": 5},
            "label": {"id": "Putuskan keberatan", "en": "Resolve objection"},
        },
        {
            "event": "cancel",
            "source": "*",
            "dest": "cancelled",
            "roles": ["hr"],
            "required": ["reason"],
            "sla": None,
            "label": {"id": "Batalkan", "en": "Cancel"},
        },
        {
            "event": "reopen",
            "source": ["closed"],
            "dest": "final_review",
            "roles": ["hr"],
            "guards": ["due_date_in_cycle"],
            "required": ["reason", "due_date"],
            "sla": {"until_field": "due_date"},
            "label": {"id": "Buka kembali", "en": "Reopen"},
        },
    ],
}
