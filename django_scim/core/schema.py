"""Schema definitions (RFC 7643 section 7) as frozen dataclasses.

The core schemas (User, Group, EnterpriseUser: RFC 7643 sections 4 and 8.7.1) are encoded once,
as data, in ``core/schemas/*.json``, in the very representation ``/Schemas`` serves; a site's
own extension or resource schema is written the same way (in JSON or with these classes).
Attribute lookup is case-insensitive (RFC 7643 section 2.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .constants import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    SCHEMA_SCHEMA,
    USER_SCHEMA,
    AttributeType,
    Mutability,
    Returned,
    Uniqueness,
)


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute definition (RFC 7643 section 7, ``attributes``)."""

    name: str
    type: AttributeType = AttributeType.STRING
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = Mutability.READ_WRITE
    returned: Returned = Returned.DEFAULT
    uniqueness: Uniqueness = Uniqueness.NONE
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    _index: dict[str, Attribute] = field(default_factory=dict, init=False, repr=False, compare=False)
    #: Every sub-attribute is returned by default (none ``never``, ``request`` or writeOnly): a
    #: response returns a value of this attribute whole unless the request names parts of it.
    returned_whole: bool = field(default=True, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for sub in self.sub_attributes:
            self._index[sub.name.lower()] = sub
        whole = all(
            sub.returned in (Returned.DEFAULT, Returned.ALWAYS)
            and sub.mutability is not Mutability.WRITE_ONLY
            for sub in self.sub_attributes
        )
        object.__setattr__(self, "returned_whole", whole)

    def sub_attribute(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name`` (any case), or ``None``."""
        return self._index.get(name.lower())

    @property
    def is_complex(self) -> bool:
        return self.type is AttributeType.COMPLEX

    def to_dict(self) -> dict[str, Any]:
        """The RFC 7643 section 7 representation, as ``/Schemas`` serves it."""
        data: dict[str, Any] = {
            "name": self.name,
            "type": str(self.type),
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
        }
        if self.is_complex:
            data["subAttributes"] = [sub.to_dict() for sub in self.sub_attributes]
        else:
            data["caseExact"] = self.case_exact
        if self.canonical_values:
            data["canonicalValues"] = list(self.canonical_values)
        if self.type is AttributeType.REFERENCE:
            data["referenceTypes"] = list(self.reference_types)
        data["mutability"] = str(self.mutability)
        data["returned"] = str(self.returned)
        if not self.is_complex:
            data["uniqueness"] = str(self.uniqueness)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attribute:
        """Build an attribute from its RFC 7643 section 7 representation (defaults per section 2.2)."""
        return cls(
            name=data["name"],
            type=AttributeType(data.get("type", "string")),
            multi_valued=bool(data.get("multiValued", False)),
            description=data.get("description", ""),
            required=bool(data.get("required", False)),
            case_exact=bool(data.get("caseExact", False)),
            mutability=Mutability(data.get("mutability", "readWrite")),
            returned=Returned(data.get("returned", "default")),
            uniqueness=Uniqueness(data.get("uniqueness", "none")),
            canonical_values=tuple(data.get("canonicalValues", ())),
            reference_types=tuple(data.get("referenceTypes", ())),
            sub_attributes=tuple(cls.from_dict(sub) for sub in data.get("subAttributes", ())),
        )


@dataclass(frozen=True, slots=True)
class Schema:
    """A schema: its URN ``id`` and its top-level attributes (RFC 7643 section 7)."""

    id: str
    name: str
    description: str = ""
    attributes: tuple[Attribute, ...] = ()
    _index: dict[str, Attribute] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for attr in self.attributes:
            self._index[attr.name.lower()] = attr

    def attribute(self, name: str) -> Attribute | None:
        """The top-level attribute called ``name`` (any case), or ``None``."""
        return self._index.get(name.lower())

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self.attributes)

    def to_dict(self) -> dict[str, Any]:
        """The ``/Schemas/{id}`` representation, ``meta`` aside."""
        return {
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [attr.to_dict() for attr in self.attributes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            description=data.get("description", ""),
            attributes=tuple(Attribute.from_dict(a) for a in data.get("attributes", ())),
        )


@dataclass(frozen=True, slots=True)
class SchemaExtension:
    """A schema extension of a resource type (RFC 7643 section 6, ``schemaExtensions``)."""

    schema: Schema
    required: bool = False


@dataclass(frozen=True, slots=True)
class ResourceType:
    """A resource type (RFC 7643 section 6): its core schema and its extensions."""

    name: str
    endpoint: str
    schema: Schema
    extensions: tuple[SchemaExtension, ...] = ()
    description: str = ""

    @property
    def schema_ids(self) -> tuple[str, ...]:
        return (self.schema.id, *(ext.schema.id for ext in self.extensions))

    def extension(self, urn: str) -> SchemaExtension | None:
        """The extension whose URN is ``urn`` (URNs compare case-insensitively), or ``None``."""
        urn = urn.lower()
        for ext in self.extensions:
            if ext.schema.id.lower() == urn:
                return ext
        return None

    def schemas(self) -> Iterable[Schema]:
        yield self.schema
        for ext in self.extensions:
            yield ext.schema


#: RFC 7643 section 3.1: ``id``, ``externalId`` and ``meta`` belong to every resource; the
#: schema representations leave them out, the document rules need them.
COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "id",
        case_exact=True,
        mutability=Mutability.READ_ONLY,
        returned=Returned.ALWAYS,
        uniqueness=Uniqueness.SERVER,
    ),
    Attribute("externalId", case_exact=True),
    Attribute(
        "meta",
        type=AttributeType.COMPLEX,
        mutability=Mutability.READ_ONLY,
        sub_attributes=(
            Attribute("resourceType", case_exact=True, mutability=Mutability.READ_ONLY),
            Attribute("created", type=AttributeType.DATETIME, mutability=Mutability.READ_ONLY),
            Attribute("lastModified", type=AttributeType.DATETIME, mutability=Mutability.READ_ONLY),
            Attribute(
                "location",
                type=AttributeType.REFERENCE,
                reference_types=("uri",),
                case_exact=True,
                mutability=Mutability.READ_ONLY,
            ),
            Attribute("version", case_exact=True, mutability=Mutability.READ_ONLY),
        ),
    ),
)
COMMON_ATTRIBUTE_INDEX: dict[str, Attribute] = {a.name.lower(): a for a in COMMON_ATTRIBUTES}


@cache
def builtin_schema(urn: str) -> Schema:
    """One of the schemas RFC 7643 defines, loaded from ``core/schemas/``."""
    files = {
        USER_SCHEMA: "user.json",
        GROUP_SCHEMA: "group.json",
        ENTERPRISE_USER_SCHEMA: "enterprise_user.json",
    }
    text = resources.files(__package__).joinpath("schemas", files[urn]).read_text("utf-8")
    return Schema.from_dict(json.loads(text))


def load_schema(text: str) -> Schema:
    """A schema from JSON text in the RFC 7643 section 7 representation."""
    return Schema.from_dict(json.loads(text))
