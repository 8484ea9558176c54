"""The default Group adapter: ``django.contrib.auth`` groups, or any group-like model."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models, router
from django.db.models import Exists, OuterRef, QuerySet

from .. import signals
from ..conf import scim_settings
from ..core import patch as scim_patch
from ..core.constants import GROUP_SCHEMA
from ..core.errors import InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue, NoTarget, Uniqueness
from ..core.errors import Mutability as MutabilityError
from ..core.filter import Compare, Filter, Or, matches_element
from ..orm.compiler import RelationLookup
from ..orm.keys import key_in
from ..orm.mapping import AttributeMapping, Field
from ..orm.statements import db_value, db_values, values_rows
from .base import ResourceAdapter, canonical_ids, with_id_text


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
        """The adapter of the member resource type, for this adapter's request (made once: a
        membership PATCH asks for it to resolve the ids and to bump their versions)."""
        return self._peer_adapter(self.member_resource_type)

    def members_field(self) -> tuple[models.ManyToManyField[Any, Any], bool]:
        """The many-to-many field of the members relation (:attr:`members_relation`), and
        whether the member model declares it (``auth.User.groups``) rather than the group model
        (``Team.members``). ``ImproperlyConfigured`` for anything else (system check E003)."""
        model = self.get_model()
        try:
            field = model._meta.get_field(self.members_relation)
        except FieldDoesNotExist as exc:
            raise ImproperlyConfigured(
                f"{model._meta.label} has no relation {self.members_relation!r}"
            ) from exc
        declared_by_member = isinstance(field, models.ForeignObjectRel)
        m2m = field.field if isinstance(field, models.ForeignObjectRel) else field
        if not isinstance(m2m, models.ManyToManyField):
            raise ImproperlyConfigured(
                f"{model._meta.label}.{self.members_relation} is not a many-to-many relation"
            )
        if declared_by_member and m2m.remote_field.get_accessor_name() is None:
            raise ImproperlyConfigured(
                f"{m2m} has no reverse accessor on {model._meta.label} (related_name '+')"
            )
        return m2m, declared_by_member

    def check_configuration(self) -> list[str]:
        problems = super().check_configuration()
        try:
            self.members_field()
        except ImproperlyConfigured as exc:
            problems.append(f"members_relation: {exc}")
        return problems

    def members_manager(self, obj: models.Model) -> Any:
        """The related manager of ``obj``'s members (``group.user_set``, ``team.members``)."""
        m2m, declared_by_member = self.members_field()
        accessor = m2m.remote_field.get_accessor_name() if declared_by_member else m2m.name
        assert accessor is not None  # members_field() refuses a hidden relation (related_name "+").
        return getattr(obj, accessor)

    def load_relations(
        self, objs: Sequence[models.Model], attributes: Collection[str] | None = None
    ) -> dict[str, dict[Any, list[dict[str, Any]]]]:
        """``members`` of every group in ``objs`` in one query, whatever their number.

        The rows come from the member model, with the members' SCIM ids from their companions in
        the same query (a LEFT JOIN), as ``values_list`` tuples: no model instance per member,
        which is what a 10,000-member group costs. Only members made outside SCIM, without a
        companion yet, take more (:meth:`companion_ids`). Nothing is read when the response will
        not contain ``members``.

        One group (``GET /Groups/{id}``) reads its members by primary key among its membership
        rows (:func:`~django_scim.orm.keys.key_in`), with no join: the cost follows the number
        of members, not the size of the member table (PostgreSQL hash-joined the memberships of
        a 10,000-member group with a sequential scan of all 100,000 users). A page of groups
        joins the membership table for the group of each row and leaves the plan to the
        database: the same form with the group's join added probed every membership twice,
        slower than the scan at 100,000 users for 100 groups (measured: 82 ms against 56 ms).
        """
        if not objs or (attributes is not None and "members" not in attributes):
            return {}
        members = self.member_adapter()
        group_pks = [o.pk for o in objs]
        # Scoped to the tenant: another tenant's member (linked outside SCIM) is not listed.
        scoped = members.scoped(members.get_model()._default_manager.all())
        scim_lookup = f"{members.companion_accessor}__id"
        display = members.display_field or "pk"
        rows: list[tuple[Any, ...]]
        if len(group_pks) == 1:
            queryset, scim_id = with_id_text(key_in(scoped, self.membership_keys(group_pks)), scim_lookup)
            rows = [
                (group_pks[0], *row) for row in queryset.order_by("pk").values_list("pk", display, scim_id)
            ]
        else:
            link = self.member_query_name()
            queryset, scim_id = with_id_text(scoped.filter(**{f"{link}__in": group_pks}), scim_lookup)
            rows = list(
                queryset.order_by(f"{link}__pk", "pk").values_list(f"{link}__pk", "pk", display, scim_id)
            )
        ids = {row[1]: str(row[3]) for row in rows if row[3] is not None}
        missing = {row[1] for row in rows if row[3] is None}
        if missing:
            ids.update(members.companion_ids(missing))
        location = members.location_builder()
        kind = members.name
        result: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for group_pk, member_pk, display, _companion in rows:
            scim_id = ids[member_pk]
            result[group_pk].append(
                {"value": scim_id, "$ref": location(scim_id), "display": display, "type": kind}
            )
        return {"members": result}

    def relation_lookups(self) -> dict[str, RelationLookup]:
        members = self.member_adapter()
        return {
            # RFC 7643 section 4.2: members, rendered with type = the member resource type.
            "members": RelationLookup(
                model=members.get_model(),
                link=self.member_query_name(),
                lookups={
                    "value": f"{members.companion_accessor}__id",
                    "display": members.display_field or "pk",
                },
                constants={"type": members.name},
                scope=members.scoped,
            )
        }

    def membership_table(self) -> tuple[type[models.Model], str, str]:
        """The members relation's through model, with its column (attname) of the member's key
        and its column of the group's key."""
        m2m, declared_by_member = self.members_field()
        if declared_by_member:
            # Declared on the member model (auth.User.groups): its own side is the member.
            member_side, group_side = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
        else:
            member_side, group_side = m2m.m2m_reverse_field_name(), m2m.m2m_field_name()
        through = m2m.remote_field.through
        assert through is not None  # Django creates one for every many-to-many field.
        return through, _column(through, member_side), _column(through, group_side)

    def membership_keys(self, group_pks: Sequence[Any]) -> QuerySet[Any]:
        """The member keys of the groups ``group_pks``, read from the membership table alone
        (the many-to-many relation's through model, one column): a ``values()`` queryset."""
        through, member_column, group_column = self.membership_table()
        return through._default_manager.filter(**{f"{group_column}__in": group_pks}).values(member_column)

    def member_query_name(self) -> str:
        """The query name from a member model to this group model (``groups`` on auth.User)."""
        m2m, declared_by_member = self.members_field()
        return m2m.name if declared_by_member else m2m.related_query_name()

    def member_pks(self, values: Any) -> set[Any]:
        """Model keys of the members a request names; unknown ids -> 400 invalidValue."""
        ids = _member_ids(values)
        if not ids:
            return set()
        found = self.member_adapter().resolve_ids(ids)
        _refuse_unknown(ids, found)
        return set(found.values())

    def _named_members(self, obj: models.Model, values: Any) -> tuple[set[Any], set[Any]]:
        """:meth:`member_pks` of ``values``, and which of them are members of ``obj`` already
        (one query, :meth:`_membership`; two when :meth:`member_pks` is overridden)."""
        if type(self).member_pks is not GroupAdapter.member_pks:
            pks = self.member_pks(values)
            return pks, self._current_members(obj, pks)
        ids = _member_ids(values)
        found = self._membership(obj, ids)
        _refuse_unknown(ids, found)
        return {pk for pk, _ in found.values()}, {pk for pk, is_member in found.values() if is_member}

    def _present_members(self, obj: models.Model, scim_ids: Collection[str]) -> set[Any]:
        """Model keys of the members of ``obj`` among the SCIM ids (unknown ids are none)."""
        return {pk for pk, is_member in self._membership(obj, scim_ids).values() if is_member}

    def _membership(self, obj: models.Model, scim_ids: Collection[str]) -> dict[str, tuple[Any, bool]]:
        """``{scim_id: (model key, whether a member of obj)}`` of the ids that resolve.

        One query: the ids resolved as :meth:`~ResourceAdapter.resolve_ids` does, each with an
        ``EXISTS`` of its membership row, never the member list. A member adapter that overrides
        ``resolve_ids`` gets its own resolution and a second query for the memberships.
        """
        if not scim_ids:
            return {}
        members = self.member_adapter()
        if type(members).resolve_ids is not ResourceAdapter.resolve_ids:
            resolved = members.resolve_ids(scim_ids)
            present = self._current_members(obj, set(resolved.values()))
            return {scim_id: (pk, pk in present) for scim_id, pk in resolved.items()}
        valid = canonical_ids(scim_ids)
        member_model, accessor = members.get_model(), members.companion_accessor

        def build() -> QuerySet[Any]:
            # The membership table alone: the members manager's query joined the member table
            # again, and PostgreSQL took 2 ms to plan that (0.3 ms this).
            through, member_column, group_column = self.membership_table()
            membership = through._default_manager.filter(
                **{group_column: obj.pk, member_column: OuterRef("pk")}
            )
            return (
                members._visible_with_ids(valid)
                .annotate(scim_is_member=Exists(membership))
                .values_list(f"{accessor}__id", "pk", "scim_is_member")
            )

        # Compiling this query cost more CPU than the rest of an add (1.2 ms): its SQL is kept
        # per number of ids, like the other fixed-shape reads of both adapters.
        statement = (
            "membership", type(self), type(members), self.get_model(), member_model,
            self.members_relation, accessor, members.tenant, members.delete_mode(), len(valid),
        ) if self.reuses_sql() and members.reuses_sql() else None  # fmt: skip
        alias = router.db_for_read(member_model)
        companion_pk, group_pk = members.get_companion_model()._meta.pk, self.get_model()._meta.pk
        assert companion_pk is not None and group_pk is not None
        slots = [*db_values(alias, companion_pk, valid), db_value(alias, group_pk, obj.pk)]
        rows = values_rows(alias, statement, build, slots)
        return {valid[str(scim_id)]: (pk, bool(is_member)) for scim_id, pk, is_member in rows}

    #: Membership delta ``(added, removed)`` accumulated while a PATCH runs (see patch_relations).
    _member_delta: tuple[set[Any], set[Any]] | None = None

    def save_relations(self, obj: models.Model, values: Mapping[str, Any], *, created: bool) -> bool:
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
        self._members_changed(obj, added, removed)
        return bool(added or removed)

    def _members_changed(self, obj: models.Model, added: set[Any], removed: set[Any]) -> None:
        """Record a membership change: sends ``group_members_changed`` after commit, or, inside
        a PATCH, adds to the delta that :meth:`patch_relations` sends once at its end."""
        if self._member_delta is not None:
            total_added, total_removed = self._member_delta
            total_added |= added - total_removed
            total_removed -= added
            total_removed |= removed - total_added
            total_added -= removed
            return
        if not (added or removed) or not signals.group_members_changed.has_listeners(type(self)):
            return  # No receiver: not even the query for the members' SCIM ids.
        ids = self.member_adapter().companion_ids(added | removed)
        companion = self.companion(obj)
        assert companion is not None
        self._send(
            signals.group_members_changed,
            obj,
            companion,
            added=sorted(ids[pk] for pk in added),
            removed=sorted(ids[pk] for pk in removed),
        )

    def check_uniqueness(self, obj: models.Model, document: Mapping[str, Any]) -> None:
        """The base checks, and ``displayName`` unique when ``SCIM["GROUP_DISPLAY_NAME_UNIQUE"]``.

        RFC 7643 section 4.2 leaves ``displayName`` non-unique, but Microsoft Entra ID matches
        groups by it: two groups named ``Sales`` and ``sales`` would be one group to it. The name
        is compared case-insensitively (``displayName`` is not caseExact) with the SCIM filter
        ``displayName eq "..."`` over :meth:`get_queryset`, so it works wherever the attribute is
        stored (a model field with or without a unique constraint, the JSONField) and sees only
        the groups SCIM serves. A mapping that cannot filter on ``displayName`` skips the check.
        """
        super().check_uniqueness(obj, document)
        if not scim_settings.GROUP_DISPLAY_NAME_UNIQUE:
            return
        name = document.get("displayName")
        if not isinstance(name, str) or not name or name == (self._stored_document or {}).get("displayName"):
            # Unchanged (a membership PATCH): no query, so membership changes keep their cost.
            return
        try:
            clash = self.filter_queryset(self.get_queryset(), f"displayName eq {json.dumps(name)}")
        except InvalidFilter:
            return
        if obj.pk is not None:
            clash = clash.exclude(pk=obj.pk)
        if clash.exists():
            raise Uniqueness(f"A group with displayName {name!r} already exists (any case).")

    def pre_delete(self, obj: models.Model) -> None:
        self.member_adapter().bump_versions(self.members_manager(obj).values_list("pk", flat=True))

    # --- patching: members as row deltas (RFC 7644 section 3.5.2) -----------------------------

    def patch_relations(
        self, obj: models.Model, operations: Sequence[scim_patch.Operation], options: scim_patch.PatchOptions
    ) -> bool:
        """Apply PATCH operations on ``members`` (:meth:`patch_members`); one
        ``group_members_changed`` for the net change of all of them."""
        delta: tuple[set[Any], set[Any]] = (set(), set())
        self._member_delta = delta
        try:
            changed = self.patch_members(obj, operations, options)
        finally:
            self._member_delta = None
        self._members_changed(obj, *delta)
        return changed

    def patch_members(
        self, obj: models.Model, operations: Sequence[scim_patch.Operation], options: scim_patch.PatchOptions
    ) -> bool:
        """Apply PATCH operations on ``members`` as inserts and deletes of membership rows.

        Adding or removing named members costs a fixed number of queries whatever the group's
        size (the member list is never loaded): ``add`` resolves the ids, reads which of them are
        members already and bulk-inserts the others (``manager.add``, one INSERT); ``remove`` by
        ``members[value eq "id"]`` (also ``or``-ed) or by a ``value`` list (Entra ID) deletes those
        rows. ``replace`` and ``remove`` of all members set the whole list, which reads it. Other
        value filters (``members[display eq "x"]``) are evaluated on the loaded list. Unknown ids
        in ``add`` / ``replace`` are 400 invalidValue (and the transaction rolls back). Members
        whose membership changed get a new version (their ``groups`` changed, RFC 7644 section 3.14).
        """
        changed = False
        for operation in operations:
            target = operation.target
            if target.sub_name is not None:
                # RFC 7643 section 4.2: every sub-attribute of members is immutable.
                raise MutabilityError(
                    f"{operation.path!r}: the sub-attributes of members are immutable; "
                    "add or remove whole members."
                )
            if operation.op == "add":
                if target.value_filter is not None:
                    raise InvalidPath(f"{operation.path!r}: 'add' to members takes no value filter.")
                changed = self._add_members(obj, _member_items(operation.value)) or changed
            elif operation.op == "remove":
                if target.value_filter is not None:
                    gone = self._present_members(obj, self._filtered_member_ids(obj, target.value_filter))
                    changed = self._remove_members(obj, gone, operation, options) or changed
                elif operation.value is not scim_patch.ABSENT:
                    if not options.remove_with_value:
                        raise InvalidSyntax(
                            "'remove' takes no 'value' (RFC 7644 section 3.5.2.2); "
                            'use the path members[value eq "<id>"].'
                        )
                    ids = [
                        item.get("value") for item in _member_items(operation.value) if isinstance(item, dict)
                    ]
                    gone = self._present_members(obj, [i for i in ids if isinstance(i, str)])
                    changed = self._remove_members(obj, gone, operation, options) or changed
                else:
                    # RFC 7644 section 3.5.2.2: no filter, no value: all values are removed.
                    self.save_relations(obj, {"members": None}, created=False)
                    changed = True
            else:
                if target.value_filter is not None:
                    # RFC 7644 section 3.5.2.3: the matching values are replaced by the value.
                    gone = self._present_members(obj, self._filtered_member_ids(obj, target.value_filter))
                    if not gone:
                        raise NoTarget(f"{operation.path!r} matches no member.")
                    self._remove_members(obj, gone, operation, options)
                    self._add_members(obj, _member_items(operation.value))
                else:
                    self.save_relations(obj, {"members": _member_items(operation.value)}, created=False)
                changed = True
        return changed

    def _current_members(self, obj: models.Model, pks: set[Any]) -> set[Any]:
        """Which of ``pks`` are members of ``obj`` (a query bounded by ``len(pks)``)."""
        if not pks:
            return set()
        return set(self.members_manager(obj).filter(pk__in=pks).values_list("pk", flat=True))

    def _add_members(self, obj: models.Model, values: list[Any]) -> bool:
        """Add the members named in the PATCH value ``values``; True if rows were inserted."""
        pks, present = self._named_members(obj, values)
        new = pks - present
        if new:
            # One bulk INSERT of membership rows (m2m_changed is sent as for any manager.add).
            self.members_manager(obj).add(*new)
            self.member_adapter().bump_versions(new)
            self._members_changed(obj, new, set())
        return bool(new)

    def _remove_members(
        self,
        obj: models.Model,
        gone: set[Any],
        operation: scim_patch.Operation,
        options: scim_patch.PatchOptions,
    ) -> bool:
        """Remove the members ``gone`` (model keys of current members); True if rows were deleted."""
        if not gone:
            if options.strict_remove:
                raise NoTarget(f"{operation.path!r} matches no member.")
            return False
        self.members_manager(obj).remove(*gone)
        self.member_adapter().bump_versions(gone)
        self._members_changed(obj, set(), gone)
        return True

    def _filtered_member_ids(self, obj: models.Model, value_filter: Filter) -> set[str]:
        """The SCIM ids a value filter selects: those of ``value eq "id"`` as they are, others
        from the loaded member list."""
        ids = _value_ids(value_filter)
        if ids is None:
            # Rare filters (display, type, not ...): evaluated on the loaded member list.
            attribute = self.resource_type.schema.attribute("members")
            assert attribute is not None
            members = self.load_relations([obj]).get("members", {}).get(obj.pk, [])
            ids = {m["value"] for m in members if matches_element(value_filter, m, attribute)}
        return ids


def _member_items(value: Any) -> list[Any]:
    """A PATCH value for members as a list (one object is taken as a one-element list)."""
    if value is None or value is scim_patch.ABSENT:
        return []
    return value if isinstance(value, list) else [value]


def _column(through: type[models.Model], name: str) -> str:
    """The column (attname) of the membership table's foreign key ``name``."""
    field = through._meta.get_field(name)
    assert isinstance(field, models.ForeignKey)
    return field.attname


def _member_ids(values: Any) -> list[str]:
    """The ``value`` (the member's id) of each member object in ``values``; 400 invalidValue
    when one has none or it is not a string."""
    if not values:
        return []
    ids = [item.get("value") for item in values if isinstance(item, Mapping)]
    strings = [value for value in ids if isinstance(value, str)]
    if len(strings) != len(values):
        raise InvalidValue("Each member needs a string 'value' with the member's id.")
    return strings


def _refuse_unknown(ids: list[str], found: Mapping[str, Any]) -> None:
    """400 invalidValue naming the ids of ``ids`` that were not ``found``."""
    unknown = sorted(set(ids) - set(found))
    if unknown:
        raise InvalidValue(f"Unknown member id(s): {', '.join(unknown[:10])}.")


def _value_ids(value_filter: Filter) -> set[str] | None:
    """The ids of ``value eq "id"`` (or several joined by ``or``), or ``None`` for other filters."""
    if isinstance(value_filter, Compare):
        path = value_filter.path
        if (
            value_filter.op == "eq"
            and isinstance(value_filter.value, str)
            and path.urn is None
            and path.sub_attr is None
            and (path.attr or "").lower() == "value"
        ):
            return {value_filter.value}
        return None
    if isinstance(value_filter, Or):
        left, right = _value_ids(value_filter.left), _value_ids(value_filter.right)
        return None if left is None or right is None else left | right
    return None
