"""The host project's Celery app: the reusable app only defines shared tasks."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("host_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["saleor_journeys.runtime"])

# Tests that kill a worker make Redis hand its unacknowledged messages to the next worker within
# seconds instead of an hour, and have that worker look for them every second.
if os.environ.get("TEST_CELERY_VISIBILITY_TIMEOUT"):
    app.conf.broker_transport_options = {
        "visibility_timeout": float(os.environ["TEST_CELERY_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
