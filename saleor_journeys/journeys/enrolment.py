"""Enrolling contacts by hand or in bulk (the API, staff), with the reason for each refusal.

The runtime's ``enroll`` decides; this module only finds the contacts and explains a refusal,
so the entry rules stay in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from saleor_journeys.contacts.identity import normalise_email
from saleor_journeys.contacts.models import Contact
from saleor_journeys.journeys.models import LIVE_STATUSES, Journey, JourneyStatus, Run
from saleor_journeys.journeys.versions import current_version
from saleor_journeys.runtime import runs


@dataclass(frozen=True)
class Refusal:
    email: str
    code: str
    """``invalid_email``, ``unknown_contact``, ``already_in_journey``, ``reentry_not_allowed``
    or ``journey_not_active``."""
    message: str


@dataclass
class Enrolment:
    runs: list[Run] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def is_open(journey: Journey) -> bool:
    """Whether the journey takes contacts now: active, with a published version."""
    return journey.status == JourneyStatus.ACTIVE and current_version(journey) is not None


def enroll_emails(
    journey: Journey, emails: Iterable[str], *, now: datetime, trigger_key: str
) -> Enrolment:
    """Start a run for the contact of each email, as far as the journey's entry rules allow."""
    result = Enrolment()
    given = list(dict.fromkeys(emails))  # a repeated address is one request
    if not is_open(journey):
        message = f"{journey.slug} is {journey.status}; only an active journey takes contacts"
        result.refused = [Refusal(email, "journey_not_active", message) for email in given]
        return result
    addresses = {email: normalise_email(email) for email in given}
    contacts = {
        contact.email: contact
        for contact in Contact.objects.filter(
            installation_id=journey.installation_id,
            email__in=[a for a in addresses.values() if a],
            erased_at=None,
        )
    }
    inside = set(
        Run.objects.filter(
            journey=journey, contact__in=contacts.values(), status__in=LIVE_STATUSES
        ).values_list("contact_id", flat=True)
    )
    for email, address in addresses.items():
        contact = contacts.get(address) if address else None
        if address is None:
            result.refused.append(Refusal(email, "invalid_email", "not an email address"))
        elif contact is None:
            result.refused.append(Refusal(email, "unknown_contact", "no contact has this email"))
        elif contact.pk in inside:
            result.refused.append(
                Refusal(email, "already_in_journey", "the contact is in the journey now")
            )
        elif (run := runs.enroll(journey, contact, now=now, trigger_key=trigger_key)) is not None:
            result.runs.append(run)
            inside.add(contact.pk)
        else:
            result.refused.append(
                Refusal(
                    email,
                    "reentry_not_allowed",
                    "the journey's re-entry rules keep the contact out",
                )
            )
    return result
