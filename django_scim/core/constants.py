"""Schema URNs, the media type and the enumerations of RFC 7643 / RFC 7644."""

from __future__ import annotations

from enum import StrEnum

MEDIA_TYPE = "application/scim+json"

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

#: Attributes every resource has, whatever its schema (RFC 7643 section 3.1).
COMMON_ATTRIBUTES = ("id", "externalId", "meta", "schemas")


class AttributeType(StrEnum):
    """RFC 7643 section 2.3 data types."""

    STRING = "string"
    BOOLEAN = "boolean"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATETIME = "dateTime"
    BINARY = "binary"
    REFERENCE = "reference"
    COMPLEX = "complex"


class Mutability(StrEnum):
    """RFC 7643 section 7, ``mutability``."""

    READ_ONLY = "readOnly"
    READ_WRITE = "readWrite"
    IMMUTABLE = "immutable"
    WRITE_ONLY = "writeOnly"


class Returned(StrEnum):
    """RFC 7643 section 7, ``returned``."""

    ALWAYS = "always"
    NEVER = "never"
    DEFAULT = "default"
    REQUEST = "request"


class Uniqueness(StrEnum):
    """RFC 7643 section 7, ``uniqueness``."""

    NONE = "none"
    SERVER = "server"
    GLOBAL = "global"


class ScimType(StrEnum):
    """RFC 7644 section 3.12, Table 9: the ``scimType`` error keywords."""

    INVALID_FILTER = "invalidFilter"
    TOO_MANY = "tooMany"
    UNIQUENESS = "uniqueness"
    MUTABILITY = "mutability"
    INVALID_SYNTAX = "invalidSyntax"
    INVALID_PATH = "invalidPath"
    NO_TARGET = "noTarget"
    INVALID_VALUE = "invalidValue"
    INVALID_VERS = "invalidVers"
    SENSITIVE = "sensitive"
    # RFC 9865 section 3.1 (cursor paging)
    INVALID_CURSOR = "invalidCursor"
    EXPIRED_CURSOR = "expiredCursor"
    INVALID_COUNT = "invalidCount"
