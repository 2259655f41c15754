"""The GraphQL endpoint: authentication first, then graphene."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView

from saleor_journeys import conf
from saleor_journeys.auth.principal import AuthenticationFailed, Authenticator, Principal
from saleor_journeys.graphql.schema import schema


def authenticators() -> list[Authenticator]:
    return [import_string(path)() for path in conf.get("GRAPHQL_AUTHENTICATORS")]


def authenticate(request: HttpRequest) -> Principal | None:
    for authenticator in authenticators():
        principal = authenticator.authenticate(request)
        if principal is not None:
            return principal
    return None


def _unauthenticated(message: str) -> JsonResponse:
    return JsonResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status=401,
    )


class JourneysGraphQLView(GraphQLView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "GET" and self.can_display_graphiql(request, {}) and not request.GET:
            # The GraphiQL page holds no data; its requests carry the key and are checked.
            return super().dispatch(request, *args, **kwargs)
        try:
            principal = authenticate(request)
        except AuthenticationFailed as exc:
            return _unauthenticated(str(exc))
        if principal is None:
            return _unauthenticated(
                "authentication required: send an API key as 'Authorization: Bearer <key>'"
            )
        request.journeys_principal = principal  # type: ignore[attr-defined]
        return super().dispatch(request, *args, **kwargs)


graphql_view = csrf_exempt(JourneysGraphQLView.as_view(schema=schema, graphiql=True))
