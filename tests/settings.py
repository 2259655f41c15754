"""A host project that installs the app the way a shop's own Django project would."""

import os

import dj_database_url

SECRET_KEY = "tests-only-secret-key-tests-only-secret-key-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "graphene_django",
    "saleor_journeys",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "tests.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/saleor_journeys")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The browser tests' live server serves static files under this prefix (the app has none).
STATIC_URL = "/static/"

# The host's own Celery app (tests/celery_app.py); tasks run in process unless a test starts a
# real worker against Redis.
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
CELERY_TASK_ALWAYS_EAGER = os.environ.get("TEST_CELERY_EAGER", "1") == "1"
CELERY_TASK_IGNORE_RESULT = True

SALEOR_JOURNEYS = {
    "ALLOW_PRIVATE_SALEOR_URLS": True,
    "SALEOR_HTTP_TIMEOUT": 2.0,
    "WEBHOOK_LOCK_TIMEOUT_MS": 300,
    # The integration tests' worker sweeps at once instead of leaving tasks their grace time.
    "SWEEP_GRACE": int(os.environ.get("TEST_SWEEP_GRACE", "15")),
}
