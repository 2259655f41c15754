"""A journey's send step, carried out: one ``Message`` per step key, checked against the
policy, rendered, stored, handed to the channel.

The message is marked ``sending`` and committed before the provider is called. If the worker
dies after the provider took it and before the row says so, the next attempt finds it
``sending`` and marks it ``unknown`` instead of sending a second copy: at most once, by design.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from saleor_journeys import conf
from saleor_journeys.core import clock, rows
from saleor_journeys.journeys.models import RunAction
from saleor_journeys.journeys.steps.base import ActionFailed, Deferred
from saleor_journeys.messaging import channels, context, policy
from saleor_journeys.messaging.channels import Channel, RenderError, SendError
from saleor_journeys.messaging.models import Message, MessageStatus

logger = logging.getLogger(__name__)

FINAL = {
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.BOUNCED,
    MessageStatus.COMPLAINED,
    MessageStatus.FAILED,
    MessageStatus.SUPPRESSED,
    MessageStatus.UNKNOWN,
}


def _result(message: Message) -> dict[str, Any]:
    return {"message": message.pk, "status": message.status}


def _finish(message: Message, status: str, error: str = "") -> dict[str, Any]:
    message.status = status
    message.error = error
    message.save(update_fields=["status", "error", "to"])
    return _result(message)


def _failed(action: RunAction, message: Message) -> None:
    """A message that will never go: the run leaves the journey if its node says so."""
    if action.params.get("on_failure") == "exit":
        from saleor_journeys.runtime.runs import exit_run

        exit_run(action.run_id, node=action.node, reason=f"the message failed: {message.error}")


def language_of(contact: Any) -> str:
    return (contact.language_code or conf.get("DEFAULT_LANGUAGE")).split("-")[0].lower()


def deliver(action: RunAction) -> dict[str, Any]:
    run = action.run
    contact = run.contact
    params = action.params
    channel = channels.get(params["channel"])
    if channel is None:
        raise ActionFailed(f"there is no {params['channel']} channel", retry=False)
    message, _ = rows.create_or_get(
        Message,
        {"key": action.key},
        {
            "installation_id": run.installation_id,
            "contact": contact,
            "run": run,
            "node": action.node,
            "channel": channel.name,
            "template": params["template"],
            "language": language_of(contact),
            "marketing": not params.get("transactional", False),
            "created_at": clock.now(),
        },
    )
    if message.status == MessageStatus.SENDING:
        # A worker died while handing it over: it may have gone out. Never twice.
        logger.warning("%s was being handed over when its worker stopped; not resent", message)
        return _finish(message, MessageStatus.UNKNOWN, "interrupted while being handed over")
    if message.status in FINAL:
        return _result(message)
    address = channel.address(contact)
    if not address:
        explain = getattr(channel, "address_problem", None)
        reason = explain(contact) if explain else f"the contact has no {channel.name} address"
        result = _finish(message, MessageStatus.FAILED, reason)
        _failed(action, message)
        return result
    message.to = address
    decision = policy.decide(message, contact, channel, clock.now())
    if decision.wait_until is not None:
        message.status = MessageStatus.DEFERRED
        message.send_after = decision.wait_until
        message.save(update_fields=["status", "send_after", "to"])
        raise Deferred(decision.wait_until, decision.reason)
    if not decision.go:
        return _finish(message, MessageStatus.SUPPRESSED, decision.reason)
    data = context.build(
        contact,
        language=message.language,
        run_context=dict(run.context),
        trigger_key=run.trigger_key,
    )
    try:
        rendered = channel.render(message, contact, data)
    except RenderError as exc:
        _finish(message, MessageStatus.FAILED, str(exc))
        _failed(action, message)
        raise ActionFailed(str(exc), retry=False) from exc
    rendered.fill(message)
    try:
        hand_over(channel, message)
    except SendError as exc:
        final = not exc.retry or action.attempts >= conf.get("ACTION_MAX_ATTEMPTS")
        if not final:
            message.status = MessageStatus.PENDING  # tried again at the next attempt
            message.save(update_fields=["status"])
        else:
            _failed(action, message)
        raise ActionFailed(str(exc), retry=exc.retry) from exc
    return _result(message)


def hand_over(channel: Channel, message: Message) -> None:
    """Give a rendered message to its channel: marked ``sending`` and saved first (committed
    when no transaction is open: from there on, a crash never sends it again), then ``sent``
    with the provider's id, or ``failed`` with the reason and the ``SendError`` raised."""
    message.status = MessageStatus.SENDING
    if message.pk is None:
        message.save()
    else:
        message.save(
            update_fields=[
                "to",
                "subject",
                "text",
                "html",
                "encoding",
                "segments",
                "data",
                "status",
            ]
        )
    try:
        message.provider_id = channel.send(message)
    except SendError as exc:
        _finish(message, MessageStatus.FAILED, str(exc))
        raise
    message.sent_at = clock.now()
    message.status = MessageStatus.SENT
    message.error = ""
    # ``data`` too: a channel may note what it did (a push's per-service results, an on-site
    # message's expiry).
    message.save(update_fields=["provider_id", "sent_at", "status", "error", "data"])


def send_direct(
    contact: Any, template: str, *, key: str, links: dict[str, str] | None = None
) -> Message:
    """A transactional email outside any journey (a double opt-in confirmation): same
    rendering, same channel, one message per key."""
    channel = channels.get("email")
    assert channel is not None
    message, created = Message.objects.get_or_create(
        key=key,
        defaults={
            "installation_id": contact.installation_id,
            "contact": contact,
            "channel": "email",
            "template": template,
            "language": language_of(contact),
            "marketing": False,
            "to": contact.email or "",
            "created_at": clock.now(),
        },
    )
    if not created and message.status != MessageStatus.PENDING:
        return message
    data = context.build(contact, language=message.language, links=links)
    try:
        rendered = channel.render(message, contact, data)
    except RenderError as exc:
        _finish(message, MessageStatus.FAILED, str(exc))
        return message
    rendered.fill(message)
    with contextlib.suppress(SendError):  # recorded on the message
        hand_over(channel, message)
    return message
