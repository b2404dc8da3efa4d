"""Nightly evaluation of the risk rules (beat: ``wellness.tasks_risk.risk_rules_evaluate``).

Idempotent — a live flag per (patient, rule) is unique in the database and closed episodes are not
suggested again — so a second beat, a retry or a late run does no harm.
"""

from celery import shared_task
from django.db import OperationalError

from wellness import risk


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=600,
             max_retries=5)
def risk_rules_evaluate(patient_ids: list[str] | None = None) -> int:
    """Suggest flags for patients whose recent check-ins match a rule; returns how many were new."""
    return len(risk.evaluate_rules(patient_ids))
