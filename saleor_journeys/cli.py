"""The ``saleor-journeys`` command: Django's management commands on the bundled project.

``serve``, ``worker``, ``beat``, ``createapikey``, ``replay``, ``demo``: the app's own; ``migrate``,
``check`` and the rest are Django's.
"""

from __future__ import annotations

import os
import sys

BUNDLED_SETTINGS = "saleor_journeys.project.settings"


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", BUNDLED_SETTINGS)
    # Tasks queued by any command go through this Celery app, configured from the Django
    # settings in use (the bundled ones or the operator's own settings module).
    from django.core.management import execute_from_command_line

    import saleor_journeys.project.celery  # noqa: F401

    execute_from_command_line(["saleor-journeys", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
