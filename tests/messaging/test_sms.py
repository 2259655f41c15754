"""The SMS channel: phone numbers, segments, rendering, sending through the real Twilio client to
a loopback stand-in for api.twilio.com, and Twilio's signed status and inbound callbacks."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from django.test import Client
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator

from saleor_journeys.contacts.models import Contact
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events.models import Event
from saleor_journeys.journeys import versions
from saleor_journeys.journeys.models import ActionStatus, Journey, RunAction
from saleor_journeys.messaging import channels, context, phones, segments, sms
from saleor_journeys.messaging.channels import RenderError, SendError
from saleor_journeys.messaging.models import (
    Consent,
    ConsentStatus,
    Message,
    MessageEvent,
    MessageStatus,
    Template,
)
from saleor_journeys.runtime import runs
from saleor_journeys.saleor.models import Installation
from tests.conftest import make_installation

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "twilio-auth-token-for-tests"
FROM_NUMBER = "+15005550006"
SERVICE_SID = "MG" + "a" * 32
PUBLIC_URL = "https://journeys.example.com"
MESSAGE_SID = "SM" + "b" * 32


# -- a loopback api.twilio.com -------------------------------------------------------------------


class FakeTwilio:
    """Records what the Twilio client sends and answers what a test queued (default: 201)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                server.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "form": {k: v[0] for k, v in parse_qs(body).items()},
                    }
                )
                time.sleep(server.delay)
                status, answer = (
                    server.answers.pop(0)
                    if server.answers
                    else (201, {"sid": MESSAGE_SID, "status": "queued"})
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeTwilio:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LoopbackHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending to ``base`` instead of https://api.twilio.com."""

    def __init__(self, base: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = base

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        assert url.startswith("https://api.twilio.com/")
        url = self.base + url.removeprefix("https://api.twilio.com")
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def twilio_settings(settings: Any) -> dict[str, Any]:
    settings.SALEOR_JOURNEYS = {
        **settings.SALEOR_JOURNEYS,
        "PUBLIC_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": FROM_NUMBER,
    }
    return settings.SALEOR_JOURNEYS


def configure(settings: Any, **values: Any) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, **values}


@pytest.fixture
def twilio_api(monkeypatch: pytest.MonkeyPatch, twilio_settings: Any) -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        monkeypatch.setattr(
            sms, "http_client", lambda: LoopbackHttpClient(server.base_url, timeout=1.0)
        )
        yield server


def make_contact(installation: Installation, **fields: Any) -> Contact:
    fields.setdefault("email", f"person{Contact.objects.count()}@example.com")
    return Contact.objects.create(installation=installation, **fields)


def make_message(installation: Installation, contact: Contact | None, **fields: Any) -> Message:
    fields.setdefault("key", f"test:{Message.objects.count()}")
    fields.setdefault("channel", "sms")
    fields.setdefault("template", "webinar-today-sms")
    fields.setdefault("language", "en")
    return Message.objects.create(
        installation=installation,
        contact=contact,
        created_at=datetime(2025, 5, 1, 10, tzinfo=UTC),
        **fields,
    )


def render(message: Message, contact: Contact) -> Any:
    """Render as the outbox does: with the context it builds."""
    data = context.build(contact, language=message.language)
    return sms.channel.render(message, contact, data)


# -- phone numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+34 612 34 56 78", "", "+34612345678"),
        ("612 34 56 78", "ES", "+34612345678"),
        ("0034 612-34-56-78", "es", "+34612345678"),
        ("+44 7911 123456", "ES", "+447911123456"),
        ("(415) 555-2671", "US", "+14155552671"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw: str, region: str, e164: str) -> None:
    assert phones.normalise(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("+34 12", "", "+34 12 is too short"),
        ("+34 61234567890", "", "+34 61234567890 is too long"),
        ("+34 012345678", "", "+34 012345678 is not a valid number for ES"),
        ("012345678", "ES", "012345678 is not a valid number for ES"),
        ("612345678", "", "no country to read the national number 612345678 with"),
        ("612345678", "XX", "'XX' is not a country to read the national number 612345678 with"),
        ("+999 1234567", "", "+999 1234567 has no valid country calling code"),
        ("call me", "ES", "'call me' is not a phone number"),
        ("", "ES", "no phone number"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(raw: str, region: str, reason: str) -> None:
    with pytest.raises(phones.PhoneError) as refused:
        phones.normalise(raw, region)
    assert str(refused.value).startswith(reason)


def test_a_contact_s_number_is_read_with_its_country_else_the_default_region(
    installation: Installation, settings: Any
) -> None:
    spanish = make_contact(installation, phone="612 34 56 78", country="ES")
    unknown = make_contact(installation, phone="612 34 56 78")
    nothing = make_contact(installation)
    assert sms.channel.address(spanish) == "+34612345678"
    assert sms.channel.address(unknown) is None
    assert sms.channel.address(nothing) is None

    configure(settings, SMS_DEFAULT_REGION="ES")
    assert sms.channel.address(unknown) == "+34612345678"
    with pytest.raises(phones.PhoneError, match="the contact has no phone number"):
        phones.for_contact(nothing)


# -- segments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 0, 0)),
        ("Hello!", ("GSM-7", 1, 6)),
        ("a" * 160, ("GSM-7", 1, 160)),
        ("a" * 161, ("GSM-7", 2, 161)),
        ("a" * 306, ("GSM-7", 2, 306)),
        ("a" * 307, ("GSM-7", 3, 307)),
        ("€", ("GSM-7", 1, 2)),
        ("a" * 159 + "€", ("GSM-7", 2, 161)),
        ("a" * 158 + "{}"[0], ("GSM-7", 1, 160)),
        # A two-septet character is not cut between segments: 152 + (2) + 152 = 306 septets,
        # but the € moves to the second segment, whose 153 then leave one "a" for a third.
        ("a" * 152 + "€" + "a" * 152, ("GSM-7", 3, 306)),
        ("Ça coûte 5€", ("UCS-2", 1, 11)),
        ("Hola, ¿qué tal?", ("GSM-7", 1, 15)),  # é is in the GSM alphabet, á and ú are not
        ("Hola, ¿que tal? Ñandú", ("UCS-2", 1, 21)),
        ("Hola, ¿que tal? Ñandu", ("GSM-7", 1, 21)),
        ("a" * 70, ("GSM-7", 1, 70)),
        ("á" * 70, ("UCS-2", 1, 70)),
        ("á" * 71, ("UCS-2", 2, 71)),
        ("á" * 134, ("UCS-2", 2, 134)),
        ("á" * 135, ("UCS-2", 3, 135)),
        ("Sale 🎉", ("UCS-2", 1, 7)),
        ("🎉" * 35, ("UCS-2", 1, 70)),
        ("🎉" * 36, ("UCS-2", 2, 72)),
        # 33 emoji fill 66 units; the 34th does not fit the first segment's 67 whole.
        ("🎉" * 67, ("UCS-2", 3, 134)),
    ],
)
def test_encoding_and_segments(text: str, expected: tuple[str, int, int]) -> None:
    assert tuple(segments.count(text)) == expected


def test_one_emoji_makes_the_whole_text_ucs2() -> None:
    plain = segments.count("a" * 100)
    assert plain == ("GSM-7", 1, 100)
    assert segments.count("a" * 100 + "🙂") == ("UCS-2", 2, 102)


# -- rendering -----------------------------------------------------------------------------------


def test_the_channel_registers_itself_with_its_capabilities() -> None:
    assert channels._REGISTRY["sms"] is sms.channel
    assert sms.channel.name == "sms"
    assert sms.channel.capabilities == channels.Capabilities(
        tracking=False, quiet_hours=True, needs_explicit_consent=True
    )


def test_render_gives_the_e164_address_the_text_and_its_segments(
    installation: Installation,
) -> None:
    contact = make_contact(installation, phone="612 34 56 78", country="ES", first_name="Ana")
    english = render(make_message(installation, contact), contact)
    assert english.to == "+34612345678"
    assert english.text.endswith("Reply STOP to opt out.")
    assert english.text == english.text.strip()
    assert (english.encoding, english.segments) == ("GSM-7", 1)

    spanish = render(make_message(installation, contact, language="es"), contact)
    assert "Responde STOP" in spanish.text
    assert spanish.encoding == "UCS-2"  # "más"
    assert spanish.segments == segments.count(spanish.text).segments


def test_render_counts_a_shop_template_with_an_emoji_as_ucs2(installation: Installation) -> None:
    Template.objects.create(
        installation=installation,
        name="flash-sale",
        channel="sms",
        language="en",
        text="Hi {{ contact.first_name }}, 20% off today only 🎉 " + "x" * 60,
    )
    contact = make_contact(installation, phone="+34612345678", first_name="Ana")
    rendered = render(make_message(installation, contact, template="flash-sale"), contact)
    assert rendered.text.startswith("Hi Ana, 20% off today only 🎉")
    assert (rendered.encoding, rendered.segments) == ("UCS-2", 2)


def test_render_fails_with_the_phone_s_reason(installation: Installation) -> None:
    contact = make_contact(installation, phone="+34 12")
    with pytest.raises(RenderError, match=r"no SMS address: \+34 12 is too short"):
        render(make_message(installation, contact), contact)


def test_render_refuses_a_text_twilio_would_refuse(installation: Installation) -> None:
    Template.objects.create(
        installation=installation, name="essay", channel="sms", language="en", text="a" * 1601
    )
    contact = make_contact(installation, phone="+34612345678")
    with pytest.raises(RenderError, match="1601 characters long"):
        render(make_message(installation, contact, template="essay"), contact)


# -- sending -------------------------------------------------------------------------------------


def test_send_posts_the_message_to_twilio_and_returns_its_sid(
    installation: Installation, twilio_api: FakeTwilio
) -> None:
    message = make_message(installation, None, to="+34612345678", text="Hola 🎉")

    assert sms.channel.send(message) == MESSAGE_SID

    [request] = twilio_api.requests
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["form"] == {
        "To": "+34612345678",
        "From": FROM_NUMBER,
        "Body": "Hola 🎉",
        "StatusCallback": f"{PUBLIC_URL}/api/twilio/status",
    }
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request["headers"]["Authorization"] == f"Basic {credentials}"


def test_send_through_a_messaging_service(
    installation: Installation, twilio_api: FakeTwilio, settings: Any
) -> None:
    configure(settings, TWILIO_FROM=SERVICE_SID, PUBLIC_URL=None)
    message = make_message(installation, None, to="+34612345678", text="Hi")

    assert sms.channel.send(message) == MESSAGE_SID

    [request] = twilio_api.requests
    # Without PUBLIC_URL there is no absolute URL for a status callback.
    assert request["form"] == {
        "To": "+34612345678",
        "MessagingServiceSid": SERVICE_SID,
        "Body": "Hi",
    }


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
        (500, {"message": "Internal Server Error", "status": 500}),
        (503, {}),
    ],
)
def test_throttling_and_server_errors_may_be_retried(
    installation: Installation, twilio_api: FakeTwilio, status: int, answer: dict[str, Any]
) -> None:
    twilio_api.answers.append((status, answer))
    with pytest.raises(SendError) as refused:
        sms.channel.send(make_message(installation, None, to="+34612345678", text="Hi"))
    assert refused.value.retry is True
    assert f"HTTP {status}" in str(refused.value)


def test_an_invalid_to_is_never_retried_and_says_twilio_s_code(
    installation: Installation, twilio_api: FakeTwilio
) -> None:
    twilio_api.answers.append(
        (
            400,
            {
                "code": 21211,
                "message": "The 'To' number +15005550001 is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            },
        )
    )
    with pytest.raises(SendError) as refused:
        sms.channel.send(make_message(installation, None, to="+15005550001", text="Hi"))
    assert refused.value.retry is False
    assert str(refused.value) == (
        "Twilio refused the SMS (error 21211, HTTP 400): "
        "The 'To' number +15005550001 is not a valid phone number."
    )


def test_an_unreachable_twilio_may_be_retried(
    installation: Installation, twilio_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeTwilio() as server:
        closed = server.base_url  # nothing listens there once the server is closed
    monkeypatch.setattr(sms, "http_client", lambda: LoopbackHttpClient(closed, timeout=1.0))
    with pytest.raises(SendError, match="Twilio could not be reached") as refused:
        sms.channel.send(make_message(installation, None, to="+34612345678", text="Hi"))
    assert refused.value.retry is True


def test_a_timeout_may_be_retried(
    installation: Installation, twilio_api: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    twilio_api.delay = 1.0
    monkeypatch.setattr(
        sms, "http_client", lambda: LoopbackHttpClient(twilio_api.base_url, timeout=0.2)
    )
    with pytest.raises(SendError, match="Twilio could not be reached") as refused:
        sms.channel.send(make_message(installation, None, to="+34612345678", text="Hi"))
    assert refused.value.retry is True


def test_missing_settings_fail_without_a_request(
    installation: Installation, twilio_api: FakeTwilio, settings: Any
) -> None:
    configure(settings, TWILIO_ACCOUNT_SID="", TWILIO_FROM="")
    with pytest.raises(SendError) as refused:
        sms.channel.send(make_message(installation, None, to="+34612345678", text="Hi"))
    assert refused.value.retry is False
    assert str(refused.value) == (
        "SMS is not configured: set TWILIO_ACCOUNT_SID, TWILIO_FROM in settings.SALEOR_JOURNEYS"
    )
    assert twilio_api.requests == []


# -- callbacks: signatures -----------------------------------------------------------------------


def post_signed(
    client: Client,
    path: str,
    params: dict[str, str],
    *,
    url: str | None = None,
    token: str = AUTH_TOKEN,
    signature: str | None = "compute",
) -> Any:
    """POST form fields the way Twilio does, signed for ``url`` (default: the public URL)."""
    headers = {}
    if signature == "compute":
        signature = RequestValidator(token).compute_signature(url or PUBLIC_URL + path, params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def status_params(status: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": MESSAGE_SID,
        "SmsSid": MESSAGE_SID,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": "+34612345678",
        "From": FROM_NUMBER,
        "ApiVersion": "2010-04-01",
        **extra,
    }


@pytest.fixture
def sent(installation: Installation) -> Message:
    contact = make_contact(installation, phone="+34612345678")
    return make_message(
        installation,
        contact,
        to="+34612345678",
        text="Hi",
        status=MessageStatus.SENT,
        provider_id=MESSAGE_SID,
    )


def test_a_delivered_callback_marks_the_message_delivered(
    client: Client, twilio_settings: Any, sent: Message
) -> None:
    answer = post_signed(client, "/api/twilio/status", status_params("delivered"))

    assert answer.status_code == 200
    assert answer.json() == {"result": "updated"}
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED
    [event] = MessageEvent.objects.filter(message=sent)
    assert (event.type, event.data) == ("delivered", {"status": "delivered"})

    again = post_signed(client, "/api/twilio/status", status_params("delivered"))
    assert again.json() == {"result": "duplicate"}
    assert MessageEvent.objects.filter(message=sent).count() == 1


def test_an_undelivered_callback_fails_the_message_with_the_error_code(
    client: Client, twilio_settings: Any, sent: Message
) -> None:
    answer = post_signed(
        client, "/api/twilio/status", status_params("undelivered", ErrorCode="30003")
    )

    assert answer.status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.FAILED
    assert sent.error == "undelivered: Twilio error 30003 (unreachable destination handset)"
    assert MessageEvent.objects.get(message=sent).data == {
        "status": "undelivered",
        "error_code": "30003",
    }


def test_a_late_intermediate_status_does_not_undo_delivery(
    client: Client, twilio_settings: Any, sent: Message
) -> None:
    post_signed(client, "/api/twilio/status", status_params("delivered"))
    answer = post_signed(client, "/api/twilio/status", status_params("sent"))

    assert answer.json() == {"result": "recorded"}
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED
    assert sorted(MessageEvent.objects.values_list("type", flat=True)) == ["delivered", "sent"]


@pytest.mark.parametrize(
    ("signature", "url", "token"),
    [
        (None, None, AUTH_TOKEN),  # no header at all
        ("bm90IGEgc2lnbmF0dXJl", None, AUTH_TOKEN),  # garbage
        ("compute", None, "another-account-token"),  # signed with another token
        ("compute", "http://testserver/api/twilio/status", AUTH_TOKEN),  # not the public URL
    ],
)
def test_a_status_callback_without_a_valid_signature_changes_nothing(
    client: Client,
    twilio_settings: Any,
    sent: Message,
    signature: str | None,
    url: str | None,
    token: str,
) -> None:
    answer = post_signed(
        client,
        "/api/twilio/status",
        status_params("delivered"),
        url=url,
        token=token,
        signature=signature,
    )

    assert answer.status_code == 403
    assert "X-Twilio-Signature" in answer.json()["error"]
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT
    assert not MessageEvent.objects.exists()


def test_a_tampered_field_breaks_the_signature(
    client: Client, twilio_settings: Any, sent: Message
) -> None:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        f"{PUBLIC_URL}/api/twilio/status", status_params("undelivered")
    )
    answer = post_signed(
        client, "/api/twilio/status", status_params("delivered"), signature=signature
    )
    assert answer.status_code == 403
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT


def test_without_public_url_the_request_s_own_url_is_checked(
    client: Client, twilio_settings: Any, settings: Any, sent: Message
) -> None:
    configure(settings, PUBLIC_URL=None)
    answer = post_signed(
        client,
        "/api/twilio/status",
        status_params("delivered"),
        url="http://testserver/api/twilio/status",
    )
    assert answer.status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED


def test_callbacks_are_refused_while_no_auth_token_is_set(
    client: Client, twilio_settings: Any, settings: Any, sent: Message
) -> None:
    configure(settings, TWILIO_AUTH_TOKEN="")
    answer = post_signed(client, "/api/twilio/status", status_params("delivered"))
    assert answer.status_code == 403
    assert "TWILIO_AUTH_TOKEN is not set" in answer.json()["error"]


def test_a_status_for_an_unknown_sid_is_answered_200_and_logged(
    client: Client, twilio_settings: Any, sent: Message, caplog: pytest.LogCaptureFixture
) -> None:
    other = "SM" + "c" * 32
    params = status_params("delivered", MessageSid=other, SmsSid=other)

    answer = post_signed(client, "/api/twilio/status", params)

    assert answer.status_code == 200
    assert answer.json() == {"result": "unknown"}
    assert f"for SMS '{other}', which is not ours" in caplog.text
    assert not MessageEvent.objects.exists()


def test_callbacks_take_post_only(client: Client, twilio_settings: Any) -> None:
    assert client.get("/api/twilio/status").status_code == 405
    assert client.get("/api/twilio/inbound").status_code == 405


# -- callbacks: inbound SMS, STOP and START ----------------------------------------------------


def inbound(body: str, sender: str = "+34612345678", sid: str = "SM" + "d" * 32) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": sid,
        "SmsSid": sid,
        "From": sender,
        "To": FROM_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def sms_consent(contact: Contact) -> tuple[str, str] | None:
    row = Consent.objects.filter(contact=contact, channel="sms").first()
    return (row.status, row.source) if row else None


@pytest.fixture
def people(installation: Installation) -> dict[str, Contact]:
    """The same person in two shops, written two ways, and someone else."""
    second = make_installation("http://second-shop.example/graphql/", {"keys": []})
    return {
        "here": make_contact(installation, phone="612 34 56 78", country="ES"),
        "there": make_contact(second, phone="+34 612-345-678"),
        "other": make_contact(installation, phone="+34 699 99 99 99"),
    }


def test_stop_unsubscribes_every_contact_with_that_number(
    client: Client, twilio_settings: Any, people: dict[str, Contact]
) -> None:
    for contact in people.values():
        Consent.objects.create(
            contact=contact,
            channel="sms",
            status=ConsentStatus.SUBSCRIBED,
            source="checkout",
            at=datetime(2025, 1, 1, tzinfo=UTC),
        )

    answer = post_signed(client, "/api/twilio/inbound", inbound("Stop"))

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/xml"
    assert answer.content.decode().endswith("<Response/>")
    assert sms_consent(people["here"]) == ("unsubscribed", "sms-stop")
    assert sms_consent(people["there"]) == ("unsubscribed", "sms-stop")
    assert sms_consent(people["other"]) == ("subscribed", "checkout")
    changed = Event.objects.filter(type="consent_changed").order_by("contact_id")
    assert [e.contact for e in changed] == [people["here"], people["there"]]
    assert changed[0].data == {
        "channel": "sms",
        "from": "subscribed",
        "to": "unsubscribed",
        "source": "sms-stop",
    }
    received = Event.objects.filter(type="sms_received").order_by("contact_id")
    assert [(e.contact, e.source, e.data["keyword"]) for e in received] == [
        (people["here"], "twilio", "STOP"),
        (people["there"], "twilio", "STOP"),
    ]


def test_start_subscribes_again(
    client: Client, twilio_settings: Any, people: dict[str, Contact]
) -> None:
    post_signed(client, "/api/twilio/inbound", inbound("STOP", sid="SM" + "1" * 32))
    assert sms_consent(people["here"]) == ("unsubscribed", "sms-stop")

    post_signed(client, "/api/twilio/inbound", inbound(" start ", sid="SM" + "2" * 32))

    assert sms_consent(people["here"]) == ("subscribed", "sms-start")
    assert sms_consent(people["there"]) == ("subscribed", "sms-start")
    assert sms_consent(people["other"]) is None
    changes = Event.objects.filter(type="consent_changed", contact=people["here"])
    assert [e.data["to"] for e in changes.order_by("pk")] == ["unsubscribed", "subscribed"]


def test_other_text_records_only_an_event(
    client: Client, twilio_settings: Any, people: dict[str, Contact]
) -> None:
    params = inbound("Yes please, what time does it start?")

    answer = post_signed(client, "/api/twilio/inbound", params)
    post_signed(client, "/api/twilio/inbound", params)  # Twilio retrying the same SMS

    assert answer.status_code == 200
    assert not Consent.objects.exists()
    received = Event.objects.filter(type="sms_received", contact=people["here"])
    assert [(e.source, e.data["text"], e.data["keyword"]) for e in received] == [
        ("twilio", "Yes please, what time does it start?", "")
    ]
    assert not Event.objects.filter(type="consent_changed").exists()


def test_a_repeated_stop_changes_nothing_more(
    client: Client, twilio_settings: Any, people: dict[str, Contact]
) -> None:
    post_signed(client, "/api/twilio/inbound", inbound("STOP", sid="SM" + "1" * 32))
    post_signed(client, "/api/twilio/inbound", inbound("QUIT", sid="SM" + "2" * 32))
    assert Event.objects.filter(type="consent_changed", contact=people["here"]).count() == 1
    assert Event.objects.filter(type="sms_received", contact=people["here"]).count() == 2


def test_national_numbers_without_a_country_match_with_the_default_region(
    client: Client, twilio_settings: Any, installation: Installation, settings: Any
) -> None:
    national = make_contact(installation, phone="612345678")
    post_signed(client, "/api/twilio/inbound", inbound("STOP", sid="SM" + "1" * 32))
    assert sms_consent(national) is None  # no country to read it with: not this number

    configure(settings, SMS_DEFAULT_REGION="ES")
    post_signed(client, "/api/twilio/inbound", inbound("STOP", sid="SM" + "2" * 32))
    assert sms_consent(national) == ("unsubscribed", "sms-stop")


def test_an_unsigned_stop_changes_nothing(
    client: Client, twilio_settings: Any, people: dict[str, Contact]
) -> None:
    answer = post_signed(client, "/api/twilio/inbound", inbound("STOP"), signature=None)
    assert answer.status_code == 403
    assert not Consent.objects.exists()
    assert not Event.objects.exists()


def test_an_sms_from_an_unknown_number_is_answered(
    client: Client, twilio_settings: Any, people: dict[str, Contact]
) -> None:
    answer = post_signed(client, "/api/twilio/inbound", inbound("STOP", sender="+447911123456"))
    assert answer.status_code == 200
    assert answer.content.decode().endswith("<Response/>")
    assert not Consent.objects.exists()


# -- end to end: a journey's SMS step ------------------------------------------------------------

SMS_JOURNEY = {
    "name": "One SMS",
    "trigger": {"type": "manual"},
    "start": "text",
    "nodes": [{"id": "text", "type": "send", "channel": "sms", "template": "webinar-today-sms"}],
}
T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)  # 11:00 in Madrid


def run_sms(installation: Installation, contact: Contact, capture: Any, at: datetime) -> Any:
    journey = Journey.objects.filter(installation=installation, slug="one-sms").first()
    if journey is None:
        journey = versions.create(installation, SMS_JOURNEY, actor="tests")
        versions.publish(journey, actor="tests")
    with FrozenClock(at), capture(execute=True):
        run = runs.enroll(journey, contact, now=at)
        assert run is not None
    return RunAction.objects.get(run=run, kind="send")


def test_a_journey_texts_a_subscribed_contact_and_hears_of_the_delivery(
    installation: Installation,
    twilio_api: FakeTwilio,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ana = make_contact(installation, phone="612 34 56 78", country="ES", time_zone="Europe/Madrid")
    Consent.objects.create(
        contact=ana, channel="sms", status=ConsentStatus.SUBSCRIBED, source="checkout", at=T0
    )

    action = run_sms(installation, ana, django_capture_on_commit_callbacks, T0)

    assert action.status == ActionStatus.DONE
    message = Message.objects.get(contact=ana)
    assert (message.status, message.provider_id) == (MessageStatus.SENT, MESSAGE_SID)
    assert (message.to, message.encoding, message.segments) == ("+34612345678", "GSM-7", 1)
    [request] = twilio_api.requests
    assert request["form"]["To"] == "+34612345678"
    assert request["form"]["Body"] == message.text
    assert message.text.endswith("Reply STOP to opt out.")

    post_signed(client, "/api/twilio/status", status_params("delivered"))
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_no_text_without_explicit_consent_nor_in_quiet_hours(
    installation: Installation, twilio_api: FakeTwilio, django_capture_on_commit_callbacks: Any
) -> None:
    unknown = make_contact(installation, phone="+34612345678")
    run_sms(installation, unknown, django_capture_on_commit_callbacks, T0)
    message = Message.objects.get(contact=unknown)
    assert message.status == MessageStatus.SUPPRESSED
    assert message.error == "no explicit sms consent"

    night_owl = make_contact(installation, phone="+34699999999", time_zone="Europe/Madrid")
    Consent.objects.create(
        contact=night_owl, channel="sms", status=ConsentStatus.SUBSCRIBED, source="form", at=T0
    )
    run_sms(installation, night_owl, django_capture_on_commit_callbacks, T0 + timedelta(hours=11))
    assert Message.objects.get(contact=night_owl).status == MessageStatus.DEFERRED
    assert twilio_api.requests == []
