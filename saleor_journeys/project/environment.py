"""Reading the bundled project's configuration from environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import dj_email_url
from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}


def flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in TRUE


def words(name: str) -> list[str]:
    return [w.strip() for w in os.environ.get(name, "").split(",") if w.strip()]


def data_dir() -> Path:
    configured = os.environ.get("SALEOR_JOURNEYS_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "saleor-journeys"


def embedded_secret_key(directory: Path) -> str:
    """A random key kept in the data directory, so sessions and signatures survive restarts."""
    path = directory / "secret_key"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def email_settings(url: str) -> dict[str, Any]:
    """Django email settings from ``EMAIL_URL``.

    ``smtp://user:password@host:587/?tls=True``, ``smtps://…``, ``console://``, or an anymail
    provider as ``anymail+<provider>://<api key>@/?<OPTION>=<value>``, e.g.
    ``anymail+sendgrid://SG.xxxx@/`` or ``anymail+mailgun://key@/?SENDER_DOMAIN=mg.example.com``.
    """
    parts = urlsplit(url)
    if parts.scheme.startswith("anymail+"):
        # URL schemes cannot hold "_": amazon-ses names anymail's amazon_ses module.
        esp = parts.scheme.removeprefix("anymail+").replace("-", "_")
        options = {f"{esp.upper()}_{k.upper()}": v for k, v in parse_qsl(parts.query)}
        api_key = parts.username or parts.password
        if api_key:
            options[f"{esp.upper()}_API_KEY"] = api_key
        return {"EMAIL_BACKEND": f"anymail.backends.{esp}.EmailBackend", "ANYMAIL": options}
    config = dj_email_url.parse(url)
    if "EMAIL_BACKEND" not in config:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme {parts.scheme!r} is not supported: use smtp://, smtps://, "
            "submission://, console://, file://, memory://, dummy:// or anymail+<provider>://"
        )
    return {
        "EMAIL_BACKEND": config["EMAIL_BACKEND"],
        "EMAIL_HOST": config["EMAIL_HOST"],
        "EMAIL_PORT": config["EMAIL_PORT"],
        "EMAIL_HOST_USER": config["EMAIL_HOST_USER"],
        "EMAIL_HOST_PASSWORD": config["EMAIL_HOST_PASSWORD"],
        "EMAIL_USE_TLS": config["EMAIL_USE_TLS"],
        "EMAIL_USE_SSL": config["EMAIL_USE_SSL"],
        "EMAIL_TIMEOUT": config.get("EMAIL_TIMEOUT"),
    }
