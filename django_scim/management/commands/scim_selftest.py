"""``manage.py scim_selftest --client entra|okta [--verbose]``: replay an identity provider's
requests against this site's SCIM service inside a transaction that is rolled back."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...selftest import CLIENTS, StepResult, run_selftest


class Command(BaseCommand):
    help = (
        "Replay what an identity provider sends (its documented request sequence) through this "
        "site's SCIM views, mapping and adapters, and print each step as PASS or FAIL with the "
        "reason. Everything runs in one transaction that is rolled back: nothing persists. "
        "Exit code 1 when a step failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client", required=True, choices=CLIENTS, help="The identity provider.")
        parser.add_argument(
            "--verbose", action="store_true", help="Print each request and response body too."
        )
        parser.add_argument(
            "--base-url",
            default=None,
            help="Path prefix of the SCIM URLs (default: where django_scim.urls is mounted).",
        )
        parser.add_argument("--database", default="default", help="The database alias to use.")
        parser.add_argument(
            "--tenant",
            default=None,
            help="Primary key of the SCIM['TENANT_MODEL'] row to run as (required on tenant sites).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbose"]

        def show(result: StepResult) -> None:
            style = {True: self.style.SUCCESS, False: self.style.ERROR, None: self.style.WARNING}
            line = f"{style[result.passed](result.label)} {result.number:2d}. {result.name}"
            self.stdout.write(line)
            status = f" -> {result.status}" if result.status is not None else ""
            if verbose or not result.passed:
                self.stdout.write(f"       {result.method} {result.path}{status}")
            if result.reason:
                self.stdout.write(f"       {result.reason}")
            if verbose:
                if result.request_body is not None:
                    self.stdout.write(
                        f"       request: {json.dumps(result.request_body, ensure_ascii=False)}"
                    )
                if result.response_body is not None:
                    self.stdout.write(
                        f"       response: {json.dumps(result.response_body, ensure_ascii=False)}"
                    )

        token_options = {"tenant": options["tenant"]} if options["tenant"] is not None else None
        report = run_selftest(
            options["client"],
            base_url=options["base_url"],
            using=options["database"],
            on_result=show,
            token_options=token_options,
        )
        total, failed, skipped = len(report.results), len(report.failed), len(report.skipped)
        summary = (
            f"{report.title}: {total - failed} of {total} steps passed (rolled back; nothing was saved)."
        )
        if failed:
            self.stdout.write(self.style.ERROR(summary))
            raise CommandError(
                f"{failed - skipped} of {total} steps failed, {skipped} skipped.", returncode=1
            )
        self.stdout.write(self.style.SUCCESS(summary))
