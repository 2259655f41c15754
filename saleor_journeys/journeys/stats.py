"""How many contacts a journey has handled, and where they are: counted by the database.

Each figure is one aggregate query over ``Run`` or ``RunStep`` (grouped by node for the node
figures), so the cost does not grow with the number of runs held in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from saleor_journeys.journeys.models import (
    LIVE_STATUSES,
    Journey,
    JourneyVersion,
    Run,
    RunStatus,
    RunStep,
)

# Outcomes of a step that carried out its node and moved the run on (or ended the flow there
# normally, when the node has no successor).
PASSED_OUTCOMES = ("action", "advance", "event", "timeout")


@dataclass(frozen=True)
class JourneyCounts:
    entered: int
    active: int
    waiting: int
    done: int
    exited: int
    converted: int

    @property
    def conversion_rate(self) -> float:
        return self.converted / self.entered if self.entered else 0.0


def journey_counts(journey: Journey) -> JourneyCounts:
    """Runs of every version of the journey, by status."""
    by_status = {
        status: Count("pk", filter=Q(status=status))
        for status in ("active", "waiting", "done", "exited", "converted")
    }
    row = Run.objects.filter(journey=journey).aggregate(entered=Count("pk"), **by_status)
    return JourneyCounts(**row)


@dataclass(frozen=True)
class NodeCounts:
    node: str
    type: str
    title: str
    entered: int = 0
    waiting: int = 0
    done: int = 0
    exited: int = 0


def node_counts(version: JourneyVersion) -> list[NodeCounts]:
    """The nodes of a published version, in the definition's order, with the runs of that
    version counted per node (runs of other versions follow other definitions)."""
    visited = (
        RunStep.objects.filter(run__version=version)
        .exclude(node="")
        .values("node")
        .annotate(
            entered=Count("run", distinct=True),
            done=Count(
                "run",
                distinct=True,
                # An exit node that ends the flow as done or converted was passed too; an exit
                # that leaves early (status exited) was not.
                filter=Q(outcome__in=PASSED_OUTCOMES)
                | (Q(outcome="exit") & ~Q(run__status=RunStatus.EXITED)),
            ),
        )
    )
    here = (
        Run.objects.filter(version=version)
        .values("node")
        .annotate(
            waiting=Count("pk", filter=Q(status__in=LIVE_STATUSES)),
            exited=Count("pk", filter=Q(status=RunStatus.EXITED)),
        )
    )
    counts: dict[str, dict[str, Any]] = {}
    for row in [*visited, *here]:
        figures = {key: value for key, value in row.items() if key != "node"}
        counts.setdefault(row["node"], {}).update(figures)
    return [
        NodeCounts(
            node=node["id"],
            type=node["type"],
            title=node.get("title") or "",
            **counts.get(node["id"], {}),
        )
        for node in version.definition.get("nodes", [])
    ]
