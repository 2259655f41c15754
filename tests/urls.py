from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("", include("saleor_journeys.urls")),
    path("shop-page/", lambda request: HttpResponse("the host's own page")),
]
