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
# scim_id, request.
resource_updated = Signal()

# A resource was deleted. Arguments: resource_type, instance, scim_id, request.
resource_deleted = Signal()

# A User's ``active`` went from true to false through SCIM (PUT or PATCH): the identity provider
# deprovisioned the person (Okta never sends DELETE for users; Entra ID deactivates first).
# Sent after commit, besides resource_updated. Arguments: resource_type, instance, scim_id,
# request, changed (sorted names of the attributes the write changed, ``"active"`` among them;
# extension attributes as ``"<schema URN>:<name>"``).
user_deactivated = Signal()
