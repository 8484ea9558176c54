"""Querysets compiled to SQL once per connection, then run again with other values.

Building and compiling a queryset costs more CPU than the database spends answering an indexed
lookup (measured on PostgreSQL: 0.35 ms to build and compile the fetch of one resource by id,
0.15 ms to run it). The reads every request makes (a resource by its SCIM id, the groups of the
users on a page) have a fixed shape, so their SQL is compiled on first use and kept per
connection under a key the caller gives; later calls put their own values into the parameters
that held the first call's values, and the rows go through the compiler's converters as
``values_list()`` rows would.

The key is the caller's promise: everything the SQL depends on, except the values passed as
slots, must be in it (model, tenant, settings read while building the queryset).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import DatabaseError, connections
from django.db.models import Field, ForeignKey, Model, QuerySet, Subquery
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery
from django.db.models.sql.compiler import SQLCompiler

from ..conf import scim_settings

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

#: Statements kept per connection (least recently used dropped first).
MAX_STATEMENTS = 256


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    #: Where each slot's value goes in ``params``.
    positions: tuple[int, ...]
    #: Applies the converters; it belongs to the connection it was made on.
    compiler: SQLCompiler
    #: What the compiler would convert each row with, worked out once.
    converters: dict[int, Any]


#: The attribute of a connection (``connections[alias]``, one per thread) that holds its
#: statements: they go when it goes, and one thread never runs another's compiler.
_CACHE_ATTRIBUTE = "_scim_statements"


#: The attribute of a connection that holds the cursor its statements run on, with the database
#: connection and time zone it was made for.
_CURSOR_ATTRIBUTE = "_scim_cursor"


@contextmanager
def statement_cursor(connection: BaseDatabaseWrapper) -> Iterator[CursorWrapper]:
    """The cursor to run one statement of a request on: one per connection, kept and reused.

    A new cursor cost about 40 us of CPU besides its statement (0.19 against 0.15 ms for the
    token's lookup on PostgreSQL): Django's wrapper, psycopg's cursor, and for every type of
    column a loader made anew (the timestamps' is Python, Django's). A request runs two to
    four of these statements. The cursor goes with the database connection it was made on
    (closed, or reopened after ``CONN_MAX_AGE``) and with the connection's time zone (the
    timestamps' loader). It keeps its last result until its next statement runs.

    On PostgreSQL with psycopg 3 the kept cursor also prepares its statements on the server
    (:mod:`django_scim.orm.prepared`, ``SCIM["PREPARED_STATEMENTS"]``).

    While the connection logs its queries (``DEBUG``, ``CaptureQueriesContext``) each statement
    gets a cursor of its own, as the ORM's do: those are made to log.
    """
    if connection.queries_logged:
        with connection.cursor() as logged:
            yield logged
        return
    kept = connection.__dict__.get(_CURSOR_ATTRIBUTE)
    setting = scim_settings.PREPARED_STATEMENTS
    if (
        kept is None
        or kept[0] is not connection.connection
        or kept[1] is not connection.timezone
        or kept[2] != setting
    ):
        cursor = _new_cursor(connection)
        kept = (connection.connection, connection.timezone, setting, cursor)
        connection.__dict__[_CURSOR_ATTRIBUTE] = kept
    yield kept[3]


def _new_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """Django's cursor, or on PostgreSQL with psycopg 3 one that prepares its statements."""
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        if is_psycopg3:
            from . import prepared

            if prepared.prepares(connection):
                return prepared.preparing_cursor(connection)
    return connection.cursor()


def db_value(alias: str, field: Field[Any, Any], value: Any) -> Any:
    """``value`` as a lookup on ``field`` passes it to database ``alias`` (a slot's value)."""
    return field.get_db_prep_value(value, connections[alias], prepared=False)


def db_values(alias: str, field: Field[Any, Any], values: Iterable[Any]) -> list[Any]:
    """:func:`db_value` of each of ``values``, the connection looked up once (the keys of a
    page's users: looking it up per key was a tenth of reading their groups)."""
    connection = connections[alias]
    prepare = field.get_db_prep_value
    return [prepare(value, connection, prepared=False) for value in values]


def values_rows(
    alias: str,
    key: Hashable | None,
    build: Callable[[], QuerySet[Any]],
    slots: Sequence[Any],
) -> list[tuple[Any, ...]]:
    """The rows of the ``values_list()`` queryset ``build()`` on database ``alias``.

    ``slots`` are the values that vary between calls with the same ``key``, as the database
    gets them (:func:`db_value` for a model field's lookup; a string compared as text is
    itself). The first call for a key builds and compiles the queryset (with these values) and
    keeps its SQL when every slot's value is found exactly once among the parameters; a call
    that cannot tell them apart (two equal values, a value equal to a constant of the query)
    runs uncached. ``key=None`` runs it uncached too (a queryset whose SQL may change between
    calls), so callers keep one code path.
    """
    if key is None:
        return [tuple(row) for row in build().using(alias)]
    found = _compiled(alias, key, build, slots)
    if isinstance(found, _Compiled):
        return _run(found, _filled(found, slots))
    return [] if found is None else [tuple(row) for row in found]


def _compiled(
    alias: str, key: Hashable, build: Callable[[], QuerySet[Any]], slots: Sequence[Any]
) -> _Compiled | QuerySet[Any] | None:
    """The statement kept under ``key`` (compiled from ``build()`` on first use); the queryset
    when its SQL cannot be kept (see :func:`values_rows`); ``None`` when it can have no rows."""
    cache: OrderedDict[Hashable, _Compiled] = _kept(alias, _CACHE_ATTRIBUTE, OrderedDict)
    compiled = cache.get(key)
    if compiled is not None:
        cache.move_to_end(key)
        return compiled
    queryset = build().using(alias)
    compiler = queryset.query.get_compiler(using=alias)
    try:
        sql, query_params = compiler.as_sql()
    except EmptyResultSet:
        return None
    names = [*queryset.query.extra_select, *queryset.query.values_select, *queryset.query.annotation_select]
    positions = _positions(tuple(query_params), list(slots))
    columns = [column[0] for column in compiler.select[: compiler.col_count]]
    if (
        positions is None
        or names != list(queryset._fields or names)  # type: ignore[attr-defined]
        or compiler.has_composite_fields(columns)
    ):
        return queryset
    compiled = _Compiled(sql, tuple(query_params), positions, compiler, compiler.get_converters(columns))
    cache[key] = compiled
    if len(cache) > MAX_STATEMENTS:
        cache.popitem(last=False)
    return compiled


def _filled(compiled: _Compiled, slots: Sequence[Any]) -> list[Any]:
    """The parameters of ``compiled`` with ``slots`` in the places of the first call's values."""
    params = list(compiled.params)
    for position, value in zip(compiled.positions, slots, strict=True):
        params[position] = value
    return params


def _positions(params: tuple[Any, ...], prepared: Sequence[Any]) -> tuple[int, ...] | None:
    """The index of each prepared slot value in ``params``; ``None`` when one is ambiguous."""
    positions = []
    for value in prepared:
        found = [i for i, param in enumerate(params) if type(param) is type(value) and param == value]
        if len(found) != 1:
            return None
        positions.append(found[0])
    if len(set(positions)) != len(positions):
        return None
    return tuple(positions)


def _run(compiled: _Compiled, params: list[Any]) -> list[tuple[Any, ...]]:
    compiler = compiled.compiler
    with statement_cursor(compiler.connection) as cursor:
        cursor.execute(compiled.sql, params)
        rows = cursor.fetchall()
    if not compiled.converters:
        return [tuple(row) for row in rows]
    return [tuple(row) for row in compiler.apply_converters(rows, compiled.converters)]


#: The database vendors :class:`OffsetKeys` compiles on (``LIMIT n OFFSET %s``).
OFFSET_KEYS_VENDORS = frozenset({"postgresql", "sqlite"})


class OffsetKeys(Subquery):
    """The sliced ``queryset`` (``[offset : offset + n]``) as a subquery whose ``OFFSET`` is a
    parameter, so that one compiled statement serves every ``startIndex`` (the ORM writes the
    offset into the SQL text). ``n`` stays in the text: it belongs in the statement's key.
    Compiles on :data:`OFFSET_KEYS_VENDORS`."""

    def as_sql(self, compiler: Any, connection: Any, template: Any = None, **extra_context: Any) -> Any:
        query = self.query
        assert query.high_mark is not None
        sql, params = query.get_compiler(connection=connection).as_sql(with_limits=False)
        limit = int(query.high_mark - query.low_mark)
        return f"({sql} LIMIT {limit:d} OFFSET %s)", (*params, int(query.low_mark))


#: The attribute of a connection that holds its :func:`insert` and :func:`update` statements:
#: (kind, model, fields) -> the statement (``None``: saved through ``save()``).
_WRITES_ATTRIBUTE = "_scim_writes"


@dataclass(frozen=True)
class _Write:
    sql: str
    #: The fields whose values the statement takes, in order (an UPDATE's key comes last).
    fields: list[Field[Any, Any]]
    #: The INSERT's ``RETURNING`` of the automatic key, with the converters ``save()`` applies
    #: to it (``None``: nothing is read back).
    returning: tuple[Field[Any, Any], SQLCompiler, dict[int, Any]] | None = None


def insert(alias: str, obj: Model) -> None:
    """Save the new instance ``obj`` on database ``alias`` as ``obj.save(force_insert=True)``
    would, its ``INSERT`` compiled once per connection. An automatic key the instance lacks is
    read back with the row (``RETURNING``), as ``save()`` reads it.

    For the rows every write makes (a new resource's, its companion's, the provisioning log's):
    ``save()`` spent two thirds of its CPU building the statement, which the database then ran
    in a fraction of that. The values are the ones ``save()`` sends (each field's ``pre_save``
    and ``get_db_prep_save``). Where that would not be ``save()``'s whole work
    (:func:`_saves_plainly`; a value that is an expression; a related object whose key the
    instance has not taken) it is ``save()``.
    """
    model = type(obj)
    with_key = obj.pk is not None
    compiled = _write_statement(
        alias, ("insert", model, with_key), lambda: _insert_sql(alias, model, with_key)
    )
    values = None
    if compiled is not None and _saves_plainly(obj):
        values = _values(alias, obj, compiled.fields, add=True)
    if compiled is None or values is None:
        obj.save(using=alias, force_insert=True)
        return
    with statement_cursor(connections[alias]) as cursor:
        cursor.execute(compiled.sql, values)
        if compiled.returning is not None:
            field, compiler, converters = compiled.returning
            rows = [cursor.fetchone()]
            if converters:
                rows = list(compiler.apply_converters(rows, converters))
            setattr(obj, field.attname, rows[0][0])
    obj._state.adding = False
    obj._state.db = alias


@dataclass(frozen=True)
class Guard:
    """A ``values_list()`` query run with a write, whose finding any row refuses the write (a
    uniqueness clash): kept under ``key`` with ``slots`` as :func:`values_rows` keeps its SQL."""

    key: Hashable
    build: Callable[[], QuerySet[Any]]
    slots: Sequence[Any]


#: The names the rows :func:`insert_linked` writes go by in its statement (``WITH`` names hide
#: tables of the same name from the guards' SQL, so none a site would give a table).
_NEW_ROW = "scim__new_row"
_NEW_LINKED = "scim__new_linked"


def inserts_linked(alias: str) -> bool:
    """Whether :func:`insert_linked` can run on database ``alias`` (data-modifying ``WITH``)."""
    return connections[alias].vendor == "postgresql"


def insert_linked(
    alias: str, obj: Model, linked: Model, link: ForeignKey, guards: Sequence[Guard]
) -> list[bool] | None:
    """Insert the new instance ``obj`` and ``linked`` (whose foreign key ``link`` takes
    ``obj``'s new automatic key) in one statement on PostgreSQL, and run ``guards`` in it:
    whether each finds a row. ``None``, with nothing run, where :func:`insert` would not run
    both as plain statements, a guard's SQL is not kept, or the database is not PostgreSQL
    (data-modifying ``WITH``).

    The guards see the rows as they were before the statement, so not the new ones: a guard
    that finds a row says what it would have said before the ``INSERT``s, and the caller refuses
    the write by rolling its transaction back. For a new resource this is its uniqueness check,
    its row and its companion's: one round trip instead of three (measured in-process at
    100,000 users: 0.19-0.22 ms less of PostgreSQL's CPU and 0.35-0.41 ms less of the worker's
    per POST).
    """
    connection = connections[alias]
    model, linked_model = type(obj), type(linked)
    if not inserts_linked(alias) or obj.pk is not None or linked.pk is None:
        return None
    first = _write_statement(alias, ("insert", model, False), lambda: _insert_sql(alias, model, False))
    second = _write_statement(
        alias, ("insert", linked_model, True), lambda: _insert_sql(alias, linked_model, True)
    )
    if first is None or first.returning is None or second is None or link not in second.fields:
        return None
    if link.remote_field.model is not model or link.target_field is not model._meta.pk:
        return None
    if not _saves_plainly(obj) or not _saves_plainly(linked) or any(g.key is None for g in guards):
        return None
    compiled = [_compiled(alias, guard.key, guard.build, guard.slots) for guard in guards]
    checks = [found for found in compiled if isinstance(found, _Compiled)]
    if len(checks) != len(compiled):
        return None
    values = _values(alias, obj, first.fields, add=True)
    linked_fields = [field for field in second.fields if field is not link]
    linked_values = _values(alias, linked, linked_fields, add=True)
    if values is None or linked_values is None:
        return None
    key = ("insert-linked", model, linked_model, link, tuple(guard.key for guard in guards))
    sql = _write_statement(
        alias, key, lambda: _linked_sql(alias, first, second.fields, link, [c.sql for c in checks])
    )
    assert sql is not None
    params = [*values, *linked_values]
    for check, guard in zip(checks, guards, strict=True):
        params.extend(_filled(check, guard.slots))
    field, compiler, converters = first.returning
    with statement_cursor(connection) as cursor:
        cursor.execute(sql.sql, params)
        row = cursor.fetchone()
    assert row is not None
    rows = [row[:1]]
    if converters:
        rows = list(compiler.apply_converters(rows, converters))
    setattr(obj, field.attname, rows[0][0])
    setattr(linked, link.attname, rows[0][0])
    for instance in (obj, linked):
        instance._state.adding = False
        instance._state.db = alias
    return [bool(found) for found in row[1:]]


def _linked_sql(
    alias: str,
    first: _Write,
    linked_fields: Sequence[Field[Any, Any]],
    link: ForeignKey,
    guards: Sequence[str],
) -> _Write:
    """The statement of :func:`insert_linked`: ``first`` (an ``INSERT ... RETURNING`` the key),
    the linked row's ``INSERT`` taking that key, and one ``EXISTS`` per guard."""
    quote = connections[alias].ops.quote_name
    table = linked_fields[0].model._meta.db_table
    names = [field.column for field in linked_fields]
    columns = ", ".join(quote(name) for name in names if name is not None)
    assert None not in names
    placeholders = ", ".join(
        f"(SELECT * FROM {quote(_NEW_ROW)})" if field is link else "%s" for field in linked_fields
    )
    exists = "".join(f", EXISTS({guard})" for guard in guards)
    sql = (
        f"WITH {quote(_NEW_ROW)} AS ({first.sql}), "
        f"{quote(_NEW_LINKED)} AS (INSERT INTO {quote(table)} ({columns}) VALUES ({placeholders})) "
        f"SELECT *{exists} FROM {quote(_NEW_ROW)}"
    )
    return _Write(sql, [])


def update(alias: str, obj: Model, update_fields: Sequence[str]) -> None:
    """``obj.save(update_fields=update_fields)`` on database ``alias``: one ``UPDATE`` of those
    columns by primary key, compiled once per connection and list of fields (the changed
    columns of a resource, its companion's version and time on every write). ``DatabaseError``
    when no row has the key, as ``save()`` raises. Where that would not be ``save()``'s whole
    work (as for :func:`insert`) it is ``save()``."""
    model = type(obj)
    meta = model._meta
    key = ("update", model, tuple(update_fields))
    compiled = _write_statement(alias, key, lambda: _update_sql(alias, model, update_fields))
    values = None
    if compiled is not None and _saves_plainly(obj):
        values = _values(alias, obj, compiled.fields, add=False)
    if compiled is None or values is None:
        obj.save(using=alias, update_fields=update_fields)
        return
    assert meta.pk is not None
    connection = connections[alias]
    with statement_cursor(connection) as cursor:
        cursor.execute(compiled.sql, [*values, meta.pk.get_db_prep_value(obj.pk, connection)])
        if cursor.rowcount < 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    obj._state.adding = False
    obj._state.db = alias


def _saves_plainly(obj: Model) -> bool:
    """Whether ``save()`` of ``obj`` is only its statement, as far as the instance and the
    signals tell: the model's ``save()`` is Django's, or ``AbstractBaseUser.save()`` with no
    password change pending (it adds only the password validators' ``password_changed()``),
    and no ``pre_save``/``post_save`` receiver listens. What the model's fields tell is
    :func:`_plain_fields`, worked out with its SQL."""
    model = type(obj)
    save = model.save
    if save is AbstractBaseUser.save:
        if getattr(obj, "_password", None) is not None:
            return False
    elif save is not Model.save:
        return False
    return not pre_save.has_listeners(model) and not post_save.has_listeners(model)


def _plain_fields(model: type[Model]) -> list[Field[Any, Any]] | None:
    """The concrete fields of ``model`` when ``save()`` computes no column around its statement;
    ``None`` for parent models (multi-table inheritance), generated or database-default columns
    (read back), ``order_with_respect_to`` (counted first), generic relations, and relations
    other than a plain foreign key (see :func:`_values`)."""
    meta = model._meta
    if meta.parents or meta.private_fields or meta.order_with_respect_to is not None:
        return None
    fields = list(meta.local_concrete_fields)
    for field in fields:
        if field.generated or field.has_db_default():
            return None
        if field.is_relation and not isinstance(field, ForeignKey):
            return None
    return fields


def _values(alias: str, obj: Model, fields: Sequence[Field[Any, Any]], *, add: bool) -> list[Any] | None:
    """The parameters ``save()`` sends for ``fields`` on ``alias``; ``None`` when ``save()``
    would do more: a value is an expression (``F()``, a function: ``save()`` compiles it into
    the statement), or a foreign key's related object is unsaved (``save()`` refuses it) or has
    a key the instance has not taken (``save()`` takes it)."""
    for field in fields:
        if isinstance(field, ForeignKey) and field.is_cached(obj):
            related = field.get_cached_value(obj)
            if related is not None:
                target = getattr(related, field.target_field.attname)
                if target is None or target != getattr(obj, field.attname):
                    return None
    raw = [field.pre_save(obj, add) for field in fields]
    if any(hasattr(value, "resolve_expression") for value in raw):
        return None
    connection = connections[alias]
    return [field.get_db_prep_save(value, connection) for field, value in zip(fields, raw, strict=True)]


def _kept(alias: str, attribute: str, make: Callable[[], Any]) -> Any:
    """The statements kept on this thread's connection to ``alias`` under ``attribute``."""
    connection = connections[alias]
    kept = getattr(connection, attribute, None)
    if kept is None:
        kept = make()
        setattr(connection, attribute, kept)
    return kept


def _write_statement(alias: str, key: Hashable, build: Callable[[], _Write | None]) -> _Write | None:
    cache: dict[Hashable, _Write | None] = _kept(alias, _WRITES_ATTRIBUTE, dict)
    if key not in cache:
        cache[key] = build()
    return cache[key]


def _insert_sql(alias: str, model: type[Model], with_key: bool) -> _Write | None:
    """The one-row ``INSERT`` of ``model`` (with its key, or without an automatic one, which
    it returns) as Django's compiler writes it, with one parameter per field; ``None`` when
    it has others (a field's own placeholder), or when the database cannot return the key."""
    meta = model._meta
    concrete = _plain_fields(model)
    if concrete is None:
        return None
    fields = [f for f in concrete if with_key or f is not meta.auto_field]
    returns_key = not with_key and meta.auto_field is not None
    connection = connections[alias]
    if returns_key and not connection.features.can_return_columns_from_insert:
        return None
    query = InsertQuery(model)
    query.insert_values(fields, [model()])
    compiler = query.get_compiler(using=alias)
    if returns_key:
        assert meta.auto_field is not None
        compiler.returning_fields = [meta.auto_field]
    statements = compiler.as_sql()
    if len(statements) != 1 or len(statements[0][1]) != len(fields):
        return None
    returning = None
    if returns_key:
        assert meta.auto_field is not None
        converters = compiler.get_converters([meta.auto_field.get_col(meta.db_table)])
        returning = (meta.auto_field, compiler, converters)
    return _Write(statements[0][0], fields, returning)


def _update_sql(alias: str, model: type[Model], names: Sequence[str]) -> _Write | None:
    """``UPDATE <table> SET <column> = %s, ... WHERE <key> = %s`` for the fields ``names``;
    ``None`` for a field ``save(update_fields=...)`` would refuse or that has its own placeholder,
    and for a model with ``select_on_save`` (``save()`` reads the row first)."""
    meta = model._meta
    concrete = _plain_fields(model)
    if concrete is None or meta.select_on_save:
        return None
    fields: list[Field[Any, Any]] = []
    columns: list[str] = []
    for name in names:
        try:
            field = meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not isinstance(field, Field) or field not in concrete:
            return None
        if field.primary_key or field.column is None or hasattr(field, "get_placeholder"):
            return None
        fields.append(field)
        columns.append(field.column)
    if not fields or meta.pk is None or meta.pk.column is None:
        return None
    quote = connections[alias].ops.quote_name
    assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    return _Write(sql, fields)


def clear(alias: str) -> None:
    """Forget the statements compiled on this thread's connection to ``alias``, and the cursor
    they run on."""
    for attribute in (_CACHE_ATTRIBUTE, _WRITES_ATTRIBUTE, _CURSOR_ATTRIBUTE):
        if hasattr(connections[alias], attribute):
            delattr(connections[alias], attribute)
