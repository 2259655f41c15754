"""System checks: misconfiguration fails at start-up, not at the first webhook.

Ids are stable: ``saleor_journeys.E00x`` errors, ``saleor_journeys.W00x`` warnings.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from saleor_journeys import conf

INSECURE_SECRET_KEYS = ("", conf.PLACEHOLDER_SECRET_KEY)


def _is_http_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def _is_production() -> bool:
    engine = settings.DATABASES.get("default", {}).get("ENGINE", "")
    return not settings.DEBUG and not engine.endswith("sqlite3")


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    try:
        unknown = conf.unknown_keys()
    except Exception as exc:
        return [Error(str(exc), id="saleor_journeys.E001")]
    if unknown:
        errors.append(
            Error(
                f"Unknown keys in settings.SALEOR_JOURNEYS: {', '.join(unknown)}.",
                hint=f"Known keys: {', '.join(conf.DEFAULTS)}.",
                id="saleor_journeys.E001",
            )
        )
    public_url = conf.get("PUBLIC_URL")
    if public_url is not None and not _is_http_url(public_url):
        errors.append(
            Error(
                f"SALEOR_JOURNEYS['PUBLIC_URL'] = {public_url!r} is not an absolute http(s) URL.",
                id="saleor_journeys.E002",
            )
        )
    for path in conf.get("GRAPHQL_AUTHENTICATORS"):
        try:
            import_string(path)
        except ImportError as exc:
            errors.append(
                Error(
                    f"GRAPHQL_AUTHENTICATORS entry {path!r} cannot be imported: {exc}",
                    id="saleor_journeys.E003",
                )
            )
    allowed = conf.get("ALLOWED_SALEOR_API_URLS")
    if not isinstance(allowed, list | tuple) or not all(_is_http_url(u) for u in allowed):
        errors.append(
            Error(
                "SALEOR_JOURNEYS['ALLOWED_SALEOR_API_URLS'] must be a list of http(s) URLs.",
                id="saleor_journeys.E004",
            )
        )
    networks = conf.get("OUTGOING_WEBHOOK_ALLOWED_NETWORKS")
    for network in networks if isinstance(networks, list | tuple) else [networks]:
        try:
            ipaddress.ip_network(network, strict=False)
        except (TypeError, ValueError):
            errors.append(
                Error(
                    f"OUTGOING_WEBHOOK_ALLOWED_NETWORKS entry {network!r} is not a network "
                    "such as 10.0.0.0/8.",
                    id="saleor_journeys.E005",
                )
            )
    push_subject = conf.get("WEB_PUSH_SUBJECT")
    if push_subject and not str(push_subject).startswith(("mailto:", "https://")):
        errors.append(
            Error(
                f"WEB_PUSH_SUBJECT = {push_subject!r} is not a mailto: or https: URL; push "
                "services refuse pushes signed with it.",
                id="saleor_journeys.E006",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def check_production(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Run by ``check --deploy`` and by ``saleor-journeys serve`` outside the embedded default."""
    if not _is_production():
        return []
    messages: list[CheckMessage] = []
    if settings.SECRET_KEY in INSECURE_SECRET_KEYS or len(settings.SECRET_KEY) < 50:
        messages.append(
            Error(
                "SECRET_KEY is not set to a long random value.",
                hint="Set the SECRET_KEY environment variable (50+ random characters).",
                id="saleor_journeys.E010",
            )
        )
    if "*" in settings.ALLOWED_HOSTS or not settings.ALLOWED_HOSTS:
        messages.append(
            Error(
                "ALLOWED_HOSTS is empty (every request would be refused) or accepts any host.",
                hint="List the host names the app is reached at, or set its public URL.",
                id="saleor_journeys.E011",
            )
        )
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        messages.append(
            Warning(
                "Celery tasks run inside the web process (no broker is configured).",
                hint="Set CELERY_BROKER_URL to Redis or RabbitMQ and run workers and one beat.",
                id="saleor_journeys.W001",
            )
        )
    if not conf.get("ALLOWED_SALEOR_API_URLS"):
        messages.append(
            Warning(
                "Any Saleor may install the app (ALLOWED_SALEOR_API_URLS is empty).",
                hint="List the API URLs of the shops this deployment serves.",
                id="saleor_journeys.W002",
            )
        )
    if conf.get("ALLOW_PRIVATE_SALEOR_URLS"):
        messages.append(
            Warning(
                "ALLOW_PRIVATE_SALEOR_URLS is on: installations may make the app call internal "
                "addresses.",
                id="saleor_journeys.W003",
            )
        )
    if not conf.get("OUTGOING_WEBHOOK_REQUIRE_HTTPS"):
        messages.append(
            Warning(
                "OUTGOING_WEBHOOK_REQUIRE_HTTPS is off: journey webhooks may send contact data "
                "over plain http.",
                id="saleor_journeys.W005",
            )
        )
    backend = getattr(settings, "EMAIL_BACKEND", "")
    anymail = getattr(settings, "ANYMAIL", {}) or {}
    if backend.startswith("anymail.") and not anymail.get("WEBHOOK_SECRET"):
        messages.append(
            Warning(
                "The email provider's tracking webhooks accept anyone: fake bounces could "
                "suppress real addresses.",
                hint="Set ANYMAIL['WEBHOOK_SECRET'] (environment: ANYMAIL_WEBHOOK_SECRET) and "
                "the same user:password in the provider's webhook URL.",
                id="saleor_journeys.W006",
            )
        )
    public_url = conf.get("PUBLIC_URL")
    if public_url and urlsplit(public_url).scheme != "https":
        messages.append(
            Warning(
                "PUBLIC_URL is not https; Saleor Cloud and browsers expect an https app.",
                id="saleor_journeys.W004",
            )
        )
    return messages
