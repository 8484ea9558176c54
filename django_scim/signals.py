"""Signals sent after SCIM writes commit (``transaction.on_commit``), for welcome e-mails,
audit trails or deprovisioning side effects.

Every signal is sent with ``sender`` = the adapter class and these keyword arguments:
``resource_type`` (the name, e.g. ``"User"``), ``instance`` (the model instance; for deletes,
the instance as it was before deletion), ``scim_id`` (the SCIM ``id`` string) and ``request``
(the HTTP request, or ``None``).
"""

from __future__ import annotations

from django.dispatch import Signal

# A resource was created through SCIM. Arguments: resource_type, instance, scim_id, request.
resource_created = Signal()

# A resource was replaced (PUT) or modified (PATCH). Arguments: resource_type, instance,
# scim_id, request, changed (sorted names of the attributes the write changed, extension ones as
# ``"<schema URN>:<name>"``, ``"members"`` when a Group's membership changed; a PUT that changes
# nothing sends ``[]``, a PATCH that changes nothing sends no signal).
resource_updated = Signal()

# A resource was deleted. Arguments: resource_type, instance, scim_id, request.
resource_deleted = Signal()

# A User's ``active`` went from true to false through SCIM (PUT, PATCH, /Bulk or a soft DELETE):
# the identity provider deprovisioned the person (Okta never sends DELETE for users; Entra ID
# deactivates first). Sent after commit, besides resource_updated (resource_deleted for a soft
# DELETE); the app's own receiver ends the user's sessions (END_SESSIONS_ON_DEACTIVATION).
# Arguments: resource_type, instance, scim_id, request, changed (sorted names of the attributes
# the write changed, ``"active"`` among them; extension attributes as ``"<schema URN>:<name>"``).
user_deactivated = Signal()

# A Group's membership changed through SCIM: POST with members, PUT, PATCH (add, remove,
# replace of ``members``) or the same inside /Bulk. Sent after commit, once per write, besides
# resource_created / resource_updated, and only when members were actually added or removed.
# Arguments: resource_type, instance (the group), scim_id (the group's), request, added and
# removed (sorted lists of the SCIM ids of the members added and removed by this write; a member
# removed and added back by the same PATCH is in neither).
group_members_changed = Signal()
