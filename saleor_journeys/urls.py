"""URLs of the app. Include them at the root of the host project: ``path("", include(...))``."""

from django.urls import path

from saleor_journeys import views
from saleor_journeys.graphql.views import graphql_view
from saleor_journeys.saleor import views as saleor_views

app_name = "saleor_journeys"

urlpatterns = [
    path("api/manifest", saleor_views.manifest_view, name="manifest"),
    path("api/register", saleor_views.register_view, name="register"),
    path("api/webhooks/<slug:group>", saleor_views.webhook_view, name="webhook"),
    path("graphql/", graphql_view, name="graphql"),
    path("app/", views.app_page, name="app"),
    path("healthz", views.healthz, name="healthz"),
]
