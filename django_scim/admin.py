from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import ProvisioningLog, ScimGroup, ScimToken, ScimUser, get_tenant_model, tenant_key


class ScimTokenForm(forms.ModelForm):
    """Checks ``tenant_id`` against ``SCIM["TENANT_MODEL"]``: required when set, and must exist."""

    class Meta:
        model = ScimToken
        fields = ("name", "expires_at", "revoked_at", "throttle_rate", "tenant_id")

    def clean_tenant_id(self) -> str | None:
        value = self.cleaned_data.get("tenant_id") or None
        if value is None:
            if get_tenant_model() is not None:
                raise forms.ValidationError(_('Required: SCIM["TENANT_MODEL"] is set.'), code="required")
            return None
        return tenant_key(value)


@admin.register(ScimToken)
class ScimTokenAdmin(admin.ModelAdmin):
    form = ScimTokenForm
    list_display = (
        "name",
        "prefix",
        "tenant_id",
        "created",
        "last_used",
        "expires_at",
        "revoked_at",
        "throttle_rate",
    )
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("name", "prefix", "tenant_id")
    readonly_fields = ("prefix", "created", "last_used")
    fields = (
        "name",
        "tenant_id",
        "prefix",
        "created",
        "last_used",
        "expires_at",
        "revoked_at",
        "throttle_rate",
    )
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ScimToken | None = None) -> Any:
        # A token's tenant is fixed: moving it would hand one organisation's identity provider
        # another's data. Rotate (new token, revoke the old one) instead.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "tenant_id") if obj is not None else readonly

    def save_model(self, request: HttpRequest, obj: ScimToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = ScimToken.issue(
            obj.name, expires_at=obj.expires_at, throttle_rate=obj.throttle_rate, tenant=obj.tenant_id
        )
        obj.pk, obj.key_hash, obj.prefix, obj.created = token.pk, token.key_hash, token.prefix, token.created
        obj.expires_at = token.expires_at
        obj._state.adding = False
        # Shown once: only the hash is stored.
        self.message_user(
            request, _("New SCIM token (copy it now, it is not shown again): %s") % raw, messages.WARNING
        )

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ScimToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, _("%d token(s) revoked.") % count)


class CompanionAdmin(admin.ModelAdmin):
    list_display = ("id", "resource", "tenant_id", "external_id", "version", "last_modified")
    search_fields = ("id", "external_id", "tenant_id")
    readonly_fields = ("id", "resource", "tenant_id", "version", "created", "last_modified")
    list_select_related = ("resource",)


admin.site.register(ScimUser, CompanionAdmin)
admin.site.register(ScimGroup, CompanionAdmin)


class OutcomeFilter(admin.SimpleListFilter):
    """Status classes: what an administrator looks for first is "what failed"."""

    title = _("outcome")
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("success", _("Succeeded (2xx/3xx)")),
            ("failed", _("Failed (4xx/5xx)")),
            ("client", _("Refused (4xx)")),
            ("server", _("Server error (5xx)")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        ranges = {"success": (0, 400), "failed": (400, 1000), "client": (400, 500), "server": (500, 1000)}
        bounds = ranges.get(self.value() or "")
        if bounds is None:
            return queryset
        return queryset.filter(status__gte=bounds[0], status__lt=bounds[1])


@admin.register(ProvisioningLog)
class ProvisioningLogAdmin(admin.ModelAdmin):
    """The provisioning log, read-only: browse by outcome, status, resource type, token and time."""

    list_display = (
        "created",
        "method",
        "path",
        "status",
        "scim_type",
        "resource_type",
        "resource_id",
        "token_name",
        "duration_ms",
    )
    list_filter = (OutcomeFilter, "status", "resource_type", "method", "token")
    date_hierarchy = "created"
    search_fields = ("path", "resource_id", "detail")
    list_select_related = ("token",)
    fields = (
        "created",
        "token",
        "token_name",
        "tenant",
        "method",
        "path",
        "resource_type",
        "resource_id",
        "status",
        "scim_type",
        "detail",
        "duration_ms",
        "user_agent",
        "body",
    )
    readonly_fields = fields

    @admin.display(description=_("request body (redacted)"))
    def body(self, obj: ProvisioningLog) -> str:
        text = obj.request_body or "-"
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass  # Cut at LOG_MAX_BODY_SIZE, or "-": shown as stored.
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)

    # Entries are written by the SCIM views and removed by `manage.py scim_prune_log`, only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
