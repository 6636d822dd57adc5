"""The django-fsm-2 peer's Django app: an appraisal with an FSMField, its plan, log and outbox."""
