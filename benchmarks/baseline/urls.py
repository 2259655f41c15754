from django.urls import path

from baseline import views

urlpatterns = [
    path("api/webhooks/<slug:group>", views.ingest),
    path("healthz", views.healthz),
]
