"""The default Group adapter: ``django.contrib.auth`` groups, or any group-like model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import models

from ..core.constants import GROUP_SCHEMA
from ..core.errors import InvalidValue
from ..orm.mapping import AttributeMapping, Field
from .base import ResourceAdapter
from .registry import get_adapter


class GroupAdapter(ResourceAdapter):
    """Serves a group model as the SCIM Group resource type (RFC 7643 section 4.2).

    ``members`` is the many-to-many relation named by :attr:`members_relation` (its query name
    on the group model: ``"user"`` for ``auth.Group``, ``"members"`` for a ``Team`` with
    ``members = ManyToManyField(User)``). A Team needs no code, only settings::

        SCIM = {"RESOURCE_TYPES": {"Group": {
            "ADAPTER": "django_scim.adapters.groups.GroupAdapter",
            "MODEL": "teams.Team",
            "COMPANION_MODEL": "teams.TeamScim",
            "MEMBERS_RELATION": "members",
            "DISPLAY_FIELD": "title",
            "ATTRIBUTE_MAP": {"displayName": "title"},
        }}}
    """

    name = "Group"
    endpoint = "Groups"
    description = "Group"
    schema = GROUP_SCHEMA
    model = "auth.Group"
    companion_model = "django_scim.ScimGroup"
    attribute_map: Mapping[str, AttributeMapping | str] = {"displayName": Field("name")}
    display_field = "name"
    relation_attributes = ("members",)
    #: Query name of the members relation on the group model.
    members_relation = "user"
    #: The resource type of members.
    member_resource_type = "User"

    def member_adapter(self) -> ResourceAdapter:
        return get_adapter(self.member_resource_type, self.request)

    def members_manager(self, obj: models.Model) -> Any:
        """The related manager of ``obj``'s members (``group.user_set``, ``team.members``)."""
        field = self.get_model()._meta.get_field(self.members_relation)
        accessor = field.get_accessor_name() if isinstance(field, models.ForeignObjectRel) else field.name
        return getattr(obj, accessor)

    def load_relations(self, objs: Sequence[models.Model]) -> dict[str, dict[Any, list[dict[str, Any]]]]:
        if not objs:
            return {}
        members = self.member_adapter()
        relation = self.members_relation
        rows = list(
            self.get_model()
            ._default_manager.filter(pk__in=[o.pk for o in objs], **{f"{relation}__isnull": False})
            .order_by("pk", f"{relation}__pk")
            .values_list("pk", relation, f"{relation}__{members.display_field}")
        )
        ids = members.companion_ids({row[1] for row in rows})
        result: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for group_pk, member_pk, display in rows:
            scim_id = ids[member_pk]
            result[group_pk].append(
                {
                    "value": scim_id,
                    "$ref": members.location(scim_id),
                    "display": display,
                    "type": members.name,
                }
            )
        return {"members": result}

    def relation_lookups(self) -> dict[str, dict[str, str]]:
        members = self.member_adapter()
        relation = self.members_relation
        return {
            "members": {
                "value": f"{relation}__{members.companion_accessor}__id",
                "display": f"{relation}__{members.display_field}",
            }
        }

    def member_query_name(self) -> str:
        """The query name from a member model to this group model (``groups`` on auth.User)."""
        field = self.get_model()._meta.get_field(self.members_relation)
        if isinstance(field, models.ForeignObjectRel):
            return field.field.name
        return field.related_query_name()  # type: ignore[union-attr]

    def member_pks(self, values: Any) -> set[Any]:
        """Model keys of the members a request names; unknown ids -> 400 invalidValue."""
        if not values:
            return set()
        ids = [item.get("value") for item in values if isinstance(item, Mapping)]
        if len(ids) != len(values) or any(not isinstance(v, str) for v in ids):
            raise InvalidValue("Each member needs a string 'value' with the member's id.")
        found = self.member_adapter().resolve_ids(ids)
        unknown = sorted(set(ids) - set(found))
        if unknown:
            raise InvalidValue(f"Unknown member id(s): {', '.join(unknown[:10])}.")
        return set(found.values())

    def save_relations(self, obj: models.Model, values: Mapping[str, Any], *, created: bool) -> None:
        wanted = self.member_pks(values.get("members"))
        manager = self.members_manager(obj)
        current = set() if created else set(manager.values_list("pk", flat=True))
        added, removed = wanted - current, current - wanted
        if added:
            manager.add(*added)
        if removed:
            manager.remove(*removed)
        # A member's ``groups`` attribute changed: new versions for their ETags.
        self.member_adapter().bump_versions(added | removed)

    def pre_delete(self, obj: models.Model) -> None:
        self.member_adapter().bump_versions(self.members_manager(obj).values_list("pk", flat=True))
