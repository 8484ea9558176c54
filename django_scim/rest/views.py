"""SCIM endpoints (RFC 7644 section 3): thin DRF views over the adapters.

Every policy (authentication, permissions, throttling, parsing, rendering, errors) is set on
these views and read from ``scim_settings`` at request time, so the site's ``REST_FRAMEWORK``
setting is never involved and ``override_settings`` reaches everything.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.urls import reverse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..adapters.base import ResourceAdapter
from ..adapters.registry import get_adapter_for_endpoint, get_adapters
from ..conf import scim_settings
from ..core import document as scim_document
from ..core.constants import LIST_RESPONSE, RESOURCE_TYPE_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA
from ..core.errors import Forbidden, InvalidFilter, InvalidValue, NotFound, PayloadTooLarge
from ..core.listing import ListQuery, list_response, parse_list_query, search_request_params
from ..core.schema import Schema
from ..log import recorder
from ..orm.sorting import apply_sort
from .conditional import WritePreconditions, last_modified_header, not_modified
from .exceptions import scim_exception_handler
from .pagination import ScimPagination
from .parsers import PARSER_CLASSES, too_large
from .renderers import ScimContentNegotiation, ScimJsonRenderer


class ScimView(APIView):
    """Base view: SCIM media types and errors, policies from ``scim_settings``."""

    parser_classes = PARSER_CLASSES
    renderer_classes = [ScimJsonRenderer]
    content_negotiation_class = ScimContentNegotiation

    def get_authenticators(self) -> list[Any]:
        return [cls() for cls in scim_settings.AUTHENTICATION_CLASSES]

    def get_permissions(self) -> list[Any]:
        return [cls() for cls in scim_settings.PERMISSION_CLASSES]

    def get_throttles(self) -> list[Any]:
        return [cls() for cls in scim_settings.THROTTLE_CLASSES]

    def get_exception_handler(self) -> Any:
        return scim_exception_handler

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # Every SCIM request ends here, answered or refused: the provisioning log's one hook.
        started = recorder.now()
        response = super().dispatch(request, *args, **kwargs)
        recorder.record(self, self.request, response, started)
        return response

    def body_limit(self) -> int:
        """The largest request body this view reads, in bytes (``MAX_BODY_SIZE``)."""
        return int(scim_settings.MAX_BODY_SIZE)

    def body_too_large(self, size: int) -> PayloadTooLarge:
        """The 413 error for a body over :meth:`body_limit`."""
        return too_large(size)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Refuse an oversized body from its declared length, before anything reads it (the
        # parsers also stop reading at the limit, for bodies sent without a length).
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.body_limit():
            raise self.body_too_large(length)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "HEAD" and isinstance(response, Response):
            # HEAD: the headers of the GET (ETag, Last-Modified), no body (RFC 7231 4.3.2).
            response.render()
            response.content = b""
        return response

    def absolute(self, path: str) -> str:
        return self.request.build_absolute_uri(path)


def _projection(request: Request) -> dict[str, list[str] | None]:
    """``attributes`` / ``excludedAttributes`` query parameters (RFC 7644 section 3.4.2.5)."""
    return {
        "attributes": scim_document.split_attribute_list(request.query_params.get("attributes")),
        "excluded_attributes": scim_document.split_attribute_list(
            request.query_params.get("excludedAttributes")
        ),
    }


class ResourceView(ScimView):
    """The views of one resource type's endpoint (``/Users``, ``/Users/{id}``, ``/.search``)."""

    #: The resource type the provisioning log records for this request (set by get_adapter).
    log_resource_type: str | None = None

    def get_adapter(self, endpoint: str) -> ResourceAdapter:
        adapter = get_adapter_for_endpoint(endpoint, self.request)
        # The provisioning log names the resource type from this (log.recorder), building no
        # second adapter for it.
        self.log_resource_type = adapter.name
        return adapter

    def resource_response(
        self, adapter: ResourceAdapter, obj: Any, *, status_code: int = status.HTTP_200_OK
    ) -> Response:
        projection = _projection(self.request)
        # The projection goes to the adapter too: relations the body leaves out are not loaded.
        document = adapter.render(obj, **projection)
        companion = adapter.companion(obj)
        assert companion is not None
        headers = {
            "ETag": document["meta"]["version"],
            "Last-Modified": last_modified_header(companion.last_modified),
        }
        if status_code == status.HTTP_201_CREATED:
            headers["Location"] = document["meta"]["location"]
        body = scim_document.project(document, adapter.resource_type, **projection)
        return Response(body, status=status_code, headers=headers)


class ResourceListView(ResourceView):
    """``/{endpoint}``: list (RFC 7644 section 3.4.2) and create (section 3.3)."""

    def get(self, request: Request, endpoint: str) -> Response:
        """List / query (RFC 7644 section 3.4.2): filter, sortBy, startIndex or cursor (RFC 9865)."""
        adapter = self.get_adapter(endpoint)
        return Response(ScimPagination(adapter, _list_query(request.query_params)).response())

    def post(self, request: Request, endpoint: str) -> Response:
        adapter = self.get_adapter(endpoint)
        obj = adapter.create(request.data)
        return self.resource_response(adapter, obj, status_code=status.HTTP_201_CREATED)


def _list_query(params: Any) -> ListQuery:
    return parse_list_query(
        params, default_count=scim_settings.DEFAULT_PAGE_SIZE, max_count=scim_settings.MAX_PAGE_SIZE
    )


class SearchView(ResourceView):
    """``POST /.search`` and ``POST /{endpoint}/.search`` (RFC 7644 section 3.4.3).

    The body is a SearchRequest; its parameters mean what the GET query parameters mean, cursor
    included (RFC 9865 section 3). At the root every resource type is searched: the filter is
    applied to each type that has its attributes (a type lacking them contributes nothing; a
    filter no type understands is 400 invalidFilter), results come type after type in settings
    order, sorted within each type, paged by index (a cursor at the root is 400 invalidValue).
    """

    def post(self, request: Request, endpoint: str | None = None) -> Response:
        query = _list_query(search_request_params(request.data))
        if endpoint is not None:
            adapter = self.get_adapter(endpoint)
            return Response(ScimPagination(adapter, query).response(), status=status.HTTP_200_OK)
        return Response(_root_search(query, get_adapters(request)))


def _root_search(query: ListQuery, adapters: list[ResourceAdapter]) -> dict[str, Any]:
    if query.by_cursor:
        raise InvalidValue("Cursor paging is supported per resource type (POST /{endpoint}/.search).")
    parts: list[tuple[ScimPagination, Any, int]] = []
    first_error: InvalidFilter | None = None
    for adapter in adapters:
        pagination = ScimPagination(adapter, query)
        try:
            queryset = pagination.queryset()
            key = pagination.sort_key()
            total = adapter.total_results(queryset)
        except InvalidFilter as exc:
            first_error = first_error or exc
            continue
        vendor = connections[queryset.db].vendor
        parts.append(
            (pagination, apply_sort(queryset, key, descending=query.descending, vendor=vendor), total)
        )
    if not parts and first_error is not None:
        raise first_error
    total = sum(count for _, _, count in parts)
    resources: list[dict[str, Any]] = []
    offset, wanted = query.start_index - 1, query.count
    for pagination, ordered, count in parts:
        if wanted <= 0:
            break
        if offset >= count:
            offset -= count
            continue
        objs = list(ordered[offset : offset + wanted])
        offset = 0
        wanted -= len(objs)
        resources += pagination.render(objs)
    return list_response(resources, total=total, start_index=query.start_index)


class ResourceDetailView(ResourceView):
    """``/{endpoint}/{id}``: GET / HEAD, PUT, PATCH and DELETE (RFC 7644 sections 3.4.1, 3.5, 3.6)."""

    def get(self, request: Request, endpoint: str, pk: str) -> Response:
        adapter = self.get_adapter(endpoint)
        # The relations the response has come with the resource, in its statement where they can.
        obj = adapter.get_object(pk, returned=adapter.returned_attributes(**_projection(request)))
        adapter.ensure_companions([obj])
        companion = adapter.companion(obj)
        assert companion is not None
        if not_modified(request, adapter.etag(companion), companion.last_modified):
            return Response(
                status=status.HTTP_304_NOT_MODIFIED,
                headers={
                    "ETag": adapter.etag(companion),
                    "Last-Modified": last_modified_header(companion.last_modified),
                },
            )
        return self.resource_response(adapter, obj)

    def put(self, request: Request, endpoint: str, pk: str) -> Response:
        adapter = self.get_adapter(endpoint)
        preconditions = WritePreconditions(request)
        obj = adapter.replace(pk, request.data, preconditions if preconditions else None)
        return self.resource_response(adapter, obj)

    def patch(self, request: Request, endpoint: str, pk: str) -> Response:
        """PATCH (RFC 7644 section 3.5.2): 200 with the resource, or 204 per ``PATCH_RESPONSE``.

        If-Match / If-Unmodified-Since are checked on the locked row, as for PUT (412 when stale).
        A request with ``attributes`` or ``excludedAttributes`` always gets the 200 body: RFC 7644
        section 3.5.2 "MUST return a 200 OK if the "attributes" parameter is specified".
        """
        adapter = self.get_adapter(endpoint)
        preconditions = WritePreconditions(request)
        obj = adapter.patch(pk, request.data, preconditions if preconditions else None)
        projection = _projection(request)
        if _patch_response_mode(adapter.name) == "no_content" and not any(projection.values()):
            companion = adapter.companion(obj)
            assert companion is not None
            return Response(
                status=status.HTTP_204_NO_CONTENT,
                headers={
                    "ETag": adapter.etag(companion),
                    "Last-Modified": last_modified_header(companion.last_modified),
                },
            )
        return self.resource_response(adapter, obj)

    def delete(self, request: Request, endpoint: str, pk: str) -> Response:
        adapter = self.get_adapter(endpoint)
        preconditions = WritePreconditions(request)
        adapter.delete(pk, preconditions if preconditions else None)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _patch_response_mode(resource_type: str) -> str:
    """``SCIM["PATCH_RESPONSE"]`` for one resource type: ``"resource"`` or ``"no_content"``."""
    setting = scim_settings.PATCH_RESPONSE
    mode = setting.get(resource_type, "resource") if isinstance(setting, dict) else setting
    if mode not in ("resource", "no_content"):
        raise ImproperlyConfigured(
            f"SCIM['PATCH_RESPONSE'] must be 'resource' or 'no_content' (or a dict of them), not {mode!r}."
        )
    return str(mode)


class DiscoveryView(ScimView):
    """Base of the discovery endpoints (RFC 7644 section 4), which refuse ``filter`` with 403."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if "filter" in request.query_params:
            # RFC 7644 section 4: "the service provider SHOULD respond with HTTP status code
            # 403 (Forbidden)" to a filter on these endpoints.
            raise Forbidden("Filtering is not supported on discovery endpoints.")

    def list_response(self, resources: list[dict[str, Any]]) -> Response:
        return Response(
            {
                "schemas": [LIST_RESPONSE],
                "totalResults": len(resources),
                "itemsPerPage": len(resources),
                "startIndex": 1,
                "Resources": resources,
            }
        )


class ServiceProviderConfigView(DiscoveryView):
    """``/ServiceProviderConfig`` (RFC 7643 section 5): what this server really supports."""

    def get(self, request: Request) -> Response:
        adapters = get_adapters(request)
        password = any(
            adapter.find_attribute("password") is not None and "password" in adapter.attribute_map
            for adapter in adapters
        )
        config: dict[str, Any] = {
            "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
            "patch": {"supported": True},
            # RFC 7643 section 5 / RFC 7644 section 3.7.4: the limits /Bulk enforces (413 over them).
            "bulk": {
                "supported": scim_settings.BULK_MAX_OPERATIONS > 0,
                "maxOperations": max(0, scim_settings.BULK_MAX_OPERATIONS),
                "maxPayloadSize": scim_settings.BULK_MAX_PAYLOAD_SIZE,
            },
            # RFC 7643 section 5: maxResults, the most a query returns (per page here).
            "filter": {"supported": True, "maxResults": scim_settings.MAX_PAGE_SIZE},
            "changePassword": {"supported": password},
            "sort": {"supported": True},
            # RFC 9865 section 4: both methods, index by default (section 2.4: a provider that
            # had index paging keeps it as the default for existing clients).
            "pagination": {
                "cursor": True,
                "index": True,
                "defaultPaginationMethod": "index",
                "defaultPageSize": scim_settings.DEFAULT_PAGE_SIZE,
                "maxPageSize": scim_settings.MAX_PAGE_SIZE,
                "cursorTimeout": scim_settings.CURSOR_TIMEOUT,
            },
            "etag": {"supported": True},
            "authenticationSchemes": scim_settings.AUTHENTICATION_SCHEMES,
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": self.absolute(reverse("scim:service-provider-config")),
            },
        }
        if scim_settings.DOCUMENTATION_URI:
            config["documentationUri"] = scim_settings.DOCUMENTATION_URI
        return Response(config)


def _schemas(request: Request) -> dict[str, Schema]:
    found: dict[str, Schema] = {}
    for adapter in get_adapters(request):
        for schema in adapter.resource_type.schemas():
            found.setdefault(schema.id, schema)
    return found


class SchemaListView(DiscoveryView):
    """``/Schemas`` (RFC 7644 section 4): the schemas of every served resource type."""

    def render_schema(self, schema: Schema) -> dict[str, Any]:
        data = schema.to_dict()
        data["meta"] = {
            "resourceType": "Schema",
            "location": self.absolute(reverse("scim:schema", kwargs={"urn": schema.id})),
        }
        return data

    def get(self, request: Request) -> Response:
        return self.list_response([self.render_schema(s) for s in _schemas(request).values()])


class SchemaDetailView(SchemaListView):
    """``/Schemas/{urn}``."""

    def get(self, request: Request, urn: str) -> Response:  # type: ignore[override]
        for schema_id, schema in _schemas(request).items():
            if schema_id.lower() == urn.lower():
                return Response(self.render_schema(schema))
        raise NotFound(f"Schema {urn} not found.")


class ResourceTypeListView(DiscoveryView):
    """``/ResourceTypes`` (RFC 7643 section 6)."""

    def render_type(self, adapter: ResourceAdapter) -> dict[str, Any]:
        rt = adapter.resource_type
        data: dict[str, Any] = {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": rt.name,
            "name": rt.name,
            "endpoint": rt.endpoint,
            "description": rt.description,
            "schema": rt.schema.id,
        }
        if rt.extensions:
            data["schemaExtensions"] = [
                {"schema": ext.schema.id, "required": ext.required} for ext in rt.extensions
            ]
        data["meta"] = {
            "resourceType": "ResourceType",
            "location": self.absolute(reverse("scim:resource-type", kwargs={"name": rt.name})),
        }
        return data

    def get(self, request: Request) -> Response:
        return self.list_response([self.render_type(a) for a in get_adapters(request)])


class ResourceTypeDetailView(ResourceTypeListView):
    """``/ResourceTypes/{name}``."""

    def get(self, request: Request, name: str) -> Response:  # type: ignore[override]
        for adapter in get_adapters(request):
            if adapter.name == name:
                return Response(self.render_type(adapter))
        raise NotFound(f"Resource type {name} not found.")


class NotFoundView(ScimView):
    """Any other URL below the SCIM root: a SCIM 404 rather than the site's HTML page."""

    def handle(self, request: Request) -> Response:
        raise NotFound(f"No SCIM endpoint at {request.path}.")

    get = post = put = patch = delete = handle
