"""The emotion analysis job: takes a snapshot id, is idempotent (only a pending snapshot is
analysed), acknowledged late and retried with backoff on storage errors.

Celery autodiscovery imports ``<app>.tasks`` only: workers need ``import wellness.tasks_emotion``
in wellness/tasks.py (or CELERY_IMPORTS) to know this task.
"""

from celery import Task, shared_task

from wellness import snapshots


class _AnalyzeTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # Out of retries (or an unexpected error): never leave the patient's page polling forever.
        snapshot_id = args[0] if args else kwargs.get("snapshot_id")
        if snapshot_id:
            snapshots.emotion_snapshot_fail(snapshot_id=snapshot_id, error="The analysis could not be completed.")


@shared_task(base=_AnalyzeTask, name="wellness.tasks_emotion.analyze_snapshot", acks_late=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=60, retry_kwargs={"max_retries": 4})
def analyze_snapshot(snapshot_id: str) -> str | None:
    snapshot = snapshots.emotion_snapshot_analyze(snapshot_id=snapshot_id)
    return snapshot.status if snapshot is not None else None
