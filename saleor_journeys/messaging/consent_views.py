"""Unsubscribing and confirming, from the links in messages.

``/u/<token>``: ``POST`` with ``List-Unsubscribe=One-Click`` (RFC 8058, what mail clients send)
unsubscribes at once; ``GET`` only shows the preference page and changes nothing (link
scanners follow GETs); the page's form posts the choice. ``/optin/<token>``: the double opt-in
confirmation, valid once and for ``OPT_IN_TOKEN_MAX_AGE``.
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from saleor_journeys.contacts.models import Contact
from saleor_journeys.messaging import links
from saleor_journeys.messaging.consent import set_consent
from saleor_journeys.messaging.models import Consent, ConsentStatus

_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}</style>
</head><body><h1>{title}</h1><p>{text}</p>{form}</body></html>"""


def _page(title: str, text: str, form: str = "", status: int = 200) -> HttpResponse:
    body = _PAGE.format(title=escape(title), text=escape(text), form=form)
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def _contact(token: str) -> tuple[Contact, str] | None:
    try:
        contact_id, channel, _message = links.read_unsubscribe(token)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    contact = Contact.objects.filter(pk=contact_id, erased_at=None).first()
    return (contact, channel) if contact else None


@csrf_exempt  # mail clients post one-click unsubscribes without a CSRF token; the URL is signed
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    found = _contact(token)
    if found is None:
        return _page("Link not valid", "This link is not valid.", status=404)
    contact, channel = found
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        choice = "unsubscribe" if one_click else request.POST.get("choice", "")
        if choice not in ("unsubscribe", "subscribe"):
            return _page("Nothing changed", "Choose to unsubscribe or subscribe.", status=400)
        status = ConsentStatus.UNSUBSCRIBED if choice == "unsubscribe" else ConsentStatus.SUBSCRIBED
        source = "one-click" if one_click else "preference-page"
        set_consent(contact, channel, status, source=source)
        if one_click:
            return HttpResponse("unsubscribed\n", content_type="text/plain")
    current = Consent.objects.filter(contact=contact, channel=channel).first()
    subscribed = current is None or current.status != ConsentStatus.UNSUBSCRIBED
    choice = "unsubscribe" if subscribed else "subscribe"
    label = "Unsubscribe" if subscribed else "Subscribe again"
    form = (
        f'<form method="post"><input type="hidden" name="choice" value="{choice}">'
        f'<button type="submit">{label}</button></form>'
    )
    state = "subscribed to" if subscribed else "unsubscribed from"
    text = f"{contact.email or 'You'} {'are' if not contact.email else 'is'} {state} {channel}."
    return _page("Your preferences", text, form)


@require_http_methods(["GET", "POST"])
@csrf_exempt
def opt_in_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        contact_id, requested_at = links.read_opt_in(token)
    except signing.SignatureExpired:
        return _page("Link expired", "This confirmation link has expired.", status=410)
    except (signing.BadSignature, ValueError, TypeError):
        return _page("Link not valid", "This link is not valid.", status=404)
    contact = Contact.objects.filter(pk=contact_id, erased_at=None).first()
    pending = Consent.objects.filter(contact_id=contact_id, channel="email").first()
    if contact is None or pending is None or pending.at.isoformat() != requested_at:
        return _page("Link already used", "This confirmation link was used already.", status=410)
    if request.method == "GET":
        form = '<form method="post"><button type="submit">Confirm</button></form>'
        return _page("Confirm your subscription", "Confirm that you want our emails.", form)
    set_consent(contact, "email", ConsentStatus.SUBSCRIBED, source="double-opt-in")
    return _page("Subscribed", "Thank you: your subscription is confirmed.")
