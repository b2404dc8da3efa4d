"""The Celery app for Haven: `celery -A config worker` / `celery -A config beat`.

Configuration comes from Django settings (the CELERY_* names); tasks are discovered in each
installed app's tasks.py. In embedded mode settings make tasks run eagerly in-process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("haven")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
