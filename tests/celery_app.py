"""The host project's Celery app: the reusable app only defines shared tasks."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("host_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["saleor_journeys.runtime"])
