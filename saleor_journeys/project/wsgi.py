import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_journeys.project.settings")

from saleor_journeys.project.celery import app as celery_app  # noqa: F401  (queues tasks)

application = get_wsgi_application()
