from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from catalog.selectors import sync_candidates
from catalog.services import CredentialSyncResult, catalog_sync_all
from providers.models import ProviderCredential

from ._cli import render_table, workspace_id_for

HEADERS = ("workspace", "credential", "provider", "added", "removed", "changed", "error")


class Command(BaseCommand):
    help = "Discover the free models of every enabled provider credential now (in the foreground)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--provider", help="Only credentials of this provider slug (or name).")
        parser.add_argument("--email", help="Only the workspace of the user with this email.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace_id = workspace_id_for(options["email"])
        total = len(sync_candidates(workspace_id=workspace_id, provider=options["provider"]))
        rows: list[tuple[object, ...]] = []

        def progress(credential: ProviderCredential, result: CredentialSyncResult) -> None:
            rows.append(_row(credential, result))
            self.stdout.write(
                f"[{len(rows)}/{total}] {credential.name} ({credential.provider}) "
                f"{_outcome(result)}"
            )

        runs = catalog_sync_all(
            workspace_id=workspace_id,
            provider=options["provider"],
            trigger="cli",
            on_progress=progress,
        )
        if runs is None:
            raise CommandError("Another catalog sync is running; try again when it has finished.")
        if not rows:
            self.stdout.write("No enabled provider credentials to sync.")
            return
        self.stdout.write("")
        self.stdout.write(render_table(HEADERS, rows))


def _refused(result: CredentialSyncResult) -> str:
    count = result.price_unreadable
    return f" ({count} refused: price unreadable)" if count else ""


def _held(result: CredentialSyncResult) -> str:
    return f"held for review (would remove {result.would_remove}, add {result.would_add})"


def _outcome(result: CredentialSyncResult) -> str:
    if result.skipped:
        return "skipped (already syncing)"
    if result.error:
        return f"error: {result.error}"
    if result.needs_review:
        return _held(result)
    return f"+{result.added} -{result.removed} ~{result.changed}" + _refused(result)


def _row(credential: ProviderCredential, result: CredentialSyncResult) -> tuple[object, ...]:
    error = "skipped: already syncing" if result.skipped else result.error
    if result.needs_review:
        error = _held(result)
    return (
        credential.workspace_id,
        credential.name,
        credential.provider,
        result.added,
        result.removed,
        result.changed,
        error or "-",
    )
