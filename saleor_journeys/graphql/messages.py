"""Messages, their figures per journey node, and message templates, as the API reads and
changes them (one shop at a time).

The template mutations fail like the journey mutations (``journey_errors``): typed errors with a
code, a message and the argument they are about, in one transaction that a refusal rolls back,
so nothing is stored on failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import graphene
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from graphene_django import DjangoConnectionField, DjangoObjectType

from saleor_journeys import conf
from saleor_journeys.contacts.identity import normalise_email
from saleor_journeys.contacts.models import Contact
from saleor_journeys.graphql.journeys import enum_value, find_journey
from saleor_journeys.graphql.mutations import Refused, TransactionalMutation
from saleor_journeys.graphql.types import principal
from saleor_journeys.journeys.models import Journey
from saleor_journeys.messaging import channels, content, preview, sandbox
from saleor_journeys.messaging.channels import RenderError
from saleor_journeys.messaging.models import Message, MessageEvent, MessageStatus, Template
from saleor_journeys.saleor.models import Installation

MAX_PAGE = conf.get("GRAPHQL_MAX_PAGE_SIZE")
CHANNELS = ("email", "sms")
PARTS = ("subject", "preheader", "html", "text")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_NAME_LENGTH = Template._meta.get_field("name").max_length or 100
_PART_LENGTH = {"subject": 255, "preheader": 255}

# Statuses of a message the provider took (whatever became of it afterwards).
SENT_STATUSES = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.BOUNCED,
    MessageStatus.COMPLAINED,
)
# A complaint comes from someone who received it.
DELIVERED_STATUSES = (MessageStatus.DELIVERED, MessageStatus.COMPLAINED)


# --- messages ---------------------------------------------------------------------------------


class MessageStatusEnum(graphene.Enum):
    PENDING = "pending"
    DEFERRED = "deferred"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    UNKNOWN = "unknown"

    class Meta:
        name = "MessageStatus"
        description = (
            "PENDING: decided, not yet handed over; DEFERRED: waits for the end of quiet hours "
            "or of the frequency cap (`sendAfter`); SENDING: being handed over; SENT: the "
            "provider took it; DELIVERED, BOUNCED, COMPLAINED: what the provider reported "
            "since; FAILED: not sent, the reason is in `error`; SUPPRESSED: not sent by policy "
            "(no consent, unsubscribed, suppressed address), the reason is in `error`; UNKNOWN: "
            "interrupted while being handed over, maybe sent, never resent."
        )


class MessageEventType(graphene.ObjectType):
    type = graphene.String(
        required=True,
        description="`open`, `click`, or what the provider reported: `delivered`, `bounced`, "
        "`soft_bounced`, `complained`, `blocked` …",
    )
    at = graphene.DateTime(required=True)
    url = graphene.String(required=True, description="The link of a click; empty otherwise.")
    human = graphene.Boolean(
        required=True,
        description="False for link scanners, image proxies and prefetches: they do not count "
        "in `opens` and `clicks`.",
    )

    class Meta:
        name = "MessageEvent"
        description = "What happened to a message after it left."


class MessageType(DjangoObjectType):
    id = graphene.ID(required=True, description="The message's number in the app.")
    status = MessageStatusEnum(required=True)
    journey = graphene.String(
        description="The slug of the journey whose step sent it; null for a test send."
    )
    node = graphene.String(
        required=True, description="The id of the journey's node that sent it (or empty)."
    )
    contact_email = graphene.String(
        description="The contact's email address; null once erased or for a test send."
    )
    to = graphene.String(
        required=True, description="The address it went to: an email address or a phone number."
    )
    error = graphene.String(
        required=True, description="Why it failed or was suppressed; empty otherwise."
    )
    opens = graphene.Int(required=True, description="Opens by a person (not by scanners).")
    clicks = graphene.Int(required=True, description="Clicks by a person (not by scanners).")
    events = graphene.List(
        graphene.NonNull(MessageEventType), required=True, description="Oldest first."
    )

    class Meta:
        model = Message
        name = "Message"
        description = "One message to one contact, from one journey step (or a test send)."
        fields = (
            "id",
            "channel",
            "template",
            "language",
            "marketing",
            "to",
            "subject",
            "status",
            "error",
            "sent_at",
            "created_at",
            "send_after",
            "opens",
            "clicks",
            "node",
        )
        convert_choices_to_enum = False
        use_connection = True

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[Message], info: graphene.ResolveInfo
    ) -> QuerySet[Message]:
        return (
            queryset.filter(installation=principal(info).installation)
            .select_related("run__journey", "contact")
            .defer("text", "html", "run__context", "contact__properties")
            .prefetch_related(
                Prefetch("events", queryset=MessageEvent.objects.order_by("at", "pk"))
            )
        )

    @staticmethod
    def resolve_id(root: Message, info: graphene.ResolveInfo) -> str:
        return str(root.pk)

    @staticmethod
    def resolve_status(root: Message, info: graphene.ResolveInfo) -> str:
        return enum_value(root.status)

    @staticmethod
    def resolve_journey(root: Message, info: graphene.ResolveInfo) -> str | None:
        return root.run.journey.slug if root.run is not None else None

    @staticmethod
    def resolve_contact_email(root: Message, info: graphene.ResolveInfo) -> str | None:
        return root.contact.email if root.contact is not None else None

    @staticmethod
    def resolve_events(root: Message, info: graphene.ResolveInfo) -> Any:
        return root.events.all()


def messages_of(
    queryset: QuerySet[Message], *, channel: str | None = None, status: Any = None
) -> QuerySet[Message]:
    """Newest first, optionally of one channel and one status."""
    if channel:
        queryset = queryset.filter(channel=channel)
    if status is not None:
        queryset = queryset.filter(status=enum_value(status))
    return queryset.order_by("-created_at", "-pk")


class MessageNodeStats(graphene.ObjectType):
    node = graphene.String(required=True, description="The node's id in the definition.")
    type = graphene.String(
        required=True, description="`send`, or empty for a node no published version has."
    )
    title = graphene.String(required=True)
    messages = graphene.Int(required=True, description="Messages the node made, in any status.")
    sent = graphene.Int(
        required=True,
        description="Taken by the provider: SENT, DELIVERED, BOUNCED or COMPLAINED.",
    )
    delivered = graphene.Int(
        required=True, description="Reported delivered: DELIVERED or COMPLAINED."
    )
    bounced = graphene.Int(required=True)
    failed = graphene.Int(required=True)
    suppressed = graphene.Int(required=True)
    deferred = graphene.Int(required=True, description="Waiting now (quiet hours, the cap).")
    opened = graphene.Int(required=True, description="Messages a person opened at least once.")
    clicked = graphene.Int(required=True, description="Messages a person clicked at least once.")
    opens = graphene.Int(required=True, description="Opens by a person, added up.")
    clicks = graphene.Int(required=True, description="Clicks by a person, added up.")

    class Meta:
        description = "The messages of one node of a journey (of every version), counted."


@dataclass(frozen=True)
class NodeMessageCounts:
    node: str
    type: str = ""
    title: str = ""
    messages: int = 0
    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    failed: int = 0
    suppressed: int = 0
    deferred: int = 0
    opened: int = 0
    clicked: int = 0
    opens: int = 0
    clicks: int = 0


def node_message_counts(journey: Journey, node: str | None = None) -> list[NodeMessageCounts]:
    """The journey's send nodes (newest version's order first, then nodes only older versions
    had) with their messages counted: one aggregate query, grouped by node."""
    messages = Message.objects.filter(installation=journey.installation, run__journey=journey)
    if node is not None:
        messages = messages.filter(node=node)
    rows = messages.values("node").annotate(
        messages=Count("pk"),
        sent=Count("pk", filter=Q(status__in=SENT_STATUSES)),
        delivered=Count("pk", filter=Q(status__in=DELIVERED_STATUSES)),
        bounced=Count("pk", filter=Q(status=MessageStatus.BOUNCED)),
        failed=Count("pk", filter=Q(status=MessageStatus.FAILED)),
        suppressed=Count("pk", filter=Q(status=MessageStatus.SUPPRESSED)),
        deferred=Count("pk", filter=Q(status=MessageStatus.DEFERRED)),
        opened=Count("pk", filter=Q(opens__gt=0)),
        clicked=Count("pk", filter=Q(clicks__gt=0)),
        opens=Coalesce(Sum("opens"), 0),
        clicks=Coalesce(Sum("clicks"), 0),
    )
    counts: dict[str, dict[str, Any]] = {
        row["node"]: {key: value for key, value in row.items() if key != "node"} for row in rows
    }
    described: dict[str, tuple[str, str]] = {}
    for version in journey.versions.order_by("-number"):
        for item in version.definition.get("nodes", []):
            if isinstance(item, dict) and item.get("type") == "send":
                described.setdefault(str(item["id"]), ("send", str(item.get("title") or "")))
    result = []
    for name in [*described, *sorted(set(counts) - set(described))]:
        if node is not None and name != node:
            continue
        kind, title = described.get(name, ("", ""))
        result.append(NodeMessageCounts(name, kind, title, **counts.get(name, {})))
    return result


# --- templates --------------------------------------------------------------------------------


class MessageTemplateSource(graphene.Enum):
    BUILTIN = "builtin"
    SHOP = "shop"

    class Meta:
        description = "Shipped with the app, or the shop's own version (which takes precedence)."


@dataclass(frozen=True)
class TemplateSummary:
    name: str
    channel: str
    languages: list[str]
    builtin: bool
    in_use: bool
    updated_at: datetime | None = None
    updated_by: str = ""


class MessageTemplateType(graphene.ObjectType):
    name = graphene.String(required=True)
    channel = graphene.String(required=True, description="`email` or `sms`.")
    languages = graphene.List(
        graphene.NonNull(graphene.String), required=True, description='e.g. `["en", "es"]`.'
    )
    builtin = graphene.Boolean(
        required=True, description="Shipped with the app; false for the shop's own version."
    )
    in_use = graphene.Boolean(
        required=True,
        description="False for a built-in template whose every language the shop replaced "
        "with its own version (each language falls back to the built-in one on its own).",
    )
    updated_at = graphene.DateTime(description="The shop's version: when it last changed.")
    updated_by = graphene.String(
        required=True, description="The shop's version: who changed it last (or empty)."
    )

    class Meta:
        name = "MessageTemplate"
        description = "A message template: the shop's own version, or a built-in one."


@dataclass(frozen=True)
class TemplateContent:
    name: str
    channel: str
    language: str
    subject: str
    preheader: str
    html: str
    text: str
    source: str


class MessageTemplateContent(graphene.ObjectType):
    name = graphene.String(required=True)
    channel = graphene.String(required=True)
    language = graphene.String(required=True, description="The version's own language.")
    subject = graphene.String(required=True, description="Email only.")
    preheader = graphene.String(required=True, description="Email only.")
    html = graphene.String(required=True, description="Email only; may be empty.")
    text = graphene.String(required=True)
    source = MessageTemplateSource(required=True)

    class Meta:
        description = "One language version of a template, as the shop's staff write it."

    @staticmethod
    def resolve_source(root: TemplateContent, info: graphene.ResolveInfo) -> str:
        return root.source


def template_summaries(installation: Installation, channel: str | None) -> list[TemplateSummary]:
    """The shop's own templates (one query) and the built-in ones, by name and channel; the
    shop's version first where both exist."""
    rows = Template.objects.filter(installation=installation)
    if channel:
        rows = rows.filter(channel=channel)
    versions: dict[tuple[str, str], list[Template]] = {}
    for row in rows.only("name", "channel", "language", "updated_at", "updated_by"):
        versions.setdefault((row.name, row.channel), []).append(row)
    summaries = []
    for (name, kind), group in versions.items():
        latest = max(group, key=lambda row: row.updated_at)
        summaries.append(
            TemplateSummary(
                name=name,
                channel=kind,
                languages=sorted(row.language for row in group),
                builtin=False,
                in_use=True,
                updated_at=latest.updated_at,
                updated_by=latest.updated_by,
            )
        )
    for name in content.builtin_names():
        document = content._builtin(name) or {}
        kind = str(document.get("channel", ""))
        if channel and kind != channel:
            continue
        shipped = sorted(key for key, value in document.items() if isinstance(value, dict))
        replaced = {row.language for row in versions.get((name, kind), [])}
        summaries.append(
            TemplateSummary(
                name=name,
                channel=kind,
                languages=shipped,
                builtin=True,
                in_use=not set(shipped) <= replaced,
            )
        )
    return sorted(summaries, key=lambda t: (t.name, t.channel, t.builtin))


def template_content(
    installation: Installation, name: str, channel: str, language: str
) -> TemplateContent | None:
    try:
        found = content.source(installation, name, channel, language)
    except RenderError:
        return None
    own = Template.objects.filter(
        installation=installation, name=name, channel=channel, language=found.language
    ).exists()
    return TemplateContent(
        name=found.name,
        channel=found.channel,
        language=found.language,
        subject=found.subject,
        preheader=found.preheader,
        html=found.html,
        text=found.text,
        source="shop" if own else "builtin",
    )


def content_of(row: Template) -> TemplateContent:
    return TemplateContent(
        name=row.name,
        channel=row.channel,
        language=row.language,
        subject=row.subject,
        preheader=row.preheader,
        html=row.html,
        text=row.text,
        source="shop",
    )


class MessageQueries(graphene.ObjectType):
    messages = DjangoConnectionField(
        MessageType,
        journey=graphene.String(description="Only messages of the journey with this slug."),
        node=graphene.String(description="Only messages of the node with this id."),
        status=MessageStatusEnum(description="Only messages with this status."),
        channel=graphene.String(description="Only messages of this channel: `email`, `sms`."),
        max_limit=MAX_PAGE,
        description="Messages of the shop, newest first.",
    )
    message_stats = graphene.List(
        graphene.NonNull(MessageNodeStats),
        journey=graphene.String(required=True, description="The journey's slug."),
        node=graphene.String(description="Only this node."),
        description="The messages of a journey counted per send node; null when the shop has "
        "no such journey.",
    )
    templates = graphene.List(
        graphene.NonNull(MessageTemplateType),
        channel=graphene.String(description="Only templates of this channel: `email`, `sms`."),
        required=True,
        description="The shop's own templates and the built-in ones, by name.",
    )
    template = graphene.Field(
        MessageTemplateContent,
        name=graphene.String(required=True),
        channel=graphene.String(required=True),
        language=graphene.String(
            description="e.g. `es`; by default `DEFAULT_LANGUAGE`. Without a version in that "
            "language, the one messages would use instead (see `language`)."
        ),
        description="The content messages of this template use in a language: the shop's "
        "own if it has one, else the built-in one; null when there is neither.",
    )

    @staticmethod
    def resolve_messages(
        root: None,
        info: graphene.ResolveInfo,
        journey: str | None = None,
        node: str | None = None,
        status: Any = None,
        channel: str | None = None,
        **kwargs: Any,
    ) -> QuerySet[Message]:
        messages = Message.objects.filter(installation=principal(info).installation)
        if journey is not None:
            messages = messages.filter(run__journey__slug=journey)
        if node is not None:
            messages = messages.filter(node=node)
        return messages_of(messages, channel=channel, status=status)

    @staticmethod
    def resolve_message_stats(
        root: None, info: graphene.ResolveInfo, journey: str, node: str | None = None
    ) -> list[NodeMessageCounts] | None:
        found = find_journey(info, journey)
        return node_message_counts(found, node) if found is not None else None

    @staticmethod
    def resolve_templates(
        root: None, info: graphene.ResolveInfo, channel: str | None = None
    ) -> list[TemplateSummary]:
        return template_summaries(principal(info).installation, channel)

    @staticmethod
    def resolve_template(
        root: None,
        info: graphene.ResolveInfo,
        name: str,
        channel: str,
        language: str | None = None,
    ) -> TemplateContent | None:
        return template_content(
            principal(info).installation, name, channel, language or conf.get("DEFAULT_LANGUAGE")
        )


# --- how template mutations fail --------------------------------------------------------------


class MessagingErrorCode(graphene.Enum):
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    MISSING = "missing"
    INVALID_TEMPLATE = "invalid_template"
    RENDER_FAILED = "render_failed"

    class Meta:
        description = (
            "Why a template mutation refused. NOT_FOUND: no such template or contact of the "
            "shop; DUPLICATE: the shop has this version already; INVALID: an argument of the "
            "wrong form; MISSING: a part the channel needs is empty; INVALID_TEMPLATE: a part "
            "is not a valid template (the message is the template engine's); RENDER_FAILED: "
            "the template cannot be rendered for this contact (the message says why)."
        )


class MessagingErrorType(graphene.ObjectType):
    code = MessagingErrorCode(required=True)
    message = graphene.String(required=True)
    path = graphene.String(
        required=True,
        description="The argument or input field it is about, e.g. `html`, `channel`, "
        "`contactEmail`.",
    )

    class Meta:
        name = "MessagingError"
        description = "Why a template mutation changed nothing."


def error(code: str, message: str, path: str) -> MessagingErrorType:
    return MessagingErrorType(code=code, message=message, path=path)


class MessagingMutation(TransactionalMutation):
    errors = graphene.List(
        graphene.NonNull(MessagingErrorType),
        required=True,
        description="Empty when the mutation did its work; otherwise nothing was changed.",
    )

    class Meta:
        abstract = True


def _language(value: str) -> str:
    return (value or "").strip().lower()


def check_key(name: str, channel: str, language: str) -> list[MessagingErrorType]:
    errors = []
    if not _SLUG.match(name) or len(name) > _NAME_LENGTH:
        errors.append(
            error(
                "invalid",
                "a template name is a slug: lower-case letters, digits, '-' and '_', "
                f"at most {_NAME_LENGTH} characters, e.g. 'welcome-material'",
                "name",
            )
        )
    if channel not in CHANNELS:
        errors.append(error("invalid", f"the channel is email or sms, not {channel!r}", "channel"))
    if not _LANGUAGE.match(language):
        errors.append(
            error(
                "invalid",
                f"a language is a code like 'en' or 'es', not {language!r}",
                "language",
            )
        )
    return errors


def check_parts(channel: str, parts: dict[str, str]) -> list[MessagingErrorType]:
    """What is wrong with a version's parts for its channel, every problem at once."""
    errors = []
    if channel == "email" and not parts["subject"].strip():
        errors.append(error("missing", "an email needs a subject", "subject"))
    if channel in CHANNELS and not parts["text"].strip():
        label = "an email" if channel == "email" else "an SMS"
        errors.append(error("missing", f"{label} needs a text", "text"))
    if channel == "sms":
        errors.extend(
            error("invalid", f"an SMS has only a text, no {part}", part)
            for part in ("subject", "preheader", "html")
            if parts[part].strip()
        )
    for part, limit in _PART_LENGTH.items():
        if len(parts[part]) > limit:
            errors.append(error("invalid", f"at most {limit} characters", part))
    for part in PARTS:
        problem = sandbox.check(parts[part]) if parts[part] else None
        if problem is not None:
            errors.append(error("invalid_template", problem, part))
    return errors


def _own(info: graphene.ResolveInfo, name: str, channel: str, language: str) -> Template:
    row = (
        Template.objects.select_for_update()
        .filter(
            installation=principal(info).installation,
            name=name,
            channel=channel,
            language=_language(language),
        )
        .first()
    )
    if row is None:
        raise Refused(
            [
                error(
                    "not_found",
                    f"the shop has no {channel} template {name!r} in {language!r}",
                    "name",
                )
            ]
        )
    return row


# --- template mutations -----------------------------------------------------------------------


class MessageTemplatePartsInput(graphene.InputObjectType):
    subject = graphene.String(description="Email only; required for email.")
    preheader = graphene.String(description="Email only: the line inboxes show after it.")
    html = graphene.String(description="Email only: the HTML part (the layout wraps it).")
    text = graphene.String(description="Required: the text part of an email, or the SMS.")


class MessageTemplateCreateInput(MessageTemplatePartsInput):
    name = graphene.String(required=True, description="A slug, e.g. `welcome-material`.")
    channel = graphene.String(required=True, description="`email` or `sms`.")
    language = graphene.String(required=True, description="A language code, e.g. `es`.")


class TemplateCreate(MessagingMutation):
    template = graphene.Field(MessageTemplateContent)

    class Arguments:
        input = MessageTemplateCreateInput(required=True)

    class Meta:
        description = (
            "Create the shop's own version of a template in one language; with the name of a "
            "built-in template, it replaces the built-in one. Every part is checked first."
        )

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, input: Any) -> TemplateCreate:
        name, channel = input.get("name") or "", input.get("channel") or ""
        language = _language(input.get("language") or "")
        parts = {part: input.get(part) or "" for part in PARTS}
        errors = check_key(name, channel, language) + check_parts(channel, parts)
        if errors:
            raise Refused(errors)
        installation = principal(info).installation
        duplicate = error(
            "duplicate", f"the shop has a {channel} template {name!r} in {language!r}", "name"
        )
        if Template.objects.filter(
            installation=installation, name=name, channel=channel, language=language
        ).exists():
            raise Refused([duplicate])
        try:
            with transaction.atomic():
                row = Template.objects.create(
                    installation=installation,
                    name=name,
                    channel=channel,
                    language=language,
                    updated_by=principal(info).actor,
                    **parts,
                )
        except IntegrityError as exc:  # created meanwhile by another request
            raise Refused([duplicate]) from exc
        return cls(template=content_of(row), errors=[])


class TemplateUpdate(MessagingMutation):
    template = graphene.Field(MessageTemplateContent)

    class Arguments:
        name = graphene.String(required=True)
        channel = graphene.String(required=True)
        language = graphene.String(required=True)
        input = MessageTemplatePartsInput(
            required=True, description="The parts to change; the others stay as they are."
        )

    class Meta:
        description = "Change the shop's own version of a template in one language."

    @classmethod
    def perform(
        cls, info: graphene.ResolveInfo, name: str, channel: str, language: str, input: Any
    ) -> TemplateUpdate:
        row = _own(info, name, channel, language)
        parts = {
            part: getattr(row, part) if input.get(part) is None else input.get(part)
            for part in PARTS
        }
        errors = check_parts(row.channel, parts)
        if errors:
            raise Refused(errors)
        for part, value in parts.items():
            setattr(row, part, value)
        row.updated_by = principal(info).actor
        row.save()
        return cls(template=content_of(row), errors=[])


class TemplateDelete(MessagingMutation):
    deleted = graphene.Boolean(required=True)
    template = graphene.Field(
        MessageTemplateContent,
        description="What messages of this name, channel and language use now: the shop's "
        "version in another language, or the built-in one; null when there is none left.",
    )
    refused_output: ClassVar[dict[str, Any]] = {"deleted": False}

    class Arguments:
        name = graphene.String(required=True)
        channel = graphene.String(required=True)
        language = graphene.String(required=True)

    class Meta:
        description = "Delete the shop's own version of a template in one language."

    @classmethod
    def perform(
        cls, info: graphene.ResolveInfo, name: str, channel: str, language: str
    ) -> TemplateDelete:
        row = _own(info, name, channel, language)
        row.delete()
        fallback = template_content(principal(info).installation, name, channel, row.language)
        return cls(deleted=True, template=fallback, errors=[])


class TemplatePreview(MessagingMutation):
    language = graphene.String(description="The language version that was rendered.")
    to = graphene.String(description="The contact's address on the channel.")
    subject = graphene.String(description="Email only.")
    preheader = graphene.String(description="Email only.")
    text = graphene.String()
    html = graphene.String(description="Email only: the whole page, CSS inlined.")
    encoding = graphene.String(description="SMS only: `GSM-7` or `UCS-2`.")
    segments = graphene.Int(description="SMS only: how many parts the text is sent in.")

    class Arguments:
        name = graphene.String(required=True)
        channel = graphene.String(description="`email` or `sms`; by default the template's.")
        language = graphene.String(description="e.g. `es`; by default the contact's.")
        contact_email = graphene.String(
            description="A contact of the shop; by default a sample contact with a sample cart."
        )

    class Meta:
        description = (
            "Render a template as it would be sent, for a contact or a sample one. Nothing is "
            "sent or stored."
        )

    @classmethod
    def perform(
        cls,
        info: graphene.ResolveInfo,
        name: str,
        channel: str | None = None,
        language: str | None = None,
        contact_email: str | None = None,
    ) -> TemplatePreview:
        installation = principal(info).installation
        language = _language(language or "") or None
        if contact_email:
            address = normalise_email(contact_email)
            contact = (
                Contact.objects.filter(installation=installation, email=address).first()
                if address
                else None
            )
            if contact is None:
                raise Refused(
                    [
                        error(
                            "not_found",
                            f"no contact has the email {contact_email!r}",
                            "contactEmail",
                        )
                    ]
                )
        else:
            contact = preview.sample_contact(installation, language or conf.get("DEFAULT_LANGUAGE"))
        if channel is not None and channel not in CHANNELS:
            raise Refused(
                [error("invalid", f"the channel is email or sms, not {channel!r}", "channel")]
            )
        try:
            found = channels.get(channel) if channel else preview.channel_of(installation, name)
        except RenderError as exc:
            raise Refused([error("not_found", str(exc), "name")]) from exc
        if found is None or not content.exists(installation, name, found.name):
            kind = found.name if found is not None else channel
            raise Refused([error("not_found", f"there is no {kind} template {name!r}", "name")])
        if not found.address(contact):
            explain = getattr(found, "address_problem", None)
            reason = explain(contact) if explain else f"the contact has no {found.name} address"
            raise Refused([error("render_failed", reason, "contactEmail")])
        try:
            message, rendered = preview.prepare(
                installation, name, contact, language=language, marketing=True, channel=found
            )
        except RenderError as exc:
            raise Refused([error("render_failed", str(exc), "name")]) from exc
        return cls(
            language=rendered.language,
            to=message.to,
            subject=message.subject if found.name == "email" else None,
            preheader=rendered.preheader if found.name == "email" else None,
            text=message.text,
            html=message.html if found.name == "email" else None,
            encoding=message.encoding or None,
            segments=message.segments,
            errors=[],
        )


class ContactConsentChange(MessagingMutation):
    status = graphene.String(
        description="The consent now: `subscribed`, `unsubscribed`, or `unknown` while a double "
        "opt-in confirmation is awaited."
    )
    refused_output: ClassVar[dict[str, Any]] = {"status": None}

    class Arguments:
        email = graphene.String(required=True, description="The contact's email address.")
        channel = graphene.String(default_value="email", description="`email` or `sms`.")
        source = graphene.String(
            default_value="api", description="Where the request came from, e.g. `signup-form`."
        )

    subscribe: ClassVar[bool] = True

    @classmethod
    def perform(
        cls, info: graphene.ResolveInfo, email: str, channel: str, source: str
    ) -> ContactConsentChange:
        from saleor_journeys.contacts.identity import normalise_email
        from saleor_journeys.contacts.models import Contact
        from saleor_journeys.messaging.consent import request_opt_in, set_consent
        from saleor_journeys.messaging.models import ConsentStatus

        if channel not in ("email", "sms"):
            raise Refused([error("invalid", "the channel is email or sms", "channel")])
        address = normalise_email(email)
        contact = (
            Contact.objects.filter(installation=principal(info).installation, email=address)
            .exclude(erased_at__isnull=False)
            .first()
            if address
            else None
        )
        if contact is None:
            raise Refused([error("not_found", f"no contact {email}", "email")])
        source = source[:64] or "api"
        if not cls.subscribe:
            consent = set_consent(contact, channel, ConsentStatus.UNSUBSCRIBED, source=source)
        elif channel == "email":
            consent = request_opt_in(contact, source=source)
        else:
            consent = set_consent(contact, channel, ConsentStatus.SUBSCRIBED, source=source)
        return cls(status=consent.status, errors=[])


class ContactSubscribe(ContactConsentChange):
    class Meta:
        description = (
            "Record a contact's consent to marketing on a channel. For email with DOUBLE_OPT_IN "
            "on, the contact gets a confirmation email and stays `unknown` until they confirm."
        )


class ContactUnsubscribe(ContactConsentChange):
    subscribe: ClassVar[bool] = False

    class Meta:
        description = "Record that a contact wants no more marketing on a channel."


class MessageMutations(graphene.ObjectType):
    contact_subscribe = ContactSubscribe.Field()
    contact_unsubscribe = ContactUnsubscribe.Field()
    template_create = TemplateCreate.Field()
    template_update = TemplateUpdate.Field()
    template_delete = TemplateDelete.Field()
    template_preview = TemplatePreview.Field()
