"""Paging a filtered, sorted queryset into a ListResponse: by index (RFC 7644 section 3.4.2.4) or
by cursor (RFC 9865).

Cursors are keyset positions, not offsets: a cursor holds the sort value and primary key of the
row next to the page boundary, so the page after it is ``WHERE (sort, pk) > (...) ORDER BY sort,
pk LIMIT count + 1`` and the last page of a million rows costs what the first one costs (no
``OFFSET``). A cursor is signed (:mod:`django.core.signing`, salted, with a timestamp) so it
cannot be forged or edited, carries a fingerprint of the query (resource type, filter, sortBy,
sortOrder) so it cannot be replayed against another query (400 ``invalidCursor``), and the page
size (a different ``count`` is 400 ``invalidCount``, RFC 9865 section 2.1). Its text uses only
RFC 3986 unreserved characters, as RFC 9865 section 2 requires.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from django.core import signing
from django.db import connections, router

from ..conf import scim_settings
from ..core import document as scim_document
from ..core.errors import ExpiredCursor, InvalidCount, InvalidCursor
from ..core.listing import ListQuery, list_response
from ..orm.sorting import SORT_ALIAS, SortKey, apply_sort, decode_value, encode_value, seek
from ..orm.statements import OFFSET_KEYS_VENDORS, OffsetKeys, db_value

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

    from ..adapters.base import ResourceAdapter

_SALT = "django_scim.rest.pagination.cursor"
_VERSION = 1


def _signer() -> signing.TimestampSigner:
    # "." instead of ":": RFC 9865 section 2 allows only unreserved characters in a cursor.
    return signing.TimestampSigner(salt=_SALT, sep=".", algorithm="sha256")


def _fingerprint(adapter: ResourceAdapter, query: ListQuery) -> str:
    text = json.dumps([adapter.name, query.filter, query.sort_by, query.descending])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(payload: dict[str, Any]) -> str:
    """A signed, URL-safe cursor for ``payload``."""
    return _signer().sign_object(payload, compress=True)


def decode_cursor(cursor: str, *, max_age: int | None) -> dict[str, Any]:
    """The payload of a cursor we issued; 400 ``invalidCursor`` or ``expiredCursor`` otherwise."""
    try:
        payload = _signer().unsign_object(cursor, max_age=max_age)
    except signing.SignatureExpired:
        raise ExpiredCursor() from None
    except (signing.BadSignature, ValueError, UnicodeError):
        raise InvalidCursor(
            "The cursor is not one this server issued; send an empty cursor for the first page, "
            "then nextCursor or previousCursor values (RFC 9865 section 2)."
        ) from None
    if not isinstance(payload, dict) or payload.get("v") != _VERSION:
        raise InvalidCursor()
    return payload


class Written(NamedTuple):
    """A row of a page whose document the database wrote (:meth:`ScimPagination._cached_rows`)."""

    pk: Any
    #: Projected, as :meth:`ScimPagination.render` returns it.
    document: Any


class ScimPagination:
    """Runs one list/search query for one adapter and builds its ListResponse."""

    def __init__(self, adapter: ResourceAdapter, query: ListQuery) -> None:
        self.adapter = adapter
        self.query = query

    def queryset(self) -> QuerySet[Any]:
        """The filtered queryset (400 invalidFilter from the filter)."""
        queryset = self.adapter.get_queryset()
        if self.query.filter:
            queryset = self.adapter.filter_queryset(queryset, self.query.filter)
        return queryset

    def sort_key(self) -> SortKey | None:
        return self.adapter.sort_key(self.query.sort_by) if self.query.sort_by else None

    def render(self, objs: Sequence[Model | Written]) -> list[Any]:
        """Documents of a page, with ``attributes`` / ``excludedAttributes`` applied (section 3.4.2.5)."""
        if objs and isinstance(objs[0], Written):
            return [cast(Written, written).document for written in objs]
        instances = cast("Sequence[Model]", objs)
        rt = self.adapter.resource_type
        projection = {
            "attributes": self.query.attributes,
            "excluded_attributes": self.query.excluded_attributes,
        }
        # The adapter skips loading relations (Group members) that the projection drops.
        apply = scim_document.Projection(rt, **projection)
        return [apply(doc) for doc in self.adapter.render_many(instances, **projection)]

    def response(self) -> dict[str, Any]:
        """The ListResponse body."""
        return self._cursor_page() if self.query.by_cursor else self._index_page()

    def _index_page(self) -> dict[str, Any]:
        query = self.query
        offset = query.start_index - 1
        lookup = self._equality_lookup()
        if lookup is not None:
            shape, value = lookup
            # `userName eq "..."` and the like: the first page, in primary-key order, from SQL
            # compiled once per connection (see ResourceAdapter.cached_instances).
            # One row past the page tells whether the page holds them all (the total, no COUNT).
            objs: list[Model] = self.adapter.cached_instances(
                ("page", shape, query.count),
                lambda: self.queryset().order_by("pk")[: query.count + 1],
                [value],
                returned=self.adapter.returned_attributes(
                    attributes=query.attributes, excluded_attributes=query.excluded_attributes
                ),
                for_render=True,
            )
            total = len(objs) if len(objs) <= query.count else self.adapter.total_results(self.queryset())
            return list_response(self.render(objs[: query.count]), total=total, start_index=1)
        queryset = self.queryset()
        key = self.sort_key()
        objs = []
        if query.count and self._cached_pages(key):
            objs = self._cached_index_rows(offset)
        elif query.count:
            vendor = _vendor(queryset)
            ordered = apply_sort(queryset, key, descending=query.descending, vendor=vendor)
            if offset:
                # The rows to skip are found on the keys alone (no companion join, no wide rows:
                # at startIndex 5,000 the database joined 5,100 companions for 100), then the
                # page's rows are read whole, in the same order.
                page = ordered.values("pk")[offset : offset + query.count]
                ordered = apply_sort(
                    queryset.filter(pk__in=page), key, descending=query.descending, vendor=vendor
                )
                objs = list(ordered)
            else:
                objs = list(ordered[: query.count])
        if (objs and len(objs) < query.count) or (not objs and query.count and not offset):
            # A short page that reaches the end (or an empty first page) tells the exact total:
            # no COUNT, so a lookup by userName or externalId is one query, not two.
            total = offset + len(objs)
        else:
            total = self.adapter.total_results(queryset)
        return list_response(self.render(objs), total=total, start_index=query.start_index)

    def _cached_pages(self, key: SortKey | None) -> bool:
        """Whether this query's pages come from SQL compiled once per connection: unfiltered, in
        primary-key order (their SQL then depends only on what :meth:`~ResourceAdapter.cached_instances`
        keys a statement by, the page size and the direction), for an adapter that
        :meth:`~ResourceAdapter.reuses_sql`. Sorted and filtered pages build their SQL each time."""
        if self.query.filter or key is not None or not self.adapter.reuses_sql():
            return False
        model = self.adapter.get_model()
        return connections[router.db_for_read(model)].vendor in OFFSET_KEYS_VENDORS

    def _cached_rows(
        self, statement: Hashable, build: Callable[[], QuerySet[Any]], slots: Sequence[Any]
    ) -> list[Any]:
        """A page's rows from SQL compiled once per connection: with the documents the database
        writes (:meth:`~ResourceAdapter.cached_documents`) as :class:`Written` rows where it
        can, else as instances for :meth:`render`."""
        query = self.query
        documents = self.adapter.cached_documents(
            statement,
            build,
            slots,
            attributes=query.attributes,
            excluded_attributes=query.excluded_attributes,
        )
        if documents is None:
            return self.adapter.cached_instances(statement, build, slots, for_render=True)
        return [Written(pk, document) for pk, document in documents]

    def _cached_index_rows(self, offset: int) -> list[Any]:
        """An unfiltered index page in primary-key order (:meth:`_cached_pages`), as the ORM
        path reads it: the first page directly, a later one by the keys at its ``OFFSET`` (a
        parameter, :class:`~django_scim.orm.statements.OffsetKeys`).

        A user's groups are not read in the page's statement (as ``relation_columns`` reads them
        for one user): PostgreSQL runs the correlated subquery once per row, and a page of 100
        users took 15.4 ms against 12.4 ms with the groups' own (cached) query, in-process at
        100,000 users."""
        count = self.query.count
        if not offset:
            return self._cached_rows(("index", count), lambda: self.queryset().order_by("pk")[:count], [])

        def build() -> QuerySet[Any]:
            queryset = self.queryset()
            # The offset the statement is compiled with is this page's; later pages put theirs
            # in its parameter.
            keys = OffsetKeys(queryset.order_by("pk").values("pk")[offset : offset + count])
            return queryset.filter(pk__in=keys).order_by("pk")

        return self._cached_rows(("offset", count), build, [offset])

    def _equality_lookup(self) -> tuple[Hashable, str] | None:
        """The filter's :meth:`~ResourceAdapter.equality_lookup` when this is a first page in
        primary-key order that can be read from cached SQL."""
        query = self.query
        if not (query.filter and query.count and query.start_index == 1 and not query.sort_by):
            return None
        return self.adapter.equality_lookup(query.filter)

    def _cursor_page(self) -> dict[str, Any]:
        query = self.query
        adapter = self.adapter
        fingerprint = _fingerprint(adapter, query)
        state: dict[str, Any] | None = None
        if query.cursor:
            state = decode_cursor(query.cursor, max_age=scim_settings.CURSOR_TIMEOUT)
            if state.get("f") != fingerprint:
                raise InvalidCursor(
                    "The cursor belongs to another query: repeat the filter, sortBy and sortOrder "
                    "of the first request (RFC 9865 section 2)."
                )
            if state.get("c") != query.count:
                raise InvalidCount(
                    f"count must be the count of the first request ({state.get('c')}) (RFC 9865 section 2.1)."
                )
        queryset = self.queryset()
        key = self.sort_key()
        if query.count == 0:
            total = adapter.total_results(queryset) if scim_settings.CURSOR_TOTAL_RESULTS else None
            return list_response([], total=total, start_index=None)
        forward = state is None or state.get("d") == "n"
        last: list[Any] | None = None
        if state is not None:
            try:
                last = [decode_value(value) for value in state["k"]]
            except (KeyError, TypeError, ValueError):
                raise InvalidCursor() from None
            if len(last) != (1 if key is None else 2):
                raise InvalidCursor()

        # The page's keys are found first, then its rows are read whole, in the same order (as
        # index pages do). With the companion joined into the keyset query, PostgreSQL may
        # merge-join from the start of the companion index: the last page of 10,000 users read
        # all 10,000 companions (EXPLAIN ANALYZE), so the last page cost more than the first.
        def build() -> QuerySet[Any]:
            vendor = _vendor(queryset)
            ordered = apply_sort(
                queryset, key, descending=query.descending, vendor=vendor, reverse=not forward
            )
            if last is not None:
                ordered = ordered.filter(seek(key, last, descending=query.descending, forward=forward))
            keys = ordered.values("pk")[: query.count + 1]
            return apply_sort(
                queryset.filter(pk__in=keys),
                key,
                descending=query.descending,
                vendor=vendor,
                reverse=not forward,
            )

        if self._cached_pages(key):
            # In primary-key order a page's SQL is one per size and direction (the first page
            # has no seek): the last key is its parameter.
            model = adapter.get_model()
            pk_field = model._meta.pk
            assert pk_field is not None
            alias = router.db_for_read(model)
            slots = [] if last is None else [db_value(alias, pk_field, last[-1])]
            statement = ("cursor", query.count, forward, last is None)
            rows = self._cached_rows(statement, build, slots)
        else:
            rows = list(build())
        more = len(rows) > query.count
        rows = rows[: query.count]
        total = None
        if scim_settings.CURSOR_TOTAL_RESULTS:
            # A first page that holds everything tells the total without a COUNT.
            total = len(rows) if state is None and not more else adapter.total_results(queryset)
        if not forward:
            rows.reverse()
        position: Callable[[Model], list[Any]] = (
            (lambda obj: [encode_value(obj.pk)])
            if key is None
            else (lambda obj: [encode_value(getattr(obj, SORT_ALIAS)), encode_value(obj.pk)])
        )

        def cursor(obj: Model, direction: str) -> str:
            return encode_cursor(
                {"v": _VERSION, "f": fingerprint, "c": query.count, "d": direction, "k": position(obj)}
            )

        next_cursor = previous_cursor = None
        if rows:
            # Forward: more rows follow when the extra one came back. Backward: this page sits
            # before the one the client came from, so a next page exists.
            if more if forward else True:
                next_cursor = cursor(rows[-1], "n")
            # RFC 9865 section 2: previousCursor "MUST not be returned with the first page".
            if state is not None if forward else more:
                previous_cursor = cursor(rows[0], "p")
        return list_response(
            self.render(rows),
            total=total,
            start_index=None,
            next_cursor=next_cursor,
            previous_cursor=previous_cursor,
        )


def _vendor(queryset: QuerySet[Any]) -> str:
    return connections[queryset.db].vendor
