from __future__ import annotations

from typing import Any

from saleor_journeys import checks


def ids(messages: list[Any]) -> set[str]:
    return {m.id for m in messages}


def test_default_settings_pass() -> None:
    assert checks.check_settings() == []


def test_unknown_key_is_an_error_naming_it(settings: Any) -> None:
    settings.SALEOR_JOURNEYS = {"PUBLIC_ULR": "https://typo.example.com"}

    (error,) = checks.check_settings()

    assert error.id == "saleor_journeys.E001"
    assert "PUBLIC_ULR" in error.msg


def test_bad_values_are_errors(settings: Any) -> None:
    settings.SALEOR_JOURNEYS = {
        "PUBLIC_URL": "journeys.example.com",
        "GRAPHQL_AUTHENTICATORS": ["nowhere.Authenticator"],
        "ALLOWED_SALEOR_API_URLS": "https://shop.example.com/graphql/",
        "OUTGOING_WEBHOOK_ALLOWED_NETWORKS": ["10.0.0.0/8", "the office"],
    }

    assert ids(checks.check_settings()) == {
        "saleor_journeys.E002",
        "saleor_journeys.E003",
        "saleor_journeys.E004",
        "saleor_journeys.E005",
    }


def test_unsafe_production_settings_are_reported(settings: Any) -> None:
    settings.SECRET_KEY = "saleor-journeys-unset-secret-key"
    settings.ALLOWED_HOSTS = ["*"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.SALEOR_JOURNEYS = {
        "ALLOW_PRIVATE_SALEOR_URLS": True,
        "PUBLIC_URL": "http://x.io",
        "OUTGOING_WEBHOOK_REQUIRE_HTTPS": False,
    }
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "x"}

    messages = checks.check_production()

    assert ids(messages) == {
        "saleor_journeys.E010",
        "saleor_journeys.E011",
        "saleor_journeys.W001",
        "saleor_journeys.W002",
        "saleor_journeys.W003",
        "saleor_journeys.W004",
        "saleor_journeys.W005",
        "saleor_journeys.W006",
    }


def test_safe_production_settings_pass(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.SALEOR_JOURNEYS = {
        "PUBLIC_URL": "https://journeys.example.com",
        "ALLOWED_SALEOR_API_URLS": ["https://shop.example.com/graphql/"],
    }

    assert checks.check_production() == []


def test_debug_is_not_judged_as_production(settings: Any) -> None:
    settings.DEBUG = True
    settings.SECRET_KEY = "short"

    assert checks.check_production() == []


def test_empty_allowed_hosts_in_production_is_an_error(settings: Any) -> None:
    settings.ALLOWED_HOSTS = []

    assert "saleor_journeys.E011" in ids(checks.check_production())
