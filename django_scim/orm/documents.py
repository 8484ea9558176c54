"""Resources of a page written as SCIM JSON by PostgreSQL, one text per row (issue 7).

A page of 100 users spent two thirds of its time in Python on documents: making instances of
the rows, decoding their JSON and timestamps, applying the attribute map, projecting and
encoding the result again. For the attribute maps whose reads are plain columns (this package's
:class:`~django_scim.orm.mapping.Field`, :class:`~django_scim.orm.mapping.PrimaryValue` and
:class:`~django_scim.orm.mapping.Password`), :class:`DocumentText` has the database write the
document that the Python render and projection make of a row (the stored JSON's own members
and the members it writes from the columns, joined as text), and the response embeds that text
as it is (:class:`JSONText`).

The SQL follows the render path only where its result is the same, and it says so for each row
in a condition: rows whose stored JSON holds anything that the render or the projection would
change (an empty object, a key that the document sets itself, an attribute the projection does
not return whole, an undeclared extension, a ``PrimaryValue`` list whose main value differs
from its column, a row without its companion...) come back as ``NULL``, and the caller renders
those in Python. Relation-backed attributes (a user's ``groups``) are not written here: the
caller adds them to the text (:class:`MemberWriter`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import NotSupportedError
from django.db.models import F, Func, TextField

#: The database vendors :class:`DocumentText` compiles on.
DOCUMENT_VENDORS = frozenset({"postgresql"})

#: Top-level keys a render writes whatever the stored JSON holds: a stored key that is one of
#: these (in any case) would stand beside, or in place of, the rendered one.
RESERVED_KEYS = frozenset({"schemas", "id", "externalid", "meta"})


class JSONText(str):
    """A JSON value already encoded, for a renderer to embed as it is."""

    __slots__ = ()


@dataclass(frozen=True)
class DocumentShape:
    """What :class:`DocumentText` writes: everything but the columns it reads.

    Keys are the document's own (``"userName"``), in the attribute map's spelling.
    """

    #: The core schema's URN, the first of ``schemas``.
    core: str
    #: ``meta.resourceType``.
    resource_type: str
    #: ``meta.location``: the text before and after the SCIM id.
    location: tuple[str, str]
    #: Top-level :class:`~django_scim.orm.mapping.Field` attributes: ``(key, column role,
    #: text)``; ``text``: a text column, whose ``""`` is no value.
    fields: tuple[tuple[str, str, bool], ...]
    #: Sub-attribute fields: ``(parent key, ((key, column role, text), ...))``.
    nested: tuple[tuple[str, tuple[tuple[str, str, bool], ...]], ...]
    #: :class:`~django_scim.orm.mapping.PrimaryValue` attributes: ``(key, column role, type)``.
    primary: tuple[tuple[str, str, str], ...]
    #: Keys the render sets or removes whatever is stored (the mapped ones, the relations,
    #: :class:`~django_scim.orm.mapping.Password`): their stored values are dropped.
    replaced: tuple[str, ...]
    #: Of the rendered attributes, those the projection leaves out.
    omitted: frozenset[str]
    #: Lower-cased names of the attributes the projection does not return whole (core and
    #: common ones; ``"<urn>:<name>"`` of the extensions'): a stored one makes the row fall back.
    partial: frozenset[str]
    #: The URNs of the declared extensions, in the order of jsonb's keys (shorter first).
    containers: tuple[str, ...]
    #: ``(role, lookup)`` of every column read: :data:`COMPANION_ROLES` (on the companion) and
    #: the roles named above (on the resource's model).
    columns: tuple[tuple[str, str], ...]


#: The companion's columns :class:`DocumentText` reads, by role.
COMPANION_ROLES = ("id", "external_id", "version", "created", "last_modified", "attributes")


class DocumentText(Func):
    """The document (``text``) of a resource's row, or ``NULL`` where the Python render must
    make it (see the module). PostgreSQL only.

    It reads the columns of ``shape.columns``.
    """

    output_field = TextField()

    def __init__(self, shape: DocumentShape) -> None:
        self.shape = shape
        self.roles = tuple(role for role, _lookup in shape.columns)
        super().__init__(*(F(lookup) for _role, lookup in shape.columns))

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        raise NotSupportedError("DocumentText is written for PostgreSQL only (DOCUMENT_VENDORS).")

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        columns: dict[str, str] = {}
        for role, expression in zip(self.roles, self.get_source_expressions(), strict=True):
            sql, params = compiler.compile(expression)
            if params:
                raise NotSupportedError("DocumentText reads plain columns only.")
            columns[role] = sql
        return _Writer(self.shape, columns).sql()


class _Writer:
    """The SQL of one :class:`DocumentText`, its parameters in the order they appear."""

    def __init__(self, shape: DocumentShape, columns: dict[str, str]) -> None:
        self.shape = shape
        self.col = columns
        self.params: list[Any] = []
        self.stored = f"COALESCE({columns['attributes']}, '{{}}'::jsonb)"

    def param(self, value: Any, cast: str = "") -> str:
        self.params.append(value)
        return f"%s{cast}"

    @staticmethod
    def key(name: str) -> str:
        """A document key as an SQL literal."""
        return f"'{_plain(name)}'::text"

    def sql(self) -> tuple[str, list[Any]]:
        condition = self.condition()
        document = self.document()
        return f"CASE WHEN {condition} THEN {document} END", self.params

    # -- the condition: the row renders in SQL as in Python ---------------------------------

    def condition(self) -> str:
        shape, attributes = self.shape, self.col["attributes"]
        parts = [
            f"{self.col['id']} IS NOT NULL",
            f"({attributes} IS NULL OR jsonb_typeof({attributes}) = 'object')",
            f"NOT jsonb_path_exists({self.stored}, {self.param(unfit_path(shape))}::jsonpath)",
        ]
        for key, role, _type in shape.primary:
            value = f"({self.stored} -> {self.key(key)})"
            primary = f"jsonb_path_query_first({value}, 'strict $[*] ? (@.primary == true)')"
            main = f"COALESCE({primary}, {value} -> 0)"
            # A stored list is the attribute's value when its main element holds the column's
            # value (PrimaryValue.read).
            parts.append(
                f"(jsonb_typeof({value}) IS DISTINCT FROM 'array' OR jsonb_array_length({value}) = 0"
                f" OR COALESCE(({main} -> 'value') = to_jsonb(COALESCE({self.col[role]}, '')::text), false))"
            )
        return "(" + " AND ".join(parts) + ")"

    # -- the document -----------------------------------------------------------------------

    @staticmethod
    def timestamp(column: str) -> str:
        """``datetime.isoformat()`` in UTC with ``Z``: microseconds only when there are some."""
        return (
            f"replace(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
            " '.000000Z', 'Z')"
        )

    def fragment(self, text: str) -> str:
        """JSON text the document holds as it is (a parameter)."""
        return self.param(text, "::text")

    def member(self, key: str, json_value: str) -> str:
        """One member ``"key": value`` as text."""
        return f"'\"{_plain(key)}\": ' || ({json_value})::text"

    def column(self, key: str, role: str, text: bool) -> str:
        """The member of a column's value; ``NULL`` (none) for ``NULL`` and, in a text column,
        ``""`` (:class:`~django_scim.orm.mapping.Field` reads no value)."""
        column = self.col[role]
        if text:
            return f"CASE WHEN {column} <> '' THEN {self.member(key, f'to_json({column})')} END"
        return self.member(key, f"to_json({column})")

    def document(self) -> str:
        """The document as text: its members written one by one and joined in one object
        (cheaper than building ``json`` or ``jsonb`` values). Their keys are distinct: the
        stored keys that the document sets itself are left out of the stored object
        (:attr:`DocumentShape.replaced`), or make the row fall back (``RESERVED_KEYS``).
        Parameters are taken in the order the text has them."""
        shape, col = self.shape, self.col
        scim_id = f"{col['id']}::text"
        # The extensions' URNs as the stored keys spell them, in jsonb's order.
        core = self.fragment(json.dumps(shape.core))
        present = "".join(
            f" || CASE WHEN {self.stored} ? {self.param(urn)}::text"
            f" THEN {self.fragment(', ' + json.dumps(urn))} ELSE '' END"
            for urn in shape.containers
        )
        members = [f"'\"schemas\": [' || {core}{present} || '], \"id\": \"' || {scim_id} || '\"'"]
        if "externalid" not in shape.omitted:
            members.append(self.column("externalId", "external_id", True))
        stored = f"{self.stored} - {self.param(list(shape.replaced), '::text[]')}"
        members.append(f"NULLIF(left(substr(({stored})::text, 2), -1), '')")
        for key, role, text in shape.fields:
            if key.lower() not in shape.omitted:
                members.append(self.column(key, role, text))
        for parent, subs in shape.nested:
            if parent.lower() in shape.omitted:
                continue
            value = f"({self.stored} -> {self.key(parent)})"
            keys = "ARRAY[" + ", ".join(self.key(key) for key, _role, _text in subs) + "]"
            pairs = ", ".join(f"{self.key(key)}, {self.scalar(role, text)}" for key, role, text in subs)
            # The stored object holds no null (unfit_path): stripping nulls strips only the
            # columns' values that are none.
            merged = (
                f"(CASE WHEN jsonb_typeof({value}) = 'object' THEN {value} ELSE '{{}}'::jsonb END - {keys})"
                f" || jsonb_strip_nulls(jsonb_build_object({pairs}))"
            )
            members.append(f"CASE WHEN {merged} <> '{{}}'::jsonb THEN {self.member(parent, merged)} END")
        for key, role, default_type in shape.primary:
            if key.lower() in shape.omitted:
                continue
            value = f"({self.stored} -> {self.key(key)})"
            column = col[role]
            primary_tail = ", " + json.dumps({"type": default_type, "primary": True})[1:] + "]"
            built = "'[{\"value\": ' || to_json(" + column + ")::text || " + self.fragment(primary_tail)
            members.append(
                f"CASE WHEN jsonb_typeof({value}) = 'array' AND jsonb_array_length({value}) > 0"
                f" THEN {self.member(key, value)}"
                f" WHEN COALESCE({column}, '') <> '' THEN {self.member(key, built)} END"
            )
        if "meta" not in shape.omitted:
            head, tail = shape.location
            created = self.fragment(json.dumps({"resourceType": shape.resource_type})[:-1] + ', "created": "')
            modified = self.fragment('", "lastModified": "')
            location = self.fragment('", "location": ' + json.dumps(head)[:-1])
            version = self.fragment(json.dumps(tail)[1:] + ', "version": "W/\\"')
            close = self.fragment('\\""}')
            meta = (
                f"{created} || {self.timestamp(col['created'])} || {modified}"
                f" || {self.timestamp(col['last_modified'])} || {location} || {scim_id} || {version}"
                f" || {col['version']}::text || {close}"
            )
            members.append(self.member("meta", meta))
        return "'{' || concat_ws(', ', " + ", ".join(members) + ") || '}'"

    def scalar(self, role: str, text: bool) -> str:
        return f"NULLIF({self.col[role]}, '')" if text else self.col[role]


_LITERAL_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]*|\$ref")


def literal_key(name: str) -> bool:
    """Whether :class:`DocumentText` can write the document key ``name`` (an attribute name of
    RFC 7643 section 2.1's ``ATTRNAME``, or ``$ref``)."""
    return _LITERAL_KEY.fullmatch(name) is not None


def _plain(name: str) -> str:
    """``name``, which goes into the SQL text as it is: :func:`literal_key` names only."""
    if not literal_key(name):
        raise NotSupportedError(f"DocumentText: {name!r} is not a plain attribute name.")
    return name


def _regex(names: Iterable[str]) -> str:
    """A PostgreSQL regular expression matching exactly ``names`` (its special characters
    escaped: a backslash before any other character would be an escape of its own)."""
    return "^(" + "|".join(re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", name) for name in sorted(names)) + ")$"


def _string(text: str) -> str:
    """``text`` as a JSON path string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unfit_values(item: str) -> str:
    """A JSON path predicate: ``item``'s value is one that ``document._whole_value`` changes
    (an empty object or array, an array holding an empty object or an array)."""
    return (
        f'({item}.type() == "object" && !exists({item}.keyvalue()))'
        f' || ({item}.type() == "array" && ({item}.size() == 0 || exists({item}[*] ? (@.type() == "array"'
        ' || (@.type() == "object" && !exists(@.keyvalue()))))))'
    )


def unfit_path(shape: DocumentShape) -> str:
    """The JSON path that finds, in a row's stored JSON, what makes the SQL document differ
    from the Python one (:class:`DocumentText` writes ``NULL`` for the row then)."""
    top = {name for name in shape.partial if ":" not in name} | RESERVED_KEYS
    replaced = " || ".join(f"@.key == {_string(key)}" for key in shape.replaced) or "1 == 0"
    containers = []
    for urn in shape.containers:
        prefix = urn.lower() + ":"
        denied = [name[len(prefix) :] for name in shape.partial if name.startswith(prefix)]
        inner = f'@.key like_regex {_string(_regex(denied))} flag "i" || ' if denied else ""
        # The URN as the resource type spells it (schemas lists it so): another spelling falls back.
        containers.append(
            f'(@.key == {_string(urn)} && @.value.type() == "object"'
            f" && !exists(@.value.keyvalue() ? ({inner}{_unfit_values('@.value')})))"
        )
    declared = " || ".join(containers) or "1 == 0"
    unfit = [
        # A key the render keeps, which the projection does not return whole.
        f'(!({replaced}) && (@.key like_regex {_string(_regex(top))} flag "i" || {_unfit_values("@.value")}'
        f' || (@.key like_regex "^urn:" flag "i" && !({declared}))))'
    ]
    for parent, _subs in shape.nested:
        unfit.append(
            f"(@.key == {_string(parent)}"
            ' && (@.value.type() != "object" || exists(@.value.** ? (@ == null))))'
        )
    for key, _role, _type in shape.primary:
        unfit.append(
            f'(@.key == {_string(key)} && @.value.type() == "array"'
            ' && exists(@.value[*] ? (@.type() != "object" || !exists(@.keyvalue()))))'
        )
    return f"strict $.keyvalue() ? ({' || '.join(unfit)})"


class MemberWriter:
    """Adds members to written documents (:meth:`add`), each distinct value object (by
    identity: the values of a relation repeat across a page, e.g. a group in its members'
    ``groups``) encoded once."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}

    def _text(self, item: Any) -> str:
        found = self._texts.get(id(item))
        if found is None:
            # The object is kept with its text, so that its id() is not reused meanwhile.
            found = self._texts[id(item)] = (
                item,
                json.dumps(item, ensure_ascii=False, separators=(",", ":")),
            )
        return found[1]

    def add(self, document: JSONText, key: str, values: Sequence[Any]) -> JSONText:
        """``document`` (a JSON object's text, without ``key``) with ``key`` set to the list
        ``values``."""
        member = f"{json.dumps(key)}:[" + ",".join(map(self._text, values)) + "]"
        return JSONText(f"{document[:-1]}, {member}}}" if document != "{}" else f"{{{member}}}")


def encode_list(head: bytes, resources: Sequence[bytes]) -> bytes:
    """The JSON object ``head`` (encoded) with ``"Resources"`` (encoded elements) added last."""
    body = b'"Resources":[' + b",".join(resources) + b"]"
    return head[:-1] + (b"," if head != b"{}" else b"") + body + b"}"
