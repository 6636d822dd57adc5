"""What each notification says, in Bahasa Indonesia and English, and who gets it.

``RULES`` is the notification table (docs/notifications.md is generated from it): for each
appraisal event, the kind of notification and the recipients, named as relations to the
appraisal. ``urgent=False`` items may wait for a recipient's daily digest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    urgent: bool
    subject: dict
    body: dict


def _k(name, urgent, subject_id, subject_en, body_id, body_en) -> Kind:
    return Kind(name, urgent, {"id": subject_id, "en": subject_en}, {"id": body_id, "en": body_en})


KINDS = {
    k.name: k
    for k in (
        _k(
            "plan_submitted",
            True,
            "SKP {employee} menunggu persetujuan Anda",
            "{employee}'s performance plan awaits your approval",
            "{employee} telah mengajukan SKP periode {cycle}. Mohon tinjau dan setujui atau kembalikan sebelum {due}.",
            "{employee} submitted their performance plan for {cycle}. Please approve or return it before {due}.",
        ),
        _k(
            "plan_returned",
            True,
            "SKP Anda dikembalikan untuk diperbaiki",
            "Your performance plan was returned for changes",
            "{actor} mengembalikan SKP Anda dengan catatan: {comment}. Perbaiki dan ajukan kembali sebelum {due}.",
            "{actor} returned your plan with this note: {comment}. Please revise and resubmit before {due}.",
        ),
        _k(
            "plan_approved",
            True,
            "SKP Anda telah disetujui",
            "Your performance plan was approved",
            "{actor} telah menyetujui SKP Anda untuk periode {cycle}.",
            "{actor} approved your performance plan for {cycle}.",
        ),
        _k(
            "plan_revision",
            True,
            "SKP Anda perlu direvisi",
            "Your performance plan needs a revision",
            "SKP Anda dibuka kembali untuk revisi. Alasan: {comment}. Batas waktu: {due}.",
            "Your plan was reopened for revision. Reason: {comment}. Due: {due}.",
        ),
        _k(
            "midyear_opened",
            False,
            "Evaluasi tengah tahun dibuka",
            "Mid-year review is open",
            "Evaluasi tengah tahun untuk SKP {employee} telah dibuka. Catat realisasi dan bukti dukung sebelum {due}.",
            "The mid-year review of {employee}'s plan is open. Record progress and evidence before {due}.",
        ),
        _k(
            "midyear_completed",
            False,
            "Evaluasi tengah tahun selesai",
            "Mid-year review completed",
            "{actor} telah menyelesaikan evaluasi tengah tahun Anda. Umpan balik: {comment}",
            "{actor} completed your mid-year review. Feedback: {comment}",
        ),
        _k(
            "scored",
            True,
            "Hasil penilaian kinerja Anda: {predikat}",
            "Your performance result: {predikat}",
            "{actor} telah menilai kinerja Anda dengan predikat {predikat}. Anda dapat mengajukan keberatan dalam 14 hari.",
            "{actor} scored your performance as {predikat}. You may file an objection within 14 days.",
        ),
        _k(
            "feedback_given",
            True,
            "Umpan balik kinerja dari {actor}",
            "Performance feedback from {actor}",
            "{actor} memberikan umpan balik atas kinerja Anda: {comment}",
            "{actor} gave feedback on your performance: {comment}",
        ),
        _k(
            "training_assigned",
            True,
            "Pengembangan kompetensi ditetapkan untuk Anda",
            "Training has been assigned to you",
            "Anda ditugaskan mengikuti pengembangan kompetensi ({hours} JP). Selesaikan sebelum {due}.",
            "You have been assigned training ({hours} JP). Complete it before {due}.",
        ),
        _k(
            "closed",
            False,
            "Penilaian kinerja Anda telah ditutup",
            "Your appraisal is closed",
            "Penilaian kinerja periode {cycle} telah selesai dengan predikat {predikat}.",
            "Your appraisal for {cycle} is closed with the result {predikat}.",
        ),
        _k(
            "objection_filed",
            True,
            "Keberatan dari {employee} menunggu keputusan Anda",
            "An objection from {employee} awaits your decision",
            "{employee} mengajukan keberatan atas penilaian kinerjanya. Alasan: {comment}. Putuskan sebelum {due}.",
            "{employee} objected to their score. Reason: {comment}. Please decide before {due}.",
        ),
        _k(
            "objection_resolved",
            True,
            "Keberatan atas penilaian {employee} telah diputuskan",
            "The objection to {employee}'s score was decided",
            "{actor} memutuskan keberatan: {decision}. Predikat: {predikat}. Pertimbangan: {comment}",
            "{actor} decided the objection: {decision}. Result: {predikat}. Reasoning: {comment}",
        ),
        _k(
            "cancelled",
            True,
            "Penilaian kinerja {employee} dibatalkan",
            "{employee}'s appraisal was cancelled",
            "Penilaian kinerja ini dibatalkan oleh {actor}. Alasan: {comment}",
            "This appraisal was cancelled by {actor}. Reason: {comment}",
        ),
        _k(
            "reopened",
            True,
            "Penilaian kinerja {employee} dibuka kembali",
            "{employee}'s appraisal was reopened",
            "{actor} membuka kembali penilaian ini. Alasan: {comment}. Batas waktu: {due}.",
            "{actor} reopened this appraisal. Reason: {comment}. Due: {due}.",
        ),
        _k(
            "cycle_launched",
            False,
            "Periode penilaian {cycle} dimulai",
            "Appraisal cycle {cycle} has started",
            "Periode penilaian {cycle} telah dimulai. Susun dan ajukan SKP Anda sebelum {due}.",
            "The appraisal cycle {cycle} has started. Draft and submit your plan before {due}.",
        ),
        _k(
            "reminder",
            True,
            "Pengingat: {task} jatuh tempo {due}",
            "Reminder: {task} is due {due}",
            "Tugas Anda atas penilaian {employee} ({task}) jatuh tempo pada {due}.",
            "Your task on {employee}'s appraisal ({task}) is due on {due}.",
        ),
        _k(
            "escalation_1",
            True,
            "Terlambat: {task} untuk {employee}",
            "Overdue: {task} for {employee}",
            "Tugas {holder} atas penilaian {employee} ({task}) melewati batas waktu {due}.",
            "{holder}'s task on {employee}'s appraisal ({task}) passed its due date {due}.",
        ),
        _k(
            "escalation_2",
            True,
            "Eskalasi ke pengelola kinerja: {employee}",
            "Escalated to HR: {employee}",
            "Penilaian {employee} tertahan pada {holder} ({task}) sejak {due}. Mohon tindak lanjuti.",
            "{employee}'s appraisal has been held by {holder} ({task}) since {due}. Please follow up.",
        ),
        _k(
            "reassigned",
            True,
            "Pejabat penilai untuk {employee} diganti",
            "The assessor of {employee} changed",
            "Pejabat penilai untuk {employee} diganti dari {old_assessor} menjadi {new_assessor}. Alasan: {comment}",
            "The assessor of {employee} changed from {old_assessor} to {new_assessor}. Reason: {comment}",
        ),
        _k(
            "delegation_started",
            True,
            "Anda ditunjuk sebagai {delegation_kind} untuk {delegator}",
            "You act as {delegation_kind} for {delegator}",
            "Mulai {start} sampai {end}, Anda bertindak sebagai pejabat penilai atas nama {delegator}.",
            "From {start} to {end} you act as assessor on behalf of {delegator}.",
        ),
        _k(
            "delegation_ended",
            False,
            "Penugasan {delegation_kind} untuk {delegator} berakhir",
            "Your {delegation_kind} role for {delegator} ended",
            "Penugasan Anda atas nama {delegator} telah berakhir; pekerjaan terbuka dikembalikan.",
            "Your role on behalf of {delegator} ended; open work went back to them.",
        ),
        _k(
            "digest",
            False,
            "Ringkasan harian Kinerja ({count} pemberitahuan)",
            "Kinerja daily digest ({count} notifications)",
            "Berikut pemberitahuan Anda sejak ringkasan terakhir.",
            "Here are your notifications since the last digest.",
        ),
    )
}

# appraisal event -> [(kind, recipients as relations to the appraisal)]
RULES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "submit_plan": [("plan_submitted", ("assessor",))],
    "return_plan": [("plan_returned", ("employee",))],
    "approve_plan": [("plan_approved", ("employee",))],
    "revise_plan": [("plan_revision", ("employee", "assessor"))],
    "open_midyear_review": [("midyear_opened", ("employee", "assessor"))],
    "complete_midyear_review": [("midyear_completed", ("employee",))],
    "score": [("scored", ("employee",))],
    "give_feedback": [("feedback_given", ("employee",))],
    "assign_training": [("training_assigned", ("employee",))],
    "close": [("closed", ("employee",))],
    "file_objection": [("objection_filed", ("superior",))],
    "resolve_objection": [("objection_resolved", ("employee", "assessor"))],
    "cancel": [("cancelled", ("employee", "assessor"))],
    "reopen": [("reopened", ("employee", "assessor"))],
}
# Other triggers (outbox topics) and their recipients.
OTHER_RULES = {
    "cycle.launch": ("cycle_launched", ("employee",)),
    "appraisal.reminder": ("reminder", ("holder",)),
    "appraisal.escalation_1": ("escalation_1", ("holder", "holder_superior")),
    "appraisal.escalation_2": ("escalation_2", ("hr",)),
    "appraisal.reassigned": ("reassigned", ("old_assessor", "new_assessor")),
    "delegation.started": ("delegation_started", ("delegate", "delegator")),
    "delegation.ended": ("delegation_ended", ("delegate",)),
}
