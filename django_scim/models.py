"""Companion models: SCIM state beside the site's own models, which stay untouched.

Each SCIM-served model gets a companion row (one-to-one) with the opaque SCIM ``id``,
``externalId``, the version counter behind ETags, ``created`` / ``lastModified`` and a JSONField
holding every attribute that has no model field (RFC 7643 section 4.1 optional attributes, the
enterprise extension, custom extensions), so a document round-trips losslessly.

A site serving its own model (a ``Team`` as groups, a ``Device`` resource type) declares a
companion with three lines::

    class TeamScim(ScimCompanion):
        resource = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="scim")
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TOKEN_PREFIX = "scim_"


class ScimCompanion(models.Model):
    """Abstract companion; concrete subclasses add ``resource = OneToOneField(...)``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # NULL, not "", for "no externalId": it is the client's identifier, and absent differs from empty.
    external_id = models.CharField(  # noqa: DJ001
        _("external id"), max_length=255, null=True, blank=True, db_index=True
    )
    version = models.PositiveBigIntegerField(default=1)
    created = models.DateTimeField(default=timezone.now)
    last_modified = models.DateTimeField(default=timezone.now)
    attributes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(self.id)


class ScimUser(ScimCompanion):
    """SCIM state of a user of ``AUTH_USER_MODEL``."""

    resource = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim")

    class Meta:
        verbose_name = _("SCIM user")
        verbose_name_plural = _("SCIM users")


class ScimGroup(ScimCompanion):
    """SCIM state of a ``django.contrib.auth`` group."""

    resource = models.OneToOneField("auth.Group", on_delete=models.CASCADE, related_name="scim")

    class Meta:
        verbose_name = _("SCIM group")
        verbose_name_plural = _("SCIM groups")


def hash_token(raw: str) -> str:
    """SHA-256 of a token: tokens are 256-bit random strings, so a fast hash is safe here."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ScimTokenQuerySet(models.QuerySet["ScimToken"]):
    def active(self) -> ScimTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ScimToken(models.Model):
    """A bearer token for a SCIM client (an identity provider). Only its hash is stored."""

    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=12, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScimTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("SCIM token")
        verbose_name_plural = _("SCIM tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, name: str) -> tuple[ScimToken, str]:
        """Create a token; returns the row and the raw token, which is never stored."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(name=name, key_hash=hash_token(raw), prefix=raw[: len(TOKEN_PREFIX) + 6])
        return token, raw

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
