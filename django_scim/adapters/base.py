"""The resource adapter: everything SCIM needs to know about one resource type and its model.

Views stay thin: they parse the request, call one adapter method and render. Transactions, row
locks, version bumps, uniqueness and signals live here. A site customises behaviour by
subclassing an adapter and pointing ``SCIM["RESOURCE_TYPES"][name]["ADAPTER"]`` at it, or by
giving options in that same entry (every key but ``ADAPTER`` sets the lower-cased attribute of
the same name: ``MODEL``, ``COMPANION_MODEL``, ``ATTRIBUTE_MAP``...).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.apps import apps
from django.conf import settings
from django.core.exceptions import (
    FieldDoesNotExist,
    ImproperlyConfigured,
    ObjectDoesNotExist,
    ValidationError,
)
from django.core.signals import setting_changed
from django.db import DataError, IntegrityError, connections, models, router, transaction
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Cast, Lower
from django.db.models.lookups import Exact
from django.dispatch import receiver
from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from .. import signals
from ..conf import SETTINGS_NAME, scim_settings
from ..core import document as scim_document
from ..core import patch as scim_patch
from ..core.constants import USER_SCHEMA, AttributeType
from ..core.constants import Uniqueness as UniquenessRule
from ..core.errors import (
    Forbidden,
    InvalidFilter,
    InvalidValue,
    NotFound,
    NotImplementedByServer,
    ScimError,
    Uniqueness,
)
from ..core.filter import Compare, Filter, parse_filter
from ..core.paths import AttrPath, parse_attr_path
from ..core.schema import (
    COMMON_ATTRIBUTE_INDEX,
    Attribute,
    ResourceType,
    Schema,
    SchemaExtension,
)
from ..models import ScimCompanion, ScimToken
from ..orm import rowcount, statements
from ..orm.compiler import RelationLookup, Target, compile_filter
from ..orm.documents import (
    COMPANION_ROLES,
    DOCUMENT_VENDORS,
    DocumentShape,
    DocumentText,
    JSONText,
    MemberWriter,
    literal_key,
)
from ..orm.instances import instance_maker
from ..orm.mapping import MISSING, AttributeMapping, Field, Password, PrimaryValue, WriteContext, as_mapping
from ..orm.sorting import SortKey, sort_key
from ..orm.statements import db_value, values_rows
from ..schemas import get_schema
from .registry import get_adapter

if TYPE_CHECKING:
    from django.http import HttpRequest

#: Called with the locked companion row before a write; raises PreconditionFailed to refuse.
Precondition = Callable[[ScimCompanion], None]

Keys = tuple[str, ...]

#: Set on the instance :meth:`ResourceAdapter.create` returns: its render reads no relation the
#: request did not write.
_CREATED_MARK = "_scim_created"

#: Where :meth:`ResourceAdapter.cached_instances` keeps, on each instance, the values of the
#: relation columns read with it (see :meth:`ResourceAdapter.relations_read`).
_READ_ALONG = "_scim_read_along"


@dataclass(frozen=True)
class RelationColumn:
    """A relation-backed attribute read in its resources' own statement
    (:meth:`ResourceAdapter.relation_columns`)."""

    #: Makes the expression of the resource's row (a correlated subquery) annotated on its
    #: queryset: called only when the statement is compiled, as building it costs what it saves.
    expression: Callable[[], Any]
    #: Everything its SQL depends on, for the key of the cached statement.
    key: Hashable


@dataclass(frozen=True)
class _UniquenessCheck:
    """One query of :meth:`ResourceAdapter.check_uniqueness`: attribute ``name`` set to ``value``."""

    name: str
    value: Any
    guard: statements.Guard

    def error(self) -> Uniqueness:
        return Uniqueness(f"{self.name} {self.value!r} is already in use.")


@contextmanager
def _database_errors_as_scim() -> Iterator[None]:
    """A write's database errors as SCIM errors: a constraint the database enforced (409 for
    a unique one, else 400) and a value that does not fit its column (400)."""
    try:
        yield
    except IntegrityError as exc:
        if "unique" in str(exc).lower() or "duplicate" in str(exc).lower():
            raise Uniqueness("A resource with these unique values already exists.") from exc
        raise InvalidValue(f"The values do not fit the data model: {exc}") from exc
    except DataError as exc:
        raise InvalidValue(f"A value does not fit the data model: {exc}") from exc


#: The methods that shape every queryset of an adapter (see :attr:`ResourceAdapter.reuse_sql`).
_QUERYSET_HOOKS = ("get_queryset", "exclude_deleted", "scoped", "scope_queryset", "filter_queryset")

#: The methods that read a resource's instance while it is rendered (see
#: :meth:`ResourceAdapter.render_columns`).
_RENDER_HOOKS = (
    "render_many",
    "_render",
    "load_relations",
    "ensure_companions",
    "companion",
    "relations_read",
)

#: Common attributes (RFC 7643 section 3.1) and their companion fields, for filtering.
_COMMON_LOOKUPS: dict[str, dict[str, str]] = {
    "id": {"": "id"},
    "externalId": {"": "external_id"},
    "meta": {"created": "created", "lastModified": "last_modified"},
}


def _get(doc: Mapping[str, Any], keys: Keys) -> Any:
    current: Any = doc
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return MISSING
        current = current[key]
    return current


def _put(doc: dict[str, Any], keys: Keys, value: Any) -> None:
    """Set ``value`` at ``keys``; ``None``/``MISSING`` removes it and any emptied parent."""
    if value is None or value is MISSING:
        _pop(doc, keys)
        return
    current = doc
    for key in keys[:-1]:
        nxt = current.get(key)
        if not isinstance(nxt, dict):
            nxt = current[key] = {}
        current = nxt
    current[keys[-1]] = value


def _pop(doc: dict[str, Any], keys: Keys) -> Any:
    parents: list[dict[str, Any]] = []
    current: Any = doc
    for key in keys[:-1]:
        if not isinstance(current, dict) or not isinstance(current.get(key), dict):
            return MISSING
        parents.append(current)
        current = current[key]
    if not isinstance(current, dict):
        return MISSING
    value = current.pop(keys[-1], MISSING)
    for parent, key in zip(reversed(parents), reversed(keys[:-1]), strict=True):
        if parent[key]:
            break
        del parent[key]
    return value


def _copied_along(stored: dict[str, Any], parents: Sequence[Keys]) -> dict[str, Any]:
    """``stored`` copied at the top and at each of ``parents`` (the objects ``_put`` writes
    into), parents first; every other value is shared."""
    body = dict(stored)
    for keys in parents:
        holder: Any = body
        for key in keys[:-1]:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and isinstance(holder.get(keys[-1]), dict):
            holder[keys[-1]] = dict(holder[keys[-1]])
    return body


#: What adapters resolve from their configuration, by what it is resolved from: resource types
#: (by an adapter's name, endpoint, description, schema and extensions) and the document keys
#: of their attribute maps' paths. Resolved for every request they cost about 2.5% of a ``GET``
#: by id's Python time. Emptied when ``SCIM`` settings change (declared schemas, extensions).
_RESOLVED: dict[Hashable, Any] = {}


@receiver(setting_changed)
def _forget_resolved(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        _RESOLVED.clear()


def _schema(value: str | Schema) -> Schema:
    # A Schema, a URN (declared in SCIM["SCHEMAS"] or built in), a JSON file or a dotted path.
    return value if isinstance(value, Schema) else get_schema(value)


class ResourceAdapter:
    """Base adapter. Subclasses set the class attributes and may override any method.

    Class attributes:

    ``name``, ``endpoint``, ``description``
        The resource type (RFC 7643 section 6): ``"User"``, ``"Users"``.
    ``schema``, ``extensions``
        The core schema (a URN of a built-in schema or a :class:`~django_scim.core.schema.Schema`)
        and ``(schema, required)`` pairs for schema extensions.
    ``model``, ``companion_model``
        ``"app_label.Model"`` of the served model, and the :class:`~django_scim.models.ScimCompanion`
        subclass (or its ``"app_label.Model"``) holding SCIM state for it.
    ``attribute_map``
        SCIM attribute path -> :class:`~django_scim.orm.mapping.AttributeMapping` (or a field
        path string). Unmapped attributes live in the companion's JSONField.
    ``display_field``
        The field shown as ``display`` in references to this resource (group members...).
    """

    name: ClassVar[str] = ""
    endpoint: ClassVar[str] = ""
    description: ClassVar[str] = ""
    schema: str | Schema = ""
    extensions: Sequence[tuple[str | Schema, bool]] = ()
    model: str | type[models.Model] = ""
    companion_model: str | type[ScimCompanion] = ""
    attribute_map: Mapping[str, AttributeMapping | str] = {}
    display_field: str | None = None
    #: Attributes backed by relations (e.g. Group ``members``): kept out of the JSONField and
    #: written by :meth:`save_relations`.
    relation_attributes: tuple[str, ...] = ()
    #: Read-only attributes backed by relations, which :meth:`load_relations` reads too (User
    #: ``groups``).
    read_only_relations: tuple[str, ...] = ()
    #: While :meth:`_write` saves an update: the resource's document as stored before it, without
    #: relations (``None`` otherwise), so :meth:`check_uniqueness` can skip unchanged values.
    _stored_document: dict[str, Any] | None = None

    def __init__(self, request: HttpRequest | None = None, options: Mapping[str, Any] | None = None) -> None:
        self.request = request
        for key, value in (options or {}).items():
            self._configure(key, value)
        self._resolved_map: list[tuple[str, Keys, AttributeMapping]] | None = None

    def _configure(self, key: str, value: Any) -> None:
        attr = key.lower()
        if attr == "attribute_map":
            merged: dict[str, AttributeMapping | str] = dict(self.attribute_map)
            for path, mapping in value.items():
                if mapping is None:
                    merged.pop(path, None)
                else:
                    merged[path] = mapping
            self.attribute_map = merged
        elif attr.startswith("_") or attr == "name" or not hasattr(type(self), attr):
            raise ImproperlyConfigured(f"SCIM resource type {self.name!r}: unknown option {key!r}")
        else:
            setattr(self, attr, value)

    # --- schema ----------------------------------------------------------------------------

    def get_resource_type(self) -> ResourceType:
        """The resource type (RFC 7643 section 6) this adapter serves.

        Made once per configuration (:data:`_RESOLVED`, by the class attributes it is made from)
        and shared by every request's adapter; schemas given as dicts are resolved each time."""
        inputs = (self.name, self.endpoint, self.description, self.schema, tuple(self.extensions))
        try:
            made = _RESOLVED.get(inputs)
        except TypeError:  # unhashable: a schema given as a dict
            return self._make_resource_type()
        if made is None:
            made = _RESOLVED[inputs] = self._make_resource_type()
        self.__dict__["_scim_resolved_key"] = inputs
        return made  # type: ignore[no-any-return]

    def _make_resource_type(self) -> ResourceType:
        return ResourceType(
            name=self.name,
            endpoint="/" + self.endpoint,
            description=self.description,
            schema=_schema(self.schema),
            extensions=tuple(SchemaExtension(_schema(s), required) for s, required in self.extensions),
        )

    @property
    def resource_type(self) -> ResourceType:
        cached = self.__dict__.get("_resource_type")
        if cached is None:
            cached = self.__dict__["_resource_type"] = self.get_resource_type()
        return cached

    def find_attribute(self, path: str) -> Attribute | None:
        """The schema attribute at a SCIM path (``name.givenName``, URN-qualified, any case)."""
        return scim_document.find_attribute(self.resource_type, path)

    def path_keys(self, path: str) -> Keys:
        """Document keys of a SCIM attribute path, in canonical spelling."""
        rt = self.resource_type
        parsed = parse_attr_path(path, known_urns=rt.schema_ids)
        keys: list[str] = []
        schema: Schema | None = rt.schema
        if parsed.urn is not None and parsed.urn.lower() != rt.schema.id.lower():
            ext = rt.extension(parsed.urn)
            keys.append(ext.schema.id if ext else parsed.urn)
            schema = ext.schema if ext else None
        if parsed.attr is None:
            return tuple(keys)
        attr = schema.attribute(parsed.attr) if schema is not None else None
        keys.append(attr.name if attr else parsed.attr)
        if parsed.sub_attr is not None:
            sub = attr.sub_attribute(parsed.sub_attr) if attr else None
            keys.append(sub.name if sub else parsed.sub_attr)
        return tuple(keys)

    def get_attribute_map(self) -> list[tuple[str, Keys, AttributeMapping]]:
        """The attribute map as ``(path, document keys, mapping)`` triples."""
        if self._resolved_map is None:
            attribute_map = self.attribute_map
            keys = self._map_keys(tuple(attribute_map))
            self._resolved_map = [
                (path, path_keys, as_mapping(mapping))
                for (path, mapping), path_keys in zip(attribute_map.items(), keys, strict=True)
            ]
        return self._resolved_map

    def _map_keys(self, paths: tuple[str, ...]) -> list[Keys]:
        """:meth:`path_keys` of the attribute map's ``paths``, kept with the resource type of
        :meth:`get_resource_type` unless a subclass resolves either its own way."""
        rt = self.resource_type
        inputs = self.__dict__.get("_scim_resolved_key")
        if (
            inputs is None
            or _RESOLVED.get(inputs) is not rt
            or type(self).path_keys is not ResourceAdapter.path_keys
        ):
            return [self.path_keys(path) for path in paths]
        key = (inputs, paths)
        found = _RESOLVED.get(key)
        if found is None:
            found = _RESOLVED[key] = [self.path_keys(path) for path in paths]
        return found  # type: ignore[no-any-return]

    def _mapped_parents(self) -> tuple[Keys, ...]:
        """The key paths of the objects holding mapped values (``("name",)`` for
        ``name.givenName``), parents before children: what a shared render copies."""
        parents = self.__dict__.get("_scim_mapped_parents")
        if parents is None:
            found = {
                keys[:depth] for _path, keys, _m in self.get_attribute_map() for depth in range(1, len(keys))
            }
            parents = self.__dict__["_scim_mapped_parents"] = tuple(sorted(found, key=len))
        return parents

    def _peer_adapter(self, name: str) -> ResourceAdapter:
        """The adapter of resource type ``name`` for this adapter's request, made once per adapter
        (a page of users and a membership PATCH ask for the other side's several times)."""
        peers: dict[str, ResourceAdapter] = self.__dict__.setdefault("_scim_peers", {})
        adapter = peers.get(name)
        if adapter is None:
            adapter = peers[name] = get_adapter(name, self.request)
        return adapter

    # --- models ----------------------------------------------------------------------------

    def get_model(self) -> type[models.Model]:
        if isinstance(self.model, str):
            return apps.get_model(self.model)
        return self.model

    def get_companion_model(self) -> type[ScimCompanion]:
        if isinstance(self.companion_model, str):
            model = apps.get_model(self.companion_model)
            assert issubclass(model, ScimCompanion)
            return model
        return self.companion_model

    def companions(self) -> models.Manager[Any]:
        """The companion model's rows: its default manager.

        Typed over ``Any``: every companion model has the ``resource`` one-to-one to its model,
        but the concrete model a site configures declares it, which ``type[ScimCompanion]``
        does not show a type checker.
        """
        return cast("models.Manager[Any]", self.get_companion_model()._default_manager)

    @property
    def companion_accessor(self) -> str:
        """The reverse accessor from the model to its companion (``user.scim``).

        Worked out once per adapter (so per request): rendering asks for it twice per resource.
        """
        accessor: str | None = self.__dict__.get("_companion_accessor")
        if accessor is None:
            field = self.companions().model._meta.get_field("resource")
            assert isinstance(field, models.OneToOneField)
            accessor = self.__dict__["_companion_accessor"] = field.remote_field.get_accessor_name() or ""
        return accessor

    def get_queryset(self) -> QuerySet[Any]:
        """All resources of this type, companion joined, in a stable order (by primary key).

        With ``SCIM["TENANT_MODEL"]``, only the request's tenant's (:meth:`scoped`). Every read,
        write and list goes through here: narrow it in a subclass with ``super().get_queryset()``.
        """
        queryset = self.get_model()._default_manager.select_related(self.companion_accessor).order_by("pk")
        return self.scoped(self.exclude_deleted(queryset))

    def exclude_deleted(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """``queryset`` without soft-deleted resources (companion ``deleted`` set; see :meth:`delete`).

        Rows without a companion (made outside SCIM) are kept. A companion model without a
        ``deleted`` field has no soft-deleted rows.
        """
        if self.delete_mode() != "soft" or not self.supports_soft_delete():
            # Only soft-delete sites pay for the condition: it needs the companion join in
            # every query, COUNT(*) included (measured: a page of 100 of 100,000 users 2.5x
            # slower on PostgreSQL).
            return queryset
        return queryset.exclude(**{f"{self.companion_accessor}__deleted": True})

    def supports_soft_delete(self) -> bool:
        """Whether the companion model has the ``deleted`` flag that soft deletes set."""
        return any(field.name == "deleted" for field in self.get_companion_model()._meta.concrete_fields)

    def companion(self, obj: models.Model) -> ScimCompanion | None:
        try:
            return getattr(obj, self.companion_accessor)
        except ObjectDoesNotExist:
            return None

    def ensure_companions(self, objs: Iterable[models.Model]) -> None:
        """Give objects made outside SCIM their companion row (and so a stable SCIM id).

        With tenancy, only objects in the tenant's scope get one (tagged with the tenant); any
        other is :class:`NotFound`, so a reference never pulls another tenant's row in.
        """
        missing = [obj for obj in objs if self.companion(obj) is None]
        if not missing:
            return
        tenant = self.tenant
        if self.tenancy and self._out_of_scope([obj.pk for obj in missing]):
            raise NotFound("Resource not found.")
        model: type[Any] = self.get_companion_model()
        rows = self.companions()
        rows.bulk_create([model(resource=obj, tenant_id=tenant) for obj in missing], ignore_conflicts=True)
        by_pk = {c.resource_id: c for c in rows.filter(resource__in=missing)}
        for obj in missing:
            setattr(obj, self.companion_accessor, by_pk[obj.pk])

    def companion_ids(self, pks: Iterable[Any]) -> dict[Any, str]:
        """SCIM ids of the model rows ``pks``, creating companions where missing."""
        pks = list(pks)
        if not pks:
            return {}
        model: type[Any] = self.get_companion_model()
        rows = self.companions()
        tenant = self.tenant
        if self.tenancy:
            # Rows outside the tenant's scope get no id (and no companion): callers list only
            # the ids they are given.
            hidden = self._out_of_scope(pks)
            pks = [pk for pk in pks if pk not in hidden]
        found = dict(rows.filter(resource__in=pks).values_list("resource_id", "id"))
        missing = [pk for pk in pks if pk not in found]
        if missing:
            rows.bulk_create(
                [model(resource_id=pk, tenant_id=tenant) for pk in missing], ignore_conflicts=True
            )
            found.update(rows.filter(resource__in=missing).values_list("resource_id", "id"))
        return {pk: str(value) for pk, value in found.items()}

    def resolve_ids(self, scim_ids: Iterable[str]) -> dict[str, Any]:
        """Model primary keys of the SCIM ids that exist: ``{scim_id: pk}``."""
        valid = canonical_ids(scim_ids)
        rows = self._visible_with_ids(valid).values_list(f"{self.companion_accessor}__id", "pk")
        return {valid[str(scim_id)]: pk for scim_id, pk in rows}

    def _visible_with_ids(self, canonical_ids: Iterable[str]) -> QuerySet[Any]:
        """The resources with these SCIM ids (canonical UUID text) that this request may see, as
        :meth:`resolve_ids` finds them; a caller adds the columns it needs to the same query."""
        # Only resources this request may see: another tenant's id, or a soft-deleted user's, is
        # an unknown id.
        queryset = self.get_model()._default_manager.filter(
            **{f"{self.companion_accessor}__pk__in": list(canonical_ids)}
        )
        return self.scoped(self.exclude_deleted(queryset))

    def get_object(
        self, scim_id: str, *, for_update: bool = False, returned: Collection[str] = ()
    ) -> models.Model:
        """The resource with SCIM id ``scim_id``; :class:`NotFound` when there is none.

        ``returned``: the top-level attributes of the response it is read for
        (:meth:`returned_attributes`). Relation-backed ones among them that the adapter reads with
        the resource (:meth:`relation_columns`) come in the same statement, for
        :meth:`load_relations`; the others are read when it is rendered, as before.
        """
        try:
            key = uuid.UUID(scim_id)
        except (ValueError, TypeError, AttributeError):
            raise NotFound(f"Resource {scim_id} not found.") from None
        if self.reuses_sql() and (not for_update or self._locks_with_cached_sql()):
            found = self._fetch(key, returned, lock=for_update)
            if found is None:
                raise NotFound(f"Resource {scim_id} not found.")
            return found
        queryset = self.get_queryset()
        if for_update:
            # The resource row and its companion row are locked together (the filter below makes
            # the companion join an INNER JOIN). A writer that waited for the locks reads both
            # rows as the holder committed them (READ COMMITTED re-reads the rows it locks), so
            # concurrent PATCHes keep each other's JSON-stored attributes and two PUTs with one
            # If-Match cannot both win. Version bumps from membership changes (bump_versions),
            # which lock no resource row, wait for the companion's lock: the version read here
            # stays current until commit, and the write increments it without reading it back.
            queryset = queryset.select_for_update(of=("self", self.companion_accessor))
        # At most one row (the companion's primary key): no ORDER BY to build (first() adds one).
        obj = next(iter(queryset.filter(**{f"{self.companion_accessor}__pk": key}).order_by()[:1]), None)
        if obj is None:
            raise NotFound(f"Resource {scim_id} not found.")
        return obj

    def _locks_with_cached_sql(self) -> bool:
        """Whether :meth:`get_object` may lock through cached SQL: it reads on the database
        that writes take (a router that sends reads to a replica gets the ORM's path)."""
        model = self.get_model()
        return bool(router.db_for_read(model) == router.db_for_write(model))

    def _fetch(self, key: uuid.UUID, returned: Collection[str], *, lock: bool) -> models.Model | None:
        """:meth:`get_object` from SQL compiled once per connection and tenant (compiling the
        read, locked or not, cost as much CPU as PostgreSQL took to run it).

        ``lock``: for a write, the resource row and its companion row locked. ``values_list``
        rows cannot name the companion in ``select_for_update(of=...)`` (only ``select_related``
        models can be named), so the lock takes no ``of``: the default queryset hooks
        (:meth:`reuses_sql`) read the two tables alone, joined by an INNER JOIN (the filter on
        the companion's key), and ``FOR UPDATE`` locks the rows of both, as
        ``of=("self", companion)`` does.
        """
        accessor = self.companion_accessor
        companion_pk = self.get_companion_model()._meta.pk
        assert companion_pk is not None

        def build() -> QuerySet[Any]:
            queryset = self.get_queryset()
            if lock:
                queryset = queryset.select_for_update()
            return queryset.filter(**{f"{accessor}__pk": key}).order_by()[:1]

        objs = self.cached_instances(
            "lock" if lock else "object",
            build,
            [db_value(router.db_for_read(self.get_model()), companion_pk, key)],
            returned=returned,
        )
        return objs[0] if objs else None

    def cached_instances(
        self,
        statement: Hashable,
        build: Callable[[], QuerySet[Any]],
        slots: Sequence[Any],
        *,
        returned: Collection[str] = (),
        for_render: bool = False,
    ) -> list[models.Model]:
        """The resources of ``build()`` (narrowed from :meth:`get_queryset`), read through SQL
        compiled once per connection (:func:`~django_scim.orm.statements.values_rows`).

        ``statement`` names the shape of ``build()``'s SQL apart from this adapter's own
        (model, companion, tenant, delete mode, relation columns: added here); ``slots`` are the
        values that vary. One row of the model's and the companion's columns per resource, made
        into the two instances as the ORM makes them (``Model.from_db``, or its equivalent
        :func:`~django_scim.orm.instances.instance_maker`), the companion set on
        the resource, and the :meth:`relation_columns` of the attributes in ``returned`` (the
        response's, :meth:`returned_attributes`), kept for :meth:`relations_read`. Only for
        adapters that :meth:`reuses_sql`.

        ``for_render``: the instances are only rendered (a page of a list): of the model's
        columns, only the :meth:`render_columns` are read where those are known (the others are
        deferred, as with ``QuerySet.only()``).
        """
        model, companion_model = self.get_model(), self.get_companion_model()
        accessor = self.companion_accessor
        read = self.render_columns() if for_render else None
        own = [
            field.attname for field in model._meta.concrete_fields if read is None or field.attname in read
        ]
        theirs = [field.attname for field in companion_model._meta.concrete_fields]
        alias = router.db_for_read(model)
        along = self.relation_columns(returned, alias)
        names = {attr: f"scim_read_{attr}" for attr in along}
        key = (
            statement, type(self), model, companion_model, accessor, self.tenant, self.delete_mode(),
            tuple((attr, column.key) for attr, column in along.items()), tuple(own),
        )  # fmt: skip

        def values() -> QuerySet[Any]:
            queryset = build()
            if along:
                queryset = queryset.annotate(**{names[attr]: along[attr].expression() for attr in along})
            return queryset.values_list(*own, *(f"{accessor}__{name}" for name in theirs), *names.values())

        rows = values_rows(alias, key, values, slots)
        relation = model._meta.get_field(accessor)
        assert isinstance(relation, models.OneToOneRel)
        companion_pk = theirs.index(companion_model._meta.pk.attname) + len(own)  # type: ignore[union-attr]
        end = len(own) + len(theirs)
        make = instance_maker(model, alias, own)
        make_companion = instance_maker(companion_model, alias, theirs)
        objs = []
        for row in rows:
            obj = make(row[: len(own)])
            if row[companion_pk] is None:
                # Made outside SCIM: no companion yet, known without a query (as select_related
                # leaves it), for ensure_companions to add.
                relation.set_cached_value(obj, None)
            else:
                # Both sides of the one-to-one, as select_related sets them (the companion's
                # resource_id is the resource's key: the rows were joined on it).
                companion = make_companion(row[len(own) : end])
                relation.set_cached_value(obj, companion)
                relation.field.set_cached_value(companion, obj)
            if along:
                obj.__dict__[_READ_ALONG] = dict(zip(along, row[end:], strict=True))
            objs.append(obj)
        return objs

    def render_columns(self) -> frozenset[str] | None:
        """The model's columns (attnames) that rendering a resource reads: its primary key and
        each mapping's :meth:`~django_scim.orm.mapping.AttributeMapping.columns`. ``None`` (read
        every column) when a mapping does not say, or a subclass outside this package overrides
        a method of the render path (it may read any field)."""
        cached = self.__dict__.get("_scim_render_columns", MISSING)
        if cached is not MISSING:
            return cached  # type: ignore[no-any-return]
        model = self.get_model()
        found: set[str] | None = None
        cls = type(self)
        if all(getattr(cls, name).__module__.startswith(__package__ + ".") for name in _RENDER_HOOKS):
            found = {model._meta.pk.attname}  # type: ignore[union-attr]
            for _path, _keys, mapping in self.get_attribute_map():
                columns = mapping.columns(model)
                if columns is None:
                    found = None
                    break
                found.update(columns)
        answer = self.__dict__["_scim_render_columns"] = None if found is None else frozenset(found)
        return answer

    def document_shape(self, projection: scim_document.Projection) -> DocumentShape | None:
        """How the database writes this adapter's documents as ``projection`` returns them
        (:class:`~django_scim.orm.documents.DocumentText`), with the lookups of the columns it
        reads; ``None`` where it cannot: not on PostgreSQL or without ``USE_TZ``, a render hook,
        :meth:`location` or :meth:`etag` overridden, an attribute the projection returns in
        part, or a mapping that is not a plain column (this package's :class:`Field` of one
        text, boolean or integer column, :class:`PrimaryValue` of a text column at the top
        level, :class:`Password`). Worked out once per configuration and projection rules."""
        model = self.get_model()
        if (
            not settings.USE_TZ
            or connections[router.db_for_read(model)].vendor not in DOCUMENT_VENDORS
            or self.render_columns() is None
            or type(self).location is not ResourceAdapter.location
            or type(self).etag is not ResourceAdapter.etag
        ):
            return None
        location = self._location_parts()
        if location is None:
            return None
        excluded = projection.excluded_attributes
        inputs = self.__dict__.get("_scim_resolved_key")
        key = (
            "document shape", inputs, type(self), model, self.get_companion_model(), self.companion_accessor,
            tuple(
                (path, type(mapping), getattr(mapping, "field", None), getattr(mapping, "default_type", None))
                for path, _keys, mapping in self.get_attribute_map()
            ),
            self.relation_attributes, self.read_only_relations,
            projection.attributes is None, None if excluded is None else tuple(excluded), location,
        )  # fmt: skip
        if inputs is None or _RESOLVED.get(inputs) is not self.resource_type:
            # A resource type resolved for this adapter alone (a schema given as a dict).
            return self._document_shape(projection, location)
        if key not in _RESOLVED:
            _RESOLVED[key] = self._document_shape(projection, location)
        return _RESOLVED[key]  # type: ignore[no-any-return]

    def _document_shape(
        self, projection: scim_document.Projection, location: tuple[str, str]
    ) -> DocumentShape | None:
        partial = projection.partial_names()
        if partial is None:
            return None
        model = self.get_model()
        columns = {role: f"{self.companion_accessor}__{role}" for role in COMPANION_ROLES}
        fields: list[tuple[str, str, bool]] = []
        nested: dict[str, list[tuple[str, str, bool]]] = {}
        primary: list[tuple[str, str, str]] = []
        replaced: list[str] = []
        for _path, keys, mapping in self.get_attribute_map():
            kind = type(mapping)
            if not all(literal_key(key) for key in keys) or len(keys) > 2:
                return None
            if kind is Password and len(keys) == 1:
                replaced.append(keys[0])
                continue
            if not (kind is Field or (kind is PrimaryValue and len(keys) == 1)):
                return None
            read = mapping.columns(model)
            if not read:
                return None
            field = model._meta.get_field(read[0])
            text = isinstance(field, models.CharField | models.TextField)
            if not (text or isinstance(field, models.BooleanField | models.IntegerField)):
                return None
            role = f"column{len(columns)}"
            columns[role] = read[0]
            if isinstance(mapping, PrimaryValue):
                if not text:
                    return None
                primary.append((keys[0], role, mapping.default_type))
            elif len(keys) == 1:
                fields.append((keys[0], role, text))
            else:
                nested.setdefault(keys[0], []).append((keys[1], role, text))
            if keys[0] not in replaced:
                replaced.append(keys[0])
        tops = [key for key, _r, _t in fields] + list(nested) + [key for key, _r, _t in primary]
        relations = [*self.relation_attributes, *self.read_only_relations]
        if len(set(tops)) != len(tops) or set(tops) & set(relations):
            return None
        urns = [ext.schema.id for ext in self.resource_type.extensions]
        if not all(urn.isascii() for urn in urns):
            return None
        omitted: set[str] = set()
        for name in (*tops, *relations, "externalId", "meta"):
            treatment = projection.treatment(name)
            if treatment is None:
                return None
            if not treatment:
                omitted.add(name.lower())
        return DocumentShape(
            core=self.resource_type.schema.id,
            resource_type=self.name,
            location=location,
            fields=tuple(fields),
            nested=tuple((parent, tuple(subs)) for parent, subs in nested.items()),
            primary=tuple(primary),
            replaced=(*replaced, *(name for name in relations if name not in replaced)),
            omitted=frozenset(omitted),
            partial=partial,
            containers=tuple(sorted(urns, key=lambda urn: (len(urn.encode()), urn.encode()))),
            columns=tuple(columns.items()),
        )

    def cached_documents(
        self,
        statement: Hashable,
        build: Callable[[], QuerySet[Any]],
        slots: Sequence[Any],
        *,
        attributes: Sequence[str] | None = None,
        excluded_attributes: Sequence[str] | None = None,
    ) -> list[tuple[Any, Any]] | None:
        """``(primary key, document)`` of each resource of ``build()``, projected by
        ``attributes`` / ``excludedAttributes``, as :meth:`cached_instances` reads them and
        :meth:`render_many` and :func:`~django_scim.core.document.project` would make them, with
        the documents written by the database (:meth:`document_shape`) as
        :class:`~django_scim.orm.documents.JSONText`; ``None`` where the database cannot write
        them (the caller renders instances).

        Rows whose document the database does not write (see :mod:`django_scim.orm.documents`)
        are rendered here in Python; relation-backed attributes are read for the page at once
        (:meth:`load_relations`) and added to the texts.
        """
        projection = scim_document.Projection(
            self.resource_type, attributes=attributes, excluded_attributes=excluded_attributes
        )
        shape = self.document_shape(projection)
        if shape is None:
            return None
        model = self.get_model()
        alias = router.db_for_read(model)
        key = (
            "documents", statement, type(self), model, self.get_companion_model(), self.tenant,
            self.delete_mode(), shape,
        )  # fmt: skip

        def values() -> QuerySet[Any]:
            text = DocumentText(shape)
            return build().annotate(scim_document_text=text).values_list("pk", "scim_document_text")

        rows = values_rows(alias, key, values, slots)
        written = [pk for pk, text in rows if text is not None]
        relations: Mapping[str, Mapping[Any, Any]] = {}
        if written:
            returned = self.returned_attributes(
                attributes=attributes, excluded_attributes=excluded_attributes
            )
            make = instance_maker(model, alias, [model._meta.pk.attname])  # type: ignore[union-attr]
            relations = self.load_relations([make((pk,)) for pk in written], returned)
        rendered: dict[Any, dict[str, Any]] = {}
        if len(written) < len(rows):
            objs = list(self.get_queryset().filter(pk__in=[pk for pk, text in rows if text is None]))
            docs = self.render_many(objs, attributes=attributes, excluded_attributes=excluded_attributes)
            rendered = {obj.pk: projection(doc) for obj, doc in zip(objs, docs, strict=True)}
        found: list[tuple[Any, Any]] = []
        members = MemberWriter()
        for pk, text in rows:
            if text is None:
                if pk in rendered:  # else deleted since
                    found.append((pk, rendered[pk]))
                continue
            document = JSONText(text)
            for attr, by_key in relations.items():
                value = by_key.get(pk)
                if value:
                    document = members.add(document, attr, value)
            found.append((pk, document))
        return found

    def relation_columns(self, returned: Collection[str], alias: str) -> dict[str, RelationColumn]:
        """Relation-backed attributes among ``returned`` that :meth:`cached_instances` reads in
        the resources' own statement on database ``alias``: one round trip instead of two.

        The base adapter has none; :class:`~django_scim.adapters.users.UserAdapter` reads
        ``groups`` this way. An implementation's :meth:`load_relations` takes the values from
        :meth:`relations_read`, and reads them itself for resources that came without.
        """
        return {}

    @staticmethod
    def relations_read(objs: Sequence[models.Model], attr: str) -> dict[Any, Any] | None:
        """The values of :meth:`relation_columns` ``attr`` read with ``objs``, by primary key;
        ``None`` unless every one of ``objs`` came with it."""
        found = {}
        for obj in objs:
            read = obj.__dict__.get(_READ_ALONG)
            if read is None or attr not in read:
                return None
            found[obj.pk] = read[attr]
        return found

    def equality_lookup(self, text: str) -> tuple[Hashable, str] | None:
        """``(shape, value)`` when the filter ``text`` is ``<attribute> eq "<value>"`` on a text
        column (``userName``, ``externalId``, ``displayName``: what identity providers ask
        before each write), whose SQL is the same for every value but ``""``; else ``None``.
        Pages of such a filter can come from :meth:`cached_instances`; ``None`` too when this
        adapter does not :meth:`reuses_sql`."""
        if not self.reuses_sql():
            return None
        tree = self._parse_filter(text)
        if not (isinstance(tree, Compare) and tree.op == "eq" and isinstance(tree.value, str) and tree.value):
            return None
        target = self.filter_target(tree.path)
        attribute = target.attribute
        if (
            target.lookup is None
            or target.uuid
            or target.json_keys
            or target.elements
            or target.relation is not None
            or target.parts
            or attribute.type not in (AttributeType.STRING, AttributeType.REFERENCE)
        ):
            return None
        return ("eq", target.lookup, attribute.case_exact), tree.value

    #: Whether reads of a fixed shape (a resource by id, the relations of a page, uniqueness
    #: checks, ``eq`` lookups) may run SQL compiled for an earlier request
    #: (:mod:`django_scim.orm.statements`). ``None``: when the queryset hooks
    #: (:meth:`get_queryset`, :meth:`exclude_deleted`, :meth:`scoped`, :meth:`scope_queryset`,
    #: :meth:`filter_queryset`) are the ones defined here, whose SQL depends only on the model,
    #: the tenant and the delete mode. A subclass that overrides one can set ``True`` when its
    #: queryset depends on nothing else either (not on the request's user, not on the time).
    reuse_sql: bool | None = None

    def reuses_sql(self) -> bool:
        """Whether this adapter's fixed-shape reads run cached SQL (see :attr:`reuse_sql`)."""
        if self.reuse_sql is not None:
            return self.reuse_sql
        return self._stock_querysets()

    def _stock_querysets(self) -> bool:
        """Whether the queryset hooks (:data:`_QUERYSET_HOOKS`) are the ones defined here."""
        cls = type(self)
        return all(getattr(cls, name) is getattr(ResourceAdapter, name) for name in _QUERYSET_HOOKS)

    def total_results(self, queryset: QuerySet[Any]) -> int:
        """The exact number of resources in ``queryset`` (narrowed from :meth:`get_queryset`):
        ``totalResults`` of a list, REQUIRED by RFC 7644 section 3.4.2.

        ``COUNT(*)``, unless ``queryset`` holds every row of the model's table: then, on
        PostgreSQL, the count the database keeps (:mod:`django_scim.orm.rowcount`), one indexed
        query whatever the table's size. That is when the queryset hooks are the stock ones and
        add no condition (no filter, no tenancy, no soft-deleted rows to leave out) and the
        model's default manager adds none either.
        """
        if self._counts_every_row(queryset):
            rows = rowcount.table_rows(queryset.db, queryset.model._meta.db_table)
            if rows is not None:
                return rows
        return queryset.count()

    def _counts_every_row(self, queryset: QuerySet[Any]) -> bool:
        query = queryset.query
        return (
            self._stock_querysets()
            and queryset.model is self.get_model()
            # What the default manager may add: a condition, a join that repeats rows, a slice.
            and not query.where
            and not query.annotations
            and not query.extra_tables
            and not query.distinct
            and not query.is_sliced
            and query.combinator is None
        )

    def _lock(
        self, scim_id: str, precondition: Precondition | None, *, respond: bool = False
    ) -> tuple[models.Model, ScimCompanion]:
        """Lock the resource for a write (inside the caller's transaction) and check the
        request's preconditions (If-Match, If-Unmodified-Since) on its current state.

        ``respond``: the write answers with the resource (PUT, PATCH), so the relations the
        write cannot change (read-only ones, such as a User's ``groups``; not
        :attr:`relation_attributes`) come in the locked statement where the adapter reads them
        so (:meth:`relation_columns`): the response reads no more.
        """
        returned = self.returned_attributes() - frozenset(self.relation_attributes) if respond else ()
        obj = self.get_object(scim_id, for_update=True, returned=returned)
        # get_object found the row through its companion, so the companion exists.
        companion = self.companion(obj)
        assert companion is not None
        if precondition is not None:
            precondition(companion)
        return obj, companion

    # --- reading ---------------------------------------------------------------------------

    def location(self, scim_id: str) -> str:
        """The absolute URL of a resource (``meta.location``, ``Location``, ``$ref``)."""
        return self.location_builder()(scim_id)

    def location_builder(self) -> Callable[[str], str]:
        """:meth:`location` as a function of the SCIM id, for rendering many references.

        Not one ``reverse()`` per resource or member (a page of 100 users spent a sixth of its
        time there), nor one per request: the path of a probe id, reversed once per URLconf
        (:func:`_probe_path`), split around it. A URL pattern that does not show the id as it
        is falls back to one ``reverse()`` each.
        """
        builder = self.__dict__.get("_location_builder")
        if builder is None:
            parts = self._location_parts()
            head, tail = parts or ("", "")
            builder = (lambda scim_id: f"{head}{scim_id}{tail}") if parts else self._reverse_location
            self.__dict__["_location_builder"] = builder
        return builder

    def _location_parts(self) -> tuple[str, str] | None:
        """A resource's location as the text before and after its SCIM id, or ``None`` when
        the URL pattern does not show the id as it is. Worked out once per adapter (so per
        request): :meth:`location_builder` and :meth:`document_shape` both ask."""
        parts = self.__dict__.get("_scim_location_parts", MISSING)
        if parts is MISSING:
            head, found, tail = self._absolute(_probe_path(self.endpoint)).partition(_PROBE_ID)
            parts = self.__dict__["_scim_location_parts"] = (head, tail) if found else None
        return parts

    def _reverse_location(self, scim_id: str) -> str:
        return self._absolute(reverse("scim:resource", kwargs={"endpoint": self.endpoint, "pk": scim_id}))

    def _absolute(self, path: str) -> str:
        return self.request.build_absolute_uri(path) if self.request is not None else path

    @staticmethod
    def etag(companion: ScimCompanion) -> str:
        """``meta.version`` and the ETag header (RFC 7644 section 3.14): a weak validator."""
        return f'W/"{companion.version}"'

    def returned_attributes(
        self, *, attributes: Sequence[str] | None = None, excluded_attributes: Sequence[str] | None = None
    ) -> frozenset[str]:
        """The top-level attributes a response with these ``attributes`` / ``excludedAttributes``
        contains (RFC 7644 section 3.4.2.5, :func:`~django_scim.core.document.returned_attributes`)."""
        return scim_document.returned_attributes(
            self.resource_type, attributes=attributes, excluded_attributes=excluded_attributes
        )

    def load_relations(
        self, objs: Sequence[models.Model], attributes: Collection[str] | None = None
    ) -> dict[str, dict[Any, list[dict[str, Any]]]]:
        """Relation-backed attribute values for many objects at once: ``{attr: {pk: [...]}}``.

        ``attributes`` names the top-level attributes the response will contain (see
        :meth:`render_many`); a relation attribute not named there must not be loaded at all.
        ``None`` loads every relation. Implementations read ``values()`` rows in a fixed number
        of queries, whatever the number of objects and related rows.
        """
        return {}

    def render(
        self,
        obj: models.Model,
        *,
        attributes: Sequence[str] | None = None,
        excluded_attributes: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """The SCIM document of one resource, before attribute projection (see :meth:`render_many`)."""
        return self.render_many([obj], attributes=attributes, excluded_attributes=excluded_attributes)[0]

    def render_many(
        self,
        objs: Sequence[models.Model],
        *,
        attributes: Sequence[str] | None = None,
        excluded_attributes: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Documents for many resources with a fixed number of queries.

        ``attributes`` / ``excludedAttributes`` (RFC 7644 section 3.4.2.5) are those of the
        request: relation-backed attributes the response will not contain (Group ``members``
        with ``excludedAttributes=members``, as Entra ID asks) are not loaded, by the rules of
        :func:`~django_scim.core.document.project`, which the caller still applies.

        The documents are for a response: they share the stored values the attribute map does
        not write with the instances' ``companion.attributes``; copy one before changing it.
        """
        self.ensure_companions(objs)
        if not objs:
            return []
        returned = self.returned_attributes(attributes=attributes, excluded_attributes=excluded_attributes)
        if all(getattr(obj, _CREATED_MARK, False) for obj in objs):
            # Just made by create(): in no relation but those its request wrote (a new user is in
            # no group; User "groups" is readOnly, RFC 7643 section 4.1.2). Only those are read.
            returned = returned & frozenset(self.relation_attributes)
        relations = self.load_relations(objs, returned)
        render = self._renderer(relations, share=True)
        return [render(obj) for obj in objs]

    def _render(
        self, obj: models.Model, relations: Mapping[str, Mapping[Any, Any]], *, share: bool = False
    ) -> dict[str, Any]:
        """The document of ``obj``. It owns every value (a deep copy of the stored JSON), for
        the writes that change it; ``share``: only the objects the attribute map writes into
        are copied, the other stored values are shared with ``companion.attributes`` (a response,
        which is only serialised: the deep copy was a fifth of rendering a page of users)."""
        return self._renderer(relations, share=share)(obj)

    def _renderer(
        self, relations: Mapping[str, Mapping[Any, Any]], *, share: bool = False
    ) -> Callable[[models.Model], dict[str, Any]]:
        """:meth:`_render` as a function of the instance, with what every document of a page
        shares looked up once (the attribute map, the schema, the location builder)."""
        rt = self.resource_type
        core, name = rt.schema.id, rt.name
        companion_of = self.companion
        parents = self._mapped_parents()
        # One builder for the page, unless a subclass builds locations its own way.
        overridden = type(self).location is not ResourceAdapter.location
        location = self.location if overridden else self.location_builder()
        etag = self.etag
        # Top-level attributes (one key) read and written in place; nested ones through _get/_put.
        reads = [
            (keys, keys[0] if len(keys) == 1 else None, m.read) for _p, keys, m in self.get_attribute_map()
        ]
        relation_values = list(relations.items())

        def render(obj: models.Model) -> dict[str, Any]:
            companion = companion_of(obj)
            assert companion is not None
            stored = companion.attributes
            body: dict[str, Any]
            if not stored:
                body = {}
            elif share and isinstance(stored, dict):
                body = _copied_along(stored, parents)
            else:
                body = scim_document.copy_json(stored)
            for keys, key, read in reads:
                if key is None:
                    _put(body, keys, read(obj, _get(body, keys)))
                    continue
                value = read(obj, body.get(key, MISSING))
                if value is None or value is MISSING:
                    body.pop(key, None)
                else:
                    body[key] = value
            for attr, values in relation_values:
                _put(body, (attr,), values.get(obj.pk) or None)
            scim_id = str(companion.id)
            doc: dict[str, Any] = {
                "schemas": [core, *(k for k in body if k.lower().startswith("urn:"))],
                "id": scim_id,
            }
            if companion.external_id:
                doc["externalId"] = companion.external_id
            doc.update(body)
            doc["meta"] = {
                "resourceType": name,
                "created": _isoformat(companion.created),
                "lastModified": _isoformat(companion.last_modified),
                "location": location(scim_id),
                "version": etag(companion),
            }
            return doc

        return render

    # --- writing ---------------------------------------------------------------------------

    def normalize(self, data: object, existing: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate and normalise a request document against the schemas (RFC 7643 section 2)."""
        return scim_document.normalize(
            data,
            self.resource_type,
            existing=existing,
            allow_undeclared_extensions=scim_settings.ALLOW_UNDECLARED_EXTENSIONS,
            string_booleans=scim_settings.STRING_BOOLEANS,
        )

    def new_instance(self, document: Mapping[str, Any]) -> models.Model:
        """An unsaved model instance for a POST; override to set site-specific defaults."""
        return self.get_model()()

    def create(self, data: object) -> models.Model:
        """POST (RFC 7644 section 3.3): create a resource from a request body."""
        document = self.normalize(data)
        obj: models.Model | None = None
        try:
            with transaction.atomic():
                obj = self.new_instance(document)
                companion = self.get_companion_model()()
                self._write(obj, companion, document, created=True)
        except Uniqueness as exc:
            # A unique constraint refused the row (the same value, where the check runs in the
            # INSERT's statement; a racing write): name the value the check now finds taken.
            alias = router.db_for_read(self.get_model())
            if (
                obj is not None
                and isinstance(exc.__cause__, IntegrityError)
                and not connections[alias].needs_rollback
            ):
                self.check_uniqueness(obj, document)
            raise
        self._send(signals.resource_created, obj, companion)
        setattr(obj, _CREATED_MARK, True)
        return obj

    def replace(self, scim_id: str, data: object, precondition: Precondition | None = None) -> models.Model:
        """PUT (RFC 7644 section 3.5.1): replace a resource; omitted attributes are cleared."""
        with transaction.atomic():
            obj, companion = self._lock(scim_id, precondition, respond=True)
            existing = self.render(obj)
            document = self.normalize(data, existing=existing)
            changed = self._write(obj, companion, document, created=False)
        self._send(signals.resource_updated, obj, companion, changed=changed)
        return obj

    def delete_mode(self) -> str:
        """What DELETE does: ``"hard"`` (delete the row, RFC 7644 section 3.6) or ``"soft"``."""
        return "hard"

    def delete(self, scim_id: str, precondition: Precondition | None = None) -> None:
        """DELETE (RFC 7644 section 3.6): :meth:`pre_delete` and delete the row, or, when
        :meth:`delete_mode` is ``"soft"``, :meth:`soft_delete` it. Either way the resource is
        gone for SCIM (``GET`` answers 404) and ``resource_deleted`` is sent after commit.
        """
        mode = self.delete_mode()
        if mode not in ("hard", "soft"):
            raise ImproperlyConfigured(
                f"SCIM {self.name}: the delete mode must be 'hard' or 'soft', not {mode!r}."
            )
        with transaction.atomic():
            obj, companion = self._lock(scim_id, precondition)
            if mode == "soft":
                self.soft_delete(obj, companion)
            else:
                self.pre_delete(obj)
                obj.delete()
        self._send(signals.resource_deleted, obj, companion)

    def soft_delete(self, obj: models.Model, companion: ScimCompanion) -> None:
        """Soft DELETE, inside the transaction with ``obj`` locked: flag the companion ``deleted``
        (so :meth:`get_queryset` hides the resource) and set ``active`` to false where the
        resource has it (the mapped field, ``is_active``, or the stored value). The row, its
        relations and its data stay. A deactivation sends ``user_deactivated`` after commit.
        """
        if not self.supports_soft_delete():
            raise ImproperlyConfigured(
                f"SCIM {self.name}: soft delete needs a 'deleted' BooleanField on "
                f"{self.get_companion_model().__name__}."
            )
        before = self._render(obj, {})
        if self.find_attribute("active") is not None:
            context = WriteContext()
            mapped = [m for _p, keys, m in self.get_attribute_map() if keys == ("active",) and m.writable]
            if mapped:
                for mapping in mapped:
                    mapping.write(obj, False, context)
                self._save(obj, context)
            else:
                companion.attributes = {**(companion.attributes or {}), "active": False}
        companion.deleted = True  # type: ignore[attr-defined]
        companion.last_modified = timezone.now()
        companion.version += 1  # the row is locked (get_object)
        companion.save()
        if self._tracks_deactivation():
            self._send_if_deactivated(obj, companion, before, self._render(obj, {}))

    def _write(
        self,
        obj: models.Model,
        companion: ScimCompanion,
        document: dict[str, Any],
        *,
        created: bool,
        relations: bool = True,
        before: dict[str, Any] | None = None,
    ) -> list[str]:
        """Save ``document``; the names of the attributes that changed (``[]`` for a creation).

        ``before`` is the stored document without relations (``_render(obj, {})``), when the
        caller has rendered it already.
        """
        # The state before (without relations: no query), for ``changed``, the uniqueness check
        # and _send_if_deactivated.
        if not created and before is None:
            before = self._render(obj, {})
        self._stored_document = before
        try:
            return self._write_document(
                obj, companion, document, before, created=created, relations=relations
            )
        finally:
            self._stored_document = None

    def _write_document(
        self,
        obj: models.Model,
        companion: ScimCompanion,
        document: dict[str, Any],
        before: dict[str, Any] | None,
        *,
        created: bool,
        relations: bool,
    ) -> list[str]:
        """:meth:`_write`, with :attr:`_stored_document` set to ``before``."""
        # Compared with the row after the write: an update saves the columns that changed
        # (update_fields), and one that leaves every column as it was (a membership PATCH of a
        # group, a PATCH of JSON-stored attributes) does not UPDATE the row, unless the model
        # keeps an auto_now timestamp of its saves.
        stored_fields = None if created else _field_values(obj)
        context = WriteContext()
        remainder = scim_document.copy_json(document)
        for key in ("schemas", "id", "meta", "externalId"):
            remainder.pop(key, None)
        written: list[str] = []
        for _path, keys, mapping in self.get_attribute_map():
            value = _pop(remainder, keys)
            if not mapping.writable:
                continue
            _put(remainder, keys, mapping.write(obj, value, context))
            if mapping.lookup and "__" not in mapping.lookup:
                written.append(mapping.lookup)
        relation_values = {attr: remainder.pop(attr, None) for attr in self.relation_attributes}
        self.validate_instance(obj, written)
        self.pre_save(obj, document, created=created)
        # The companion is this package's model: its INSERT or UPDATE comes from SQL compiled
        # once per connection, through save() where a site's receivers or save() need it.
        alias = router.db_for_write(type(companion), instance=companion)
        together = created and not context.related
        if not (together and self._insert_together(obj, companion, document, remainder)):
            self.check_uniqueness(obj, document)
            self._save(
                obj, context, fields=None if stored_fields is None else _changed_fields(obj, stored_fields)
            )
            companion_fields = self._fill_companion(obj, companion, document, remainder, created=created)
            if created:
                statements.insert(alias, companion)
            else:
                companion.version += 1  # the row is locked (get_object)
                statements.update(alias, companion, companion_fields)
        setattr(obj, self.companion_accessor, companion)
        relations_changed = False
        if relations:
            # PATCH writes relation-backed attributes as row deltas (patch_relations), so its
            # document has no members and must not clear them.
            relations_changed = bool(self.save_relations(obj, relation_values, created=created))
        self.post_save(obj, document, created=created)
        if before is None:
            return []
        # Read back through the attribute map rather than trusting the request document: a PUT
        # without "active" leaves is_active at its model default, and that decides.
        after = self._render(obj, {})
        changed = _changed_attributes(before, after)
        if relations_changed:
            changed = sorted({*changed, *self.relation_attributes})
        if self._tracks_deactivation():
            self._send_if_deactivated(obj, companion, before, after)
        return changed

    def _fill_companion(
        self,
        obj: models.Model,
        companion: ScimCompanion,
        document: Mapping[str, Any],
        remainder: dict[str, Any],
        *,
        created: bool,
    ) -> list[str]:
        """Set the companion's columns for a write of ``document``; those an update saves: the
        version and time always, externalId and the JSON attributes when they differ (no JSON
        encoded for nothing)."""
        external_id = document.get("externalId")
        fields = [
            *(("external_id",) if companion.external_id != external_id else ()),
            *(("attributes",) if companion.attributes != remainder else ()),
            "last_modified",
            "version",
        ]
        companion.resource = obj  # type: ignore[attr-defined]
        companion.external_id = external_id
        companion.attributes = remainder
        companion.last_modified = timezone.now()
        if created:
            companion.created = companion.last_modified
            companion.tenant_id = self.tenant
        return fields

    def _insert_together(
        self,
        obj: models.Model,
        companion: ScimCompanion,
        document: Mapping[str, Any],
        remainder: dict[str, Any],
    ) -> bool:
        """A new resource's uniqueness check and the INSERTs of its row and its companion's as
        one statement (:func:`~django_scim.orm.statements.insert_linked`, PostgreSQL), where the
        stock :meth:`check_uniqueness` and :meth:`_save` would run them one after the other on
        one database with SQL kept per connection. ``False``, nothing written, where it cannot:
        the caller runs them one by one."""
        cls = type(self)
        base = ResourceAdapter
        if cls.check_uniqueness is not base.check_uniqueness or cls._save is not base._save:
            return False
        alias = router.db_for_write(type(obj), instance=obj)
        if not statements.inserts_linked(alias) or not self.reuses_sql():
            return False
        if router.db_for_write(type(companion), instance=companion) != alias:
            return False
        checks = self._uniqueness_checks(obj, document, alias)
        self._fill_companion(obj, companion, document, remainder, created=True)
        link = self.companions().model._meta.get_field("resource")
        assert isinstance(link, models.ForeignKey)
        with _database_errors_as_scim():
            clashes = statements.insert_linked(alias, obj, companion, link, [check.guard for check in checks])
        if clashes is None:
            return False
        for check, clash in zip(checks, clashes, strict=True):
            if clash:
                # The rows just written go with the transaction this rolls back.
                raise check.error()
        return True

    def validate_instance(self, obj: models.Model, fields: Sequence[str]) -> None:
        """Run the model's own field validation on the written fields (lengths, validators)."""
        exclude = [
            f.name for f in obj._meta.concrete_fields if f.name not in fields and f.attname not in fields
        ]
        try:
            obj.clean_fields(exclude=exclude)
        except ValidationError as exc:
            messages = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            raise InvalidValue(messages) from exc

    def check_uniqueness(self, obj: models.Model, document: Mapping[str, Any]) -> None:
        """RFC 7643 section 2.2 ``uniqueness``: mapped unique attributes (userName) -> 409.

        Case-insensitive attributes compare case-insensitively, so ``Bjensen`` and ``bjensen``
        are one user name. A value an update leaves as it was stored (in any case, where case
        does not matter) is not checked: the write adds no clash. The database constraint still
        decides races (see :meth:`_save`).
        """
        alias = router.db_for_read(self.get_model())
        for check in self._uniqueness_checks(obj, document, alias):
            guard = check.guard
            if values_rows(alias, guard.key, guard.build, guard.slots):
                raise check.error()

    def _uniqueness_checks(
        self, obj: models.Model, document: Mapping[str, Any], alias: str
    ) -> list[_UniquenessCheck]:
        """What :meth:`check_uniqueness` asks database ``alias``: per mapped unique attribute
        the write sets (to another value than the stored one), a query for another resource in
        the tenant's scope with that value, kept per connection when the adapter
        :meth:`reuses_sql`."""
        model = self.get_model()
        stored = self._stored_document or {}
        checks = []
        for path, keys, mapping in self.get_attribute_map():
            attr = self.find_attribute(path)
            if attr is None or attr.uniqueness is UniquenessRule.NONE or mapping.lookup is None:
                continue
            value = _get(document, keys)
            if value is MISSING or value in (None, ""):
                continue
            if _same_value(_get(stored, keys), value, case_exact=attr.case_exact):
                continue
            if attr.case_exact:
                condition = Q(**{mapping.lookup: value})
            else:
                # LOWER() on both sides, as the filter compiler writes it, so the functional
                # index of migration 0003 serves it (``iexact`` would be UPPER() on PostgreSQL).
                condition = Q(Exact(Lower(mapping.lookup), Lower(Value(value))))
            guard = self._clash_guard(model, mapping.lookup, condition, value, attr.case_exact, obj.pk, alias)
            checks.append(_UniquenessCheck(attr.name, value, guard))
        return checks

    def _clash_guard(
        self,
        model: type[models.Model],
        lookup: str,
        condition: Q,
        value: Any,
        case_exact: bool,
        pk: Any,
        alias: str,
    ) -> statements.Guard:
        """The query for another resource in the tenant's scope that matches ``condition``."""

        def build() -> QuerySet[Any]:
            # Per tenant: the same userName may exist in another tenant's scope.
            clash = self.scoped(model._default_manager.filter(condition))
            if pk is not None:
                clash = clash.exclude(pk=pk)
            return clash.order_by().values_list("pk")[:1]

        slots = [value] if pk is None else [value, db_value(alias, model._meta.pk, pk)]  # type: ignore[arg-type]
        statement = ("unique", type(self), model, lookup, case_exact, self.tenant, pk is None)
        return statements.Guard(statement if self.reuses_sql() else None, build, slots)

    def _save(self, obj: models.Model, context: WriteContext, *, fields: Sequence[str] | None = None) -> None:
        """Save ``obj`` (only its columns ``fields`` when given: none, no UPDATE) and the related
        objects the mappings touched; database errors become SCIM errors."""
        # No savepoint of its own: every write runs in the adapter's transaction, which the
        # translated error leaves, so the failed statement and everything before it roll back.
        # A new row's INSERT and a changed row's UPDATE are save()'s, from SQL compiled once
        # per connection where save() would run only that statement (orm.statements). A new
        # instance with a key set and no default for it (save() looks for the row first) and
        # a whole-row save of a stored one go through save().
        alias = router.db_for_write(type(obj), instance=obj)
        with _database_errors_as_scim():
            if fields is None:
                if obj._state.adding and (obj.pk is None or obj._meta.pk.has_default()):  # type: ignore[union-attr]
                    statements.insert(alias, obj)
                else:
                    obj.save(using=alias)
            elif fields:
                statements.update(alias, obj, fields)
            for related in context.related:
                related.save()

    # --- patching --------------------------------------------------------------------------

    def patch_options(self) -> scim_patch.PatchOptions:
        """How the PATCH engine treats what the RFC leaves open (``SCIM["PATCH_*"]`` settings)."""
        return scim_patch.PatchOptions(
            string_booleans=scim_settings.STRING_BOOLEANS,
            single_value_lists=scim_settings.PATCH_SINGLE_VALUE_LISTS,
            paths_as_value_keys=scim_settings.PATCH_PATHS_AS_VALUE_KEYS,
            remove_with_value=scim_settings.PATCH_REMOVE_WITH_VALUE,
            ignore_matching_id=scim_settings.PATCH_IGNORE_MATCHING_ID,
            add_creates_filtered_value=scim_settings.PATCH_ADD_CREATES_FILTERED_VALUE,
            replace_creates_filtered_value=scim_settings.PATCH_REPLACE_CREATES_FILTERED_VALUE,
            strict_remove=scim_settings.PATCH_STRICT_REMOVE,
            allow_undeclared_extensions=scim_settings.ALLOW_UNDECLARED_EXTENSIONS,
            max_path_length=scim_settings.FILTER_MAX_LENGTH,
            max_filter_depth=scim_settings.FILTER_MAX_DEPTH,
        )

    def patch(self, scim_id: str, data: object, precondition: Precondition | None = None) -> models.Model:
        """PATCH (RFC 7644 section 3.5.2): apply a PatchOp message, all or nothing.

        The row is locked (``select_for_update``) and the preconditions (If-Match) are checked on
        it. The current document is rendered *without* relation-backed attributes
        (:attr:`relation_attributes`, Group ``members``): operations on them go to
        :meth:`patch_relations` as row deltas, the others to the pure engine
        (:mod:`django_scim.core.patch`), whose result is validated like a PUT body and written by
        the same path (mapped fields, JSON remainder, version bump, ``resource_updated`` after
        commit). Any error rolls everything back.

        A PATCH that changes nothing (same document, no membership change) writes nothing: the
        version, and so the ETag, stay, and no signal is sent.
        """
        raw_operations = scim_patch.read_patch_request(data)
        rt = self.resource_type
        relation_names = {name.lower() for name in self.relation_attributes}
        with transaction.atomic():
            obj, companion = self._lock(scim_id, precondition, respond=True)
            current = self._render(obj, {})
            options = self.patch_options()
            operations = scim_patch.compile_operations(raw_operations, rt, current, options)
            on_relations = [
                op
                for op in operations
                if op.target.is_core and (op.target.name or "").lower() in relation_names
            ]
            on_document = [op for op in operations if not any(op is r for r in on_relations)]
            changed = False
            relations_changed = False
            names: list[str] = []
            document: dict[str, Any] = {}
            if on_document:
                patched = scim_patch.apply_operations(current, on_document, rt, options)
                document = self.normalize(patched, existing=current)
                # Operations that leave the document as it was (identity providers resend the
                # values they hold) normalise it to what it was: no second normalisation.
                changed = patched != current and document != self._normalized(current)
            if on_relations:
                relations_changed = self.patch_relations(obj, on_relations, options)
                changed = relations_changed or changed
            if changed:
                if not on_document:
                    document = self.normalize(current, existing=current)
                names = self._write(obj, companion, document, created=False, relations=False, before=current)
                if relations_changed:
                    touched = {(op.target.name or "").lower() for op in on_relations}
                    names = sorted({*names, *(n for n in self.relation_attributes if n.lower() in touched)})
        if changed:
            self._send(signals.resource_updated, obj, companion, changed=names)
        return obj

    def _normalized(self, document: dict[str, Any]) -> dict[str, Any] | None:
        """``document`` normalised, or ``None`` when the stored data itself breaks a rule."""
        try:
            return self.normalize(document, existing=document)
        except ScimError:
            return None

    def patch_relations(
        self, obj: models.Model, operations: Sequence[scim_patch.Operation], options: scim_patch.PatchOptions
    ) -> bool:
        """Apply PATCH operations on relation-backed attributes as row deltas; True if rows changed.

        Called inside the PATCH transaction with ``obj`` locked. The base adapter has no
        relation-backed attributes; :class:`~django_scim.adapters.groups.GroupAdapter` implements
        Group ``members`` without loading the member list.
        """
        raise NotImplementedByServer(f"PATCH of {operations[0].path!r} is not supported.")

    # --- hooks -----------------------------------------------------------------------------

    def pre_save(self, obj: models.Model, document: Mapping[str, Any], *, created: bool) -> None:
        """Called before the model instance is saved; raise a ScimError to refuse."""

    def post_save(self, obj: models.Model, document: Mapping[str, Any], *, created: bool) -> None:
        """Called after the instance, its companion and its relations are saved."""

    def save_relations(self, obj: models.Model, values: Mapping[str, Any], *, created: bool) -> bool | None:
        """Write relation-backed attributes (see :attr:`relation_attributes`); True if rows changed."""

    def pre_delete(self, obj: models.Model) -> None:
        """Called before the instance is deleted (inside the transaction)."""

    def _send(self, signal: Any, obj: models.Model, companion: ScimCompanion, **extra: Any) -> None:
        scim_id = str(companion.id)

        def send() -> None:
            signal.send(
                sender=type(self),
                resource_type=self.name,
                instance=obj,
                scim_id=scim_id,
                request=self.request,
                **extra,
            )

        transaction.on_commit(send)

    def _tracks_deactivation(self) -> bool:
        """Whether writes may send ``user_deactivated``: resource types on the core User schema."""
        return self.resource_type.schema.id == USER_SCHEMA

    def _send_if_deactivated(
        self, obj: models.Model, companion: ScimCompanion, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        """``user_deactivated`` after commit when ``active`` went from true to false."""
        if before.get("active") is True and after.get("active") is False:
            changed = _changed_attributes(before, after)
            self._send(signals.user_deactivated, obj, companion, changed=changed)

    # --- tenancy ---------------------------------------------------------------------------

    @property
    def tenancy(self) -> bool:
        """Whether queries are scoped to a tenant: ``SCIM["TENANT_MODEL"]`` is set and the adapter
        serves a request (code that builds an adapter without one, a management command or a
        data migration, is trusted and sees every tenant)."""
        return bool(scim_settings.TENANT_MODEL) and self.request is not None

    @property
    def tenant(self) -> str | None:
        """The request's tenant key (:meth:`get_tenant`), ``None`` without :attr:`tenancy`.

        With tenancy, a request that has no tenant is refused: 403, never an unscoped query.
        """
        if not self.tenancy:
            return None
        tenant = self.get_tenant()
        if tenant is None:
            raise Forbidden(
                'This client has no tenant, and SCIM["TENANT_MODEL"] is set: issue a token with '
                "a tenant (manage.py scim_token create NAME --tenant PK)."
            )
        return tenant

    def get_tenant(self) -> str | None:
        """The tenant key of the request: the token's ``tenant_id`` (``request.auth``).

        Override to derive it otherwise (from ``request.user`` for session authentication on
        ``/Me``); return the tenant's primary key as a string, or ``None`` to refuse.
        """
        token = getattr(self.request, "auth", None)
        return token.tenant_id if isinstance(token, ScimToken) else None

    def scope_queryset(self, queryset: QuerySet[Any], tenant: str) -> QuerySet[Any]:
        """``queryset`` narrowed to ``tenant``'s resources: the one place tenancy is decided.

        By default a resource belongs to the tenant whose token created it (the companion's
        ``tenant_id``); rows made outside SCIM have no tenant and no tenant sees them. A site
        whose models carry their own organisation key overrides this (and :meth:`new_instance`,
        to set the key on creation)::

            def scope_queryset(self, queryset, tenant):
                return queryset.filter(organization_id=tenant)
        """
        return queryset.filter(**{f"{self.companion_accessor}__tenant_id": tenant})

    def scoped(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """``queryset`` (of this adapter's model) scoped to the request's tenant; unchanged without
        :attr:`tenancy`. Reads of another resource type go through that type's adapter."""
        if not self.tenancy:
            return queryset
        return self.scope_queryset(queryset, self.tenant or "")

    def _out_of_scope(self, pks: Sequence[Any]) -> set[Any]:
        """Which of the model keys ``pks`` the tenant may not see (one query)."""
        if not pks:
            return set()
        visible = set(
            self.scoped(self.get_model()._default_manager.filter(pk__in=pks)).values_list("pk", flat=True)
        )
        return {pk for pk in pks if pk not in visible}

    # --- filtering -------------------------------------------------------------------------

    def relation_lookups(self) -> dict[str, RelationLookup]:
        """Relation-backed multi-valued attributes (``members``, ``groups``) for filtering.

        Each is filtered with ``EXISTS`` subqueries over :attr:`RelationLookup.model`, so that a
        resource is returned once and ``not``/``ne`` mean what they mean in the matcher.
        """
        return {}

    def filter_target(self, path: AttrPath) -> Target:
        """Where the attribute at ``path`` lives, for the filter compiler (400 if nowhere)."""
        rt = self.resource_type
        container: str | None = None
        attr: Attribute | None
        if path.urn is not None and path.urn.lower() != rt.schema.id.lower():
            ext = rt.extension(path.urn)
            if ext is None:
                raise InvalidFilter(f"Unknown schema {path.urn!r} in the filter.")
            container = ext.schema.id
            attr = ext.schema.attribute(path.attr or "")
        elif path.urn is not None:
            attr = rt.schema.attribute(path.attr or "")
        else:
            attr = rt.schema.attribute(path.attr or "") or COMMON_ATTRIBUTE_INDEX.get(
                (path.attr or "").lower()
            )
            if attr is None:
                # Clients (Okta among them) send extension attributes unqualified.
                for ext in rt.extensions:
                    attr = ext.schema.attribute(path.attr or "")
                    if attr is not None:
                        container = ext.schema.id
                        break
        if attr is None:
            raise InvalidFilter(f"Unknown attribute {str(path)!r} in the filter.")
        sub: Attribute | None = None
        if path.sub_attr is not None:
            sub = attr.sub_attribute(path.sub_attr) if attr.is_complex else None
            if sub is None:
                raise InvalidFilter(f"{attr.name!r} has no sub-attribute {path.sub_attr!r}.")
        top: Keys = (*((container,) if container else ()), attr.name)
        keys: Keys = (*top, *((sub.name,) if sub else ()))
        accessor = self.companion_accessor
        if container is None and attr.name in _COMMON_LOOKUPS:
            if attr.is_complex and sub is None:
                common = tuple(
                    self.filter_target(AttrPath(None, attr.name, name)) for name in _COMMON_LOOKUPS[attr.name]
                )
                return Target(attr, parts=common)
            lookup = _COMMON_LOOKUPS[attr.name].get(sub.name if sub else "")
            if lookup is None:
                # meta.location and meta.version are computed per request, resourceType is constant.
                raise InvalidFilter(f"Filtering on {str(path)!r} is not supported.")
            return Target(sub or attr, lookup=f"{accessor}__{lookup}", uuid=lookup == "id")
        relation = self.relation_lookups().get(attr.name) if container is None else None
        if relation is not None:
            return Target(attr, relation=relation, sub=sub.name if sub else None)
        for _path, mapped_keys, mapping in self.get_attribute_map():
            if mapped_keys == top and attr.multi_valued:
                if isinstance(mapping, PrimaryValue):
                    return Target(
                        attr,
                        json_keys=top,
                        elements=True,
                        sub=sub.name if sub else None,
                        mirror=mapping.lookup,
                        mirror_type=mapping.default_type,
                    )
                raise InvalidFilter(f"Filtering on {str(path)!r} is not supported by its mapping.")
            if mapped_keys == keys:
                if mapping.lookup is None:
                    raise InvalidFilter(f"{str(path)!r} is computed and cannot be filtered on.")
                return Target(sub or attr, lookup=mapping.lookup)
            if mapped_keys == keys[: len(mapped_keys)]:
                raise InvalidFilter(f"Filtering on {str(path)!r} is not supported.")
        if attr.multi_valued:
            return Target(attr, json_keys=top, elements=True, sub=sub.name if sub else None)
        if attr.is_complex and sub is None:
            parts: list[Target] = []
            for sub_attr in attr.sub_attributes:
                try:
                    parts.append(
                        self.filter_target(AttrPath(container or path.urn, attr.name, sub_attr.name))
                    )
                except InvalidFilter:
                    continue  # a computed sub-attribute; the others still tell presence
            return Target(attr, parts=tuple(parts))
        return Target(sub or attr, json_keys=keys)

    def filter_queryset(self, queryset: QuerySet[Any], text: str) -> QuerySet[Any]:
        """``queryset`` narrowed by a SCIM filter (RFC 7644 section 3.4.2.2), in SQL.

        Relation conditions are ``EXISTS`` subqueries (see :mod:`django_scim.orm.compiler`), so no
        row is repeated and no ``DISTINCT`` is needed.
        """
        return queryset.filter(compile_filter(self, self._parse_filter(text)))

    def _parse_filter(self, text: str) -> Filter:
        return parse_filter(
            text,
            max_length=scim_settings.FILTER_MAX_LENGTH,
            max_depth=scim_settings.FILTER_MAX_DEPTH,
            known_urns=self.resource_type.schema_ids,
        )

    def can_filter(self, path: str) -> bool:
        """Whether ``<path> eq "..."`` can run in SQL (the mapping audit of the system check)."""
        try:
            self.filter_queryset(self.get_model()._default_manager.none(), f'{path} eq "x"')
        except InvalidFilter:
            return False
        return True

    def sort_key(self, path: str) -> SortKey:
        """The SQL expression ``sortBy=path`` orders by (RFC 7644 section 3.4.2.3); 400 if none."""
        return sort_key(self, path)

    # --- helpers for subclasses ------------------------------------------------------------

    def bump_versions(self, pks: Iterable[Any]) -> None:
        """A change elsewhere (a membership) changed these resources: new ETags (RFC 7644 3.14)."""
        pks = list(pks)
        if pks:
            self.companions().filter(resource__in=pks).update(
                version=F("version") + 1, last_modified=timezone.now()
            )

    def check_configuration(self) -> list[str]:
        """Problems with this adapter's configuration, for the system check."""
        problems: list[str] = []
        model = self.get_model()
        for path, mapping in self.attribute_map.items():
            mapping = as_mapping(mapping)
            if self.find_attribute(path) is None and not path.lower().startswith("urn:"):
                problems.append(f"attribute_map: {path!r} is not an attribute of the {self.name} schema")
            if mapping.lookup is not None:
                try:
                    mapping.model_field(model)
                except FieldDoesNotExist as exc:
                    problems.append(
                        f"attribute_map[{path!r}]: {model.__name__} has no field {mapping.lookup!r}: {exc}"
                    )
        return problems


#: The id :meth:`ResourceAdapter.location_builder` reverses a resource URL with.
_PROBE_ID = "00000000-0000-4000-8000-000000000000"


def _probe_path(endpoint: str) -> str:
    """``reverse("scim:resource")`` for ``endpoint`` and :data:`_PROBE_ID`, remembered per URL
    resolver (``get_resolver`` is cached itself, and gives a new one when ``ROOT_URLCONF``
    changes) and script prefix."""
    urlconf = get_urlconf()
    return _reversed_probe(get_resolver(urlconf), urlconf, get_script_prefix(), endpoint)


@functools.lru_cache(maxsize=64)
def _reversed_probe(resolver: Any, urlconf: Any, prefix: str, endpoint: str) -> str:
    # resolver and prefix only key the cache: reverse() finds both itself.
    return reverse("scim:resource", urlconf=urlconf, kwargs={"endpoint": endpoint, "pk": _PROBE_ID})


def with_id_text(queryset: QuerySet[Any], lookup: str) -> tuple[QuerySet[Any], str]:
    """``queryset`` and the name under which ``values_list`` reads the SCIM ids at ``lookup``.

    PostgreSQL writes the UUID's text itself: loading 10,000 ids as ``uuid.UUID`` objects and
    calling ``str()`` on each cost 28 ms of CPU against 8 ms (a 10,000-member group). Elsewhere
    the lookup as it is (``str()`` of the value gives the same text).
    """
    if connections[queryset.db].vendor != "postgresql":
        return queryset, lookup
    return queryset.annotate(scim_id_text=Cast(lookup, output_field=CharField())), "scim_id_text"


def canonical_ids(scim_ids: Iterable[str]) -> dict[str, str]:
    """``{canonical UUID text: id as given}`` of the ids that are UUIDs (the others exist nowhere)."""
    valid = {}
    for value in scim_ids:
        try:
            valid[str(uuid.UUID(str(value)))] = value
        except (ValueError, TypeError, AttributeError):
            continue
    return valid


def _field_values(obj: models.Model) -> dict[str, Any]:
    """The loaded column values of ``obj`` (deferred ones are left out, not read)."""
    return {field.attname: obj.__dict__.get(field.attname, MISSING) for field in obj._meta.concrete_fields}


def _changed_fields(obj: models.Model, stored: Mapping[str, Any]) -> list[str]:
    """The columns an update of ``obj`` writes: those differing from ``stored``
    (:func:`_field_values` before the write), and the ``auto_now`` ones its save stamps."""
    return [
        field.attname
        for field in obj._meta.concrete_fields
        if getattr(field, "auto_now", False)
        or obj.__dict__.get(field.attname, MISSING) != stored[field.attname]
    ]


def _same_value(stored: Any, value: Any, *, case_exact: bool) -> bool:
    """Whether ``value`` is ``stored``; strings of a case-insensitive attribute in any case."""
    if not case_exact and isinstance(stored, str) and isinstance(value, str):
        return stored.lower() == value.lower()
    return bool(stored == value)


def _changed_attributes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Names of the attributes whose values differ; extension ones as ``<URN>:<name>``."""
    changed: set[str] = set()
    for key in (before.keys() | after.keys()) - {"meta", "schemas", "id"}:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key.lower().startswith("urn:") and isinstance(old or {}, dict) and isinstance(new or {}, dict):
            inner_old, inner_new = old or {}, new or {}
            changed.update(
                f"{key}:{name}"
                for name in inner_old.keys() | inner_new.keys()
                if inner_old.get(name) != inner_new.get(name)
            )
        else:
            changed.add(key)
    return sorted(changed)


def _isoformat(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")
