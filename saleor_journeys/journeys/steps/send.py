"""Send a message on a channel; the trigger is re-checked first (a bought cart is not chased)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from saleor_journeys.journeys.steps.base import Linear, Step, Visit, act, finish

if TYPE_CHECKING:
    from saleor_journeys.journeys.models import RunAction


class SendNode(Linear):
    type: Literal["send"]
    channel: Literal["email", "sms", "web", "push"]
    template: str = Field(min_length=1)
    # Transactional messages skip marketing consent, frequency caps and quiet hours.
    transactional: bool = False
    on_failure: Literal["continue", "exit"] = "continue"
    """When the message cannot be sent (no address, a template that fails for this contact, a
    provider's hard refusal): the run goes on, or leaves the journey."""


def enter(node: SendNode, visit: Visit) -> Step:
    # After a goal (an order) the trigger (an open checkout) is over by design: a goal branch
    # such as the thank-you with a voucher is not re-checked.
    recheck = visit.definition.settings.recheck_trigger and not visit.state.context.get("converted")
    if recheck and not visit.facts.trigger_holds:
        reason = "what triggered the journey no longer holds"
        return Step(finish(visit.state, "exited"), "exit", node.id, reason=reason)
    return act(node, visit)


def perform(action: RunAction) -> dict[str, Any]:
    """Carried out by the messaging outbox: policy, rendering, the channel."""
    from saleor_journeys.messaging.outbox import deliver

    return deliver(action)
