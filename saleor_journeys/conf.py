"""The app's settings: one namespaced dict, ``settings.SALEOR_JOURNEYS``.

Every key has a documented default here; an unknown key is reported by the system check
``saleor_journeys.E001`` so that a typo never silently falls back to a default.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SETTINGS_NAME = "SALEOR_JOURNEYS"

# What the bundled project uses when SECRET_KEY is missing outside the embedded default; the
# check saleor_journeys.E010 refuses to run production with it.
PLACEHOLDER_SECRET_KEY = "saleor-journeys-unset-secret-key"  # noqa: S105


class JourneysSettings(TypedDict):
    PUBLIC_URL: str | None
    """Absolute URL the app is reached at by Saleor and browsers, e.g.
    ``https://journeys.example.com``. Used for the manifest's URLs; when unset they are built
    from the incoming request (fine behind a proxy that sets the Host header correctly)."""

    APP_ID: str
    """The manifest ``id``. Saleor refuses a second app with the same id in one shop."""

    APP_NAME: str
    """The name shown in the Saleor Dashboard."""

    ALLOWED_SALEOR_API_URLS: list[str]
    """Saleor API URLs (``https://shop.example.com/graphql/``) allowed to install the app.
    Empty allows any Saleor; system check ``saleor_journeys.W002`` warns about that in
    production."""

    ALLOW_PRIVATE_SALEOR_URLS: bool
    """Let a Saleor at a loopback or private address, or over plain ``http``, install the app.
    Needed for a Saleor running on a developer's machine; off in production, where it would let
    anyone make the app fetch internal URLs. URLs in ``ALLOWED_SALEOR_API_URLS`` are always
    allowed."""

    SALEOR_HTTP_TIMEOUT: float
    """Seconds to wait for Saleor when calling its API or fetching its JWKS."""

    JWKS_REFETCH_INTERVAL: int
    """Minimum seconds between two JWKS fetches for one installation, when a webhook is signed
    with a key id the app does not know (key rotation). Limits what forged requests can cost."""

    INSTALLATION_CACHE_SECONDS: float
    """How long a web process keeps an installation and its parsed keys in memory. A
    deactivated installation is refused by every process within this time. A webhook signed
    with a key the cached set lacks (a rotation, a re-install) makes the process look for new
    keys at once."""

    WEBHOOK_MAX_BODY_BYTES: int
    """Largest webhook body accepted; larger ones are answered 413."""

    WEBHOOK_LOCK_TIMEOUT_MS: int
    """How long (ms) storing a delivery may wait for a database lock before the webhook is
    answered 503 so that Saleor retries, instead of hanging until Saleor's own timeout."""

    DELIVERY_MAX_ATTEMPTS: int
    """How often processing a stored delivery is tried before it is marked failed."""

    DELIVERY_RETRY_DELAY: int
    """Seconds before the first retry of a delivery whose processing failed; doubles each time."""

    SWEEP_INTERVAL: int
    """Seconds between two runs of the sweeper that processes stored deliveries whose task was
    lost (a broker flush, a worker killed)."""

    RUN_SWEEP_INTERVAL: int
    """Seconds between two sweeps for journey runs that are due (a wait ended). The longest a
    due step can be late when its timed task is lost."""

    IN_PROCESS_BEAT: bool
    """Without a broker (the embedded default, or no ``CELERY_BROKER_URL``) there is no beat:
    when true, a thread of each ``serve`` worker does the beat's periodic work on its schedule
    (deliveries, due runs and side effects, abandoned checkouts, date properties, the anonymous
    purge). When false it only retries failed deliveries, and waits never end: for a database
    whose clock must stand still, like the demo's."""

    RUN_SWEEP_BATCH: int
    """Runs the sweeper claims per transaction; it claims batch after batch (for most of a
    ``RUN_SWEEP_INTERVAL``) while runs are due, and hands them to the workers."""

    RUN_CLAIM_LEASE: int
    """Seconds a run handed to the workers is not handed out again: long enough for a wave to
    drain from the queue. A run whose task was lost is stepped when its lease ends."""

    SWEEP_GRACE: int
    """Seconds a fresh delivery is left to its own task before the sweeper claims it."""

    SWEEP_BATCH: int
    """Most deliveries the sweeper claims in one run."""

    ACTION_MAX_ATTEMPTS: int
    """How often a journey step's side effect (a voucher, a webhook, a staff notification) is
    tried before it is marked failed."""

    ACTION_RETRY_DELAY: int
    """Seconds before the first retry of a failed side effect; doubles each time, with
    jitter."""

    VOUCHER_CHANNEL: str
    """Saleor channel slug for vouchers of contacts with no order or checkout to take the
    channel from (and no ``channel`` on the node). Empty: such vouchers fail, with the reason."""

    OUTGOING_WEBHOOK_REQUIRE_HTTPS: bool
    """Journey webhooks go to ``https`` URLs only. Turn off for a local development setup."""

    OUTGOING_WEBHOOK_ALLOWED_NETWORKS: list[str]
    """Networks (CIDR) journey webhooks may reach although they are private, e.g.
    ``["10.1.2.0/24"]`` for the shop's own CRM. Loopback, private and link-local addresses are
    refused otherwise, also after a redirect or a DNS change."""

    OUTGOING_WEBHOOK_TIMEOUT: float
    """Seconds to wait for a journey webhook's receiver."""

    DEFAULT_LANGUAGE: str
    """The language of messages to contacts whose language has no version of the template."""

    EMAIL_FROM: str
    """The ``From`` of journey emails; empty: Django's ``DEFAULT_FROM_EMAIL``."""

    TRACK_OPENS: bool
    """Add an open pixel to journey emails."""

    TRACK_CLICKS: bool
    """Rewrite the links of journey emails to signed tracking links."""

    SCANNER_CLICK_WINDOW: int
    """Seconds after delivery in which clicks on every link of a message mark a link scanner,
    not a person: such clicks (and HEAD requests, known proxy agents) are recorded but do not
    count as engagement."""

    FREQUENCY_CAP_HOURS: int
    """At most one marketing message per contact and channel in this many hours (0: no cap);
    a send that would break it waits. Transactional messages are not capped."""

    QUIET_HOURS: list[str]
    """``["21:00", "08:00"]``: marketing SMS and push wait for the end of this span in the
    contact's time zone (the shop's when unknown); empty: no quiet hours."""

    DOUBLE_OPT_IN: bool
    """A subscription through a form or the API must be confirmed from an emailed link before
    marketing email goes out."""

    OPT_IN_TOKEN_MAX_AGE: int
    """Seconds a double opt-in link stays valid."""

    LINKS: dict[str, str]
    """Links the message templates use, by name: ``shop``, ``checkout`` (``{checkout}`` is
    replaced by the cart's token), ``feedback``, ``form``, ``video``, ``webinar``, ``survey``,
    ``review``. A template's link that is not set renders empty."""

    TWILIO_ACCOUNT_SID: str
    """Twilio account for SMS; empty: SMS is not configured and SMS sends fail with that reason."""

    TWILIO_AUTH_TOKEN: str
    """Twilio auth token; also checks ``X-Twilio-Signature`` on status and inbound callbacks."""

    TWILIO_FROM: str
    """The sender: an E.164 number or a Messaging Service SID (``MG…``)."""

    SMS_DEFAULT_REGION: str
    """Region (ISO 3166 code) for national phone numbers of contacts without a country."""

    WEB_ANONYMOUS_RETENTION: int
    """Seconds an anonymous visitor's events are kept. Older ones are deleted, and so is an
    anonymous card with nothing left (``saleor_journeys.web.tasks.purge_anonymous``)."""

    WEB_IDENTITY_WINDOW: int
    """Seconds back from the moment a visitor is identified whose anonymous events are
    attached to the person's card. Older ones stay anonymous and are purged."""

    WEB_IDENTITY_LINK_MAX_AGE: int
    """Seconds a link that identifies the browser (from an email click or made on the contact
    card) stays valid."""

    WEB_LINK_PARAMETER: str
    """Query parameter that carries the identifying token on links to the storefront."""

    WEB_COLLECT_MAX_BYTES: int
    """Largest body the collect endpoint accepts; larger ones are answered 413."""

    WEB_COLLECT_MAX_EVENTS: int
    """Most events in one collect request; more are answered 400."""

    WEB_RATE_PER_VISITOR: int
    """Events per minute accepted from one visitor id; above it, 429."""

    WEB_RATE_PER_IP: int
    """Events per minute accepted from one IP address (all visitors behind it); above it, 429."""

    WEB_MESSAGE_TTL: int
    """Seconds an on-site message queued by a journey waits to be shown before it expires."""

    WEB_PUSH_SUBJECT: str
    """The VAPID ``sub`` claim, ``mailto:`` or ``https:`` URL push services may contact;
    empty: ``mailto:`` the ``EMAIL_FROM`` address."""

    WEB_PUSH_TTL: int
    """Seconds a push service keeps a push for an offline browser."""

    SCORE_HALF_LIFE_DAYS: float
    """The behavioural score halves after this many days without new activity."""

    SCORE_WEIGHTS: dict[str, float]
    """Points an event adds to the behavioural score, by event type; unlisted types add 0."""

    GRAPHQL_AUTHENTICATORS: list[str]
    """Dotted paths of the classes that authenticate GraphQL requests, tried in order."""

    GRAPHQL_MAX_PAGE_SIZE: int
    """Largest ``first``/``last`` accepted by the GraphQL connections."""


DEFAULTS: JourneysSettings = {
    "PUBLIC_URL": None,
    "APP_ID": "saleor.journeys",
    "APP_NAME": "Journeys",
    "ALLOWED_SALEOR_API_URLS": [],
    "ALLOW_PRIVATE_SALEOR_URLS": False,
    "SALEOR_HTTP_TIMEOUT": 10.0,
    "JWKS_REFETCH_INTERVAL": 60,
    "INSTALLATION_CACHE_SECONDS": 30.0,
    "WEBHOOK_MAX_BODY_BYTES": 2 * 1024 * 1024,
    "WEBHOOK_LOCK_TIMEOUT_MS": 5000,
    "DELIVERY_MAX_ATTEMPTS": 8,
    "DELIVERY_RETRY_DELAY": 30,
    "SWEEP_INTERVAL": 30,
    "RUN_SWEEP_INTERVAL": 10,
    "IN_PROCESS_BEAT": True,
    "RUN_SWEEP_BATCH": 2000,
    "RUN_CLAIM_LEASE": 900,
    "SWEEP_GRACE": 15,
    "SWEEP_BATCH": 500,
    "ACTION_MAX_ATTEMPTS": 6,
    "ACTION_RETRY_DELAY": 60,
    "VOUCHER_CHANNEL": "",
    "OUTGOING_WEBHOOK_REQUIRE_HTTPS": True,
    "OUTGOING_WEBHOOK_ALLOWED_NETWORKS": [],
    "OUTGOING_WEBHOOK_TIMEOUT": 10.0,
    "DEFAULT_LANGUAGE": "en",
    "EMAIL_FROM": "",
    "TRACK_OPENS": True,
    "TRACK_CLICKS": True,
    "SCANNER_CLICK_WINDOW": 10,
    "FREQUENCY_CAP_HOURS": 0,
    "QUIET_HOURS": ["21:00", "08:00"],
    "DOUBLE_OPT_IN": False,
    "OPT_IN_TOKEN_MAX_AGE": 7 * 24 * 3600,
    "LINKS": {},
    "TWILIO_ACCOUNT_SID": "",
    "TWILIO_AUTH_TOKEN": "",
    "TWILIO_FROM": "",
    "SMS_DEFAULT_REGION": "",
    "WEB_ANONYMOUS_RETENTION": 4 * 3600,
    "WEB_IDENTITY_WINDOW": 3 * 3600,
    "WEB_IDENTITY_LINK_MAX_AGE": 60 * 24 * 3600,
    "WEB_LINK_PARAMETER": "sj",
    "WEB_COLLECT_MAX_BYTES": 32 * 1024,
    "WEB_COLLECT_MAX_EVENTS": 50,
    "WEB_RATE_PER_VISITOR": 120,
    "WEB_RATE_PER_IP": 1200,
    "WEB_MESSAGE_TTL": 7 * 24 * 3600,
    "WEB_PUSH_SUBJECT": "",
    "WEB_PUSH_TTL": 24 * 3600,
    "SCORE_HALF_LIFE_DAYS": 14.0,
    "SCORE_WEIGHTS": {
        "page_viewed": 1,
        "page_engaged": 1,
        "email_opened": 1,
        "email_clicked": 3,
        "push_clicked": 3,
        "web_message_clicked": 3,
        "checkout_updated": 5,
        "order_created": 20,
    },
    "GRAPHQL_AUTHENTICATORS": ["saleor_journeys.auth.api_keys.ApiKeyAuthenticator"],
    "GRAPHQL_MAX_PAGE_SIZE": 100,
}


def user_settings() -> dict[str, Any]:
    value = getattr(settings, SETTINGS_NAME, {})
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"settings.{SETTINGS_NAME} must be a dict.")
    return value


def unknown_keys() -> list[str]:
    return sorted(set(user_settings()) - set(DEFAULTS))


def get(name: str) -> Any:
    """The value of ``settings.SALEOR_JOURNEYS[name]``, or its default."""
    if name not in DEFAULTS:
        raise ImproperlyConfigured(f"{SETTINGS_NAME}[{name!r}] is not a setting of this app.")
    return user_settings().get(name, DEFAULTS[name])  # type: ignore[literal-required]
