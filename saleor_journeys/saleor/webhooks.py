"""Taking in a webhook: check who sent it, check what it says, store it once, answer fast.

Processing happens afterwards, in a task (see ``runtime/deliveries.py``). Storing first means a
delivery Saleor got a 2xx for can be lost neither by a crash nor by a lost task.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction

from saleor_journeys import conf
from saleor_journeys.core import clock
from saleor_journeys.saleor import jws, keys
from saleor_journeys.saleor.models import Installation, WebhookDelivery
from saleor_journeys.saleor.registration import normalise_api_url
from saleor_journeys.triggers import registry

logger = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """The delivery is refused; ``status`` is the HTTP answer Saleor gets."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Receipt:
    delivery_id: int
    duplicate: bool


def receive(*, api_url: str, event: str, signature: str, body: bytes) -> Receipt:
    """Verify and store one delivery. Raises ``WebhookRejected`` with the status to answer."""
    if len(body) > conf.get("WEBHOOK_MAX_BODY_BYTES"):
        raise WebhookRejected(413, "the body is larger than WEBHOOK_MAX_BODY_BYTES")
    if not signature:
        raise WebhookRejected(401, "the request is not signed")
    if not api_url:
        raise WebhookRejected(401, "the request names no Saleor-Api-Url")
    api_url = normalise_api_url(api_url)
    try:
        installation = keys.installation_for(api_url)
        if installation is None:
            raise WebhookRejected(401, f"{api_url} has not installed this app")
        keys.verify(installation, signature, body)
    except jws.SignatureError as exc:
        raise WebhookRejected(401, str(exc)) from exc
    except DatabaseError as exc:
        raise WebhookRejected(503, f"database unavailable: {exc.__class__.__name__}") from exc

    trigger = registry.get(event)
    if trigger is None:
        raise WebhookRejected(400, f"unknown event {event!r}")
    try:
        text = body.decode("utf-8")
        payload = trigger.parse(text)
    except UnicodeDecodeError as exc:
        raise WebhookRejected(400, "the body is not UTF-8") from exc
    except registry.PayloadError as exc:
        raise WebhookRejected(400, str(exc)) from exc

    try:
        delivery_id, created = _store(installation, trigger.name, text, payload.issued_at)
    except IntegrityError as exc:
        # The cached installation was deleted meanwhile: forget it; Saleor's retry finds out.
        keys.clear(api_url)
        raise WebhookRejected(503, "the installation changed; retry") from exc
    except DatabaseError as exc:
        raise WebhookRejected(503, f"database unavailable: {exc.__class__.__name__}") from exc
    return Receipt(delivery_id, duplicate=not created)


_INSERT = """
INSERT INTO {table} (installation_id, event_type, body, body_sha256, issued_at, received_at,
                     status, attempts, next_attempt_at, last_error, erased)
VALUES (%s, %s, %s, %s, %s, %s, 'pending', 0, %s, '', false)
ON CONFLICT (installation_id, body_sha256) DO NOTHING
RETURNING id
"""

# Database sessions of this process that already carry the webhook lock timeout.
_timed_sessions: weakref.WeakSet[Any] = weakref.WeakSet()


def _lock_timeout(cursor: Any) -> None:
    """Make a write that waits on a lock fail fast (and answer 503) instead of hanging."""
    if connection.vendor != "postgresql":
        return
    value = f"{int(conf.get('WEBHOOK_LOCK_TIMEOUT_MS'))}ms"
    if connection.in_atomic_block:
        # Inside a caller's transaction: only for it.
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [value])
    elif connection.connection not in _timed_sessions:
        # Autocommit: once per session, so storing stays a single round trip.
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [value])
        _timed_sessions.add(connection.connection)


def _store(
    installation: Installation, event: str, body: str, issued_at: datetime
) -> tuple[int, bool]:
    """Insert the delivery unless the same body is stored already."""
    from saleor_journeys.runtime.tasks import enqueue_delivery

    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    now = clock.now()
    ops = connection.ops
    params: list[Any] = [
        installation.pk,
        event,
        body,
        digest,
        ops.adapt_datetimefield_value(issued_at),
        ops.adapt_datetimefield_value(now),
        ops.adapt_datetimefield_value(now),
    ]
    sql = _INSERT.format(table=ops.quote_name(WebhookDelivery._meta.db_table))
    # A savepoint only when the caller holds a transaction; otherwise one autocommit INSERT.
    scope = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with scope, connection.cursor() as cursor:
        _lock_timeout(cursor)
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        existing = WebhookDelivery.objects.filter(
            installation=installation, body_sha256=digest
        ).values_list("pk", flat=True)
        return existing[0], False
    delivery_id = int(row[0])
    transaction.on_commit(lambda: enqueue_delivery(delivery_id))
    return delivery_id, True
