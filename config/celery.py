"""The Celery app for Haven: `celery -A config worker` / `celery -A config beat`.

Configuration comes from Django settings (the CELERY_* names); tasks are discovered in each
installed app's tasks.py. In embedded mode settings make tasks run eagerly in the web process;
a worker or beat process always sends them to the broker (below).
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("haven")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def _send_to_the_broker(**kwargs):
    """A worker or beat process queues on the broker whatever the web processes' setting: the
    embedded mode's eager default is for requests, and an eager beat would run every job inline in
    the scheduler instead of handing it to the worker (`scripts/run`, `make worker`/`make beat`)."""
    app.conf.task_always_eager = False
