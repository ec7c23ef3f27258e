from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from catalog.services import provider_check_all
from providers.models import ProviderCredential

from ._cli import render_table, workspace_id_for

HEADERS = ("workspace", "credential", "provider", "state", "latency", "message")


class Command(BaseCommand):
    help = "Probe every enabled provider credential now and print its state."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", help="Only the workspace of the user with this email.")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(credential: ProviderCredential) -> None:
            self.stdout.write(
                f"checked {credential.name} ({credential.provider}): {credential.state}"
            )

        checked = provider_check_all(
            workspace_id=workspace_id_for(options["email"]), on_progress=progress
        )
        if checked is None:
            raise CommandError("Another status check is running; try again when it has finished.")
        if not checked:
            self.stdout.write("No enabled provider credentials to check.")
            return
        rows = [
            (
                c.workspace_id,
                c.name,
                c.provider,
                c.state,
                f"{c.check_latency_ms} ms",
                c.state_message or "-",
            )
            for c in checked
        ]
        self.stdout.write("")
        self.stdout.write(render_table(HEADERS, rows))
