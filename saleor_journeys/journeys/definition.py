"""The journey definition document and its validation.

A definition is data (JSON or YAML): a trigger, settings, and nodes with ids and explicit
successors. ``validate()`` reports every problem at once, each with the path to it, so an editor
can underline them all; only a definition without problems can be published.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from saleor_journeys.journeys.conditions import Condition
from saleor_journeys.journeys.conditions import kind as condition_kind
from saleor_journeys.journeys.durations import Duration
from saleor_journeys.journeys.steps import WAITING_TYPES, Node
from saleor_journeys.journeys.steps.base import Strict as _Strict
from saleor_journeys.journeys.steps.condition import ConditionNode
from saleor_journeys.journeys.steps.create_voucher import CreateVoucherNode
from saleor_journeys.journeys.steps.exit import ExitNode
from saleor_journeys.journeys.steps.notify_staff import NotifyStaffNode
from saleor_journeys.journeys.steps.random_split import Branch, RandomSplitNode
from saleor_journeys.journeys.steps.send import SendNode
from saleor_journeys.journeys.steps.update_contact import UpdateContactNode
from saleor_journeys.journeys.steps.wait import WEEKDAYS, Until, WaitNode, Weekday
from saleor_journeys.journeys.steps.wait_for_event import WaitForEventNode
from saleor_journeys.journeys.steps.webhook import WebhookNode

__all__ = [
    "WEEKDAYS",
    "Branch",
    "ConditionNode",
    "CreateVoucherNode",
    "Definition",
    "ExitNode",
    "Node",
    "NotifyStaffNode",
    "Problem",
    "RandomSplitNode",
    "Result",
    "SendNode",
    "Until",
    "UpdateContactNode",
    "WaitForEventNode",
    "WaitNode",
    "WebhookNode",
    "Weekday",
    "validate",
]

FORMAT: Literal[1] = 1


# --- triggers ---------------------------------------------------------------------------


class EventTrigger(_Strict):
    """An event happened (``checkout_updated``, ``customer_created``, ``order_created`` …)."""

    type: Literal["event"]
    event: str = Field(min_length=1)
    filter: Condition | None = None


class CheckoutAbandonedTrigger(_Strict):
    """A checkout with an email and lines, not completed and not updated for ``after``."""

    type: Literal["checkout_abandoned"]
    after: Duration = "2h"


class TagAddedTrigger(_Strict):
    type: Literal["tag_added"]
    tag: str = Field(min_length=1)


class PropertyDateTrigger(_Strict):
    """``offset`` after the date in a contact property, e.g. 7d after sign-up."""

    type: Literal["property_date"]
    property: str = Field(pattern=r"^contact\.(created_at|properties\.[A-Za-z0-9_.]+)$")
    """``contact.created_at`` or a date in the card's properties, e.g.
    ``contact.properties.date_joined`` (Saleor's sign-up date)."""
    offset: Duration | None = None


class ManualTrigger(_Strict):
    """Contacts are enrolled by staff, the API or a bulk action; never by an import alone."""

    type: Literal["manual"]


class WebActivityMatch(_Strict):
    """Which storefront pages count; every field given must match (none: every page)."""

    product: str | None = Field(default=None, min_length=1, max_length=255)
    """``any``: each product counted on its own (3 views of one product); or a product id."""
    category: str | None = Field(default=None, min_length=1, max_length=255)
    url: str | None = Field(default=None, min_length=1, max_length=500)
    """An fnmatch pattern on the page's path, e.g. ``/blog/*``."""


class WebActivityTrigger(_Strict):
    """The contact's matching page views (``views``) or engaged seconds (``seconds``) within
    ``within`` reach the threshold (``web.activity``); anonymous visitors too."""

    type: Literal["web_activity"]
    match: WebActivityMatch = Field(default_factory=WebActivityMatch)
    views: int | None = Field(default=None, ge=1, le=1000)
    seconds: int | None = Field(default=None, ge=1, le=86400)
    within: Duration = "1h"
    exclude_bought: bool = True
    """Never fire for a product the contact has already bought."""

    @model_validator(mode="after")
    def _threshold(self) -> WebActivityTrigger:
        if self.views is None and self.seconds is None:
            raise ValueError("give views, seconds or both")
        return self


Trigger = Annotated[
    EventTrigger
    | CheckoutAbandonedTrigger
    | TagAddedTrigger
    | PropertyDateTrigger
    | ManualTrigger
    | WebActivityTrigger,
    Field(discriminator="type"),
]


# --- settings ---------------------------------------------------------------------------


class Reentry(_Strict):
    policy: Literal["never", "after", "always"] = "never"
    after: Duration | None = None


class Goal(_Strict):
    """An event that ends the run at once, as a conversion (an order ends cart recovery).

    With ``next`` the run jumps there instead of ending (a thank-you with a voucher), and
    counts as converted when that branch ends."""

    event: str = Field(min_length=1)
    filter: Condition | None = None
    next: str | None = None


class Settings(_Strict):
    reentry: Reentry = Field(default_factory=Reentry)
    goals: list[Goal] = Field(default_factory=list)
    # Before each send, check that the trigger's filter still holds; exit when it does not.
    recheck_trigger: bool = True


class Definition(_Strict):
    format: Literal[1] = FORMAT
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    trigger: Trigger
    settings: Settings = Field(default_factory=Settings)
    start: str
    nodes: list[Node] = Field(min_length=1)

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


# --- validation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    path: str
    """Where, e.g. ``nodes[2].timeout`` (``""`` for the whole document)."""
    code: str
    message: str


@dataclass(frozen=True)
class Result:
    definition: Definition | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def _path(loc: tuple[int | str, ...], data: Any) -> str:
    """A pydantic error location as a path into the document, without the union tags pydantic
    puts in it (``nodes[0].send.channel`` → ``nodes[0].channel``)."""
    parts: list[str] = []
    current = data
    tagged: Any = None  # the object whose union tag has been skipped
    items = list(loc)
    i = 0
    while i < len(items):
        part = items[i]
        if isinstance(part, int):
            parts.append(f"[{part}]")
            current = current[part] if isinstance(current, list) and part < len(current) else None
        elif isinstance(current, dict) and _tag(current) == part and tagged is not current:
            tagged = current  # pydantic names the member of a tagged union: not a path part
        elif "[" in part or "(" in part:
            pass  # a validator's name
        else:
            parts.append(f".{part}" if parts else part)
            current = current.get(part) if isinstance(current, dict) else None
        i += 1
    return "".join(parts)


def _tag(obj: dict[str, Any]) -> str | None:
    """The union tag pydantic reports for a raw node, trigger or condition."""
    return obj["type"] if "type" in obj else condition_kind(obj)


_CODES = {"extra_forbidden": "unknown_field", "missing": "missing"}


def _schema_problems(exc: ValidationError, data: Any) -> list[Problem]:
    problems = []
    for error in exc.errors():
        code = _CODES.get(error["type"], "invalid")
        message = "unknown field" if code == "unknown_field" else error["msg"]
        problems.append(Problem(_path(error["loc"], data), code, message))
    return problems


def successors(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(path within the node, target id)`` of every successor a raw node names."""
    for key in ("next", "then", "else", "timeout_next"):
        if isinstance(node.get(key), str):
            yield key, node[key]
    for index, branch in enumerate(node.get("branches") or []):
        if isinstance(branch, dict) and isinstance(branch.get("next"), str):
            yield f"branches[{index}].next", branch["next"]


def _graph_problems(data: dict[str, Any]) -> list[Problem]:
    """Checks on the raw document, so they are reported even when some nodes are malformed."""
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list):
        return []
    problems: list[Problem] = []
    index_of: dict[str, int] = {}
    for i, node in enumerate(raw_nodes):
        node_id = node.get("id") if isinstance(node, dict) else None
        if not isinstance(node_id, str):
            continue
        if node_id in index_of:
            problems.append(
                Problem(f"nodes[{i}].id", "duplicate_id", f"another node is called {node_id!r}")
            )
        else:
            index_of[node_id] = i
    edges: dict[str, list[str]] = {node_id: [] for node_id in index_of}
    for node_id, i in index_of.items():
        for key, target in successors(raw_nodes[i]):
            if target not in index_of:
                problems.append(
                    Problem(f"nodes[{i}].{key}", "unknown_node", f"there is no node {target!r}")
                )
            else:
                edges[node_id].append(target)
    start = data.get("start")
    if isinstance(start, str) and start not in index_of:
        problems.append(Problem("start", "unknown_node", f"there is no node {start!r}"))
    entries = [start] if isinstance(start, str) and start in index_of else []
    for g, goal in enumerate(_goals(data)):
        goal_next = goal.get("next")
        if isinstance(goal_next, str) and goal_next not in index_of:
            problems.append(
                Problem(
                    f"settings.goals[{g}].next", "unknown_node", f"there is no node {goal_next!r}"
                )
            )
        elif isinstance(goal_next, str):
            entries.append(goal_next)  # a goal branch is entered from any node
    if entries and isinstance(start, str) and start in index_of:
        reached = set().union(*(_reachable(entry, edges) for entry in entries))
        for node_id, i in index_of.items():
            if node_id not in reached:
                problems.append(
                    Problem(f"nodes[{i}]", "unreachable", f"no path from {start!r} leads here")
                )
    waits = {
        node_id
        for node_id, i in index_of.items()
        if isinstance(raw_nodes[i], dict) and raw_nodes[i].get("type") in WAITING_TYPES
    }
    for cycle_node in _cycles_without_wait(edges, waits):
        problems.append(
            Problem(
                f"nodes[{index_of[cycle_node]}]",
                "cycle_without_wait",
                "this node is on a loop with no wait: a contact would go round it forever",
            )
        )
    for i, node in enumerate(raw_nodes):
        if not isinstance(node, dict) or node.get("type") != "random_split":
            continue
        branches = node.get("branches")
        if isinstance(branches, list) and all(isinstance(b, dict) for b in branches):
            total = sum(float(b.get("percent") or 0) for b in branches)
            if abs(total - 100) > 1e-6:
                problems.append(
                    Problem(
                        f"nodes[{i}].branches",
                        "percentages",
                        f"the percentages add up to {total:g}, not 100",
                    )
                )
    for i, node in enumerate(raw_nodes):
        is_wait = isinstance(node, dict) and node.get("type") == "wait"
        if is_wait and bool(node.get("duration")) == bool(node.get("until")):
            problems.append(
                Problem(
                    f"nodes[{i}]",
                    "invalid",
                    "a wait needs either a duration or an until, not both",
                )
            )
    return problems


def _goals(data: dict[str, Any]) -> list[dict[str, Any]]:
    settings = data.get("settings")
    goals = settings.get("goals") if isinstance(settings, dict) else None
    return [g for g in goals if isinstance(g, dict)] if isinstance(goals, list) else []


def _reachable(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for target in edges[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _cycles_without_wait(edges: dict[str, list[str]], waits: set[str]) -> list[str]:
    """Nodes on a loop of the graph that has no wait in it (waits cut the graph)."""
    cut = {node: [t for t in targets if t not in waits] for node, targets in edges.items()}
    on_cycle: list[str] = []
    for node in cut:
        if node in waits:
            continue
        # Is ``node`` reachable from its own successors without crossing a wait?
        stack = list(cut[node])
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            if current == node:
                on_cycle.append(node)
                break
            if current in seen:
                continue
            seen.add(current)
            stack.extend(cut[current])
    return on_cycle


def _reference_problems(
    definition: Definition, templates: Collection[str] | None, events: Collection[str] | None
) -> list[Problem]:
    problems = []
    for i, node in enumerate(definition.nodes):
        if isinstance(node, SendNode) and templates is not None and node.template not in templates:
            problems.append(
                Problem(
                    f"nodes[{i}].template",
                    "unknown_template",
                    f"there is no {node.channel} template {node.template!r}",
                )
            )
        if isinstance(node, WaitForEventNode) and events is not None and node.event not in events:
            problems.append(
                Problem(f"nodes[{i}].event", "unknown_event", f"no event is called {node.event!r}")
            )
    if events is not None:
        if isinstance(definition.trigger, EventTrigger) and definition.trigger.event not in events:
            problems.append(
                Problem(
                    "trigger.event",
                    "unknown_event",
                    f"no event is called {definition.trigger.event!r}",
                )
            )
        for i, goal in enumerate(definition.settings.goals):
            if goal.event not in events:
                problems.append(
                    Problem(
                        f"settings.goals[{i}].event",
                        "unknown_event",
                        f"no event is called {goal.event!r}",
                    )
                )
    return problems


def validate(
    data: Any,
    *,
    templates: Collection[str] | None = None,
    events: Collection[str] | None = None,
) -> Result:
    """Check a definition document; every problem is reported, each with its path.

    ``templates`` and ``events`` are the names that exist; None skips that check.
    """
    if not isinstance(data, dict):
        return Result(None, [Problem("", "invalid", "a definition is a JSON/YAML object")])
    problems = _graph_problems(data)
    try:
        definition = Definition.model_validate(data)
    except ValidationError as exc:
        return Result(None, _schema_problems(exc, data) + problems)
    problems += _reference_problems(definition, templates, events)
    return Result(None if problems else definition, problems)
