"""Django looks for models here; each lives in the package that owns it."""

from saleor_journeys.auth.models import ApiKey
from saleor_journeys.commerce.models import Checkout, CheckoutLine, Order, OrderLine
from saleor_journeys.contacts.models import Contact, ContactKind, Erasure
from saleor_journeys.events.models import Event
from saleor_journeys.journeys.models import (
    Journey,
    JourneyStatus,
    JourneyVersion,
    Run,
    RunAction,
    RunStatus,
    RunStep,
)
from saleor_journeys.messaging.models import (
    Consent,
    ConsentStatus,
    Message,
    MessageEvent,
    MessageStatus,
    Suppression,
    Template,
)
from saleor_journeys.saleor.models import DeliveryStatus, Installation, WebhookDelivery
from saleor_journeys.web.models import PushSubscription, Site, Visitor, WebRule

__all__ = [
    "ApiKey",
    "Checkout",
    "CheckoutLine",
    "Consent",
    "ConsentStatus",
    "Contact",
    "ContactKind",
    "DeliveryStatus",
    "Erasure",
    "Event",
    "Installation",
    "Journey",
    "JourneyStatus",
    "JourneyVersion",
    "Message",
    "MessageEvent",
    "MessageStatus",
    "Order",
    "OrderLine",
    "PushSubscription",
    "Run",
    "RunAction",
    "RunStatus",
    "RunStep",
    "Site",
    "Suppression",
    "Template",
    "Visitor",
    "WebRule",
    "WebhookDelivery",
]
