from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene.types.generic import GenericScalar
from graphene_django import DjangoConnectionField, DjangoObjectType

from saleor_journeys import conf
from saleor_journeys.auth.principal import Principal
from saleor_journeys.contacts.models import Contact
from saleor_journeys.events.models import Event
from saleor_journeys.events.summaries import summarise
from saleor_journeys.journeys.models import Run
from saleor_journeys.messaging.models import Message


def principal(info: graphene.ResolveInfo) -> Principal:
    """The authenticated caller; the view refuses requests without one before resolving."""
    return info.context.journeys_principal


class TimelineEvent(DjangoObjectType):
    type = graphene.String(
        required=True, description="The event's name, e.g. `checkout_updated` for a Saleor event."
    )
    summary = graphene.String(required=True, description="A one-line description.")
    data = GenericScalar(required=True, description="What the event recorded, as JSON.")

    class Meta:
        model = Event
        name = "TimelineEvent"
        description = "One entry of a contact's timeline."
        fields = ("type", "source", "occurred_at", "received_at", "superseded", "data")
        use_connection = True

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Event], info: graphene.ResolveInfo) -> QuerySet[Event]:
        return queryset.filter(installation=principal(info).installation)

    @staticmethod
    def resolve_summary(root: Event, info: graphene.ResolveInfo) -> str:
        return summarise(root)


class ContactKind(graphene.Enum):
    ANONYMOUS = "anonymous"
    IDENTIFIED = "identified"
    MONITORED = "monitored"


class ContactType(DjangoObjectType):
    kind = ContactKind(
        required=True,
        description="Anonymous visitor, identified (email known) or monitored (behaviour linked).",
    )
    properties = GenericScalar(
        required=True, description="What is known about the person beyond the fixed fields."
    )
    timeline = DjangoConnectionField(
        TimelineEvent,
        max_limit=conf.get("GRAPHQL_MAX_PAGE_SIZE"),
        description="Everything that happened to the contact, newest first.",
    )
    # By import path: the journey types import this module.
    runs = DjangoConnectionField(
        "saleor_journeys.graphql.journeys.RunType",
        max_limit=conf.get("GRAPHQL_MAX_PAGE_SIZE"),
        description="The contact's runs through journeys, newest first.",
    )
    messages = DjangoConnectionField(
        "saleor_journeys.graphql.messages.MessageType",
        channel=graphene.String(description="Only messages of this channel: `email`, `sms`."),
        status=graphene.Argument(
            "saleor_journeys.graphql.messages.MessageStatusEnum",
            description="Only messages with this status.",
        ),
        max_limit=conf.get("GRAPHQL_MAX_PAGE_SIZE"),
        description="The messages sent (or not) to the contact, newest first.",
    )

    class Meta:
        model = Contact
        name = "Contact"
        description = "The card of one person in the shop."
        fields = (
            "email",
            "kind",
            "first_name",
            "last_name",
            "phone",
            "language_code",
            "country",
            "city",
            "properties",
            "saleor_user_id",
            "created_at",
            "updated_at",
            "erased_at",
        )
        use_connection = True

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[Contact], info: graphene.ResolveInfo
    ) -> QuerySet[Contact]:
        return queryset.filter(installation=principal(info).installation)

    @staticmethod
    def resolve_timeline(root: Contact, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Event.objects.filter(contact=root).order_by("-occurred_at", "-pk")

    @staticmethod
    def resolve_runs(root: Contact, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Run.objects.filter(contact=root).order_by("-entered_at", "-pk")

    @staticmethod
    def resolve_messages(
        root: Contact,
        info: graphene.ResolveInfo,
        channel: str | None = None,
        status: Any = None,
        **kwargs: Any,
    ) -> Any:
        from saleor_journeys.graphql.messages import messages_of

        return messages_of(Message.objects.filter(contact=root), channel=channel, status=status)
