"""``saleor-journeys replay DIR``: feed recorded Saleor deliveries through the webhook path.

Each file holds ``{"headers": {...}, "body": "..."}`` as Saleor sent it; ``jwks.json`` (in DIR or
its parent) holds the keys that signed them. The recorded Saleor is registered without a token,
every delivery is verified and stored like a live one, and the resulting contacts are listed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Sum

from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.runtime import deliveries, embedded
from saleor_journeys.saleor import headers, webhooks
from saleor_journeys.saleor.models import Installation
from saleor_journeys.saleor.registration import normalise_api_url


class Command(BaseCommand):
    help = "Replay recorded Saleor webhook deliveries and list the resulting contacts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help="Folder of recorded delivery files.")
        parser.add_argument("--jwks", type=Path, help="JWKS file (default: DIR/jwks.json or ../)")

    def handle(self, *args: Any, **options: Any) -> None:
        embedded.ensure_migrated()
        directory: Path = options["directory"]
        files = sorted(p for p in directory.glob("*.json") if p.name != "jwks.json")
        recorded = [r for r in (_read(p) for p in files) if r is not None]
        if not recorded:
            raise CommandError(f"No recorded deliveries in {directory}.")
        jwks = json.loads(_jwks_file(directory, options["jwks"]).read_text())

        installations: dict[str, Installation] = {}
        counts = {"stored": 0, "duplicate": 0, "refused": 0}
        refusals: Counter[str] = Counter()
        for delivery in recorded:
            api_url = normalise_api_url(headers.read(delivery["headers"], headers.API_URL))
            if api_url not in installations:
                installations[api_url] = _recorded_installation(api_url, jwks)
            try:
                receipt = webhooks.receive(
                    api_url=api_url,
                    event=headers.read(delivery["headers"], headers.EVENT),
                    signature=headers.read(delivery["headers"], headers.SIGNATURE),
                    body=delivery["body"].encode("utf-8"),
                )
            except webhooks.WebhookRejected as exc:
                counts["refused"] += 1
                refusals[f"{exc.status} {exc.reason}"] += 1
                continue
            counts["duplicate" if receipt.duplicate else "stored"] += 1
        # Tasks run in process on the embedded default; with a broker this processes what the
        # workers have not picked up yet.
        while deliveries.sweep(grace=0):
            pass
        self.stdout.write(
            f"Replayed {len(recorded)} deliveries: {counts['stored']} stored, "
            f"{counts['duplicate']} duplicates, {counts['refused']} refused."
        )
        for reason, n in refusals.most_common():
            self.stdout.write(f"  refused {n}x HTTP {reason}")
        self.stdout.write("")
        for installation in installations.values():
            self._list_contacts(installation)

    def _list_contacts(self, installation: Installation) -> None:
        contacts = (
            Contact.objects.filter(installation=installation)
            .annotate(n_events=Count("events", distinct=True))
            .order_by("created_at", "pk")
        )
        spent = dict(
            Contact.objects.filter(installation=installation)
            .annotate(spent=Sum("orders__total"))
            .values_list("pk", "spent")
        )
        self.stdout.write(f"Contacts of {installation.saleor_api_url}:")
        row = "{:<34} {:<24} {:>6} {:>7} {:>9}"
        self.stdout.write(row.format("email", "name", "events", "orders", "spent"))
        for contact in contacts:
            self.stdout.write(
                row.format(
                    (contact.email or "(erased)")[:34],
                    contact.full_name[:24],
                    contact.n_events,
                    contact.orders.count(),
                    f"{spent.get(contact.pk) or 0:.2f}",
                )
            )


def _recorded_installation(api_url: str, jwks: dict[str, Any]) -> Installation:
    existing = Installation.objects.filter(saleor_api_url=api_url).first()
    if existing is not None and existing.auth_token:
        # A Saleor really installed the app under this URL: its keys must not be replaced.
        raise CommandError(
            f"A Saleor at {api_url} has installed this app here; replay into another data "
            "directory (SALEOR_JOURNEYS_DATA_DIR) or database."
        )
    installation, _ = Installation.objects.update_or_create(
        saleor_api_url=api_url,
        defaults={"jwks": jwks, "jwks_fetched_at": clock.now(), "is_active": True},
    )
    return installation


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return None
    if not isinstance(data, dict) or "headers" not in data or "body" not in data:
        return None
    return {"name": path.name, "headers": data["headers"], "body": data["body"]}


def _jwks_file(directory: Path, given: Path | None) -> Path:
    for candidate in (given, directory / "jwks.json", directory.parent / "jwks.json"):
        if candidate is not None and candidate.exists():
            return candidate
    raise CommandError(f"No jwks.json in {directory} or its parent; pass --jwks FILE.")
