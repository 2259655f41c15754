"""The bundled project's settings (all read from the environment as in production), plus the
shop links the email templates use, which the bundled project has no environment variable for.

``emails.py`` copies this file into its working directory and puts that directory on the
``PYTHONPATH`` of the workers.
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
