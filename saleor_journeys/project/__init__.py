"""The bundled Django project behind the ``saleor-journeys`` command.

Its Celery app (``project/celery.py``) is imported by the command and by ``wsgi.py``, not here,
so that importing a module of this package does not replace a host project's Celery app.
"""
