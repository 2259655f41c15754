"""Twilio's callbacks: delivery status of sent SMS, and SMS sent to the shop's number.

Both are accepted only with a valid ``X-Twilio-Signature`` (HMAC of the URL and the form fields
with ``TWILIO_AUTH_TOKEN``), checked against the URL Twilio called: ``PUBLIC_URL`` and the path
when ``PUBLIC_URL`` is set (behind a proxy the request's own host and scheme may differ), else
the URL of the request as Django sees it. Anything else is answered 403 and changes nothing.

Answers to signed requests are always 200, also for an SMS or a number the app does not know
(a message sent by another system on the same account, a callback racing the row that stores
the SID): such a callback cannot succeed later, so it is logged, not refused for Twilio to retry.

Every SMS received is an ``sms_received`` event (source ``twilio``) in the timeline of each contact
with that number; a STOP or START also changes their SMS consent (``messaging.consent``, which logs
the ``consent_changed`` event).

One Twilio account serves every installation of this deployment, so a STOP from a number
unsubscribes every contact with that number, in every installation: the sender they all share is
the one the person asked to hear nothing more from.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Replace
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from saleor_journeys import conf
from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.events import log
from saleor_journeys.messaging import phones
from saleor_journeys.messaging.consent import set_consent
from saleor_journeys.messaging.models import (
    Consent,
    ConsentStatus,
    Message,
    MessageEvent,
    MessageStatus,
)

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# Twilio's default opt-out and opt-in keywords: the whole text is the keyword.
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})

# Final delivery states: what they make of a message still in one of ``_OPEN``.
_FINAL = {
    "delivered": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
}
_OPEN = (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.UNKNOWN)

# The delivery errors seen most, so that a failed message says more than a number.
ERROR_DESCRIPTIONS = {
    "30001": "queue overflow",
    "30002": "account suspended",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "message filtered by the carrier",
    "30008": "unknown error",
    "30034": "sent from an unregistered US A2P 10DLC number",
    "21610": "the recipient replied STOP to this sender",
}

_PHONE_PUNCTUATION = " -().+/"


# -- signature ---------------------------------------------------------------------------------


def signed_url(request: HttpRequest) -> str:
    """The URL Twilio signed: the public one when ``PUBLIC_URL`` is set."""
    public = conf.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri()


def signature_problem(request: HttpRequest) -> str | None:
    """Why the request is not a signed Twilio request, or None when it is."""
    token = conf.get("TWILIO_AUTH_TOKEN")
    if not token:
        return (
            "SMS is not configured: TWILIO_AUTH_TOKEN is not set, Twilio requests cannot be checked"
        )
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return "the request carries no X-Twilio-Signature"
    url = signed_url(request)
    if not RequestValidator(token).validate(url, request.POST, signature):
        return (
            f"the X-Twilio-Signature does not match the request for {url} "
            "(check TWILIO_AUTH_TOKEN, and PUBLIC_URL behind a proxy)"
        )
    return None


def _refuse(request: HttpRequest, problem: str) -> JsonResponse:
    logger.warning("Twilio callback %s refused: %s", request.path, problem)
    return JsonResponse({"error": problem}, status=403)


# -- delivery status ---------------------------------------------------------------------------


def describe_error(code: str) -> str:
    if not code:
        return ""
    description = ERROR_DESCRIPTIONS.get(code)
    return f"Twilio error {code} ({description})" if description else f"Twilio error {code}"


def apply_status(sid: str, status: str, error_code: str) -> str:
    """Record a delivery status of the message Twilio knows as ``sid``; returns what was done:
    ``updated``, ``recorded`` (an event, no change of status), ``duplicate`` or ``unknown``."""
    with transaction.atomic():
        message = None
        if sid:
            messages = Message.objects.select_for_update().filter(channel="sms", provider_id=sid)
            message = messages.order_by("pk").first()
        if message is None:
            logger.warning("Twilio status %r for SMS %r, which is not ours: ignored", status, sid)
            return "unknown"
        data: dict[str, Any] = {"status": status}
        if error_code:
            data["error_code"] = error_code
        _, created = MessageEvent.objects.get_or_create(
            message=message,
            provider_event_id=f"twilio:{status}",
            defaults={"type": status, "at": clock.now(), "data": data},
        )
        if not created:
            return "duplicate"
        final = _FINAL.get(status)
        if final is None or message.status not in _OPEN:
            return "recorded"
        message.status = final
        if final == MessageStatus.FAILED:
            message.error = f"{status}: {describe_error(error_code) or 'no error code given'}"
        message.save(update_fields=["status", "error"])
    logger.info("SMS %s (%s) is %s %s", message.pk, sid, status, error_code)
    return "updated"


@csrf_exempt
@require_POST
def status_view(request: HttpRequest) -> JsonResponse:
    problem = signature_problem(request)
    if problem:
        return _refuse(request, problem)
    form = request.POST
    outcome = apply_status(
        sid=form.get("MessageSid") or form.get("SmsSid") or "",
        status=(form.get("MessageStatus") or form.get("SmsStatus") or "").lower(),
        error_code=form.get("ErrorCode") or "",
    )
    return JsonResponse({"result": outcome})


# -- inbound SMS ---------------------------------------------------------------------------------


def keyword(body: str) -> str:
    """``STOP``, ``START`` … when the whole text is one of Twilio's keywords, else ''.

    Opting out also takes trailing punctuation ("Stop."), opting in only the bare word: when in
    doubt, a person hears less from the shop, never more."""
    word = body.strip().upper()
    if word.rstrip(".!") in STOP_KEYWORDS:
        return word.rstrip(".!")
    if word in START_KEYWORDS:
        return word
    return ""


def contacts_with_phone(e164: str) -> list[Contact]:
    """Every contact (of any installation) whose phone normalises to ``e164``."""
    try:
        national = phones.national_digits(e164)
    except phones.PhoneError:
        return []
    digits: Any = F("phone")
    for character in _PHONE_PUNCTUATION:
        digits = Replace(digits, Value(character), Value(""))
    candidates = (
        Contact.objects.filter(erased_at=None)
        .exclude(phone="")
        .annotate(phone_digits=digits)
        .filter(phone_digits__endswith=national)
        .select_related("installation")
        .order_by("pk")
    )
    found: list[Contact] = []
    for contact in candidates:
        try:
            if phones.for_contact(contact) == e164:
                found.append(contact)
        except phones.PhoneError:
            continue
    return found


def _log(contact: Contact, type: str, key: str, data: dict[str, Any]) -> None:
    now = clock.now()
    log.record(
        installation_id=contact.installation_id,
        contact=contact,
        type=type,
        source="twilio",
        key=key,
        occurred_at=now,
        received_at=now,
        data=data,
    )


def apply_inbound(sid: str, sender: str, body: str) -> dict[str, Any]:
    """Record an SMS from ``sender`` for every contact with that number; STOP and START
    change their SMS consent."""
    try:
        e164 = phones.normalise(sender)
    except phones.PhoneError as exc:
        logger.info("Inbound SMS %s from %r: not a phone number (%s); ignored", sid, sender, exc)
        return {"contacts": 0, "keyword": ""}
    word = keyword(body)
    wanted, source = None, ""
    if word in STOP_KEYWORDS:
        wanted, source = ConsentStatus.UNSUBSCRIBED, "sms-stop"
    elif word in START_KEYWORDS:
        wanted, source = ConsentStatus.SUBSCRIBED, "sms-start"
    ref = sid or hashlib.sha256(f"{e164}\n{body}".encode()).hexdigest()[:34]
    changed = 0
    with transaction.atomic():
        contacts = contacts_with_phone(e164)
        for contact in contacts:
            _log(
                contact,
                "sms_received",
                f"twilio:{ref}:sms_received:{contact.pk}",
                {"from": e164, "text": body[:1600], "keyword": word, "message_sid": sid},
            )
            if wanted is None:
                continue
            before = Consent.objects.filter(contact=contact, channel="sms").first()
            if before is not None and before.status == wanted:
                continue
            # The row, and a ``consent_changed`` event in the timeline (``messaging.consent``).
            set_consent(contact, "sms", wanted, source=source)
            changed += 1
    if not contacts:
        logger.info("Inbound SMS %s from a number no contact has (%s)", sid, word or "text")
    elif changed:
        logger.info("Inbound %s from %d contact(s): SMS consent %s", word, changed, wanted)
    return {"contacts": len(contacts), "keyword": word, "consent_changed": changed}


@csrf_exempt
@require_POST
def inbound_view(request: HttpRequest) -> HttpResponse:
    problem = signature_problem(request)
    if problem:
        return _refuse(request, problem)
    form = request.POST
    apply_inbound(
        sid=form.get("MessageSid") or form.get("SmsSid") or "",
        sender=form.get("From") or "",
        body=form.get("Body") or "",
    )
    # No reply from here: with Twilio's opt-out handling on, Twilio answers STOP and START itself.
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
