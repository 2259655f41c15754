from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene.types.generic import GenericScalar
from graphene_django import DjangoConnectionField, DjangoObjectType

from saleor_journeys import conf
from saleor_journeys.auth.principal import Principal
from saleor_journeys.contacts import card, score
from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.journeys.models import Run
from saleor_journeys.messaging.models import Message


def principal(info: graphene.ResolveInfo) -> Principal:
    """The authenticated caller; the view refuses requests without one before resolving."""
    return info.context.journeys_principal


class ContactKind(graphene.Enum):
    ANONYMOUS = "anonymous"
    IDENTIFIED = "identified"
    MONITORED = "monitored"


# The card's own types are in ``graphql.contacts``, which imports this module: by import path.
_CARD = "saleor_journeys.graphql.contacts."


class ContactType(DjangoObjectType):
    id = graphene.ID(required=True, description="The contact's number in the app.")
    state = ContactKind(
        required=True,
        description="ANONYMOUS: a storefront visitor not identified yet; IDENTIFIED: the email "
        "is known, no behaviour linked to it; MONITORED: behaviour is linked (a tracked link "
        "clicked, a form sent, a browser identified).",
    )
    kind = ContactKind(required=True, deprecation_reason="Use `state`, the same value.")
    tags = graphene.List(graphene.NonNull(graphene.String), required=True)
    declared_interests = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Interests journeys gave the contact (`update_contact`'s `add_interests`).",
    )
    properties = GenericScalar(
        required=True, description="What is known about the person beyond the fixed fields."
    )
    score = graphene.Float(
        required=True,
        description="The behavioural score now: points per event, halving every "
        "`SCORE_HALF_LIFE_DAYS` without new activity.",
    )
    consents = graphene.List(
        graphene.NonNull(_CARD + "ChannelConsentType"),
        required=True,
        description="Consent to marketing per channel: email, sms, web, push (UNKNOWN where the "
        "person never decided).",
    )
    interests = graphene.List(
        graphene.NonNull(_CARD + "InterestType"),
        required=True,
        description="Categories viewed (last 90 days) or bought, heaviest first.",
    )
    current_interest = graphene.Field(
        _CARD + "PageViewType",
        description="The latest storefront page the person viewed, with its time; null when "
        "none is known.",
    )
    visitors = graphene.List(
        graphene.NonNull(_CARD + "VisitorType"),
        required=True,
        description="The person's browsers, most recently seen first (at most 100).",
    )
    # Events and messages in one list (``contacts.card.Timeline``), paged by the database.
    timeline = graphene.relay.ConnectionField(
        _CARD + "TimelineEventConnection",
        offset=graphene.Int(),
        kinds=graphene.List(
            graphene.NonNull(_CARD + "TimelineKind"),
            description="Only entries of these kinds (by default all).",
        ),
        description="Everything that happened to the contact, newest first: logged events and "
        "the messages sent (or not) to them.",
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
            "id",
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
    def resolve_id(root: Contact, info: graphene.ResolveInfo) -> str:
        return str(root.pk)

    @staticmethod
    def resolve_state(root: Contact, info: graphene.ResolveInfo) -> str:
        return str(root.kind)  # a ContactKind member on a card changed in this request

    @staticmethod
    def resolve_kind(root: Contact, info: graphene.ResolveInfo) -> str:
        return str(root.kind)

    @staticmethod
    def resolve_declared_interests(root: Contact, info: graphene.ResolveInfo) -> list[str]:
        return [str(item) for item in root.interests or []]

    @staticmethod
    def resolve_tags(root: Contact, info: graphene.ResolveInfo) -> list[str]:
        return [str(item) for item in root.tags or []]

    @staticmethod
    def resolve_score(root: Contact, info: graphene.ResolveInfo) -> float:
        return score.value(root, clock.now())

    @staticmethod
    def resolve_consents(root: Contact, info: graphene.ResolveInfo) -> Any:
        return card.consents(root)

    @staticmethod
    def resolve_interests(root: Contact, info: graphene.ResolveInfo) -> Any:
        return card.interests(root, clock.now())

    @staticmethod
    def resolve_current_interest(root: Contact, info: graphene.ResolveInfo) -> Any:
        return card.current_interest(root)

    @staticmethod
    def resolve_visitors(root: Contact, info: graphene.ResolveInfo) -> Any:
        return card.visitors(root, conf.get("GRAPHQL_MAX_PAGE_SIZE"))

    @staticmethod
    def resolve_timeline(root: Contact, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        from saleor_journeys.graphql.contacts import timeline_connection

        return timeline_connection(root, info, **kwargs)

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
