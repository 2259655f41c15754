"""The contact card as the API shows it (consent, interests, browsers, the merged timeline),
finding a card by its id or by a browser, and the mutations staff use on cards: a link that
identifies the browser it is opened in, identifying a visitor, merging and unmerging cards.

The mutations fail like the others (``mutations.TransactionalMutation``): typed errors with a
code, a message and the argument, in one transaction that a refusal rolls back.
"""

from __future__ import annotations

from typing import Any

import graphene
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from graphene.types.generic import GenericScalar
from graphene_django import DjangoConnectionField
from graphql import GraphQLError

from saleor_journeys import conf
from saleor_journeys.contacts import card
from saleor_journeys.contacts.identity import normalise_email
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core import clock
from saleor_journeys.events.models import Event
from saleor_journeys.graphql.journeys import enum_value
from saleor_journeys.graphql.mutations import Refused, TransactionalMutation
from saleor_journeys.graphql.types import ContactType, principal
from saleor_journeys.web.models import Site, Visitor
from saleor_journeys.web.origins import origin_of

MAX_PAGE = conf.get("GRAPHQL_MAX_PAGE_SIZE")

# --- the card ---------------------------------------------------------------------------------


class ConsentStatusEnum(graphene.Enum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    UNKNOWN = "unknown"

    class Meta:
        name = "ConsentStatus"
        description = (
            "SUBSCRIBED: the person agreed to marketing on the channel; UNSUBSCRIBED: they "
            "refused or withdrew it; UNKNOWN: they never decided (or a double opt-in "
            "confirmation is awaited)."
        )


class ChannelConsentType(graphene.ObjectType):
    channel = graphene.String(required=True, description="`email`, `sms`, `web` or `push`.")
    status = ConsentStatusEnum(required=True)
    source = graphene.String(
        required=True,
        description="Where the decision came from, e.g. `signup-form`, `unsubscribe-link`, "
        "`api`; empty while UNKNOWN.",
    )
    updated_at = graphene.DateTime(description="When it was decided; null while never.")

    class Meta:
        name = "ChannelConsent"
        description = "The person's consent to marketing on one channel."

    @staticmethod
    def resolve_status(root: card.ChannelConsent, info: graphene.ResolveInfo) -> str:
        return root.status


class InterestType(graphene.ObjectType):
    category_id = graphene.String(required=True, description="The Saleor category's id.")
    name = graphene.String(required=True, description="The category's latest known name.")
    weight = graphene.Float(
        required=True, description="Views (of the last 90 days) + 3 per order with it."
    )
    views = graphene.Int(required=True, description="Page views in it, last 90 days.")
    purchases = graphene.Int(required=True, description="Orders with a product of it.")
    last_at = graphene.DateTime(description="The latest view or order.")

    class Meta:
        name = "Interest"
        description = "A category the person viewed or bought from."


class PageItemType(graphene.ObjectType):
    id = graphene.String(required=True, description="Saleor's id, as the storefront sent it.")
    name = graphene.String()
    image = graphene.String()
    url = graphene.String()
    price = graphene.String()
    currency = graphene.String()

    class Meta:
        name = "PageItem"
        description = "A product, variant or category a storefront page was about."
        # Its fields are read from the stored page-view dict by graphene's default resolver;
        # String serialises a numeric price as text.


class PageViewType(graphene.ObjectType):
    url = graphene.String(required=True)
    title = graphene.String(required=True)
    referrer = graphene.String(required=True, description="Empty when the browser sent none.")
    at = graphene.DateTime(required=True, description="When the page was viewed.")
    product = graphene.Field(PageItemType)
    variant = graphene.Field(PageItemType)
    category = graphene.Field(PageItemType)

    class Meta:
        name = "PageView"
        description = "A storefront page the person viewed."


class VisitorType(graphene.ObjectType):
    uid = graphene.String(required=True, description="The id `journeys.js` keeps in the browser.")
    first_seen = graphene.DateTime(required=True)
    last_seen = graphene.DateTime(required=True)
    identified_at = graphene.DateTime(
        description="When the browser was tied to this person; null while anonymous."
    )
    identified_by = graphene.String(
        required=True,
        description="How: `link` (a link of a message), `card_link`, `form`, `identify`, `api` "
        "or `checkout`; empty while anonymous.",
    )

    class Meta:
        name = "Visitor"
        description = "One browser the person uses on the storefront."

    @staticmethod
    def resolve_first_seen(root: Visitor, info: graphene.ResolveInfo) -> Any:
        return root.created_at

    @staticmethod
    def resolve_last_seen(root: Visitor, info: graphene.ResolveInfo) -> Any:
        return root.last_seen_at


# --- the timeline -----------------------------------------------------------------------------


class TimelineKind(graphene.Enum):
    VISIT = card.VISIT
    SALEOR = card.SALEOR
    MESSAGE = card.MESSAGE
    ENGAGEMENT = card.ENGAGEMENT
    OTHER = card.OTHER

    class Meta:
        description = (
            "VISIT: storefront page views, engaged time and tracked events; SALEOR: a Saleor "
            "event (account, checkout, order); MESSAGE: a message sent (or not) to the person; "
            "ENGAGEMENT: an email opened or clicked, an on-site message shown, clicked or "
            "dismissed; OTHER: consent changes, identification, merges, tags."
        )


class TimelineEvent(graphene.ObjectType):
    kind = TimelineKind(required=True)
    type = graphene.String(
        required=True,
        description="The event's name, e.g. `checkout_updated` for a Saleor event, "
        "`page_viewed`; for a message `message_<status>`, e.g. `message_sent`.",
    )
    source = graphene.String(
        required=True,
        description="Where it came from: `saleor`, `web`, `email`, `journeys` …; for a message "
        "its channel.",
    )
    occurred_at = graphene.DateTime(
        required=True, description="When it happened; for a message when it left (or was decided)."
    )
    received_at = graphene.DateTime(required=True)
    data = GenericScalar(required=True, description="What the event recorded, as JSON.")
    superseded = graphene.Boolean(required=True)
    summary = graphene.String(required=True, description="A one-line description.")
    event_id = graphene.ID(
        description="The logged event's number (e.g. for `contactUnmerge`); null for a message."
    )
    message = graphene.Field(
        "saleor_journeys.graphql.messages.MessageType",
        description="The message of a MESSAGE entry; null otherwise.",
    )

    class Meta:
        description = "One entry of a contact's timeline: a logged event, or a message."

    @staticmethod
    def resolve_kind(root: card.TimelineEntry, info: graphene.ResolveInfo) -> str:
        return root.kind

    @staticmethod
    def resolve_event_id(root: card.TimelineEntry, info: graphene.ResolveInfo) -> str | None:
        return str(root.event.pk) if root.event is not None else None


class TimelineEventConnection(graphene.relay.Connection):
    class Meta:
        node = TimelineEvent


def timeline_connection(
    contact: Contact,
    info: graphene.ResolveInfo,
    *,
    kinds: list[str] | None = None,
    **args: Any,
) -> TimelineEventConnection:
    """The page asked for of the merged timeline, with the same arguments, limit and cursors
    as the other connections (``DjangoConnectionField``)."""
    for bound in ("first", "last"):
        asked = args.get(bound)
        if asked is not None and asked > MAX_PAGE:
            raise GraphQLError(
                f"Requesting {asked} records on the `{info.field_name}` connection exceeds the "
                f"`{bound}` limit of {MAX_PAGE} records."
            )
    if args.get("offset") is not None and args.get("before") is not None:
        raise GraphQLError(
            "You can't provide a `before` value at the same time as an `offset` value to "
            f"properly paginate the `{info.field_name}` connection."
        )
    wanted = card.KINDS if kinds is None else [enum_value(kind) for kind in kinds]
    timeline = card.Timeline(contact, wanted)
    return DjangoConnectionField.resolve_connection(
        TimelineEventConnection, dict(args), timeline, max_limit=MAX_PAGE
    )


# --- finding a card ---------------------------------------------------------------------------


def _number(value: str | None) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def contact_by_id(info: graphene.ResolveInfo, value: str | None) -> Contact | None:
    number = _number(value)
    if number is None:
        return None
    return Contact.objects.filter(installation=principal(info).installation, pk=number).first()


class ContactQueries(graphene.ObjectType):
    contact_by_id = graphene.Field(
        ContactType,
        id=graphene.ID(required=True, description="The contact's `id`."),
        description="The contact with this id (anonymous ones too), if any.",
    )
    contact_by_visitor = graphene.Field(
        ContactType,
        visitor_id=graphene.String(
            required=True, description="The id `journeys.js` keeps in the browser."
        ),
        description="The card the storefront visitor with this id is on (an anonymous one "
        "until they are identified), if the shop knows the visitor.",
    )

    @staticmethod
    def resolve_contact_by_id(root: None, info: graphene.ResolveInfo, id: str) -> Contact | None:
        return contact_by_id(info, id)

    @staticmethod
    def resolve_contact_by_visitor(
        root: None, info: graphene.ResolveInfo, visitor_id: str
    ) -> Contact | None:
        visitor = (
            Visitor.objects.select_related("contact")
            .filter(installation=principal(info).installation, uid=visitor_id.strip())
            .first()
        )
        return visitor.contact if visitor is not None else None


# --- mutations --------------------------------------------------------------------------------


class ContactErrorCode(graphene.Enum):
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    ERASED = "erased"
    MERGED = "merged"
    UNKNOWN_ORIGIN = "unknown_origin"
    REFUSED = "refused"

    class Meta:
        description = (
            "Why a contact mutation refused. NOT_FOUND: no contact, visitor or event of the "
            "shop with this id; INVALID: an argument of the wrong form; ERASED: the person was "
            "erased; MERGED: the contact was merged into another card (use that one); "
            "UNKNOWN_ORIGIN: the URL is not on one of the shop's storefront origins "
            "(`site.origins`); REFUSED: the change cannot be made (the message says why)."
        )


class ContactErrorType(graphene.ObjectType):
    code = ContactErrorCode(required=True)
    message = graphene.String(required=True)
    path = graphene.String(
        required=True, description="The argument it is about, e.g. `url`, `otherId`."
    )

    class Meta:
        name = "ContactError"
        description = "Why a contact mutation changed nothing."


def error(code: str, message: str, path: str) -> ContactErrorType:
    return ContactErrorType(code=code, message=message, path=path)


class ContactMutation(TransactionalMutation):
    errors = graphene.List(
        graphene.NonNull(ContactErrorType),
        required=True,
        description="Empty when the mutation did its work; otherwise nothing was changed.",
    )

    class Meta:
        abstract = True


def _card(info: graphene.ResolveInfo, value: str, path: str) -> Contact:
    """The caller's contact, neither erased nor merged away; another shop's is not found."""
    contact = contact_by_id(info, value)
    if contact is None:
        raise Refused([error("not_found", f"the shop has no contact {value!r}", path)])
    if contact.erased_at is not None:
        raise Refused([error("erased", f"contact {contact.pk} was erased", path)])
    from saleor_journeys.contacts.merge import MERGED_INTO, is_merged

    if is_merged(contact):
        into = contact.properties[MERGED_INTO]
        raise Refused([error("merged", f"contact {contact.pk} was merged into {into}", path)])
    return contact


class ContactIdentityLink(ContactMutation):
    url = graphene.String(
        description="The URL with the identifying parameter added; it stays valid for "
        "`WEB_IDENTITY_LINK_MAX_AGE`."
    )

    class Arguments:
        contact_id = graphene.ID(required=True)
        url = graphene.String(
            required=True,
            description="A storefront page, on one of the shop's storefront origins.",
        )

    class Meta:
        description = (
            "A link to a storefront page for one person (in a personal email, a chat): the "
            "browser that opens it is identified as them. Only for the shop's storefront "
            "origins, so the link never carries the parameter to another site."
        )

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, contact_id: str, url: str) -> ContactIdentityLink:
        contact = _card(info, contact_id, "contactId")
        if contact.kind == ContactKind.ANONYMOUS:
            raise Refused(
                [error("invalid", "an anonymous card has no person to link to", "contactId")]
            )
        url = url.strip()
        origin = origin_of(url)
        if origin is None:
            raise Refused(
                [error("invalid", "the URL is an absolute https URL of the storefront", "url")]
            )
        site = Site.objects.filter(installation_id=contact.installation_id).first()
        if site is None or origin not in {origin_of(value) for value in site.origins}:
            raise Refused(
                [
                    error(
                        "unknown_origin",
                        f"{origin} is not one of the shop's storefront origins; add it with "
                        "siteUpdate first",
                        "url",
                    )
                ]
            )
        from saleor_journeys.web.links import storefront_url

        linked = storefront_url(url, contact, "card_link")
        if linked == url:
            raise Refused([error("refused", "no identifying link can be made for it", "url")])
        return cls(url=linked, errors=[])


class ContactIdentify(ContactMutation):
    contact = graphene.Field(ContactType, description="The card the visitor is on now.")

    class Arguments:
        visitor_id = graphene.String(
            required=True, description="The id `journeys.js` keeps in the browser."
        )
        email = graphene.String(required=True)
        properties = GenericScalar(
            description="A JSON object: `first_name`, `last_name`, `phone` fill the card's "
            "blank fields, anything else goes to its properties."
        )

    class Meta:
        description = (
            "Tie a storefront visitor to a person by email, for a form the shop handles on its "
            "server. The card is found or created, and the visitor's recent anonymous activity "
            "moves to it."
        )

    @classmethod
    def perform(
        cls,
        info: graphene.ResolveInfo,
        visitor_id: str,
        email: str,
        properties: Any = None,
    ) -> ContactIdentify:
        visitor = (
            Visitor.objects.select_related("contact")
            .filter(installation=principal(info).installation, uid=visitor_id.strip())
            .first()
        )
        if visitor is None:
            raise Refused(
                [error("not_found", f"the shop has no visitor {visitor_id!r}", "visitorId")]
            )
        address = normalise_email(email)
        try:
            validate_email(address)
        except ValidationError:
            address = None
        if address is None:
            raise Refused([error("invalid", f"{email!r} is not an email address", "email")])
        if properties is None:
            properties = {}
        if not isinstance(properties, dict):
            raise Refused([error("invalid", "properties are a JSON object", "properties")])
        from saleor_journeys.web.identity import identify_email

        contact = identify_email(visitor, address, properties, source="api", now=clock.now())
        if contact is None:
            raise Refused(
                [error("erased", "the person with this email was erased; no card is made", "email")]
            )
        return cls(contact=contact, errors=[])


class ContactMerge(ContactMutation):
    contact = graphene.Field(ContactType, description="The card kept, with everything moved.")
    merge_event_id = graphene.ID(description="The merge's event: pass it to `contactUnmerge`.")

    class Arguments:
        keep_id = graphene.ID(required=True, description="The card that stays.")
        other_id = graphene.ID(
            required=True, description="The card whose history moves to it and is then retired."
        )

    class Meta:
        description = (
            "Two cards that are one person: everything of the other card (events, messages, "
            "browsers, orders, consents, tags, runs) moves to the kept one. Reversible with "
            "`contactUnmerge`."
        )

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, keep_id: str, other_id: str) -> ContactMerge:
        if _number(keep_id) is not None and _number(keep_id) == _number(other_id):
            raise Refused([error("invalid", "a contact cannot be merged with itself", "otherId")])
        keep = _card(info, keep_id, "keepId")
        other = _card(info, other_id, "otherId")
        from saleor_journeys.contacts.merge import merge

        try:
            event = merge(keep, other, reason="staff", now=clock.now())
        except ValueError as exc:
            raise Refused([error("refused", str(exc), "otherId")]) from exc
        keep.refresh_from_db()
        return cls(contact=keep, merge_event_id=str(event.pk), errors=[])


class ContactUnmerge(ContactMutation):
    contact = graphene.Field(ContactType, description="The card brought back.")

    class Arguments:
        merge_event_id = graphene.ID(
            required=True,
            description="The `contacts_merged` event: `mergeEventId` of `contactMerge`, or the "
            "`eventId` of that entry in the kept card's timeline.",
        )

    class Meta:
        description = (
            "Reverse a merge: what moved goes back to the card it came from, which returns "
            "with its own fields and consents."
        )

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, merge_event_id: str) -> ContactUnmerge:
        number = _number(merge_event_id)
        event = (
            Event.objects.filter(installation=principal(info).installation, pk=number).first()
            if number is not None
            else None
        )
        if event is None:
            raise Refused(
                [error("not_found", f"the shop has no event {merge_event_id!r}", "mergeEventId")]
            )
        from saleor_journeys.contacts.merge import unmerge

        try:
            contact = unmerge(event, now=clock.now())
        except ValueError as exc:
            raise Refused([error("refused", str(exc), "mergeEventId")]) from exc
        return cls(contact=contact, errors=[])


class ContactMutations(graphene.ObjectType):
    contact_identity_link = ContactIdentityLink.Field()
    contact_identify = ContactIdentify.Field()
    contact_merge = ContactMerge.Field()
    contact_unmerge = ContactUnmerge.Field()
