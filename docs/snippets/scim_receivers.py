"""``myapp/receivers.py`` of the signals guide: welcome mail, audit log, deprovisioning."""

from __future__ import annotations

import logging
from typing import Any

from django.core.mail import send_mail

from django_scim.signals import resource_created, resource_deleted, resource_updated

audit = logging.getLogger("myapp.audit")


# [receivers]
def send_welcome_mail(sender: type, *, resource_type: str, instance: Any, **kwargs: Any) -> None:
    """A user provisioned by the identity provider gets a welcome mail (after commit)."""
    if resource_type == "User" and instance.email and instance.is_active:
        send_mail(
            "Welcome to Example",
            "Your account was created by your company's identity provider.",
            None,
            [instance.email],
        )


def log_update(sender: type, *, resource_type: str, instance: Any, scim_id: str, **kwargs: Any) -> None:
    """PUT and PATCH: deactivation (``active: false``) arrives here as an update."""
    if resource_type == "User" and not instance.is_active:
        audit.info("SCIM deactivated user %s (SCIM id %s)", instance.pk, scim_id)


def log_delete(sender: type, *, resource_type: str, instance: Any, scim_id: str, **kwargs: Any) -> None:
    request = kwargs["request"]
    client = request.auth.name if request is not None and request.auth is not None else "-"
    audit.info("SCIM client %s deleted %s %s", client, resource_type, scim_id)


def connect() -> None:
    """Call from your ``AppConfig.ready()``."""
    resource_created.connect(send_welcome_mail, dispatch_uid="myapp.send_welcome_mail")
    resource_updated.connect(log_update, dispatch_uid="myapp.log_update")
    resource_deleted.connect(log_delete, dispatch_uid="myapp.log_delete")


# [/receivers]


def disconnect() -> None:
    """Undo :func:`connect` (used by the tests)."""
    resource_created.disconnect(dispatch_uid="myapp.send_welcome_mail")
    resource_updated.disconnect(dispatch_uid="myapp.log_update")
    resource_deleted.disconnect(dispatch_uid="myapp.log_delete")
