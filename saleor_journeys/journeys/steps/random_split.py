"""Random split (A/B): each contact takes a branch by the percentages, and keeps it."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field

from saleor_journeys.journeys.steps.base import NodeBase, Step, Strict, Visit, advance


class Branch(Strict):
    percent: float = Field(gt=0, le=100)
    next: str | None


class RandomSplitNode(NodeBase):
    type: Literal["random_split"]
    branches: list[Branch] = Field(min_length=2)


def branch(node: RandomSplitNode, seed: str) -> str | None:
    """Sticky: the contact's seed, not a random draw, picks the branch."""
    digest = hashlib.sha256(f"{seed}:{node.id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * 100
    total = 0.0
    for candidate in node.branches:
        total += candidate.percent
        if point < total:
            return candidate.next
    return node.branches[-1].next


def enter(node: RandomSplitNode, visit: Visit) -> Step:
    return Step(advance(visit.state, branch(node, visit.state.seed)), "advance", node.id)
