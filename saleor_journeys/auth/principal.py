"""Who is calling the API, for which installation. Authenticators produce one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.http import HttpRequest

from saleor_journeys.saleor.models import Installation


@dataclass(frozen=True)
class Principal:
    installation: Installation
    # Recorded with changes made through the API, e.g. ``api-key:ci-export``.
    actor: str


class Authenticator(Protocol):
    def authenticate(self, request: HttpRequest) -> Principal | None:
        """The principal of the request, or None when this authenticator does not apply.

        Raise ``AuthenticationFailed`` when the request carries credentials of this kind that
        are wrong, so that no other authenticator is tried.
        """


class AuthenticationFailed(Exception):
    pass
