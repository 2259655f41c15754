from django.apps import AppConfig


class SaleorJourneysConfig(AppConfig):
    name = "saleor_journeys"
    label = "saleor_journeys"
    verbose_name = "Saleor Journeys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registering the checks is the import's side effect.
        from saleor_journeys import checks  # noqa: F401
        from saleor_journeys.messaging import provider_events  # noqa: F401
