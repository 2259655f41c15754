"""How mutations fail: each runs in one transaction, and a refusal rolls it back and comes back
as typed ``errors`` (each API area has its own error type), never as a trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import graphene
from django.db import transaction


class Refused(Exception):
    """Raised inside a mutation's transaction: it is rolled back and the errors returned."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__(errors[0].message if errors else "refused")
        self.errors = errors


class TransactionalMutation(graphene.Mutation):
    """A subclass declares ``errors`` (a list of its error type) and ``perform``."""

    # The other output fields when refused (the non-null ones need a value).
    refused_output: ClassVar[dict[str, Any]] = {}

    class Meta:
        abstract = True

    @classmethod
    def mutate(cls, root: None, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        try:
            with transaction.atomic():
                return cls.perform(info, **kwargs)
        except Refused as exc:
            return cls(errors=exc.errors, **cls.refused_output)

    # Each mutation's own work, ``perform(cls, info, **arguments)``: it returns the payload or
    # raises ``Refused``.
    perform: ClassVar[Callable[..., Any]]
