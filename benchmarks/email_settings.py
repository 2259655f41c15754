"""The bundled project's settings (all read from the environment as in production), plus the
shop links the email templates use, which the bundled project has no environment variable for.

``email.py`` copies this file into its working directory and puts only that directory on the
``PYTHONPATH`` of the workers: ``benchmarks/`` itself must not be on it, where ``email.py``
would hide the standard library's ``email`` package.
"""

from saleor_journeys.project.settings import *  # noqa: F403
from saleor_journeys.project.settings import SALEOR_JOURNEYS

SALEOR_JOURNEYS = {
    **SALEOR_JOURNEYS,
    # welcome-material links to the form: a web link, so every email has a tracked click URL.
    "LINKS": {
        "shop": "https://petshop.example/",
        "form": "https://petshop.example/pets/about-yours?utm_source=journeys",
    },
}
