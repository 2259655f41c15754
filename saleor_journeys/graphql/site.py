"""The shop's storefront settings as the API reads and changes them: the site key, the
storefront origins allowed to send tracking events, and the script tag to put in its pages."""

from __future__ import annotations

from functools import partial
from typing import Any

import graphene
from django.db import transaction
from django.http import HttpRequest

from saleor_journeys import conf
from saleor_journeys.graphql.mutations import Refused, TransactionalMutation
from saleor_journeys.graphql.types import principal
from saleor_journeys.messaging import links
from saleor_journeys.web import sites
from saleor_journeys.web.models import Site
from saleor_journeys.web.origins import MAX_ORIGINS, OriginsError, normalise_origins, snippet_tag


def base_url(request: HttpRequest | None) -> str:
    """Where browsers reach the app: ``PUBLIC_URL``, else the address this request came to."""
    if conf.get("PUBLIC_URL") or request is None:
        return links.base_url()
    return request.build_absolute_uri("/").rstrip("/")


class SiteType(graphene.ObjectType):
    key = graphene.String(
        required=True,
        description="The public site key: it names the shop in the storefront's script tag "
        "and grants nothing.",
    )
    origins = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The storefront origins allowed to send tracking events, e.g. "
        "`https://shop.example.com`.",
    )
    snippet = graphene.String(
        required=True, description="The script tag to put in every storefront page."
    )
    push_public_key = graphene.String(
        description="The VAPID public key browsers subscribe to web push with; null when web "
        "push is not available."
    )

    class Meta:
        name = "Site"
        description = "The shop's storefront settings for the web channel."

    @staticmethod
    def resolve_snippet(root: Site, info: graphene.ResolveInfo) -> str:
        return snippet_tag(root.key, base_url(info.context))

    @staticmethod
    def resolve_push_public_key(root: Site, info: graphene.ResolveInfo) -> str | None:
        try:
            from saleor_journeys.web.push import public_key
        except ImportError:
            return None
        return public_key(root)


class SiteQueries(graphene.ObjectType):
    site = graphene.Field(
        SiteType, required=True, description="The shop's storefront settings for the web channel."
    )

    @staticmethod
    def resolve_site(root: None, info: graphene.ResolveInfo) -> Site:
        return sites.site_for(principal(info).installation)


class SiteErrorCode(graphene.Enum):
    INVALID = "invalid"
    TOO_MANY = "too_many"

    class Meta:
        description = (
            "Why `siteUpdate` refused. INVALID: an entry is not an exact storefront origin (the "
            "message says why, the path is its index, e.g. `origins[2]`); TOO_MANY: more than "
            f"{MAX_ORIGINS} origins."
        )


class SiteErrorType(graphene.ObjectType):
    code = SiteErrorCode(required=True)
    message = graphene.String(required=True)
    path = graphene.String(required=True, description="e.g. `origins[2]`, or `origins`.")

    class Meta:
        name = "SiteError"
        description = "Why a change of the storefront settings was refused."


class SiteUpdate(TransactionalMutation):
    site = graphene.Field(SiteType)
    errors = graphene.List(
        graphene.NonNull(SiteErrorType),
        required=True,
        description="Empty when the settings changed; otherwise nothing was changed.",
    )

    class Arguments:
        origins = graphene.List(
            graphene.NonNull(graphene.String),
            required=True,
            description="Every storefront origin, `scheme://host[:port]`: https (plain http "
            "only for localhost and 127.0.0.1), no path. They replace the current ones.",
        )

    class Meta:
        description = (
            "Set the storefront origins allowed to send tracking events. Each is stored in "
            "lower case without its default port, duplicates once."
        )

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, origins: list[str]) -> Any:
        try:
            cleaned = normalise_origins(origins)
        except OriginsError as exc:
            if exc.index is None:
                raise Refused(
                    [SiteErrorType(code="too_many", message=str(exc), path="origins")]
                ) from exc
            raise Refused(
                [SiteErrorType(code="invalid", message=str(exc), path=f"origins[{exc.index}]")]
            ) from exc
        site = sites.site_for(principal(info).installation)
        site = Site.objects.select_for_update().get(pk=site.pk)
        site.origins = cleaned
        site.save(update_fields=["origins", "updated_at"])
        # This process serves the new origins at once; the others within their cache time.
        transaction.on_commit(partial(sites.clear, site.key))
        return cls(site=site, errors=[])


class SiteMutations(graphene.ObjectType):
    site_update = SiteUpdate.Field()
