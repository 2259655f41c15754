"""``saleor-journeys site [--saleor-api-url URL] [--add-origin O]... [--remove-origin O]...``:
a shop's storefront settings for the web channel: the site key, the storefront origins allowed
to send tracking events (checked and stored like GraphQL's ``siteUpdate``), and the script tag
for the storefront's pages, printed last."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from saleor_journeys import conf
from saleor_journeys.management.commands._installation import only_or_named
from saleor_journeys.messaging.links import base_url
from saleor_journeys.runtime import embedded
from saleor_journeys.web import sites
from saleor_journeys.web.models import Site
from saleor_journeys.web.origins import MAX_ORIGINS, normalise_origin, snippet_tag


def _origins(values: list[str], option: str) -> list[str]:
    try:
        return [normalise_origin(value) for value in values]
    except ValueError as exc:
        raise CommandError(f"{option}: {exc}") from exc


class Command(BaseCommand):
    help = (
        "Show a shop's site key, storefront origins and script tag; add or remove storefront "
        "origins (https://shop.example.com)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--saleor-api-url",
            "--installation",
            dest="saleor_api_url",
            help="the shop, when several are installed",
        )
        parser.add_argument(
            "--add-origin",
            action="append",
            default=[],
            metavar="ORIGIN",
            help="allow a storefront origin, scheme://host[:port] (repeatable)",
        )
        parser.add_argument(
            "--remove-origin",
            action="append",
            default=[],
            metavar="ORIGIN",
            help="stop accepting a storefront origin (repeatable)",
        )
        parser.add_argument(
            "--show", action="store_true", help="print the settings (what it does by default)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        embedded.ensure_migrated()
        installation = only_or_named(options["saleor_api_url"])
        added = _origins(options["add_origin"], "--add-origin")
        removed = _origins(options["remove_origin"], "--remove-origin")
        with transaction.atomic():
            site = Site.objects.select_for_update().get(pk=sites.site_for(installation).pk)
            unknown = [origin for origin in removed if origin not in site.origins]
            if unknown:
                raise CommandError(
                    f"--remove-origin: {', '.join(unknown)} is not one of the site's origins "
                    f"({', '.join(site.origins) or 'none'})."
                )
            origins = [origin for origin in site.origins if origin not in removed]
            origins += [origin for origin in dict.fromkeys(added) if origin not in origins]
            if len(origins) > MAX_ORIGINS:
                raise CommandError(f"At most {MAX_ORIGINS} origins, not {len(origins)}.")
            if origins != site.origins:
                site.origins = origins
                site.save(update_fields=["origins", "updated_at"])
                transaction.on_commit(lambda: sites.clear(site.key))
        self.stdout.write(f"Site of {installation.saleor_api_url}")
        self.stdout.write(f"Key: {site.key}")
        if site.origins:
            self.stdout.write("Storefront origins:")
            for origin in site.origins:
                self.stdout.write(f"  {origin}")
        else:
            self.stdout.write("Storefront origins: none yet; add one with --add-origin.")
        if not conf.get("PUBLIC_URL"):
            self.stdout.write(
                f"PUBLIC_URL is not set: replace {base_url()} in the tag with the address "
                "browsers reach the app at."
            )
        self.stdout.write("Put this tag in every storefront page:")
        self.stdout.write(snippet_tag(site.key, base_url()))
