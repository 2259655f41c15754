"""The steps of a journey, each one module, registered here and nowhere else.

A step module has a pydantic node model, ``enter(node, visit)`` (the engine's decision when a
run reaches the node), optionally ``resume(node, visit)`` (a run waiting in the node: an event
or its deadline), and, for steps with a side effect, ``perform(action)`` (the runtime carries
the effect out after the decision is committed) and optionally ``prepare`` (values fixed at
decision time, e.g. a voucher code that later steps quote).
"""

from __future__ import annotations

from types import ModuleType
from typing import Annotated

from pydantic import Field

from saleor_journeys.journeys.steps import (
    condition,
    create_voucher,
    exit,
    notify_staff,
    random_split,
    send,
    update_contact,
    wait,
    wait_for_event,
    webhook,
)

Node = Annotated[
    wait.WaitNode
    | wait_for_event.WaitForEventNode
    | condition.ConditionNode
    | random_split.RandomSplitNode
    | update_contact.UpdateContactNode
    | send.SendNode
    | create_voucher.CreateVoucherNode
    | webhook.WebhookNode
    | notify_staff.NotifyStaffNode
    | exit.ExitNode,
    Field(discriminator="type"),
]

MODULES: dict[str, ModuleType] = {
    "wait": wait,
    "wait_for_event": wait_for_event,
    "condition": condition,
    "random_split": random_split,
    "update_contact": update_contact,
    "send": send,
    "create_voucher": create_voucher,
    "webhook": webhook,
    "notify_staff": notify_staff,
    "exit": exit,
}
WAITING_TYPES = frozenset(name for name, module in MODULES.items() if hasattr(module, "resume"))


def module(node_type: str) -> ModuleType:
    return MODULES[node_type]
