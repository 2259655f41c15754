"""The messages API: a contact's messages and a journey's per node, counted; the shop's own
templates with typed errors; previews for a contact or a sample one; one shop at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from saleor_journeys.auth import api_keys
from saleor_journeys.contacts.models import Contact
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.journeys.models import Journey
from saleor_journeys.messaging import tracking
from saleor_journeys.messaging.consent import set_consent
from saleor_journeys.messaging.models import (
    ConsentStatus,
    Message,
    MessageStatus,
    Template,
)
from saleor_journeys.runtime import runs
from saleor_journeys.saleor.models import Installation
from tests.conftest import make_installation
from tests.fixtures.signing import SigningKey, jwks
from tests.fixtures.smtp import Inbox
from tests.graphql.conftest import gql

# 23:00 UTC: quiet hours for SMS (21:00-08:00), whatever the contact's zone here.
T0 = datetime.fromisoformat("2026-11-23T23:00:00+00:00")
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Safari/605.1.15"

WELCOME: dict[str, Any] = {
    "name": "Welcome",
    "trigger": {"type": "manual"},
    "start": "mail",
    "nodes": [
        {
            "id": "mail",
            "type": "send",
            "title": "Welcome mail",
            "channel": "email",
            "template": "welcome-material",
            "next": "text",
        },
        {
            "id": "text",
            "type": "send",
            "channel": "sms",
            "template": "webinar-today-sms",
            "next": "end",
        },
        {"id": "end", "type": "exit"},
    ],
}

ERRORS = "errors { code path message }"
MESSAGE_FIELDS = """
  id channel template language marketing to subject status error sentAt createdAt sendAfter
  opens clicks journey node contactEmail events { type at url human }
"""
CONTACT_MESSAGES = f"""
query ContactMessages($email: String!, $channel: String, $status: MessageStatus) {{
  contact(email: $email) {{
    messages(first: 10, channel: $channel, status: $status) {{
      edges {{ node {{ {MESSAGE_FIELDS} }} }}
    }}
  }}
}}
"""
MESSAGES = """
query Messages(
  $journey: String, $node: String, $status: MessageStatus, $channel: String,
  $first: Int, $after: String
) {
  messages(
    journey: $journey, node: $node, status: $status, channel: $channel,
    first: $first, after: $after
  ) {
    edges { node { contactEmail channel node status error sendAfter } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
STATS = """
query Stats($journey: String!, $node: String) {
  messageStats(journey: $journey, node: $node) {
    node type title messages sent delivered bounced failed suppressed deferred
    opened clicked opens clicks
  }
}
"""
TEMPLATES = """
query Templates($channel: String) {
  templates(channel: $channel) { name channel languages builtin inUse updatedBy }
}
"""
TEMPLATE = """
query Template($name: String!, $channel: String!, $language: String) {
  template(name: $name, channel: $channel, language: $language) {
    name channel language subject preheader html text source
  }
}
"""
CONTENT = "template { name channel language subject preheader html text source }"
CREATE = f"""
mutation Create($input: MessageTemplateCreateInput!) {{
  templateCreate(input: $input) {{ {CONTENT} {ERRORS} }}
}}
"""
UPDATE = f"""
mutation Update(
  $name: String!, $channel: String!, $language: String!, $input: MessageTemplatePartsInput!
) {{
  templateUpdate(name: $name, channel: $channel, language: $language, input: $input) {{
    {CONTENT} {ERRORS}
  }}
}}
"""
DELETE = f"""
mutation Delete($name: String!, $channel: String!, $language: String!) {{
  templateDelete(name: $name, channel: $channel, language: $language) {{
    deleted {CONTENT} {ERRORS}
  }}
}}
"""
PREVIEW = f"""
mutation Preview($name: String!, $channel: String, $language: String, $contactEmail: String) {{
  templatePreview(
    name: $name, channel: $channel, language: $language, contactEmail: $contactEmail
  ) {{
    language to subject preheader text html encoding segments {ERRORS}
  }}
}}
"""
JOURNEY_CREATE = f"""
mutation Create($input: JourneyCreateInput!) {{
  journeyCreate(input: $input) {{ journey {{ slug }} {ERRORS} }}
}}
"""
JOURNEY_PUBLISH = f"""
mutation Publish($slug: String!) {{ journeyPublish(slug: $slug) {{ {ERRORS} }} }}
"""

SPANISH_MAIL = {
    "name": "welcome-material",
    "channel": "email",
    "language": "ES",
    "subject": "Hola {{ contact.first_name }}",
    "preheader": "Tu material",
    "html": "<p>Hola {{ contact.first_name }}, aquí está tu material.</p>",
    "text": "Hola {{ contact.first_name }}, aquí está tu material.",
}


def call(client: Client, key: str, query: str, **variables: Any) -> Any:
    """The data of a request that must not fail at the GraphQL level."""
    response = gql(client, query, key, **variables)
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["code"], e["path"]) for e in payload["errors"]]


def publish(client: Client, key: str, definition: dict[str, Any]) -> str:
    created = call(client, key, JOURNEY_CREATE, input={"definition": definition})["journeyCreate"]
    assert created["errors"] == []
    slug: str = created["journey"]["slug"]
    assert call(client, key, JOURNEY_PUBLISH, slug=slug)["journeyPublish"]["errors"] == []
    return slug


@pytest.fixture
def sent(
    client: Client,
    key: str,
    shop: Installation,
    django_capture_on_commit_callbacks: Any,
    smtp: Inbox,
) -> str:
    """The welcome journey, published through the API, with three contacts through it:
    Jane (email sent; no phone, so the SMS fails), Greta (unsubscribed from email; no SMS
    consent) and Ana (in Spanish, with a phone and SMS consent: the SMS waits for the end of
    her quiet hours)."""
    slug = publish(client, key, WELCOME)
    jane = Contact.objects.get(installation=shop, email="jane.doe@example.org")
    greta = Contact.objects.get(installation=shop, email="greta.g@example.org")
    ana = Contact.objects.create(
        installation=shop,
        email="ana@example.org",
        first_name="Ana",
        language_code="es",
        phone="+34 612 345 678",
        country="ES",
        time_zone="Europe/Madrid",
    )
    Contact.objects.filter(pk=jane.pk).update(phone="")
    jane.refresh_from_db()
    with FrozenClock(T0):
        set_consent(greta, "email", ConsentStatus.UNSUBSCRIBED, source="test")
        set_consent(ana, "sms", ConsentStatus.SUBSCRIBED, source="test")
    journey = Journey.objects.get(installation=shop, slug=slug)
    for contact in (jane, greta, ana):
        with FrozenClock(T0), django_capture_on_commit_callbacks(execute=True):
            assert runs.enroll(journey, contact, now=T0) is not None
    assert sorted(r.recipients[0] for r in smtp.received) == [
        "ana@example.org",
        "jane.doe@example.org",
    ]
    # Jane reads it twice in her mail client, a proxy fetches it once, and she clicks a link
    # after the scanner window; the provider reports it delivered.
    mail = Message.objects.get(contact=jane, channel="email")
    with FrozenClock(T0 + timedelta(hours=1)):
        tracking.record_open(mail.pk, user_agent=BROWSER)
        tracking.record_open(mail.pk, user_agent=BROWSER, head=True)
        tracking.record_open(mail.pk, user_agent=BROWSER)
        tracking.record_click(mail.pk, "https://shop.example/material", user_agent=BROWSER)
    Message.objects.filter(pk=mail.pk).update(status=MessageStatus.DELIVERED)
    return slug


def test_a_contact_has_its_messages_newest_first_with_their_events(
    client: Client, key: str, sent: str
) -> None:
    contact = call(client, key, CONTACT_MESSAGES, email="jane.doe@example.org")["contact"]

    sms, mail = [edge["node"] for edge in contact["messages"]["edges"]]
    row = Message.objects.get(contact__email="jane.doe@example.org", channel="email")
    assert mail["id"] == str(row.pk)
    assert {k: v for k, v in mail.items() if k not in ("id", "events")} == {
        "channel": "email",
        "template": "welcome-material",
        "language": "en",
        "marketing": True,
        "to": "jane.doe@example.org",
        "subject": "Welcome! Here is your pet care guide",
        "status": "DELIVERED",
        "error": "",
        "sentAt": T0.isoformat(),
        "createdAt": T0.isoformat(),
        "sendAfter": None,
        "opens": 2,
        "clicks": 1,
        "journey": sent,
        "node": "mail",
        "contactEmail": "jane.doe@example.org",
    }
    assert [(e["type"], e["url"], e["human"]) for e in mail["events"]] == [
        ("open", "", True),
        ("open", "", False),
        ("open", "", True),
        ("click", "https://shop.example/material", True),
    ]
    # The failed SMS, with the reason staff need.
    assert (sms["channel"], sms["status"], sms["to"], sms["sentAt"]) == (
        "sms",
        "FAILED",
        "",
        None,
    )
    assert sms["error"] == "the contact has no phone number"
    assert (sms["journey"], sms["node"], sms["opens"], sms["events"]) == (sent, "text", 0, [])


def test_a_contacts_messages_filter_by_channel_and_status(
    client: Client, key: str, sent: str
) -> None:
    def statuses(email: str, **filters: Any) -> list[tuple[str, str]]:
        edges = call(client, key, CONTACT_MESSAGES, email=email, **filters)["contact"]["messages"]
        return [(e["node"]["channel"], e["node"]["status"]) for e in edges["edges"]]

    assert statuses("greta.g@example.org") == [("sms", "SUPPRESSED"), ("email", "SUPPRESSED")]
    assert statuses("ana@example.org", channel="sms") == [("sms", "DEFERRED")]
    assert statuses("ana@example.org", status="SENT") == [("email", "SENT")]
    ana = call(client, key, CONTACT_MESSAGES, email="ana@example.org", channel="email")
    [mail] = [e["node"] for e in ana["contact"]["messages"]["edges"]]
    assert (mail["language"], mail["subject"]) == ("es", "¡Bienvenido! Aquí tienes tu guía")
    assert statuses("jane.doe@example.org", channel="sms", status="SENT") == []
    greta = call(client, key, CONTACT_MESSAGES, email="greta.g@example.org")["contact"]
    reasons = [e["node"]["error"] for e in greta["messages"]["edges"]]
    assert all(reasons) and "unsubscribed" in reasons[1]


def test_messages_of_a_journey_node_and_status(client: Client, key: str, sent: str) -> None:
    texts = call(client, key, MESSAGES, journey=sent, node="text", first=10)["messages"]
    deferred = call(client, key, MESSAGES, journey=sent, status="DEFERRED")["messages"]
    page = call(client, key, MESSAGES, journey=sent, first=4)["messages"]
    rest = call(client, key, MESSAGES, journey=sent, first=4, after=page["pageInfo"]["endCursor"])[
        "messages"
    ]
    elsewhere = call(client, key, MESSAGES, journey="nope")["messages"]

    assert [e["node"]["contactEmail"] for e in texts["edges"]] == [
        "ana@example.org",
        "greta.g@example.org",
        "jane.doe@example.org",
    ]
    [ana] = [e["node"] for e in deferred["edges"]]
    assert (ana["contactEmail"], ana["channel"], ana["node"]) == ("ana@example.org", "sms", "text")
    # Quiet hours end at 08:00 in Madrid.
    assert datetime.fromisoformat(ana["sendAfter"]) == datetime.fromisoformat(
        "2026-11-24T07:00:00+00:00"
    )
    assert page["pageInfo"]["hasNextPage"] is True
    assert len(page["edges"]) + len(rest["edges"]) == 6
    assert rest["pageInfo"]["hasNextPage"] is False
    assert elsewhere["edges"] == []


def test_listing_messages_takes_the_same_queries_for_two_or_six(
    client: Client, key: str, sent: str
) -> None:
    query = MESSAGES.replace("sendAfter }", "sendAfter journey events { type human } }")

    def queries(first: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            edges = call(client, key, query, journey=sent, first=first)["messages"]["edges"]
        assert len(edges) == first
        return len(captured)

    assert queries(2) == queries(6)


def test_message_figures_per_node(client: Client, key: str, sent: str) -> None:
    stats = call(client, key, STATS, journey=sent)["messageStats"]
    only_text = call(client, key, STATS, journey=sent, node="text")["messageStats"]
    unknown = call(client, key, STATS, journey="nope")["messageStats"]

    figures = {s["node"]: s for s in stats}
    assert [s["node"] for s in stats] == ["mail", "text"]
    assert figures["mail"] == {
        "node": "mail",
        "type": "send",
        "title": "Welcome mail",
        "messages": 3,
        "sent": 2,
        "delivered": 1,
        "bounced": 0,
        "failed": 0,
        "suppressed": 1,
        "deferred": 0,
        "opened": 1,
        "clicked": 1,
        "opens": 2,
        "clicks": 1,
    }
    assert {k: figures["text"][k] for k in ("messages", "sent", "failed", "suppressed")} == {
        "messages": 3,
        "sent": 0,
        "failed": 1,
        "suppressed": 1,
    }
    assert (figures["text"]["deferred"], figures["text"]["opens"]) == (1, 0)
    assert only_text == [figures["text"]]
    assert unknown is None


def test_a_send_node_without_messages_is_counted_as_zero(client: Client, key: str) -> None:
    slug = publish(client, key, WELCOME)

    stats = call(client, key, STATS, journey=slug)["messageStats"]

    assert [(s["node"], s["messages"], s["opens"]) for s in stats] == [
        ("mail", 0, 0),
        ("text", 0, 0),
    ]


# --- templates --------------------------------------------------------------------------------


def test_templates_list_the_built_in_ones_and_the_shops_own(client: Client, key: str) -> None:
    before = call(client, key, TEMPLATES)["templates"]
    created = call(client, key, CREATE, input=SPANISH_MAIL)["templateCreate"]
    after = call(client, key, TEMPLATES, channel="email")["templates"]
    sms = call(client, key, TEMPLATES, channel="sms")["templates"]

    assert created["errors"] == []
    assert created["template"] == {
        "name": "welcome-material",
        "channel": "email",
        "language": "es",
        "subject": SPANISH_MAIL["subject"],
        "preheader": "Tu material",
        "html": SPANISH_MAIL["html"],
        "text": SPANISH_MAIL["text"],
        "source": "SHOP",
    }
    assert {
        "name": "welcome-material",
        "channel": "email",
        "languages": ["en", "es"],
        "builtin": True,
        "inUse": True,
        "updatedBy": "",
    } in before
    assert all(t["builtin"] for t in before)
    mine = [t for t in after if t["name"] == "welcome-material"]
    assert mine == [
        {
            "name": "welcome-material",
            "channel": "email",
            "languages": ["es"],
            "builtin": False,
            "inUse": True,
            "updatedBy": "api-key:tests",
        },
        {
            "name": "welcome-material",
            "channel": "email",
            "languages": ["en", "es"],
            "builtin": True,
            "inUse": True,  # still for English: the shop wrote only Spanish
            "updatedBy": "",
        },
    ]
    assert {t["channel"] for t in after} == {"email"}
    assert [t["name"] for t in sms] == ["webinar-today-sms"]


def test_a_template_in_a_language_is_the_shops_own_else_the_built_in_one(
    client: Client, key: str
) -> None:
    built_in = call(client, key, TEMPLATE, name="abandoned-cart-reminder", channel="email")
    spanish = call(
        client, key, TEMPLATE, name="abandoned-cart-reminder", channel="email", language="es"
    )
    sms = call(client, key, TEMPLATE, name="webinar-today-sms", channel="sms", language="es")
    wrong_channel = call(client, key, TEMPLATE, name="webinar-today-sms", channel="email")
    nothing = call(client, key, TEMPLATE, name="nope", channel="email")

    assert built_in["template"]["language"] == "en"
    assert built_in["template"]["subject"] == "You left something in your cart"
    assert built_in["template"]["source"] == "BUILTIN"
    assert "{% for line in checkout.lines %}" in built_in["template"]["text"]
    assert (spanish["template"]["subject"], spanish["template"]["preheader"]) == (
        "Te dejaste algo en el carrito",
        "Tu carrito te espera",
    )
    assert sms["template"]["text"].startswith("{{ shop.name }}: hoy a las")
    assert (sms["template"]["subject"], sms["template"]["html"]) == ("", "")
    assert wrong_channel == {"template": None}
    assert nothing == {"template": None}


def test_create_update_and_delete_a_shop_version(client: Client, key: str) -> None:
    call(client, key, CREATE, input=SPANISH_MAIL)
    ids = {"name": "welcome-material", "channel": "email", "language": "es"}

    shop_version = call(client, key, TEMPLATE, **ids)["template"]
    updated = call(client, key, UPDATE, **ids, input={"subject": "¡Bienvenida!"})["templateUpdate"]
    refused = call(client, key, UPDATE, **ids, input={"html": "<p>{% if %}</p>", "subject": "x"})[
        "templateUpdate"
    ]
    kept = Template.objects.get()
    deleted = call(client, key, DELETE, **ids)["templateDelete"]
    again = call(client, key, DELETE, **ids)["templateDelete"]
    missing = call(client, key, UPDATE, **ids, input={"text": "x"})["templateUpdate"]

    assert (shop_version["source"], shop_version["subject"]) == ("SHOP", SPANISH_MAIL["subject"])
    assert updated["errors"] == []
    assert (updated["template"]["subject"], updated["template"]["text"]) == (
        "¡Bienvenida!",
        SPANISH_MAIL["text"],
    )
    assert codes(refused) == [("INVALID_TEMPLATE", "html")]
    assert refused["template"] is None
    assert (kept.subject, kept.html, kept.updated_by) == (
        "¡Bienvenida!",
        SPANISH_MAIL["html"],
        "api-key:tests",
    )
    # Deleting it falls back to the built-in Spanish version.
    assert deleted["errors"] == [] and deleted["deleted"] is True
    assert (deleted["template"]["source"], deleted["template"]["language"]) == ("BUILTIN", "es")
    assert not Template.objects.exists()
    assert codes(again) == [("NOT_FOUND", "name")] and again["deleted"] is False
    assert codes(missing) == [("NOT_FOUND", "name")]


def test_a_new_template_name_can_be_used_by_a_journey(client: Client, key: str) -> None:
    sms = {"name": "flash-sale", "channel": "sms", "language": "en", "text": "Sale today!"}

    created = call(client, key, CREATE, input=sms)["templateCreate"]
    slug = publish(
        client,
        key,
        {
            "name": "Flash",
            "trigger": {"type": "manual"},
            "start": "go",
            "nodes": [{"id": "go", "type": "send", "channel": "sms", "template": "flash-sale"}],
        },
    )
    deleted = call(client, key, DELETE, name="flash-sale", channel="sms", language="en")

    assert created["errors"] == [] and slug == "flash"
    assert deleted["templateDelete"]["template"] is None  # nothing left to fall back to


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"subject": "Hi {% if %}"}, [("INVALID_TEMPLATE", "subject")]),
        ({"html": "<p>{{ contact.first_name|shout }}</p>"}, [("INVALID_TEMPLATE", "html")]),
        ({"text": "{% for x in %}"}, [("INVALID_TEMPLATE", "text")]),
        ({"text": "{% load static %}"}, [("INVALID_TEMPLATE", "text")]),
        (
            {"subject": "{% if %}", "html": "{% endfor %}", "text": "{{ x|safe }}"},
            [
                ("INVALID_TEMPLATE", "subject"),
                ("INVALID_TEMPLATE", "html"),
                ("INVALID_TEMPLATE", "text"),
            ],
        ),
        ({"channel": "fax"}, [("INVALID", "channel")]),
        ({"subject": ""}, [("MISSING", "subject")]),
        ({"subject": "  ", "text": ""}, [("MISSING", "subject"), ("MISSING", "text")]),
        ({"name": "Not a slug"}, [("INVALID", "name")]),
        ({"language": "spanish"}, [("INVALID", "language")]),
        ({"preheader": "x" * 256}, [("INVALID", "preheader")]),
        (
            {"channel": "sms"},
            [("INVALID", "subject"), ("INVALID", "preheader"), ("INVALID", "html")],
        ),
        (
            {"channel": "sms", "subject": "", "preheader": "", "html": "", "text": ""},
            [("MISSING", "text")],
        ),
    ],
)
def test_bad_template_input_is_a_typed_error_and_stores_nothing(
    client: Client, key: str, changes: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    payload = call(client, key, CREATE, input={**SPANISH_MAIL, **changes})["templateCreate"]

    assert codes(payload) == expected
    assert payload["template"] is None
    assert not Template.objects.exists()
    assert all(e["message"] and "Traceback" not in e["message"] for e in payload["errors"])


def test_a_syntax_error_carries_the_template_engines_message(client: Client, key: str) -> None:
    payload = call(
        client, key, CREATE, input={**SPANISH_MAIL, "html": "<p>{{ contact.first_name|shout }}"}
    )["templateCreate"]

    assert payload["errors"] == [
        {"code": "INVALID_TEMPLATE", "path": "html", "message": "Invalid filter: 'shout'"}
    ]


def test_a_second_version_in_the_same_language_is_a_duplicate(client: Client, key: str) -> None:
    first = call(client, key, CREATE, input=SPANISH_MAIL)["templateCreate"]
    second = call(client, key, CREATE, input={**SPANISH_MAIL, "language": "es"})["templateCreate"]
    english = call(client, key, CREATE, input={**SPANISH_MAIL, "language": "en"})["templateCreate"]

    assert first["errors"] == [] and english["errors"] == []
    assert codes(second) == [("DUPLICATE", "name")]
    assert Template.objects.count() == 2


# --- previews ---------------------------------------------------------------------------------


@pytest.fixture
def maria(shop: Installation) -> Contact:
    return Contact.objects.create(
        installation=shop, email="maria@example.org", first_name="María", language_code="es-ES"
    )


def preview(client: Client, key: str, **variables: Any) -> Any:
    return call(client, key, PREVIEW, **variables)["templatePreview"]


def test_preview_in_the_contacts_language_and_in_another(
    client: Client, key: str, maria: Contact
) -> None:
    spanish = preview(client, key, name="abandoned-cart-reminder", contactEmail="maria@example.org")
    english = preview(
        client,
        key,
        name="abandoned-cart-reminder",
        contactEmail="Jane.Doe@example.org",
        language="en",
    )
    jane_in_spanish = preview(
        client,
        key,
        name="abandoned-cart-reminder",
        contactEmail="jane.doe@example.org",
        language="es",
    )

    assert spanish["errors"] == []
    assert (spanish["language"], spanish["to"]) == ("es", "maria@example.org")
    assert spanish["subject"] == "Te dejaste algo en el carrito"
    assert spanish["preheader"] == "Tu carrito te espera"
    assert spanish["text"].startswith("Hola María,")
    assert "Terminar mi compra" in spanish["html"] and 'style="' in spanish["html"]
    assert "Grain-free dog food 12 kg" in spanish["text"]  # the sample cart: she has none
    assert (spanish["encoding"], spanish["segments"]) == (None, None)
    assert english["errors"] == []
    assert (english["language"], english["subject"]) == ("en", "You left something in your cart")
    assert english["text"].startswith("Hi Jane,")
    assert english["preheader"] == "Your cart is waiting for you"
    assert jane_in_spanish["text"].startswith("Hola Jane,")
    assert not Message.objects.exists()  # nothing is stored


def test_preview_for_a_sample_contact(client: Client, key: str, shop: Installation) -> None:
    english = preview(client, key, name="abandoned-cart-thank-you")
    spanish = preview(client, key, name="abandoned-cart-reminder", language="es")
    sms = preview(client, key, name="webinar-today-sms", channel="sms", language="es")

    assert english["errors"] == [] and english["language"] == "en"
    assert english["to"] == "sample@example.com"
    assert english["subject"].startswith("Thank you")
    assert "J-SAMPLE1234" in english["text"]
    assert spanish["text"].startswith("Hola Alex,")
    assert sms["errors"] == []
    assert sms["text"].startswith(shop.saleor_domain + ": hoy a las 9:00")
    assert (sms["subject"], sms["preheader"], sms["html"]) == (None, None, None)
    assert sms["encoding"] in ("GSM-7", "UCS-2") and sms["segments"] >= 1


def test_a_template_that_cannot_be_rendered_is_a_render_failed_error(
    client: Client, key: str, maria: Contact
) -> None:
    call(
        client,
        key,
        CREATE,
        input={
            **SPANISH_MAIL,
            "name": "score",
            "text": "Tu nota: {{ contact.first_name|divisibleby:0 }}",
        },
    )

    response = gql(client, PREVIEW, key, name="score", contactEmail="maria@example.org")

    assert response.status_code == 200
    payload = response.json()["data"]["templatePreview"]
    [problem] = payload["errors"]
    assert (problem["code"], problem["path"]) == ("RENDER_FAILED", "name")
    assert problem["message"] == (
        "score (es) cannot be rendered: invalid literal for int() with base 10: 'María'"
    )
    assert "Traceback" not in problem["message"]
    assert (payload["subject"], payload["text"]) == (None, None)


def test_preview_of_what_does_not_exist_is_not_found(
    client: Client, key: str, maria: Contact
) -> None:
    no_template = preview(client, key, name="nope")
    wrong_channel = preview(client, key, name="webinar-today-sms", channel="email")
    no_contact = preview(client, key, name="welcome-material", contactEmail="who@example.org")
    not_an_email = preview(client, key, name="welcome-material", contactEmail="who")
    no_phone = preview(
        client, key, name="webinar-today-sms", channel="sms", contactEmail="maria@example.org"
    )
    bad_channel = preview(client, key, name="welcome-material", channel="fax")

    assert codes(no_template) == [("NOT_FOUND", "name")]
    assert no_template["errors"][0]["message"] == "there is no template 'nope'"
    assert codes(wrong_channel) == [("NOT_FOUND", "name")]
    assert codes(no_contact) == [("NOT_FOUND", "contactEmail")]
    assert codes(not_an_email) == [("NOT_FOUND", "contactEmail")]
    assert no_phone["errors"] == [
        {
            "code": "RENDER_FAILED",
            "path": "contactEmail",
            "message": "the contact has no phone number",
        }
    ]
    assert codes(bad_channel) == [("INVALID", "channel")]


# --- one shop at a time -----------------------------------------------------------------------


def test_another_shops_messages_and_templates_are_invisible(
    client: Client, key: str, sent: str, signing_key: SigningKey
) -> None:
    call(client, key, CREATE, input=SPANISH_MAIL)
    other = make_installation("http://second-shop:8000/graphql/", jwks(SigningKey()))
    theirs = api_keys.create(other, "other")[1]
    Contact.objects.create(installation=other, email="jane.doe@example.org")
    ids = {"name": "welcome-material", "channel": "email", "language": "es"}

    contact = call(client, theirs, CONTACT_MESSAGES, email="jane.doe@example.org")["contact"]
    messages = call(client, theirs, MESSAGES, first=100)["messages"]
    of_journey = call(client, theirs, MESSAGES, journey=sent)["messages"]
    stats = call(client, theirs, STATS, journey=sent)["messageStats"]
    templates = call(client, theirs, TEMPLATES)["templates"]
    template = call(client, theirs, TEMPLATE, **ids)["template"]
    update = call(client, theirs, UPDATE, **ids, input={"subject": "Hacked"})["templateUpdate"]
    delete = call(client, theirs, DELETE, **ids)["templateDelete"]
    preview_mine = preview(client, theirs, name="welcome-material", contactEmail="ana@example.org")

    assert contact["messages"]["edges"] == []
    assert messages["edges"] == [] and of_journey["edges"] == []
    assert stats is None
    assert all(t["builtin"] for t in templates)
    assert template["source"] == "BUILTIN"
    assert codes(update) == [("NOT_FOUND", "name")]
    assert codes(delete) == [("NOT_FOUND", "name")]
    assert codes(preview_mine) == [("NOT_FOUND", "contactEmail")]
    assert Template.objects.get().subject == SPANISH_MAIL["subject"]
    # Their own templates are theirs alone.
    assert call(client, theirs, CREATE, input=SPANISH_MAIL)["templateCreate"]["errors"] == []
    assert Template.objects.filter(installation=other).count() == 1


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (MESSAGES, {"first": 10}),
        (STATS, {"journey": "welcome"}),
        (TEMPLATES, {}),
        (CREATE, {"input": SPANISH_MAIL}),
        (PREVIEW, {"name": "welcome-material"}),
    ],
)
def test_without_an_api_key_there_is_nothing(
    client: Client, shop: Installation, query: str, variables: dict[str, Any]
) -> None:
    response = gql(client, query, None, **variables)

    assert response.status_code == 401
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not Template.objects.exists()


def test_a_shop_version_in_one_language_leaves_the_others_built_in(
    client: Client, key: str
) -> None:
    call(client, key, CREATE, input=SPANISH_MAIL)
    spanish = call(client, key, TEMPLATE, name="welcome-material", channel="email", language="es")
    english = call(client, key, TEMPLATE, name="welcome-material", channel="email", language="en")
    assert (spanish["template"]["source"], spanish["template"]["language"]) == ("SHOP", "es")
    assert (english["template"]["source"], english["template"]["language"]) == ("BUILTIN", "en")


SUBSCRIBE = """
mutation Subscribe($email: String!, $channel: String) {
  contactSubscribe(email: $email, channel: $channel, source: "signup-form") {
    status errors { code path message }
  }
}
"""
UNSUBSCRIBE = """
mutation Unsubscribe($email: String!, $channel: String) {
  contactUnsubscribe(email: $email, channel: $channel) { status errors { code path message } }
}
"""


def test_subscribing_through_the_api_asks_for_confirmation_when_double_opt_in_is_on(
    client: Client,
    key: str,
    smtp: Inbox,
    settings: Any,
) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "DOUBLE_OPT_IN": True}
    jane = Contact.objects.get(email="jane.doe@example.org")

    pending = call(client, key, SUBSCRIBE, email="Jane.Doe@example.org")["contactSubscribe"]
    assert pending == {"status": "unknown", "errors": []}
    [received] = smtp.received
    assert received.recipients == ["jane.doe@example.org"]
    assert received.message["Subject"].strip() == "Please confirm your subscription"

    sms = call(client, key, SUBSCRIBE, email="jane.doe@example.org", channel="sms")
    assert sms["contactSubscribe"]["status"] == "subscribed"  # explicit SMS consent: at once
    gone = call(client, key, UNSUBSCRIBE, email="jane.doe@example.org", channel="sms")
    assert gone["contactUnsubscribe"]["status"] == "unsubscribed"
    assert jane.events.filter(type="consent_changed").count() == 2

    unknown = call(client, key, SUBSCRIBE, email="nobody@example.org")["contactSubscribe"]
    assert codes(unknown) == [("NOT_FOUND", "email")]
    wrong = call(client, key, SUBSCRIBE, email="jane.doe@example.org", channel="fax")
    assert codes(wrong["contactSubscribe"]) == [("INVALID", "channel")]
    assert len(smtp.received) == 1
