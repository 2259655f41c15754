"""Journeys, their versions, figures and runs, as the API reads them (one shop at a time)."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import Prefetch, QuerySet
from graphene.types.generic import GenericScalar
from graphene_django import DjangoConnectionField, DjangoObjectType

from saleor_journeys import conf
from saleor_journeys.graphql.journey_errors import JourneyErrorType, from_problems
from saleor_journeys.graphql.types import ContactType, principal
from saleor_journeys.journeys import stats as journey_stats
from saleor_journeys.journeys.definition import validate
from saleor_journeys.journeys.models import Journey, Run, RunStep
from saleor_journeys.journeys.versions import current_version

MAX_PAGE = conf.get("GRAPHQL_MAX_PAGE_SIZE")


class JourneyStatusEnum(graphene.Enum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"

    class Meta:
        name = "JourneyStatus"
        description = "DRAFT until first published; only ACTIVE journeys take contacts."


class RunStatusEnum(graphene.Enum):
    ACTIVE = "active"
    WAITING = "waiting"
    DONE = "done"
    EXITED = "exited"
    CONVERTED = "converted"

    class Meta:
        name = "RunStatus"
        description = (
            "ACTIVE: due to take its next step; WAITING: in a wait; DONE: reached the end; "
            "EXITED: left early (what triggered it no longer held); CONVERTED: reached a goal."
        )


def enum_value(value: Any) -> str:
    """An enum (a graphene argument, or a model's choices member) as the stored string; graphene
    cannot serialise a member of another enum."""
    return str(getattr(value, "value", value))


class JourneyVersionType(graphene.ObjectType):
    number = graphene.Int(required=True)
    definition = GenericScalar(required=True, description="The published definition, as JSON.")
    published_at = graphene.DateTime(required=True)
    published_by = graphene.String(
        required=True, description="e.g. `api-key:<name>`, `cli:<file>`."
    )

    class Meta:
        name = "JourneyVersion"
        description = "A published, immutable definition; runs stay on the version they entered."


class JourneyStats(graphene.ObjectType):
    entered = graphene.Int(required=True, description="Runs started, of every version.")
    active = graphene.Int(required=True, description="Runs due to take their next step now.")
    waiting = graphene.Int(required=True, description="Runs in a wait.")
    done = graphene.Int(required=True, description="Runs that reached the end of the flow.")
    exited = graphene.Int(required=True, description="Runs that left early.")
    converted = graphene.Int(required=True, description="Runs that reached a goal.")
    conversion_rate = graphene.Float(
        required=True, description="`converted / entered`; 0 when no run entered."
    )

    class Meta:
        description = "The journey's runs by status."


class JourneyNode(graphene.ObjectType):
    id = graphene.String(required=True, description="The node's id in the definition.")
    type = graphene.String(required=True, description="`send`, `wait`, `condition` …")
    title = graphene.String(required=True)
    entered = graphene.Int(
        required=True, description="Distinct runs that reached this node (a step logged at it)."
    )
    waiting = graphene.Int(
        required=True,
        description="Live runs at this node now: waiting in it, or about to carry it out.",
    )
    done = graphene.Int(
        required=True,
        description="Distinct runs that carried the node out and moved on: a step at it with "
        "outcome action, advance, event or timeout, or the end of the flow at an exit node.",
    )
    exited = graphene.Int(
        required=True,
        description="Runs that finished at this node with status EXITED (left early).",
    )

    class Meta:
        description = "A node of a published version, with that version's runs counted."

    @staticmethod
    def resolve_id(root: journey_stats.NodeCounts, info: graphene.ResolveInfo) -> str:
        return root.node


class RunStepType(graphene.ObjectType):
    number = graphene.Int(required=True, description="0 for entering, then one per step.")
    node = graphene.String(required=True)
    outcome = graphene.String(
        required=True,
        description="`enter`, `wait`, `advance`, `event`, `timeout`, `action`, `exit` or `goal`.",
    )
    at = graphene.DateTime(required=True)
    detail = GenericScalar(required=True, description="e.g. the reason of an exit, as JSON.")

    class Meta:
        name = "RunStep"
        description = "One entry of a run's log."


class RunType(DjangoObjectType):
    journey = graphene.Field(lambda: JourneyType, required=True)
    # Declared so that it is read from the joined row, not fetched again per run.
    contact = graphene.Field(ContactType, required=True)
    version = graphene.Int(required=True, description="The number of the version it follows.")
    status = RunStatusEnum(required=True)
    node = graphene.String(required=True, description="The node it is at, or finished at.")
    wake_at = graphene.DateTime(description="When it is due to move next, while it is live.")
    steps = graphene.List(
        graphene.NonNull(RunStepType), required=True, description="The log, in order."
    )

    class Meta:
        model = Run
        name = "JourneyRun"
        description = "One contact's way through one journey."
        fields = ("journey", "contact", "status", "node", "entered_at", "finished_at", "wake_at")
        convert_choices_to_enum = False
        use_connection = True

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Run], info: graphene.ResolveInfo) -> QuerySet[Run]:
        return (
            queryset.filter(installation=principal(info).installation)
            .select_related("journey", "version", "contact")
            .defer("version__definition")
            .prefetch_related(Prefetch("log", queryset=RunStep.objects.order_by("number")))
        )

    @staticmethod
    def resolve_status(root: Run, info: graphene.ResolveInfo) -> str:
        return enum_value(root.status)

    @staticmethod
    def resolve_version(root: Run, info: graphene.ResolveInfo) -> int:
        return root.version.number

    @staticmethod
    def resolve_steps(root: Run, info: graphene.ResolveInfo) -> Any:
        return root.log.all()


def runs_of(queryset: QuerySet[Run], status: Any = None) -> QuerySet[Run]:
    if status is not None:
        queryset = queryset.filter(status=enum_value(status))
    return queryset.order_by("-entered_at", "-pk")


class JourneyType(DjangoObjectType):
    status = JourneyStatusEnum(required=True)
    draft = GenericScalar(
        required=True, description="The definition being edited; it may have problems."
    )
    updated_by = graphene.String(
        required=True, description="Who changed it last, e.g. `api-key:<name>`."
    )
    draft_problems = graphene.List(
        graphene.NonNull(JourneyErrorType),
        required=True,
        description="What must be fixed before the draft can be published.",
    )
    versions = graphene.List(
        graphene.NonNull(JourneyVersionType), required=True, description="Oldest first."
    )
    current_version = graphene.Field(
        JourneyVersionType, description="The latest published version; new runs follow it."
    )
    stats = graphene.Field(JourneyStats, required=True)
    nodes = graphene.List(
        graphene.NonNull(JourneyNode),
        version=graphene.Int(description="A version number; the current version by default."),
        required=True,
        description="The nodes of a published version with its runs counted per node; empty "
        "before the first publication.",
    )
    runs = DjangoConnectionField(
        RunType,
        status=RunStatusEnum(),
        max_limit=MAX_PAGE,
        description="The journey's runs, newest first.",
    )

    class Meta:
        model = Journey
        name = "Journey"
        description = "A flow of the shop: its draft, its published versions, and its runs."
        fields = ("slug", "name", "status", "draft", "created_at", "updated_at", "updated_by")
        convert_choices_to_enum = False
        use_connection = True

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[Journey], info: graphene.ResolveInfo
    ) -> QuerySet[Journey]:
        return queryset.filter(installation=principal(info).installation)

    @staticmethod
    def resolve_status(root: Journey, info: graphene.ResolveInfo) -> str:
        return enum_value(root.status)

    @staticmethod
    def resolve_draft_problems(root: Journey, info: graphene.ResolveInfo) -> Any:
        return from_problems(validate(root.draft).problems)

    @staticmethod
    def resolve_versions(root: Journey, info: graphene.ResolveInfo) -> Any:
        return root.versions.order_by("number")

    @staticmethod
    def resolve_current_version(root: Journey, info: graphene.ResolveInfo) -> Any:
        return current_version(root)

    @staticmethod
    def resolve_stats(root: Journey, info: graphene.ResolveInfo) -> journey_stats.JourneyCounts:
        return journey_stats.journey_counts(root)

    @staticmethod
    def resolve_nodes(
        root: Journey, info: graphene.ResolveInfo, version: int | None = None
    ) -> list[journey_stats.NodeCounts]:
        versions = root.versions.all()
        chosen = (
            versions.filter(number=version).first()
            if version is not None
            else versions.order_by("-number").first()
        )
        return journey_stats.node_counts(chosen) if chosen else []

    @staticmethod
    def resolve_runs(
        root: Journey, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet[Run]:
        return runs_of(Run.objects.filter(journey=root), status)


def find_journey(info: graphene.ResolveInfo, slug: str) -> Journey | None:
    return Journey.objects.filter(installation=principal(info).installation, slug=slug).first()


class JourneyQueries(graphene.ObjectType):
    journeys = DjangoConnectionField(
        JourneyType,
        status=JourneyStatusEnum(description="Only journeys with this status."),
        max_limit=MAX_PAGE,
        description="Journeys of the shop, most recently changed first.",
    )
    journey = graphene.Field(
        JourneyType,
        slug=graphene.String(required=True),
        description="The journey with this slug, if any.",
    )

    @staticmethod
    def resolve_journeys(
        root: None, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet[Journey]:
        journeys = Journey.objects.filter(installation=principal(info).installation)
        if status is not None:
            journeys = journeys.filter(status=enum_value(status))
        return journeys.order_by("-updated_at", "-pk")

    @staticmethod
    def resolve_journey(root: None, info: graphene.ResolveInfo, slug: str) -> Journey | None:
        return find_journey(info, slug)
