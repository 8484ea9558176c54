"""``/Me`` (RFC 7644 section 3.11): an alias for the resource of the authenticated subject.

RFC 7644 section 3.11 lets a service provider answer ``/Me`` in one of three ways; this one
"process[es] the SCIM request directly", with the ``Location`` header set to "the permanent
location of the aliased resource". GET (and HEAD), PUT, PATCH and DELETE act on the User
resource of ``request.user`` through the User adapter, exactly as ``/Users/{id}`` would.

The subject must be a user of the served model: session or basic authentication swapped in
through ``SCIM["AUTHENTICATION_CLASSES"]``, or any authentication class whose ``request.user`` is
one. The default bearer token authenticates an identity provider
(:class:`~django_scim.rest.authentication.ScimClient`), which has no User resource: ``/Me`` then
answers 501, the answer section 3.11 gives to a provider that does not support the alias. POST
(creating "the resource associated with the subject") is 501 as well.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework.request import Request
from rest_framework.response import Response

from ..adapters.base import ResourceAdapter
from ..adapters.registry import get_adapter, is_served
from ..core.errors import NotFound, NotImplementedByServer
from .views import ResourceDetailView

__all__ = ["MeView"]


class MeView(ResourceDetailView):
    """``/Me``: the authenticated user's own User resource (RFC 7644 section 3.11)."""

    #: The resource type ``/Me`` aliases.
    resource_type_name = "User"

    def get_me_adapter(self) -> ResourceAdapter:
        if not is_served(self.resource_type_name):
            raise NotImplementedByServer(f"/Me is not supported: no {self.resource_type_name} resource type.")
        return get_adapter(self.resource_type_name, self.request)

    def get_subject(self, adapter: ResourceAdapter) -> models.Model:
        """The model instance of the authenticated subject; 501 when it is not one of the adapter's."""
        user = getattr(self.request, "user", None)
        model = adapter.get_model()
        if not isinstance(user, model) or user.pk is None:
            raise NotImplementedByServer(
                "/Me is not supported for this client: it authenticated as an identity provider, "
                "not as a user (RFC 7644 section 3.11)."
            )
        return user

    def subject_id(self) -> tuple[ResourceAdapter, str]:
        """The adapter and the SCIM id of the subject (its companion is created when missing)."""
        adapter = self.get_me_adapter()
        subject = self.get_subject(adapter)
        scim_id = adapter.companion_ids([subject.pk]).get(subject.pk)
        if scim_id is None:
            # The subject is outside the adapter's scope (another tenant, a soft-deleted user).
            raise NotFound("The authenticated user is not a resource of this service provider.")
        return adapter, scim_id

    def _with_location(self, response: Response, adapter: ResourceAdapter, scim_id: str) -> Response:
        # RFC 7644 section 3.11: "In any response, the HTTP "Location" header MUST be the
        # permanent location of the aliased resource".
        response["Location"] = adapter.location(scim_id)
        return response

    # Each method is the one of /Users/{id} on the subject's id, plus the Location header.

    def get(self, request: Request) -> Response:  # type: ignore[override]
        adapter, scim_id = self.subject_id()
        return self._with_location(super().get(request, adapter.endpoint, scim_id), adapter, scim_id)

    def put(self, request: Request) -> Response:  # type: ignore[override]
        adapter, scim_id = self.subject_id()
        return self._with_location(super().put(request, adapter.endpoint, scim_id), adapter, scim_id)

    def patch(self, request: Request) -> Response:  # type: ignore[override]
        adapter, scim_id = self.subject_id()
        return self._with_location(super().patch(request, adapter.endpoint, scim_id), adapter, scim_id)

    def delete(self, request: Request) -> Response:  # type: ignore[override]
        adapter, scim_id = self.subject_id()
        return self._with_location(super().delete(request, adapter.endpoint, scim_id), adapter, scim_id)

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotImplementedByServer(
            "Creating a resource through /Me is not supported (RFC 7644 section 3.11)."
        )
