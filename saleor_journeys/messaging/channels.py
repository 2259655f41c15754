"""The channel interface and its registry: email and SMS are two modules of it, the web
channel a third. The outbox (``messaging.outbox``) calls a channel; a channel never decides
whether a message may go (consent, caps, quiet hours: ``messaging.policy``), only how.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from saleor_journeys.contacts.models import Contact
    from saleor_journeys.messaging.models import Message


class SendError(Exception):
    """The provider did not take the message. ``retry``: it may on a later attempt (a 429, a
    5xx, a timeout); otherwise never (an invalid address, a refused sender)."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class RenderError(Exception):
    """A template that cannot be rendered for this contact: that message fails alone."""


@dataclass(frozen=True)
class Capabilities:
    tracking: bool = False
    """Opens and clicks can be measured."""
    quiet_hours: bool = False
    """Marketing sends wait for the end of the contact's quiet hours."""
    needs_explicit_consent: bool = False
    """Marketing needs a recorded ``subscribed`` consent (SMS), not just no refusal (email)."""


@dataclass
class Rendered:
    """What the message will be, stored on the row before it is handed over."""

    to: str
    subject: str = ""
    text: str = ""
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    encoding: str = ""
    segments: int | None = None
    language: str = ""
    """The template's language version that was rendered."""
    preheader: str = ""
    """Email: the preview line (already inside ``html``)."""

    def fill(self, message: Message) -> None:
        """Store the content on the message, as it will be handed over."""
        message.to = self.to
        message.subject, message.text, message.html = self.subject, self.text, self.html
        message.encoding, message.segments = self.encoding, self.segments


class Channel(Protocol):
    name: str
    capabilities: Capabilities

    def address(self, contact: Contact) -> str | None:
        """The contact's address on this channel (normalised), or None: nothing to send to."""

    def render(self, message: Message, contact: Contact, context: dict[str, Any]) -> Rendered:
        """The message's content for this contact; ``context`` is the plain data templates
        see (``messaging.context.build``). Raises RenderError."""

    def send(self, message: Message) -> str:
        """Hand the stored, rendered message to the provider; returns the provider's id.
        Raises SendError."""


_REGISTRY: dict[str, Channel] = {}


def register(channel: Channel) -> Channel:
    _REGISTRY[channel.name] = channel
    return channel


def get(name: str) -> Channel | None:
    import saleor_journeys.messaging.email
    import saleor_journeys.messaging.push
    import saleor_journeys.messaging.sms  # noqa: F401 - the channels register themselves
    from saleor_journeys.messaging import web  # noqa: F401

    return _REGISTRY.get(name)


def names() -> list[str]:
    get("email")
    return sorted(_REGISTRY)
