"""The bundled Django project behind the ``saleor-journeys`` command."""

from saleor_journeys.project.celery import app as celery_app

__all__ = ["celery_app"]
