"""On-site messages: the web-activity journey end to end (page views → a Saleor voucher → a
popup queued for the product's page → an email a day later), choosing what a page shows
(journey messages, rules with patterns, conditions and caps, frames), what the browser
reports, plain-text rendering, and the rules API."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from saleor_journeys.auth import api_keys
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events import log
from saleor_journeys.events.models import Event
from saleor_journeys.journeys import builtin, versions
from saleor_journeys.journeys.models import ActionStatus, Journey, Run, RunAction, RunStatus
from saleor_journeys.messaging.consent import set_consent
from saleor_journeys.messaging.models import (
    ConsentStatus,
    Message,
    MessageEvent,
    MessageStatus,
    Template,
)
from saleor_journeys.runtime import outbox, runs
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web import onsite
from saleor_journeys.web.models import Site, WebRule
from tests.conftest import make_installation
from tests.fixtures.saleor_server import FakeSaleor
from tests.fixtures.saleor_vouchers import SaleorVouchers
from tests.fixtures.signing import SigningKey, jwks
from tests.fixtures.smtp import Inbox
from tests.graphql.conftest import gql
from tests.web.test_activity import CAP, HOODIE, SHOP, T0, bought, visitor_of

SOCKS = {"id": "UHJvZHVjdDoxNTA=", "name": "Wool Socks", "url": f"{SHOP}/products/wool-socks"}
SCARF = {"id": "UHJvZHVjdDoxNjA=", "name": "Scarf", "url": f"{SHOP}/products/scarf"}
BOOTS = {"id": "UHJvZHVjdDoxNzA=", "name": "Boots", "url": f"{SHOP}/products/boots"}
GLOVES = {"id": "UHJvZHVjdDoxODA=", "name": "Gloves", "url": f"{SHOP}/products/gloves"}


def page(product: dict[str, Any] | None = None, path: str | None = None) -> dict[str, Any]:
    """A page view's data as the collect endpoint stores it (and hands it to ``messages_for``)."""
    path = path or (product["url"].removeprefix(SHOP) if product else "/")
    data: dict[str, Any] = {"url": SHOP + path, "path": path, "title": "A page", "page": "p_x"}
    if product is not None:
        data["product"] = product
    return data


def look(contact: Contact, product: dict[str, Any], at: datetime, capture: Any) -> Event:
    """A page view of the product, logged as the collect endpoint logs one; what it sets off
    (a run's steps, a voucher, a message) happens when it commits."""
    with FrozenClock(at), capture(execute=True):
        return log.record(
            installation_id=contact.installation_id,
            contact=contact,
            type="page_viewed",
            source="web",
            key=f"web:{visitor_of(contact).uid}:{at.timestamp():.0f}{product['id'][:6]}",
            occurred_at=at,
            received_at=at,
            data={**page(product), "visitor": visitor_of(contact).uid},
        )


def shown_now(contact: Contact, where: dict[str, Any], at: datetime) -> list[dict[str, Any]]:
    with FrozenClock(at):
        return onsite.messages_for(contact, where, now=at)


def live(start: datetime, until: datetime, capture: Any) -> None:
    """Let time pass hour by hour, as the beat would: due runs step, due messages go."""
    at = start
    while at <= until:
        with FrozenClock(at), capture(execute=True):
            runs.sweep()
            outbox.sweep()
        at += timedelta(hours=1)


@pytest.fixture
def shop(settings: Any, installation: Installation) -> Installation:
    settings.SALEOR_JOURNEYS = {
        **settings.SALEOR_JOURNEYS,
        "VOUCHER_CHANNEL": "default-channel",  # anonymous visitors have no order to take it from
        "LINKS": {"shop": SHOP, "form": f"{SHOP}/newsletter"},
    }
    return installation


@pytest.fixture
def vouchers(saleor: FakeSaleor) -> SaleorVouchers:
    handler = SaleorVouchers()
    saleor.handler = handler
    return handler


@pytest.fixture
def anonymous(shop: Installation) -> Contact:
    contact = Contact.objects.create(installation=shop, kind=ContactKind.ANONYMOUS)
    visitor_of(contact)
    return contact


@pytest.fixture
def maria(shop: Installation) -> Contact:
    contact = Contact.objects.create(
        installation=shop, email="maria@example.org", first_name="María", kind="monitored"
    )
    visitor_of(contact)
    return contact


def web_activity(installation: Installation, **parameters: Any) -> Journey:
    with FrozenClock(T0 - timedelta(days=1)):
        journey = versions.create(
            installation, builtin.load("web-activity", parameters), actor="tests"
        )
        versions.publish(journey, actor="tests")
    journey.refresh_from_db()
    return journey


def interested(contact: Contact, capture: Any) -> None:
    """Three views of the hoodie within an hour: the journey's threshold."""
    for minutes in (0, 10, 20):
        look(contact, HOODIE, T0 + timedelta(minutes=minutes), capture)


# --- the built-in journey, end to end ---------------------------------------------------------


def test_three_views_make_a_voucher_and_a_popup_on_that_product_page(
    anonymous: Contact, vouchers: SaleorVouchers, django_capture_on_commit_callbacks: Any
) -> None:
    web_activity(anonymous.installation)

    interested(anonymous, django_capture_on_commit_callbacks)

    run = Run.objects.get()
    code = run.context["voucher"]["code"]
    [voucher] = vouchers.vouchers.values()
    assert voucher["code"] == code and voucher["input"]["singleUse"] is True
    assert voucher["listings"][0]["discountValue"] == 10
    assert RunAction.objects.get(kind="create_voucher").status == ActionStatus.DONE
    message = Message.objects.get(channel="web")
    assert (message.status, message.template, message.run) == (
        MessageStatus.SENT,  # queued for the next view of the product's page
        "web-activity-offer",
        run,
    )
    assert message.data["url_pattern"] == "/products/blue-hoodie"
    assert message.data["product_id"] == HOODIE["id"]

    later = T0 + timedelta(minutes=40)
    assert shown_now(anonymous, page(CAP), later) == []  # another product's page
    assert shown_now(anonymous, page(path="/"), later) == []
    assert shown_now(anonymous, page(HOODIE), later) == [
        {
            "id": message.pk,
            "kind": "popup",
            "title": "Still thinking about Blue Hoodie?",
            "body": f"10 % off it today with code {code}.",
            "image": HOODIE["image"],
            "cta": {"label": "See it again", "url": HOODIE["url"]},
            "products": [],
            "slot": "",
        }
    ]


def test_a_popup_shown_once_is_not_shown_again(
    anonymous: Contact, vouchers: SaleorVouchers, django_capture_on_commit_callbacks: Any
) -> None:
    web_activity(anonymous.installation)
    interested(anonymous, django_capture_on_commit_callbacks)
    [popup] = shown_now(anonymous, page(HOODIE), T0 + timedelta(minutes=30))
    at = T0 + timedelta(minutes=30, seconds=2)

    with FrozenClock(at):
        assert onsite.record_action(anonymous, popup["id"], "shown", now=at) is True
        assert onsite.record_action(anonymous, popup["id"], "shown", now=at) is True  # a retry

    message = Message.objects.get(pk=popup["id"])
    assert message.status == MessageStatus.DELIVERED
    assert list(message.events.values_list("type", flat=True)) == ["shown"]
    assert Event.objects.filter(contact=anonymous, type="web_message_shown").count() == 1
    assert shown_now(anonymous, page(HOODIE), T0 + timedelta(minutes=45)) == []


def test_the_reminder_email_a_day_later_with_email_consent(
    maria: Contact,
    vouchers: SaleorVouchers,
    smtp: Inbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    set_consent(maria, "email", ConsentStatus.SUBSCRIBED, source="form")
    web_activity(maria.installation)
    interested(maria, django_capture_on_commit_callbacks)
    code = Run.objects.get().context["voucher"]["code"]

    live(
        T0 + timedelta(minutes=30),
        T0 + timedelta(days=1, hours=1),
        django_capture_on_commit_callbacks,
    )

    [received] = smtp.received
    assert received.recipients == ["maria@example.org"]
    assert received.message["Subject"].strip() == "Still thinking about Blue Hoodie?"
    assert code in received.message.get_body(("plain",)).get_content()
    assert Run.objects.get().status == RunStatus.DONE


def test_no_reminder_without_email_consent_nor_for_an_anonymous_visitor(
    maria: Contact,
    anonymous: Contact,
    vouchers: SaleorVouchers,
    smtp: Inbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    web_activity(maria.installation)
    interested(maria, django_capture_on_commit_callbacks)
    interested(anonymous, django_capture_on_commit_callbacks)

    live(
        T0 + timedelta(minutes=30),
        T0 + timedelta(days=1, hours=1),
        django_capture_on_commit_callbacks,
    )

    assert smtp.received == []
    assert list(Run.objects.values_list("status", "node")) == [("done", "end")] * 2
    assert not Message.objects.filter(channel="email").exists()


def test_an_order_ends_the_journey_before_the_reminder(
    maria: Contact,
    vouchers: SaleorVouchers,
    smtp: Inbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    set_consent(maria, "email", ConsentStatus.SUBSCRIBED, source="form")
    web_activity(maria.installation)
    interested(maria, django_capture_on_commit_callbacks)
    ordered = T0 + timedelta(hours=2)
    with FrozenClock(ordered), django_capture_on_commit_callbacks(execute=True):
        log.record(
            installation_id=maria.installation_id,
            contact=maria,
            type="order_created",
            source="saleor",
            key="saleor:order-1:order_created",
            occurred_at=ordered,
            received_at=ordered,
            data={"number": "21"},
        )

    live(ordered, T0 + timedelta(days=2), django_capture_on_commit_callbacks)

    assert Run.objects.get().status == RunStatus.CONVERTED
    assert smtp.received == []


def test_the_offer_is_never_shown_after_the_product_was_bought(
    maria: Contact, vouchers: SaleorVouchers, django_capture_on_commit_callbacks: Any
) -> None:
    web_activity(maria.installation)
    interested(maria, django_capture_on_commit_callbacks)
    bought(maria, HOODIE["id"])

    assert shown_now(maria, page(HOODIE), T0 + timedelta(minutes=40)) == []
    message = Message.objects.get(channel="web")
    assert message.status == MessageStatus.SUPPRESSED
    assert message.error == "the contact has bought the product it is about"


def test_a_product_name_with_markup_comes_back_as_its_literal_text(
    anonymous: Contact, vouchers: SaleorVouchers, django_capture_on_commit_callbacks: Any
) -> None:
    web_activity(anonymous.installation)
    name = '<img src=x onerror="alert(1)"> Tom & Jerry\'s "Hoodie"'
    tricky = {**HOODIE, "name": name}
    for minutes in (0, 10, 20):
        look(anonymous, tricky, T0 + timedelta(minutes=minutes), django_capture_on_commit_callbacks)

    [popup] = shown_now(anonymous, page(tricky), T0 + timedelta(minutes=30))

    assert popup["title"] == f"Still thinking about {name}?"
    assert Message.objects.get(channel="web").subject == f"Still thinking about {name}?"


def test_a_queued_message_expires(
    anonymous: Contact, vouchers: SaleorVouchers, django_capture_on_commit_callbacks: Any
) -> None:
    web_activity(anonymous.installation)
    interested(anonymous, django_capture_on_commit_callbacks)

    week = T0 + timedelta(days=7, minutes=21)  # WEB_MESSAGE_TTL: 7 days after it was queued
    assert shown_now(anonymous, page(HOODIE), week - timedelta(minutes=2)) != []
    assert shown_now(anonymous, page(HOODIE), week) == []


def test_a_refused_web_consent_gets_no_message(
    maria: Contact, vouchers: SaleorVouchers, django_capture_on_commit_callbacks: Any
) -> None:
    web_activity(maria.installation)
    interested(maria, django_capture_on_commit_callbacks)
    assert shown_now(maria, page(HOODIE), T0 + timedelta(minutes=30)) != []

    set_consent(maria, "web", ConsentStatus.UNSUBSCRIBED, source="storefront")

    assert shown_now(maria, page(HOODIE), T0 + timedelta(minutes=31)) == []


def test_the_web_channel_suppresses_for_a_refused_consent_and_fails_without_a_browser(
    shop: Installation, vouchers: SaleorVouchers, django_capture_on_commit_callbacks: Any
) -> None:
    journey = web_activity(shop)
    refused = Contact.objects.create(installation=shop, email="no@example.org")
    set_consent(refused, "web", ConsentStatus.UNSUBSCRIBED, source="storefront")
    visitor_of(refused)
    browserless = Contact.objects.create(installation=shop, email="gone@example.org")
    for contact in (refused, browserless):
        with FrozenClock(T0), django_capture_on_commit_callbacks(execute=True):
            run = runs.enroll(
                journey, contact, now=T0, trigger_key="web:x", context={"product": HOODIE}
            )
            assert run is not None

    outcome = dict(Message.objects.values_list("contact__email", "status"))
    assert outcome == {
        "no@example.org": MessageStatus.SUPPRESSED,
        "gone@example.org": MessageStatus.FAILED,
    }
    assert Message.objects.get(contact=browserless).error == "the contact has no browser we know"


def test_through_the_collect_endpoint(
    client: Client,
    shop: Installation,
    vouchers: SaleorVouchers,
    django_capture_on_commit_callbacks: Any,
) -> None:
    site = Site.objects.create(installation=shop, origins=[SHOP])
    web_activity(shop)

    def collect(at: datetime, *events: dict[str, Any]) -> Any:
        body = json.dumps({"v": "v_3Jx0c1k9Q2u8bWm4rTz7", "events": list(events)})
        with FrozenClock(at), django_capture_on_commit_callbacks(execute=True):
            answer = client.post(
                f"/api/web/{site.key}/collect",
                data=body,
                content_type="text/plain;charset=UTF-8",
                headers={"Origin": SHOP, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"},
            )
        assert answer.status_code == 200, answer.content
        return answer.json()["messages"]

    def page_event(n: int, product: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"e_page_{n:04d}",
            "type": "page",
            "age": 0,
            "url": product["url"],
            "title": product["name"],
            "product": product,
        }

    for n in range(3):
        assert collect(T0 + timedelta(minutes=n), page_event(n, HOODIE)) == []
    elsewhere = collect(T0 + timedelta(minutes=5), page_event(5, CAP))
    [popup] = collect(T0 + timedelta(minutes=6), page_event(6, HOODIE))

    assert elsewhere == []
    code = Run.objects.get().context["voucher"]["code"]
    assert (popup["kind"], popup["title"]) == ("popup", "Still thinking about Blue Hoodie?")
    assert popup["body"] == f"10 % off it today with code {code}."
    shown = {"id": "e_shown_0001", "type": "message", "age": 0, "message": popup["id"]}
    assert collect(T0 + timedelta(minutes=7), {**shown, "action": "shown"}) == []
    assert Message.objects.get(pk=popup["id"]).status == MessageStatus.DELIVERED
    assert collect(T0 + timedelta(minutes=8), page_event(8, HOODIE)) == []


# --- rules ------------------------------------------------------------------------------------


def rule(installation: Installation, template: str, **fields: Any) -> WebRule:
    return WebRule.objects.create(
        installation=installation, name=template, template=template, **fields
    )


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [m["kind"] for m in messages]


def test_a_rule_shows_on_the_pages_of_its_pattern_up_to_its_daily_cap(maria: Contact) -> None:
    rule(maria.installation, "web-push-invite", url_pattern="/products/*", cap_per_day=2)

    assert shown_now(maria, page(path="/blog/news"), T0) == []
    first = shown_now(maria, page(HOODIE), T0)
    second = shown_now(maria, page(CAP), T0 + timedelta(minutes=1))
    third = shown_now(maria, page(CAP), T0 + timedelta(minutes=2))
    tomorrow = shown_now(maria, page(CAP), T0 + timedelta(days=1))

    assert kinds(first) == kinds(second) == kinds(tomorrow) == ["push_prompt"]
    assert third == []
    assert first[0]["title"] == "Never miss a deal"
    assert first[0]["cta"] == {"label": "Allow notifications", "url": ""}
    assert first[0]["id"] != second[0]["id"]
    made = Message.objects.filter(contact=maria, channel="web").order_by("pk")
    assert [m.key.rsplit(":", 1)[1] for m in made] == ["1", "2", "1"]
    assert {m.status for m in made} == {MessageStatus.SENT}


def test_a_rule_shows_only_to_contacts_its_conditions_hold_for(
    maria: Contact, anonymous: Contact
) -> None:
    not_subscribed = {"not": {"consent": "email"}}
    rule(
        maria.installation, "web-subscribe-invite", url_pattern="/blog/*", conditions=not_subscribed
    )
    set_consent(maria, "email", ConsentStatus.SUBSCRIBED, source="form")

    assert shown_now(maria, page(path="/blog/puppies"), T0) == []
    [invite] = shown_now(anonymous, page(path="/blog/puppies"), T0)
    assert invite["title"] == "Enjoying our articles?"
    assert invite["cta"] == {"label": "Subscribe", "url": f"{SHOP}/newsletter"}


def test_a_rule_condition_can_look_at_the_page_and_the_card(maria: Contact) -> None:
    on_products_for_vips = {
        "all": [{"tag": "vip"}, {"property": "event.product.id", "op": "exists"}]
    }
    rule(maria.installation, "web-push-invite", conditions=on_products_for_vips, cap_per_day=0)

    assert shown_now(maria, page(HOODIE), T0) == []
    Contact.objects.filter(pk=maria.pk).update(tags=["vip"])
    maria.refresh_from_db()
    assert shown_now(maria, page(path="/"), T0) == []
    assert kinds(shown_now(maria, page(HOODIE), T0)) == ["push_prompt"]


def test_one_popup_per_page_the_highest_priority_first_banners_add(
    maria: Contact, vouchers: SaleorVouchers, django_capture_on_commit_callbacks: Any
) -> None:
    Template.objects.create(
        installation=maria.installation,
        name="free-shipping",
        channel="web",
        language="en",
        text='{"kind": "banner", "title": "Free shipping over $50", "cta_label": "Shop", '
        '"cta_url": "/collections/new"}',
    )
    rule(maria.installation, "free-shipping", priority=5, cap_per_day=0)
    rule(maria.installation, "web-subscribe-invite", priority=1, cap_per_day=0)
    web_activity(maria.installation)
    interested(maria, django_capture_on_commit_callbacks)

    on_hoodie = shown_now(maria, page(HOODIE), T0 + timedelta(minutes=30))
    elsewhere = shown_now(maria, page(CAP), T0 + timedelta(minutes=31))

    # The journey's popup comes first; the rule's popup waits for a page without one.
    assert [(m["kind"], m["title"]) for m in on_hoodie] == [
        ("popup", "Still thinking about Blue Hoodie?"),
        ("banner", "Free shipping over $50"),
    ]
    assert on_hoodie[1]["cta"] == {"label": "Shop", "url": f"{SHOP}/collections/new"}
    assert [m["title"] for m in elsewhere] == ["Free shipping over $50", "Enjoying our articles?"]


def test_a_frame_shows_recently_viewed_products_not_bought(
    maria: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    rule(maria.installation, "web-recently-viewed", url_pattern="/products/*", cap_per_day=0)
    for i, product in enumerate([SOCKS, HOODIE, CAP, SCARF, BOOTS, CAP, GLOVES]):
        look(maria, product, T0 + timedelta(minutes=i), django_capture_on_commit_callbacks)
    bought(maria, SCARF["id"])

    [frame] = shown_now(maria, page(GLOVES), T0 + timedelta(minutes=10))

    assert (frame["kind"], frame["title"], frame["slot"]) == (
        "frame",
        "Recently viewed",
        "recently-viewed",
    )
    # Newest first, each once; not the page's own product, not the bought scarf; at most 4.
    assert [p["name"] for p in frame["products"]] == [
        "Red Cap",
        "Boots",
        "Blue Hoodie",
        "Wool Socks",
    ]
    assert frame["products"][2]["image"] == HOODIE["image"]


def test_a_frame_without_products_is_not_shown(maria: Contact) -> None:
    rule(maria.installation, "web-recently-viewed", cap_per_day=0)

    assert shown_now(maria, page(HOODIE), T0) == []
    assert not Message.objects.exists()


# --- what the browser reports -----------------------------------------------------------------


def test_a_message_of_another_contact_is_refused(maria: Contact, anonymous: Contact) -> None:
    rule(maria.installation, "web-push-invite", cap_per_day=0)
    [prompt] = shown_now(maria, page(HOODIE), T0)

    for action in ("shown", "clicked", "dismissed"):
        assert onsite.record_action(anonymous, prompt["id"], action, now=T0) is False
    assert onsite.record_action(maria, prompt["id"], "hovered", now=T0) is False
    assert onsite.record_action(maria, 10**9, "shown", now=T0) is False

    message = Message.objects.get(pk=prompt["id"])
    assert (message.status, message.clicks) == (MessageStatus.SENT, 0)
    assert not MessageEvent.objects.exists()
    assert not Event.objects.filter(type__startswith="web_message_").exists()


def test_clicks_and_dismissals_are_recorded_and_a_dismissed_banner_goes(
    maria: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    Template.objects.create(
        installation=maria.installation,
        name="sale",
        channel="web",
        language="en",
        text='{"kind": "banner", "title": "Sale!", "cta_label": "See", "cta_url": "/sale"}',
    )
    journey_def = {
        "name": "Banner",
        "trigger": {"type": "manual"},
        "start": "banner",
        "nodes": [{"id": "banner", "type": "send", "channel": "web", "template": "sale"}],
    }
    journey = versions.create(maria.installation, journey_def, actor="tests")
    versions.publish(journey, actor="tests")
    with FrozenClock(T0), django_capture_on_commit_callbacks(execute=True):
        runs.enroll(journey, maria, now=T0)
    [banner] = shown_now(maria, page(HOODIE), T0)
    onsite.record_action(maria, banner["id"], "shown", now=T0)
    assert kinds(shown_now(maria, page(CAP), T0)) == ["banner"]  # a banner stays until closed

    assert onsite.record_action(maria, banner["id"], "clicked", now=T0, event_id="e_click_1")
    assert onsite.record_action(maria, banner["id"], "clicked", now=T0, event_id="e_click_2")
    # The same report again (a retried beacon): counted once.
    assert onsite.record_action(maria, banner["id"], "clicked", now=T0, event_id="e_click_2")
    message = Message.objects.get(pk=banner["id"])
    assert (message.status, message.clicks) == (MessageStatus.DELIVERED, 2)
    assert Event.objects.filter(contact=maria, type="web_message_clicked").count() == 2
    assert shown_now(maria, page(CAP), T0) == []

    assert onsite.record_action(maria, banner["id"], "dismissed", now=T0) is True
    types = list(message.events.order_by("pk").values_list("type", flat=True))
    assert types == ["shown", "click", "click", "dismissed"]
    assert Event.objects.filter(contact=maria, type="web_message_dismissed").count() == 1


# --- the rules API ----------------------------------------------------------------------------

RULES = """
query($active: Boolean) {
  webRules(active: $active) {
    id name template urlPattern conditions capPerDay priority active
  }
}"""
RULE = "query($id: ID!) { webRule(id: $id) { id name } }"
CREATE = """
mutation($input: WebRuleInput!) {
  webRuleCreate(input: $input) {
    rule { id name template urlPattern conditions capPerDay }
    errors { code message path }
  }
}"""
UPDATE = """
mutation($id: ID!, $input: WebRuleInput!) {
  webRuleUpdate(id: $id, input: $input) {
    rule { id name urlPattern active priority }
    errors { code message path }
  }
}"""
DELETE = "mutation($id: ID!) { webRuleDelete(id: $id) { deleted errors { code path } } }"


@pytest.fixture
def key(shop: Installation) -> str:
    return api_keys.create(shop, "tests")[1]


def call(client: Client, key: str, query: str, **variables: Any) -> Any:
    answer = gql(client, query, key, **variables).json()
    assert "errors" not in answer, answer
    return answer["data"]


def codes(errors: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["code"], e["path"]) for e in errors]


def test_rules_are_created_listed_changed_and_deleted(client: Client, key: str) -> None:
    created = call(
        client,
        key,
        CREATE,
        input={
            "name": "Blog readers",
            "template": "web-subscribe-invite",
            "urlPattern": "/blog/*",
            "conditions": {"not": {"consent": "email"}},
            "capPerDay": 1,
        },
    )["webRuleCreate"]
    assert created["errors"] == []
    rule_id = created["rule"]["id"]

    listed = call(client, key, RULES)["webRules"]
    assert listed == [
        {
            "id": rule_id,
            "name": "Blog readers",
            "template": "web-subscribe-invite",
            "urlPattern": "/blog/*",
            "conditions": {"not": {"consent": "email"}},
            "capPerDay": 1,
            "priority": 0,
            "active": True,
        }
    ]
    changed = call(client, key, UPDATE, id=rule_id, input={"active": False, "priority": 3})
    assert changed["webRuleUpdate"]["rule"] == {
        "id": rule_id,
        "name": "Blog readers",
        "urlPattern": "/blog/*",
        "active": False,
        "priority": 3,
    }
    assert call(client, key, RULES, active=True)["webRules"] == []
    assert call(client, key, DELETE, id=rule_id)["webRuleDelete"] == {"deleted": True, "errors": []}
    assert not WebRule.objects.exists()


def test_a_refused_rule_changes_nothing_and_says_why(client: Client, key: str) -> None:
    refused = call(
        client,
        key,
        CREATE,
        input={
            "name": " ",
            "template": "win-back-offer",
            "urlPattern": "products/*",
            "conditions": {"all": [{"tag": "vip"}, {"property": "contact.country", "op": "near"}]},
            "capPerDay": -1,
        },
    )["webRuleCreate"]

    assert refused["rule"] is None
    assert codes(refused["errors"]) == [
        ("MISSING", "name"),
        ("UNKNOWN_TEMPLATE", "template"),
        ("INVALID", "urlPattern"),
        ("INVALID_CONDITION", "conditions.all[1].op"),
        ("INVALID", "capPerDay"),
    ]
    assert "is an email template, not a web template" in refused["errors"][1]["message"]
    unknown = call(client, key, CREATE, input={"name": "x", "template": "nope"})["webRuleCreate"]
    assert unknown["errors"][0]["message"] == "there is no web template 'nope'"
    long_pattern = "/" + "a" * 500
    too_long = call(
        client,
        key,
        CREATE,
        input={"name": "x", "template": "web-push-invite", "urlPattern": long_pattern},
    )["webRuleCreate"]
    assert codes(too_long["errors"]) == [("INVALID", "urlPattern")]
    assert not WebRule.objects.exists()

    rule_id = call(client, key, CREATE, input={"name": "Push", "template": "web-push-invite"})[
        "webRuleCreate"
    ]["rule"]["id"]
    bad = call(client, key, UPDATE, id=rule_id, input={"template": "nope", "name": "Changed"})
    assert codes(bad["webRuleUpdate"]["errors"]) == [("UNKNOWN_TEMPLATE", "template")]
    assert WebRule.objects.get().name == "Push"


def test_another_shops_rules_are_out_of_reach(
    client: Client, key: str, signing_key: SigningKey
) -> None:
    other = make_installation("https://other.example.com/graphql/", jwks(signing_key))
    theirs = rule(other, "web-push-invite")

    assert call(client, key, RULE, id=str(theirs.pk))["webRule"] is None
    assert call(client, key, RULES)["webRules"] == []
    update = call(client, key, UPDATE, id=str(theirs.pk), input={"name": "Mine"})["webRuleUpdate"]
    delete = call(client, key, DELETE, id=str(theirs.pk))["webRuleDelete"]
    assert codes(update["errors"]) == codes(delete["errors"]) == [("NOT_FOUND", "id")]
    assert delete["deleted"] is False
    assert WebRule.objects.get().name == "web-push-invite"
