"""The default User adapter: ``AUTH_USER_MODEL`` (contrib.auth's User or a custom one)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models

from ..core.constants import ENTERPRISE_USER_SCHEMA, USER_SCHEMA
from ..orm.compiler import RelationLookup
from ..orm.mapping import AttributeMapping, Field, Password, PrimaryValue
from .base import ResourceAdapter
from .registry import get_adapter, is_served


class UserAdapter(ResourceAdapter):
    """Serves ``AUTH_USER_MODEL`` as the SCIM User resource type (RFC 7643 section 4.1).

    The default map follows the user model: ``userName`` -> ``USERNAME_FIELD``,
    ``name.givenName`` / ``name.familyName`` -> ``first_name`` / ``last_name``, the primary of
    ``emails`` -> ``EMAIL_FIELD``, ``active`` -> ``is_active`` and ``password`` -> the hashed
    password, each where the model has the field. Everything else (the other RFC 7643 section
    4.1 attributes, the enterprise extension, custom extensions) is kept in the companion's
    JSONField. ``groups`` (readOnly) lists the memberships of the ``group_resource_type``.
    """

    name = "User"
    endpoint = "Users"
    description = "User Account"
    schema = USER_SCHEMA
    extensions = ((ENTERPRISE_USER_SCHEMA, False),)
    companion_model = "django_scim.ScimUser"
    #: ``None``: derived from the user model by :meth:`default_attribute_map`.
    attribute_map: Mapping[str, AttributeMapping | str] | None = None  # type: ignore[assignment]
    #: The resource type whose members these users are (its adapter's ``members_relation``).
    group_resource_type = "Group"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.attribute_map is None:
            self.attribute_map = self.default_attribute_map()
        super().__init__(*args, **kwargs)

    def get_model(self) -> type[models.Model]:
        if not self.model:
            return get_user_model()
        return super().get_model()

    @property
    def display_field(self) -> str:  # type: ignore[override]
        return self.get_model().USERNAME_FIELD  # type: ignore[attr-defined,no-any-return]

    def default_attribute_map(self) -> dict[str, AttributeMapping | str]:
        model = self.get_model()
        fields = {f.name for f in model._meta.get_fields()}
        username = model.USERNAME_FIELD  # type: ignore[attr-defined]
        email = model.get_email_field_name()  # type: ignore[attr-defined]
        candidates: list[tuple[str, str, AttributeMapping]] = [
            ("userName", username, Field(username)),
            ("name.givenName", "first_name", Field("first_name")),
            ("name.familyName", "last_name", Field("last_name")),
            ("emails", email, PrimaryValue(email)),
            ("active", "is_active", Field("is_active")),
            ("password", "password", Password()),
        ]
        mapping: dict[str, AttributeMapping | str] = {}
        used: set[str] = set()
        for path, field, value in candidates:
            if field in fields and field not in used:
                mapping[path] = value
                used.add(field)
        return mapping

    def load_relations(self, objs: Sequence[models.Model]) -> dict[str, dict[Any, list[dict[str, Any]]]]:
        if not objs or not is_served(self.group_resource_type):
            return {}
        groups = get_adapter(self.group_resource_type, self.request)
        relation = groups.members_relation  # type: ignore[attr-defined]
        rows = list(
            groups.get_model()
            ._default_manager.filter(**{f"{relation}__in": [o.pk for o in objs]})
            .order_by("pk")
            .values_list(relation, "pk", groups.display_field, f"{groups.companion_accessor}__id")  # type: ignore[misc]
        )
        # Group ids come with the rows (one query); only groups made outside SCIM need more.
        ids = {row[1]: str(row[3]) for row in rows if row[3] is not None}
        ids.update(groups.companion_ids({row[1] for row in rows if row[3] is None}))
        result: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for user_pk, group_pk, display, _companion in rows:
            scim_id = ids[group_pk]
            result[user_pk].append(
                {"value": scim_id, "$ref": groups.location(scim_id), "display": display, "type": "direct"}
            )
        return {"groups": result}

    def relation_lookups(self) -> dict[str, RelationLookup]:
        if not is_served(self.group_resource_type):
            return {}
        groups = get_adapter(self.group_resource_type, self.request)
        return {
            # RFC 7643 section 4.1.2: a user's groups; rendered with type "direct" (load_relations).
            "groups": RelationLookup(
                model=groups.get_model(),
                link=groups.members_relation,  # type: ignore[attr-defined]
                lookups={
                    "value": f"{groups.companion_accessor}__id",
                    "display": groups.display_field or "pk",
                },
                constants={"type": "direct"},
            )
        }

    def pre_delete(self, obj: models.Model) -> None:
        # The groups this user leaves change too: new versions for their ETags.
        if is_served(self.group_resource_type):
            groups = get_adapter(self.group_resource_type, self.request)
            relation = groups.members_relation  # type: ignore[attr-defined]
            pks = groups.get_model()._default_manager.filter(**{relation: obj}).values_list("pk", flat=True)
            groups.bump_versions(pks)
