"""Settings of the bundled project, all from the environment (see docs/configuration.md).

With no environment at all it is the *embedded default*: SQLite in the data directory, tasks run
in the web process, a generated secret key, a local Saleor allowed to install it. Setting
``DATABASE_URL`` switches to production, where the deploy checks refuse unsafe values.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import dj_database_url

from saleor_journeys.conf import PLACEHOLDER_SECRET_KEY
from saleor_journeys.project import environment as env

DATA_DIR = env.data_dir()
EMBEDDED = not os.environ.get("DATABASE_URL")
DEBUG = env.flag("DEBUG")

DATABASES: dict[str, Any]
if EMBEDDED:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "db.sqlite3"),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
else:
    DATABASES = {
        "default": dj_database_url.parse(
            # No health-check query before each request: a connection broken by a database
            # restart fails one request (a webhook gets 503 and is retried) and is replaced.
            os.environ["DATABASE_URL"],
            conn_max_age=600,
            conn_health_checks=False,
        )
    }

SECRET_KEY = os.environ.get("SECRET_KEY") or (
    env.embedded_secret_key(DATA_DIR) if EMBEDDED else PLACEHOLDER_SECRET_KEY
)

PUBLIC_URL = os.environ.get("SALEOR_JOURNEYS_PUBLIC_URL") or None
ALLOWED_HOSTS = env.words("ALLOWED_HOSTS") or (
    ["127.0.0.1", "localhost", "[::1]"] if EMBEDDED else []
)
if PUBLIC_URL and urlsplit(PUBLIC_URL).hostname not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(urlsplit(PUBLIC_URL).hostname or "")
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL] if PUBLIC_URL else []
if env.flag("TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "graphene_django",
    "saleor_journeys",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Pages are not framed, except the app page the Saleor Dashboard shows (it opts out).
X_FRAME_OPTIONS = "DENY"
ROOT_URLCONF = "saleor_journeys.project.urls"
WSGI_APPLICATION = "saleor_journeys.project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Without a broker, tasks run in the process that queues them (the embedded default).
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep a worker's database connection between tasks (Celery closes it after each by default).
CELERY_DB_REUSE_MAX = 1000

# The collect endpoint's rate limits count in the cache: several web processes must share one
# (``redis://…``), or each would allow the full rate on its own.
if os.environ.get("CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CACHE_URL"],
        }
    }

globals().update(env.email_settings(os.environ.get("EMAIL_URL", "console://")))
# The basic-auth secret of the provider's tracking webhooks (``/anymail/<esp>/tracking/``):
# without it anyone could post fake bounces that suppress real addresses.
if os.environ.get("ANYMAIL_WEBHOOK_SECRET"):
    ANYMAIL = {
        **globals().get("ANYMAIL", {}),
        "WEBHOOK_SECRET": os.environ["ANYMAIL_WEBHOOK_SECRET"],
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "journeys@localhost")

SALEOR_JOURNEYS = {
    "PUBLIC_URL": PUBLIC_URL,
    "ALLOWED_SALEOR_API_URLS": env.words("SALEOR_JOURNEYS_ALLOWED_SALEOR_API_URLS"),
    "ALLOW_PRIVATE_SALEOR_URLS": env.flag(
        "SALEOR_JOURNEYS_ALLOW_PRIVATE_SALEOR_URLS", default=EMBEDDED or DEBUG
    ),
    "VOUCHER_CHANNEL": os.environ.get("SALEOR_JOURNEYS_VOUCHER_CHANNEL", ""),
    "IN_PROCESS_BEAT": env.flag("SALEOR_JOURNEYS_IN_PROCESS_BEAT", default=True),
    "OUTGOING_WEBHOOK_REQUIRE_HTTPS": env.flag(
        "SALEOR_JOURNEYS_OUTGOING_WEBHOOK_REQUIRE_HTTPS", default=not (EMBEDDED or DEBUG)
    ),
    "OUTGOING_WEBHOOK_ALLOWED_NETWORKS": env.words(
        "SALEOR_JOURNEYS_OUTGOING_WEBHOOK_ALLOWED_NETWORKS"
    ),
    "TWILIO_ACCOUNT_SID": os.environ.get("TWILIO_ACCOUNT_SID", ""),
    "TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN", ""),
    "TWILIO_FROM": os.environ.get("TWILIO_FROM", ""),
    "SMS_DEFAULT_REGION": os.environ.get("SALEOR_JOURNEYS_SMS_DEFAULT_REGION", ""),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per task is noise; failures are logged by the app itself.
        "celery.app.trace": {"level": "WARNING"},
    },
}
