"""Attribute maps: how a SCIM attribute path is read from and written to a model instance.

An adapter declares ``attribute_map = {"userName": Field("username"), ...}``. Paths are SCIM
attribute paths (``name.givenName``, or an extension path such as
``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber``). Anything an
adapter does not map is kept in the companion's JSONField, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models

if TYPE_CHECKING:
    from django.db.models import Model

#: Marker for "no value at this path".
MISSING: Any = object()


class WriteContext:
    """Collects related objects a write touched, saved after the main object."""

    def __init__(self) -> None:
        self.related: list[Model] = []

    def touch(self, obj: Model) -> None:
        if not any(o is obj for o in self.related):
            self.related.append(obj)


class AttributeMapping:
    """Base class: one SCIM attribute path backed by something other than the JSONField.

    Subclasses implement :meth:`read` and, unless read-only, :meth:`write`. ``lookup`` is the ORM
    path used for filtering and sorting (``None`` when the value cannot be queried in SQL).
    ``stores`` says whether the value is also kept in the companion's JSONField.
    """

    lookup: str | None = None
    writable: bool = True
    stores: bool = False

    def read(self, obj: Model, stored: Any) -> Any:
        """The SCIM value for ``obj``; ``stored`` is what the JSONField holds at this path."""
        raise NotImplementedError

    def columns(self, model: type[Model]) -> tuple[str, ...] | None:
        """The columns of ``model``'s own table (attnames) that :meth:`read` reads: an instance
        loaded with only those (and its primary key) renders the same. ``None``, the default:
        it may read anything, so instances it renders are loaded whole."""
        return None

    def write(self, obj: Model, value: Any, context: WriteContext) -> Any:
        """Apply ``value`` (``MISSING`` when the attribute is cleared) to ``obj``.

        Returns the value to keep in the JSONField (``MISSING`` for none).
        """
        raise NotImplementedError

    def model_field(self, model: type[Model]) -> models.Field[Any, Any] | None:
        """The concrete model field behind :attr:`lookup`, following relations."""
        if self.lookup is None:
            return None
        return resolve_field(model, self.lookup)


def resolve_field(model: type[Model], lookup: str) -> models.Field[Any, Any]:
    """The field a ``a__b__c`` lookup ends on; raises ``FieldDoesNotExist`` on a bad path."""
    parts = lookup.split("__")
    current: type[Model] = model
    for part in parts[:-1]:
        field = current._meta.get_field(part)
        related = field.related_model
        if related is None or isinstance(related, str):
            raise FieldDoesNotExist(f"{current.__name__}.{part} is not a relation")
        current = related
    field = current._meta.get_field(parts[-1])
    assert isinstance(field, models.Field)
    return field


def _own_column(
    mapping: AttributeMapping, base: type[AttributeMapping], model: type[Model], name: str
) -> tuple[str, ...] | None:
    """``(attname,)`` of ``model``'s plain (non-relation) field ``name``, which ``base.read``
    reads; ``None`` when ``mapping`` overrides that read or the field is not such a column."""
    if type(mapping).read is not base.read:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if not isinstance(field, models.Field) or field.is_relation or not field.concrete:
        return None
    return (field.attname,)


def _traverse(obj: Any, parts: list[str]) -> Any:
    for part in parts:
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj


class Field(AttributeMapping):
    """A model field, directly (``"username"``) or through relations (``"profile__title"``).

    Clearing a value (PUT without it, PATCH remove) stores the field's empty value: ``""`` for
    text fields that do not allow null, otherwise ``None``, or the field's default for non-null
    fields such as booleans.
    """

    def __init__(self, field: str, *, read_only: bool = False) -> None:
        self.field = field
        self.lookup = field
        self.writable = not read_only
        self._parts = field.split("__")

    def __repr__(self) -> str:
        return f"Field({self.field!r})"

    def read(self, obj: Model, stored: Any) -> Any:
        parts = self._parts
        value = getattr(obj, parts[0], None) if len(parts) == 1 else _traverse(obj, parts)
        if value == "":
            return None
        return value

    def columns(self, model: type[Model]) -> tuple[str, ...] | None:
        # A path through a relation reads related rows: the instance is loaded whole.
        return _own_column(self, Field, model, self.field) if len(self._parts) == 1 else None

    def write(self, obj: Model, value: Any, context: WriteContext) -> Any:
        target = _traverse(obj, self._parts[:-1])
        if target is None:
            return MISSING
        field = target._meta.get_field(self._parts[-1])
        if value is MISSING or value is None:
            value = _empty_value(field)
        setattr(target, field.attname, value)
        if target is not obj:
            context.touch(target)
        return MISSING


def _empty_value(field: Any) -> Any:
    if field.null:
        return None
    if field.has_default():
        return field.get_default()
    if isinstance(field, models.CharField | models.TextField):
        return ""
    return None


class PrimaryValue(AttributeMapping):
    """A multi-valued attribute kept whole in the JSONField, its primary value mirrored to a field.

    The default User map has ``"emails": PrimaryValue("email")``: ``user.email`` holds the
    primary (or else the first) address. On read, a site-side change of the field wins over the
    stored value, and a user made outside SCIM with only ``email`` set gets a one-element list
    (type ``work``, which is what Microsoft Entra ID matches on).
    """

    stores = True

    def __init__(self, field: str, *, default_type: str = "work") -> None:
        self.field = field
        self.lookup = field
        self.default_type = default_type

    def __repr__(self) -> str:
        return f"PrimaryValue({self.field!r})"

    @staticmethod
    def _main_index(values: list[Any]) -> int | None:
        """The primary value's index, else the first value's; values that are not objects
        (stored by other code than SCIM's) are never the main one."""
        objects = [index for index, item in enumerate(values) if isinstance(item, dict)]
        for index in objects:
            if values[index].get("primary") is True:
                return index
        return objects[0] if objects else None

    def read(self, obj: Model, stored: Any) -> Any:
        current = getattr(obj, self.field, "") or ""
        values = (
            [dict(item) if isinstance(item, dict) else item for item in stored]
            if isinstance(stored, list)
            else []
        )
        index = self._main_index(values)
        if index is None:
            if not current:
                return None
            return [{"value": current, "type": self.default_type, "primary": True}]
        if values[index].get("value") != current:
            if current:
                values[index]["value"] = current
            else:
                del values[index]
        return values or None

    def columns(self, model: type[Model]) -> tuple[str, ...] | None:
        return _own_column(self, PrimaryValue, model, self.field)

    def write(self, obj: Model, value: Any, context: WriteContext) -> Any:
        values = value if isinstance(value, list) else []
        index = self._main_index(values)
        main = values[index].get("value") if index is not None else None
        setattr(obj, self.field, main if isinstance(main, str) else "")
        return values if values else MISSING


class Password(AttributeMapping):
    """``password`` (writeOnly, returned never): hashed with Django's hasher, never read back.

    Clearing it (a PUT without a password) keeps the current one: identity providers omit the
    password from updates, and an unusable password would lock the user out.
    """

    def read(self, obj: Model, stored: Any) -> Any:
        return None

    def columns(self, model: type[Model]) -> tuple[str, ...] | None:
        return () if type(self).read is Password.read else None

    def write(self, obj: Model, value: Any, context: WriteContext) -> Any:
        if isinstance(value, str) and value:
            obj.set_password(value)  # type: ignore[attr-defined]
        return MISSING


class Computed(AttributeMapping):
    """A read-only value computed from the instance: ``Computed(lambda user: user.get_full_name())``.

    Give ``lookup`` (an ORM field path) to make it filterable and sortable.
    """

    writable = False

    def __init__(self, func: Callable[[Any], Any], *, lookup: str | None = None) -> None:
        self.func = func
        self.lookup = lookup

    def read(self, obj: Model, stored: Any) -> Any:
        return self.func(obj)

    def write(self, obj: Model, value: Any, context: WriteContext) -> Any:
        return MISSING


def as_mapping(value: AttributeMapping | str) -> AttributeMapping:
    """Settings give plain field paths; adapters may give mapping objects."""
    if isinstance(value, AttributeMapping):
        return value
    if isinstance(value, str):
        return Field(value)
    raise TypeError(f"An attribute map value must be a field path or an AttributeMapping, not {value!r}")
