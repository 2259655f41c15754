"""Settings of the baseline: Django with no apps, one database, nothing the view does not need.

The database connection is configured like the app's bundled project (persistent connections
without a health-check query per request), so the two differ in what their request paths do,
not in how they connect.
"""

from __future__ import annotations

import os

import dj_database_url

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1").split(",")]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ["BASELINE_DATABASE_URL"], conn_max_age=600, conn_health_checks=False
    )
}

INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "baseline.urls"
WSGI_APPLICATION = "baseline.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
