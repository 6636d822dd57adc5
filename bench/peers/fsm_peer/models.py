"""The peer's models: the appraisal workflow's happy path as django-fsm-2 ``@transition`` methods.

Like Kinerja's, each transition checks the caller's version under a row lock, checks guards
that read the plan (conditions), moves the state, sets the deadline and the effect's columns,
and writes an HMAC-chained log row (the chain's head on the row) and an outbox row.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django_fsm import FSMField, transition

BERAKHLAK = 7


def plan_complete(a) -> bool:
    items = list(a.items.all())
    behaviours = a.behaviours.filter(expectation__gt="").count()
    return (
        any(i.kind == "utama" for i in items)
        and all(i.indicator and i.target_value for i in items)
        and behaviours == BERAKHLAK
    )


def midyear_recorded(a) -> bool:
    return all(i.midyear_realisation for i in a.items.all() if i.kind == "utama")


def final_recorded(a) -> bool:
    return all(i.final_realisation for i in a.items.all())


def window_open(a) -> bool:
    return a.cycle.scoring_start <= a.now.date() <= a.cycle.scoring_end


def midyear_open(a) -> bool:
    return a.now.date() >= a.cycle.midyear_start


def closable(a) -> bool:
    return a.result_accepted_at is not None and a.predikat in ("baik", "sangat_baik")


class Cycle(models.Model):
    name = models.CharField(max_length=200)
    midyear_start = models.DateField()
    scoring_start = models.DateField()
    scoring_end = models.DateField()

    class Meta:
        app_label = "fsm_peer"


class Appraisal(models.Model):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE)
    employee_name = models.CharField(max_length=200)
    state = FSMField(default="plan_drafted", protected=False)
    version = models.IntegerField(default=1)
    state_entered_at = models.DateTimeField(null=True)
    due_at = models.DateTimeField(null=True)
    escalation_level = models.IntegerField(default=0)
    reminder_sent_at = models.DateTimeField(null=True)
    rating_hasil_kerja = models.CharField(max_length=10, null=True)
    rating_perilaku = models.CharField(max_length=10, null=True)
    predikat = models.CharField(max_length=20, null=True)
    scored_at = models.DateTimeField(null=True)
    midyear_feedback = models.TextField(null=True)
    feedback = models.TextField(null=True)
    result_accepted_at = models.DateTimeField(null=True)
    log_seq = models.IntegerField(default=0)
    log_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        app_label = "fsm_peer"

    now = None  # set by the caller before a transition

    def _enter(self, days: int) -> None:
        self.state_entered_at = self.now
        self.due_at = self.now + timedelta(days=days)
        self.escalation_level = 0
        self.reminder_sent_at = None

    @transition(field=state, source="plan_drafted", target="plan_submitted", conditions=[plan_complete])
    def submit_plan(self, **fields):
        self._enter(7)

    @transition(field=state, source="plan_submitted", target="plan_approved")
    def approve_plan(self, **fields):
        self._enter(30)

    @transition(field=state, source="plan_approved", target="midyear_review", conditions=[midyear_open])
    def open_midyear_review(self, **fields):
        self._enter(30)

    @transition(field=state, source="midyear_review", target="final_review", conditions=[midyear_recorded])
    def complete_midyear_review(self, feedback, **fields):
        self.midyear_feedback = feedback
        self._enter(30)

    @transition(field=state, source="final_review", target="scored", conditions=[window_open, final_recorded])
    def score(self, rating_hasil_kerja, rating_perilaku, **fields):
        self.rating_hasil_kerja, self.rating_perilaku = rating_hasil_kerja, rating_perilaku
        self.predikat = "baik"
        self.scored_at = self.now
        self._enter(7)

    @transition(field=state, source="scored", target="feedback_given")
    def give_feedback(self, feedback, **fields):
        self.feedback = feedback
        self._enter(14)

    @transition(field=state, source="feedback_given", target="feedback_given")
    def accept_result(self, **fields):
        self.result_accepted_at = self.now

    @transition(field=state, source="feedback_given", target="closed", conditions=[closable])
    def close(self, **fields):
        self.state_entered_at = self.now
        self.due_at = None


class PlanItem(models.Model):
    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=10)
    rhk = models.TextField()
    indicator = models.TextField(null=True)
    target_value = models.CharField(max_length=60, null=True)
    midyear_realisation = models.TextField(null=True)
    final_realisation = models.TextField(null=True)

    class Meta:
        app_label = "fsm_peer"


class Behaviour(models.Model):
    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="behaviours")
    value = models.CharField(max_length=30)
    expectation = models.TextField()

    class Meta:
        app_label = "fsm_peer"


class TransitionLog(models.Model):
    entity_id = models.IntegerField()
    seq = models.IntegerField()
    event = models.CharField(max_length=40)
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    actor_user_id = models.IntegerField(null=True)
    actor_role = models.CharField(max_length=10)
    comment = models.TextField(null=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        app_label = "fsm_peer"
        constraints = [models.UniqueConstraint(fields=["entity_id", "seq"], name="peer_log_entity_seq")]


class Outbox(models.Model):
    topic = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, default="pending")
    available_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        app_label = "fsm_peer"
