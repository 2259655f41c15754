"""URLs of the app. Include them at the root of the host project: ``path("", include(...))``."""

from django.urls import include, path

from saleor_journeys import views
from saleor_journeys.graphql.views import graphql_view
from saleor_journeys.messaging import consent_views, tracking_views, twilio_views
from saleor_journeys.saleor import views as saleor_views
from saleor_journeys.web import collect_views

app_name = "saleor_journeys"

urlpatterns = [
    path("api/manifest", saleor_views.manifest_view, name="manifest"),
    path("api/register", saleor_views.register_view, name="register"),
    path("api/webhooks/<slug:group>", saleor_views.webhook_view, name="webhook"),
    path("api/twilio/status", twilio_views.status_view, name="twilio-status"),
    path("api/twilio/inbound", twilio_views.inbound_view, name="twilio-inbound"),
    path("graphql/", graphql_view, name="graphql"),
    path("app/", views.app_page, name="app"),
    path("healthz", views.healthz, name="healthz"),
    path("t/o/<str:token>.gif", tracking_views.open_view, name="track-open"),
    path("t/c/<str:token>", tracking_views.click_view, name="track-click"),
    # Provider webhooks (delivery, bounces, complaints …): /anymail/<esp>/tracking/.
    path("anymail/", include("anymail.urls")),
    path("u/<str:token>", consent_views.unsubscribe_view, name="unsubscribe"),
    path("optin/<str:token>", consent_views.opt_in_view, name="opt-in"),
    path("web/", include("saleor_journeys.web.snippet_views")),  # journeys.js, journeys-sw.js
    path("api/web/<str:site_key>/collect", collect_views.collect_view, name="web-collect"),
]
