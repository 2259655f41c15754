"""The end of a flow: ``done``, or ``converted`` when ``goal`` says this end is the goal."""

from __future__ import annotations

from typing import Literal

from saleor_journeys.journeys.steps.base import NodeBase, Step, Visit, finish


class ExitNode(NodeBase):
    """Ends the run; ``goal`` counts it as a conversion."""

    type: Literal["exit"]
    goal: bool = False


def enter(node: ExitNode, visit: Visit) -> Step:
    # "done", or "converted" for a goal; "exited" is kept for runs that left early.
    return Step(finish(visit.state, "converted" if node.goal else "done"), "exit", node.id)
