from django.urls import include, path

urlpatterns = [path("", include("saleor_journeys.urls"))]
