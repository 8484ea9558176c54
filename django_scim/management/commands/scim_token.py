"""``manage.py scim_token create NAME | list | revoke NAME_OR_PREFIX``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from ...models import ScimToken, get_tenant_model, tenant_key


class Command(BaseCommand):
    help = "Create, list and revoke SCIM bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it (alone, once) on stdout.")
        create.add_argument("name")
        create.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help='Days until the token expires (default: SCIM["TOKEN_EXPIRY_DAYS"], None: never).',
        )
        create.add_argument(
            "--tenant",
            default=None,
            help='Primary key of the SCIM["TENANT_MODEL"] row the token provisions (required when set).',
        )
        create.add_argument(
            "--replace",
            action="store_true",
            help="Revoke the active tokens of the same name first (rotation).",
        )
        sub.add_parser("list", help="List tokens (never the tokens themselves).")
        revoke = sub.add_parser("revoke", help="Revoke the active tokens with this name or prefix.")
        revoke.add_argument("name_or_prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            days = options["expires_in_days"]
            if days is not None and days <= 0:
                raise CommandError("--expires-in-days must be 1 or more.")
            tenant = options["tenant"]
            if tenant is None and get_tenant_model() is not None:
                raise CommandError('SCIM["TENANT_MODEL"] is set: give the token\'s tenant with --tenant PK.')
            if tenant is not None:
                try:
                    tenant = tenant_key(tenant)
                except ValidationError as exc:
                    raise CommandError(f"--tenant: {' '.join(exc.messages)}") from None
            if options["replace"]:
                same = ScimToken.objects.active().filter(name=options["name"])
                if tenant is not None:
                    same = same.filter(tenant_id=tenant)
                same.update(revoked_at=timezone.now())
            expires_at = timezone.now() + timedelta(days=days) if days is not None else None
            _token, raw = ScimToken.issue(options["name"], expires_at=expires_at, tenant=tenant)
            # The token alone on stdout, so scripts can capture it; it is never shown again.
            self.stdout.write(raw)
        elif action == "list":
            for token in ScimToken.objects.all():
                state = "revoked" if token.revoked_at else "expired" if token.is_expired else "active"
                last = token.last_used.isoformat() if token.last_used else "never"
                tenant = "" if token.tenant_id is None else f"\ttenant {token.tenant_id}"
                self.stdout.write(f"{token.name}\t{token.prefix}…\t{state}\tlast used {last}{tenant}")
        else:
            key = options["name_or_prefix"]
            count = (
                ScimToken.objects.active()
                .filter(Q(name=key) | Q(prefix=key))
                .update(revoked_at=timezone.now())
            )
            if not count:
                raise CommandError(f"No active token named {key!r} or with prefix {key!r}.")
            self.stderr.write(f"Revoked {count} token(s).")
