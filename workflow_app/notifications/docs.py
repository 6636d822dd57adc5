"""docs/notifications.md, generated from the notification rules (a test keeps them equal)."""

from __future__ import annotations

from workflow_app.notifications.catalog import KINDS, OTHER_RULES, RULES

WHO = {
    "employee": "employee (pegawai)",
    "assessor": "assessor (pejabat penilai)",
    "superior": "assessor's superior (atasan pejabat penilai)",
    "hr": "HR in scope (pengelola kinerja)",
    "holder": "whoever holds the appraisal",
    "holder_superior": "the holder's superior",
    "old_assessor": "previous assessor",
    "new_assessor": "new assessor",
    "delegate": "delegate (Plt/Plh)",
    "delegator": "delegator",
}
TRIGGERS = {
    "cycle.launch": "cycle `launch`",
    "appraisal.reminder": "reminder, 2 working days before `due_at`",
    "appraisal.escalation_1": "escalation level 1, at `due_at`",
    "appraisal.escalation_2": "escalation level 2, 5 working days after `due_at`",
    "appraisal.reassigned": "reassignment by HR",
    "delegation.started": "delegation starts",
    "delegation.ended": "delegation ends",
}


def render_notification_docs() -> str:
    lines = [
        "# Notifications",
        "",
        "Generated from `workflow_app/notifications/catalog.py` by "
        "`flask --app wsgi docs notifications`; a test keeps this file equal to the rules.",
        "",
        "Every notification is an in-app row (`GET /api/v1/notifications`) and an email in the",
        "recipient's language (Bahasa Indonesia by default, English by preference), HTML with a",
        "plain-text part and a deep link to the item. Each has a dedupe key per event and",
        "recipient, so a replayed job never sends twice. Items that are not urgent wait for the",
        "daily digest when the recipient chose it (`PATCH /api/v1/notifications/preferences`).",
        "The actor who caused an event is not notified of it. When an appraisal has no assessor",
        "or superior in the org chart, HR in scope receives what they would.",
        "",
        "| trigger | notification | recipients | urgent | subject (id) |",
        "|---|---|---|---|---|",
    ]
    for event, rules in RULES.items():
        for kind, who in rules:
            lines.append(_row(f"`{event}`", kind, who))
    for topic, (kind, who) in OTHER_RULES.items():
        lines.append(_row(TRIGGERS[topic], kind, who))
    lines += [
        "",
        "Escalations follow the ladder of SPEC §3, per state and configurable per cycle",
        '(`sla_policy.ladder = {"reminder_days_before": 2, "level2_after_days": 5}`).',
        "",
    ]
    return "\n".join(lines)


def _row(trigger: str, kind: str, who) -> str:
    k = KINDS[kind]
    recipients = ", ".join(WHO[w] for w in who)
    return f"| {trigger} | `{kind}` | {recipients} | {'yes' if k.urgent else 'no (digest)'} | {k.subject['id']} |"
