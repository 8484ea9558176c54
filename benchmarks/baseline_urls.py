"""URLs of the benchmark server: the example site's, plus the baseline every scenario is compared to.

The baseline is the cheapest useful request the same stack can serve: a bare DRF view (no
authentication, no permissions, JSON renderer) that reads one user by primary key with the same
middleware, gunicorn workers and database. A scenario's ratio to it says what share of the
stack's limit the SCIM endpoint reaches.
"""

from __future__ import annotations

from typing import Any

from config.urls import urlpatterns as site_urlpatterns
from django.contrib.auth import get_user_model
from django.http import Http404
from django.urls import path
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class BaselineUserView(APIView):
    """``GET /bench/baseline/users/<pk>``: one primary-key lookup rendered as a small JSON object."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    renderer_classes = [JSONRenderer]

    def get(self, request: Request, pk: int) -> Response:
        row = get_user_model()._default_manager.filter(pk=pk).values("id", "username", "email").first()
        if row is None:
            raise Http404
        return Response(row)


urlpatterns = [
    path("bench/baseline/users/<int:pk>", BaselineUserView.as_view(), name="bench-baseline-user"),
    *site_urlpatterns,
]
