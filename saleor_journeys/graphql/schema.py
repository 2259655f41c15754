"""The GraphQL schema. Its printed form is committed as ``schema.graphql``; a test compares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import graphene
from django.db.models import Q, QuerySet
from graphene_django import DjangoConnectionField

from saleor_journeys import conf
from saleor_journeys.contacts.identity import normalise_email
from saleor_journeys.contacts.models import Contact
from saleor_journeys.graphql.contacts import ContactMutations, ContactQueries
from saleor_journeys.graphql.journey_mutations import JourneyMutations
from saleor_journeys.graphql.journeys import JourneyQueries
from saleor_journeys.graphql.messages import MessageMutations, MessageQueries
from saleor_journeys.graphql.site import SiteMutations, SiteQueries
from saleor_journeys.graphql.types import ContactType, principal
from saleor_journeys.graphql.web_rules import WebRuleMutations, WebRuleQueries

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


class Query(
    ContactQueries, JourneyQueries, MessageQueries, SiteQueries, WebRuleQueries, graphene.ObjectType
):
    contacts = DjangoConnectionField(
        ContactType,
        search=graphene.String(description="Part of an email address or name."),
        max_limit=conf.get("GRAPHQL_MAX_PAGE_SIZE"),
        description="Contacts of the shop, most recently changed first.",
    )
    contact = graphene.Field(
        ContactType,
        email=graphene.String(required=True),
        description="The contact with this email address, if any.",
    )

    @staticmethod
    def resolve_contacts(
        root: None, info: graphene.ResolveInfo, search: str | None = None, **kwargs: Any
    ) -> QuerySet[Contact]:
        contacts = Contact.objects.filter(installation=principal(info).installation)
        if search:
            contacts = contacts.filter(
                Q(email__icontains=search)
                | Q(first_name__icontains=search)
                | Q(last_name__icontains=search)
            )
        return contacts.order_by("-updated_at", "-pk")

    @staticmethod
    def resolve_contact(root: None, info: graphene.ResolveInfo, email: str) -> Contact | None:
        address = normalise_email(email)
        if address is None:
            return None
        return Contact.objects.filter(
            installation=principal(info).installation, email=address
        ).first()


class Mutation(
    ContactMutations,
    JourneyMutations,
    MessageMutations,
    SiteMutations,
    WebRuleMutations,
    graphene.ObjectType,
):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)


def sdl() -> str:
    return str(schema).rstrip() + "\n"
