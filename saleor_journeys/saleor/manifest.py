"""The Saleor App manifest, generated from the trigger registry."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from saleor_journeys import __version__, conf
from saleor_journeys.triggers import registry

REQUIRED_SALEOR_VERSION = ">=3.20"
# Beyond what the webhooks need: the create_voucher step creates vouchers in Saleor.
ACTION_PERMISSIONS = {"MANAGE_DISCOUNTS"}


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Webhook(_Model):
    name: str
    async_events: list[str]
    query: str
    target_url: str
    is_active: bool = True


class Manifest(_Model):
    id: str
    version: str
    name: str
    about: str
    author: str
    permissions: list[str]
    app_url: str
    token_target_url: str
    homepage_url: str
    support_url: str
    data_privacy_url: str
    required_saleor_version: str
    webhooks: list[Webhook] = Field(default_factory=list)


def build(base_url: str) -> Manifest:
    """The manifest with absolute URLs under ``base_url`` (no trailing slash)."""
    groups = registry.groups()
    homepage = "https://github.com/saleor-journeys/saleor-journeys"
    return Manifest(
        id=conf.get("APP_ID"),
        version=__version__,
        name=conf.get("APP_NAME"),
        about=(
            "Marketing automation for this shop: journeys over email, SMS and the web, "
            "triggered by what customers do."
        ),
        author="saleor-journeys",
        permissions=sorted({group.permission for group in groups} | ACTION_PERMISSIONS),
        app_url=f"{base_url}/app/",
        token_target_url=f"{base_url}/api/register",
        homepage_url=homepage,
        support_url=f"{homepage}/issues",
        data_privacy_url=f"{homepage}/blob/main/docs/privacy.md",
        required_saleor_version=REQUIRED_SALEOR_VERSION,
        webhooks=[
            Webhook(
                name=f"journeys-{group.name}-events",
                async_events=[t.event for t in registry.group_triggers(group)],
                query=registry.subscription_query(group.name),
                target_url=f"{base_url}/api/webhooks/{group.name}",
            )
            for group in groups
        ],
    )
