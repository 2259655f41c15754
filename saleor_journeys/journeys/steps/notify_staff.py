"""Tell the shop's staff by email: "Maria said the cart was too expensive"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from pydantic import AfterValidator, Field

from saleor_journeys.journeys.steps.base import ActionFailed, Linear, Step, Visit, act

if TYPE_CHECKING:
    from saleor_journeys.journeys.models import RunAction


def _address(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValueError(f"{value!r} is not an email address") from exc
    return value


class NotifyStaffNode(Linear):
    type: Literal["notify_staff"]
    to: list[Annotated[str, AfterValidator(_address)]] = Field(min_length=1)
    message: str = Field(min_length=1, max_length=2000)


def enter(node: NotifyStaffNode, visit: Visit) -> Step:
    return act(node, visit)


def perform(action: RunAction) -> dict[str, Any]:
    from django.core.mail import EmailMessage

    run = action.run
    contact = run.contact
    who = contact.email or f"contact {contact.pk}"
    message = str(action.params["message"])
    subject = f"[{run.journey.name}] {message.splitlines()[0][:120]}"
    body = (
        f"{message}\n\n"
        f"Contact: {who}\n"
        f"Journey: {run.journey.name} ({run.journey.slug}), step {action.node}\n"
        f"Tags: {', '.join(contact.tags) or '-'}\n"
    )
    email = EmailMessage(
        subject, body, to=list(action.params["to"]), headers={"Journeys-Delivery": action.key}
    )
    try:
        email.send()
    except OSError as exc:  # SMTP down, refused, timed out
        raise ActionFailed(f"cannot send the notification: {exc}", retry=True) from exc
    return {"to": list(action.params["to"])}
