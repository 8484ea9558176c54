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
import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .conf import scim_settings

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
    # The tenant whose token created the resource (SCIM["TENANT_MODEL"]): the default scope of
    # every tenant's queries. A string, as on ScimToken: the tenant model is a site setting.
    # NULL: created without tenancy (or outside SCIM), invisible to every tenant's token.
    tenant_id = models.CharField(  # noqa: DJ001
        _("tenant"), max_length=255, null=True, blank=True, db_index=True, editable=False
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(self.id)


class ScimUser(ScimCompanion):
    """SCIM state of a user of ``AUTH_USER_MODEL``."""

    resource = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim")
    #: Soft-deleted through SCIM (``SCIM["USER_DELETE"] = "soft"``): the user row stays, SCIM no
    #: longer serves it (``GET`` 404, not listed, not filtered).
    deleted = models.BooleanField(_("deleted through SCIM"), default=False)

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


#: A DRF throttle rate: ``"<requests>/<period>"``, period ``s``, ``m``, ``h`` or ``d`` (or a word
#: starting with one: ``"600/min"``, ``"10000/day"``), as ``SimpleRateThrottle.parse_rate`` reads it.
THROTTLE_RATE_PATTERN = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def validate_throttle_rate(value: str) -> None:
    """Refuse rates DRF's ``parse_rate`` would misread (it only looks at the period's first letter)."""
    if value and not THROTTLE_RATE_PATTERN.match(value):
        raise ValidationError(
            _("Enter a rate such as 600/min: a number, a slash and s, min, hour or day."),
            code="invalid",
        )


def get_tenant_model() -> type[models.Model] | None:
    """The ``SCIM["TENANT_MODEL"]`` model, or ``None`` on a single-tenant site."""
    label = scim_settings.TENANT_MODEL
    if not label:
        return None
    try:
        return apps.get_model(label, require_ready=False)
    except (LookupError, ValueError) as exc:
        raise ImproperlyConfigured(f"SCIM['TENANT_MODEL'] = {label!r}: {exc}") from exc


def tenant_key(tenant: Any) -> str:
    """The stored form of a tenant (an instance or a primary key): its primary key as a string.

    Raises :class:`~django.core.exceptions.ValidationError` when ``SCIM["TENANT_MODEL"]`` is not
    set or has no such row, so a token never names a tenant that does not exist.
    """
    model = get_tenant_model()
    if model is None:
        raise ValidationError(_('A tenant needs SCIM["TENANT_MODEL"] to be set.'), code="no_tenant_model")
    pk = tenant.pk if isinstance(tenant, models.Model) else tenant
    try:
        exists = model._default_manager.filter(pk=pk).exists()
    except (ValueError, TypeError, ValidationError):
        exists = False
    if not exists:
        raise ValidationError(
            _("No %(model)s with primary key %(pk)s.") % {"model": model._meta.verbose_name, "pk": pk},
            code="unknown_tenant",
        )
    return str(pk)


class ScimTokenQuerySet(models.QuerySet["ScimToken"]):
    def active(self) -> ScimTokenQuerySet:
        """Tokens not revoked (expired ones included: revoking them is still meaningful)."""
        return self.filter(revoked_at__isnull=True)

    def usable(self) -> ScimTokenQuerySet:
        """Tokens that authenticate now: not revoked and not past ``expires_at``."""
        return self.active().filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now())
        )


class ScimToken(models.Model):
    """A bearer token for a SCIM client (an identity provider). Only its hash is stored."""

    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=12, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        _("expires at"),
        null=True,
        blank=True,
        help_text=_("Requests with the token fail from this time on. Empty: it never expires."),
    )
    throttle_rate = models.CharField(
        _("throttle rate"),
        max_length=32,
        blank=True,
        validators=[validate_throttle_rate],
        help_text=_(
            'Requests allowed per period for this token, e.g. "600/min". Empty: SCIM["TOKEN_THROTTLE_RATE"].'
        ),
    )

    # The primary key of the SCIM["TENANT_MODEL"] row the token acts for, as a string: no foreign
    # key, since the tenant model is a site setting and our migrations cannot name it (the
    # command and the admin check that the row exists). NULL: no tenant, refused with 403 while
    # TENANT_MODEL is set.
    tenant_id = models.CharField(  # noqa: DJ001
        _("tenant"),
        max_length=255,
        null=True,
        blank=True,
        db_index=True,
        help_text=_('Primary key of the SCIM["TENANT_MODEL"] row this token provisions.'),
    )

    objects = ScimTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("SCIM token")
        verbose_name_plural = _("SCIM tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        """Whether the token authenticates now (not revoked, not expired)."""
        return self.revoked_at is None and not self.is_expired

    @classmethod
    def issue(
        cls,
        name: str,
        *,
        expires_at: datetime | None = None,
        throttle_rate: str = "",
        tenant: Any = None,
    ) -> tuple[ScimToken, str]:
        """Create a token; returns the row and the raw token, which is never stored.

        Without ``expires_at`` the token expires after ``SCIM["TOKEN_EXPIRY_DAYS"]`` days, or
        never when that setting is ``None``. ``tenant`` (a ``SCIM["TENANT_MODEL"]`` instance or
        primary key) is checked with :func:`tenant_key`.
        """
        tenant_id = tenant_key(tenant) if tenant is not None else None
        if expires_at is None and scim_settings.TOKEN_EXPIRY_DAYS is not None:
            expires_at = timezone.now() + timedelta(days=scim_settings.TOKEN_EXPIRY_DAYS)
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            name=name,
            key_hash=hash_token(raw),
            prefix=raw[: len(TOKEN_PREFIX) + 6],
            expires_at=expires_at,
            throttle_rate=throttle_rate,
            tenant_id=tenant_id,
        )
        return token, raw

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


class ProvisioningLog(models.Model):
    """One SCIM request as the service provider saw it: who, what, the outcome and why.

    Written by :mod:`django_scim.log.recorder` for every SCIM write (and reads with
    ``SCIM["LOG_READS"]``), outside the request's transaction so failed, rolled-back writes are
    kept: they are the rows that answer "why did the identity provider fail to provision this
    user?". Bodies are stored redacted (:mod:`django_scim.log.redact`), never raw.
    """

    created = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    token = models.ForeignKey(
        ScimToken,
        verbose_name=_("token"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="log_entries",
    )
    # The token's name at the time, so entries stay readable after the token row is deleted.
    token_name = models.CharField(_("token name"), max_length=100, blank=True)
    # A string, not a foreign key: the tenant model is a site setting and its key may be any type.
    # NULL is "no tenant" (a single-tenant site), which differs from a tenant keyed "".
    tenant = models.CharField(_("tenant"), max_length=255, null=True, blank=True)  # noqa: DJ001
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=2048)
    resource_type = models.CharField(_("resource type"), max_length=100, blank=True)
    resource_id = models.CharField(_("resource id"), max_length=255, blank=True)
    status = models.PositiveSmallIntegerField(_("status"))
    scim_type = models.CharField(_("scimType"), max_length=32, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    duration_ms = models.FloatField(_("duration (ms)"))
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)
    # JSON text after redaction, possibly cut at SCIM["LOG_MAX_BODY_SIZE"]; "" when not stored.
    request_body = models.TextField(_("request body (redacted)"), blank=True)

    class Meta:
        verbose_name = _("provisioning log entry")
        verbose_name_plural = _("provisioning log")
        ordering = ["-created", "-id"]
        # Every write adds a row, so every index is paid for on every write. Besides the key,
        # ``created`` (order, time ranges, pruning) and the token's foreign key: the searches
        # that pick a few rows out of many. No index on ``resource_type`` (a handful of values,
        # and the API's filter ignores case) nor the ``LIKE`` twins ``db_index`` adds to
        # character columns on PostgreSQL; ``status`` only for failures, and ``tenant`` only
        # where one is set, so that single-tenant sites and successful writes add nothing to them.
        indexes = [
            models.Index(fields=["resource_id"], name="scim_log_resource_id"),
            models.Index(fields=["status"], name="scim_log_failed", condition=models.Q(status__gte=400)),
            models.Index(fields=["tenant"], name="scim_log_tenant", condition=models.Q(tenant__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"

    @property
    def failed(self) -> bool:
        return self.status >= 400
