"""What the demo shows: the summary table per journey (printed and in ``summary.txt``), the
figures the tests check (``summary.json``), the emails and SMS as they were handed over, and
``report.html``: one self-contained page with each journey's funnel as inline SVG and the
timelines of a few customers, read from the contact card like the API reads it."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from django.db.models import Count

from saleor_journeys.commerce.models import Order
from saleor_journeys.contacts.card import Timeline
from saleor_journeys.contacts.models import Contact
from saleor_journeys.demo.run import Email, Result
from saleor_journeys.events.models import Event
from saleor_journeys.journeys.models import LIVE_STATUSES, Journey, Run, RunStatus
from saleor_journeys.journeys.stats import journey_counts, node_counts
from saleor_journeys.journeys.versions import current_version
from saleor_journeys.messaging.models import Message

SENT = ("sent", "delivered")
# Properties the Saleor mirror keeps on the card, not what the shop learnt from its customers.
SALEOR_PROPERTIES = ("is_active", "is_confirmed", "date_joined", "metadata")
CHANNELS = ("email", "sms", "web")


# Orders that never brought money in, whatever the journey.
NOT_SALES = ("CANCELED", "EXPIRED", "DRAFT", "UNCONFIRMED")


def _trigger_order(run: Run) -> str | None:
    """The number of the order that started ``run``, if an order event did (post-purchase's
    ``order_fully_paid``); None for a run started by a checkout, a sign-up or a page view."""
    kind, _, pk = run.trigger_key.partition(":")
    if kind != "event" or not pk.isdigit():
        return None
    data = Event.objects.filter(pk=int(pk)).values_list("data", flat=True).first() or {}
    number = data.get("order_number") if isinstance(data, dict) else None
    return str(number) if number else None


def _revenue(journey: Journey) -> list[dict[str, Any]]:
    """Attributed revenue: for each run that converted, the orders the contact placed after
    the run's first message reached them (sent, or shown on the storefront) and up to the
    run's end, net of refunds. Never the order that started the run (post-purchase is entered
    on an order: what it earns is the repeat purchases made while it runs), and never an
    order placed before the journey had said anything (a win-back run waiting out its 90 days
    "converts" when the customer simply orders again). Runs still waiting, or that ended
    without converting, earn nothing. An order inside runs of two journeys counts in both.
    The orders counted, each once per run."""
    counted: list[dict[str, Any]] = []
    for run in Run.objects.filter(journey=journey, status=RunStatus.CONVERTED):
        first = (
            Message.objects.filter(run=run, status__in=SENT, sent_at__isnull=False)
            .order_by("sent_at")
            .values_list("sent_at", flat=True)
            .first()
        )
        if first is None or run.finished_at is None:
            continue
        placed = Order.objects.filter(
            contact_id=run.contact_id,
            created_at__gte=max(first, run.entered_at),
            created_at__lte=run.finished_at,
        ).exclude(status__in=NOT_SALES)
        trigger = _trigger_order(run)
        if trigger is not None:
            placed = placed.exclude(number=trigger)
        for order in placed.select_related("contact").order_by("created_at", "pk"):
            counted.append(
                {
                    "order": order.number,
                    "email": order.contact.email if order.contact else order.email,
                    "at": order.created_at.isoformat() if order.created_at else "",
                    "amount": f"{order.total - order.total_refunded:.2f}",
                    "run_entered": run.entered_at.isoformat(),
                }
            )
    return counted


def _nodes(journey: Journey) -> dict[str, int]:
    """Runs that reached each node of the published version: which branches were taken."""
    version = current_version(journey)
    return {n.node: n.entered for n in node_counts(version)} if version else {}


def journey_rows(result: Result) -> list[dict[str, Any]]:
    rows = []
    for journey in Journey.objects.filter(installation=result.installation).order_by("pk"):
        counts = journey_counts(journey)
        earned = _revenue(journey)
        sent = dict(
            Message.objects.filter(run__journey=journey, status__in=SENT)
            .values_list("channel")
            .annotate(n=Count("pk"))
        )
        rows.append(
            {
                "journey": journey.slug,
                "entered": counts.entered,
                "waiting": counts.active + counts.waiting,
                "completed": counts.done,
                "converted": counts.converted,
                "exited": counts.exited,
                "messages": {channel: sent.get(channel, 0) for channel in CHANNELS},
                "revenue": f"{sum((Decimal(o['amount']) for o in earned), Decimal(0)):.2f}",
                "revenue_orders": earned,
                "nodes": _nodes(journey),
            }
        )
    return rows


def summary_text(result: Result, rows: list[dict[str, Any]]) -> str:
    head = "{:<15} {:>7} {:>7} {:>9} {:>9} {:>6} {:>5} {:>4} {:>5} {:>10}"
    lines = [
        f"30 days at the pet shop, {result.start:%Y-%m-%d} to {result.end:%Y-%m-%d} (virtual):",
        "",
        head.format(
            "journey",
            "entered",
            "waiting",
            "completed",
            "converted",
            "exited",
            "email",
            "sms",
            "web",
            "revenue",
        ),
    ]
    for row in rows:
        m = row["messages"]
        lines.append(
            head.format(
                row["journey"],
                row["entered"],
                row["waiting"],
                row["completed"],
                row["converted"],
                row["exited"],
                m["email"],
                m["sms"],
                m["web"],
                f"${row['revenue']}",
            )
        )
    lines += [
        "",
        "revenue: orders placed in runs that converted, after the run's first message and up to",
        "its end, net of refunds; never the order that started the run (post-purchase: repeat",
        "purchases only). An order can count for more than one journey.",
    ]
    tally = result.tally
    webhooks = sum(tally.webhooks.values())
    kinds = Counter(
        Contact.objects.filter(installation=result.installation, erased_at=None).values_list(
            "kind", flat=True
        )
    )
    forms = Counter(
        str(data.get("form", ""))
        for data in Event.objects.filter(
            installation_id=result.installation.pk, type="form_submitted"
        ).values_list("data", flat=True)
    )
    lines += [
        "",
        f"Saleor webhooks accepted: {webhooks} ("
        + ", ".join(f"{n} {e}" for e, n in sorted(tally.webhooks.items()))
        + f"); refused: {len(tally.refused)}",
        f"Storefront: {tally.page_views} page views, {tally.clicks} email link clicks, "
        f"{tally.identified_by_link} browsers identified by a link, "
        f"{sum(len(v) for v in tally.popups.values())} popups shown",
        "Forms answered on the storefront: "
        + (", ".join(f"{n} {f}" for f, n in sorted(forms.items())) or "none"),
        "Contacts: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())),
        f"Handed over: {len(result.emails)} emails, {len(result.texts)} SMS; "
        f"{result.vouchers} single-use vouchers made in the shop's Saleor",
    ]
    return "\n".join(lines)


def _customers(result: Result) -> list[dict[str, Any]]:
    """Per customer, what the tests check the seed flows against."""
    sent = Message.objects.filter(installation=result.installation, status__in=SENT).select_related(
        "contact", "run__journey"
    )
    by_email: dict[str, list[dict[str, Any]]] = {}
    for message in sent.order_by("sent_at", "pk"):
        if message.contact is None or not message.contact.email:
            continue
        by_email.setdefault(message.contact.email, []).append(
            {
                "journey": message.run.journey.slug if message.run else "",
                "channel": message.channel,
                "template": message.template,
                "language": message.language,
                "at": message.sent_at.isoformat() if message.sent_at else "",
                "product": (message.run.context.get("product") or {}).get("id", "")
                if message.run
                else "",
            }
        )
    cards = {
        contact.email: contact
        for contact in Contact.objects.filter(installation=result.installation, erased_at=None)
    }
    forms: dict[int, list[dict[str, Any]]] = {}
    submitted = Event.objects.filter(
        installation_id=result.installation.pk, type="form_submitted"
    ).order_by("occurred_at", "pk")
    for event in submitted:
        forms.setdefault(event.contact_id or 0, []).append(
            {
                "form": event.data.get("form", ""),
                "at": event.occurred_at.isoformat(),
                "fields": event.data.get("fields", {}),
            }
        )
    customers = []
    for story in result.stories:
        c = story.customer
        card = cards.get(c.email)
        customers.append(
            {
                "number": c.number,
                "email": c.email,
                "language": c.language,
                "persona": story.persona,
                "messages": by_email.get(c.email, []),
                "popups": result.tally.popups.get(c.number, []),
                "bought": result.tally.bought.get(c.number, []),
                # The storefront forms they answered, and the card as it ends the month.
                "forms": forms.get(card.pk, []) if card else [],
                "properties": card.properties if card else {},
                "tags": card.tags if card else [],
                "phone": card.phone if card else "",
            }
        )
    return customers


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._+-]+", "-", name)


def write_messages(result: Result, output: Path) -> None:
    emails, texts = output / "emails", output / "sms"
    emails.mkdir(parents=True, exist_ok=True)
    texts.mkdir(parents=True, exist_ok=True)
    sent = {
        key: (template, at)
        for key, template, at in Message.objects.filter(
            installation=result.installation, channel="email"
        ).values_list("key", "template", "sent_at")
    }

    def order(email: Email) -> tuple[str, str, str]:
        template, at = sent.get(email.key, ("", None))
        return (at.isoformat() if at else "", email.to, template)

    # Numbered in the order they were sent, ties by address: the same in any number of
    # processes (ids differ between them).
    for number, email in enumerate(sorted(result.emails, key=order), 1):
        template = sent.get(email.key, ("message", None))[0]
        stem = str(emails / _safe(f"{number:04d}-{template}-{email.to}"))
        Path(f"{stem}.eml").write_bytes(email.eml)
        if email.html:
            Path(f"{stem}.html").write_text(email.html)
    for number, text in enumerate(result.texts, 1):
        (texts / _safe(f"{number:04d}-{text.to}.txt")).write_text(
            f"To: {text.to}\nAt: {text.at.isoformat()}\nSid: {text.sid}\n\n{text.body}\n"
        )


def write(result: Result, output: Path) -> str:
    rows = journey_rows(result)
    text = summary_text(result, rows)
    write_messages(result, output)
    (output / "summary.txt").write_text(text + "\n")
    figures = {
        "journeys": rows,
        "webhooks": result.tally.webhooks,
        "refused": result.tally.refused,
        "page_views": result.tally.page_views,
        "clicks": result.tally.clicks,
        "identified_by_link": result.tally.identified_by_link,
        "emails": len(result.emails),
        "sms": len(result.texts),
        "vouchers": result.vouchers,
        "customers": _customers(result),
    }
    (output / "summary.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False))
    (output / "report.html").write_text(_html(result, rows, text))
    return text


# -- report.html -------------------------------------------------------------------------------


def _funnel(journey: Journey) -> str:
    version = current_version(journey)
    nodes = node_counts(version) if version else []
    widest = max((n.entered for n in nodes), default=0) or 1
    bar_height, label_width, bar_width = 22, 230, 420
    height = len(nodes) * (bar_height + 6) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 140}" '
        f'height="{height}" role="img" aria-label="funnel of {escape(journey.slug)}">'
    ]
    for i, node in enumerate(nodes):
        y = 6 + i * (bar_height + 6)
        width = max(1, round(bar_width * node.entered / widest)) if node.entered else 0
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">'
            f'{escape(node.node)} <tspan class="type">{escape(node.type)}</tspan></text>'
            f'<rect x="{label_width}" y="{y}" width="{width}" height="{bar_height}" rx="3" '
            f'class="bar {escape(node.type)}"/>'
            f'<text x="{label_width + width + 6}" y="{y + 15}">{node.entered}'
            + (f" · {node.waiting} here" if node.waiting else "")
            + "</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _timeline(contact: Contact, persona: str) -> str:
    entries = list(Timeline(contact)[:80])
    entries.reverse()
    rows = "".join(
        f'<tr><td>{e.occurred_at:%b %d %H:%M}</td><td class="kind {escape(e.kind)}">'
        f"{escape(e.kind)}</td><td>{escape(e.summary)}</td></tr>"
        for e in entries
    )
    # What the forms and the journeys wrote on the card (Saleor's own fields left out).
    known = {k: v for k, v in contact.properties.items() if k not in SALEOR_PROPERTIES}
    card = ", ".join(f"{k}: {v}" for k, v in sorted(known.items())) or "nothing yet"
    if contact.phone:
        card += f"; phone {contact.phone}"
    if contact.tags:
        card += "; tags " + ", ".join(map(str, contact.tags))
    return (
        f"<h3>{escape(contact.full_name or contact.email or '')} "
        f"<small>{escape(contact.email or '')} · {escape(persona)} · "
        f"{escape(contact.kind)}</small></h3>"
        f'<p class="card">On the card: {escape(card)}</p>'
        f'<table class="timeline">{rows}</table>'
    )


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2433;
  padding:0 1rem}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #dde;padding-bottom:.3rem}
pre{background:#f5f6fa;padding:1rem;overflow-x:auto;border-radius:6px;white-space:pre-wrap}
svg text{font:12px system-ui,sans-serif;fill:#1d2433}svg .type{fill:#8a93a6}
.bar{fill:#5b7cfa}.bar.send{fill:#2fb383}.bar.wait,.bar.wait_for_event{fill:#c9cfe0}
.bar.create_voucher{fill:#f2a541}.bar.exit{fill:#8a93a6}.bar.condition{fill:#a77bf3}
table.timeline{border-collapse:collapse;width:100%}
.timeline td{border-top:1px solid #eef;padding:3px 8px;vertical-align:top}
.timeline td:first-child{white-space:nowrap;color:#667}.kind{color:#667;white-space:nowrap}
.kind.message{color:#2fb383}.kind.web{color:#5b7cfa}
small{color:#667;font-weight:normal}p.card{color:#445;margin:.2rem 0 .6rem}
"""


def _html(result: Result, rows: list[dict[str, Any]], text: str) -> str:
    journeys = Journey.objects.filter(installation=result.installation).order_by("pk")
    funnels = "".join(
        f"<h3>{escape(j.name)} <small>{escape(j.slug)}</small></h3>{_funnel(j)}" for j in journeys
    )
    picked: dict[str, int] = {}
    for story in result.stories:
        picked.setdefault(story.persona, story.customer.number)
    timelines = []
    emails = {s.customer.number: (s.customer.email, s.persona) for s in result.stories}
    for persona, number in sorted(picked.items()):
        email, _ = emails[number]
        contact = Contact.objects.filter(installation=result.installation, email=email).first()
        if contact is not None:
            timelines.append(_timeline(contact, persona))
    live = Run.objects.filter(installation=result.installation, status__in=LIVE_STATUSES).count()
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>saleor-journeys demo</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>The pet shop's month with saleor-journeys</h1>"
        f"<p>{len(result.stories)} customers, {result.start:%B %d} to {result.end:%B %d} "
        f"(virtual time). Every Saleor webhook was signed and went through the webhook "
        f"endpoint; every page view through the collect endpoint. {live} runs are still "
        "waiting for their next step.</p>"
        f"<pre>{escape(text)}</pre>"
        "<h2>Funnels</h2><p>Runs that reached each step of the published version: where a flow "
        "branches (the welcome form answered or its reminder, the cart's reason or its second "
        f"email, the thank-you voucher) both sides show.</p>{funnels}"
        f"<h2>Timelines</h2><p>One customer of each kind, as their contact card shows them "
        f"(oldest first).</p>{''.join(timelines)}"
        "</body></html>"
    )
