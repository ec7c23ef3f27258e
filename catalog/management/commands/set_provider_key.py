import sys
from argparse import ArgumentParser
from getpass import getpass
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import user_by_email
from accounts.services import workspace_for_user
from catalog.credentials import credential_save
from catalog.services import catalog_sync_credential


class Command(BaseCommand):
    help = (
        "Save a provider key for a user's workspace. The key is read from stdin (never from the "
        "command line, where it would land in shell history and `ps`); empty for keyless "
        "providers. A model sync is queued after the save."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("email", help="The email address the user signs in with.")
        parser.add_argument("provider", help="The provider slug, e.g. groq or custom.")
        parser.add_argument("--name", default="", help="Credential name (model id prefix).")
        parser.add_argument("--base-url", default="", help="Base URL (custom providers).")
        parser.add_argument("--account-id", default="", help="Account id (e.g. Cloudflare).")
        parser.add_argument(
            "--sync-now",
            action="store_true",
            help="Sync the models in the foreground instead of queueing a background job.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_by_email(email=options["email"])
        if user is None:
            raise CommandError(f"No user with the email address {options['email']!r}.")
        api_key = _read_key(options.get("stdin") or sys.stdin)
        try:
            credential = credential_save(
                workspace=workspace_for_user(user=user),
                provider=options["provider"],
                api_key=api_key,
                name=options["name"],
                base_url=options["base_url"],
                account_id=options["account_id"],
                sync=not options["sync_now"],
                on_sync_queued=self._say_if_queued,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        key = credential.masked_key or "no key"
        self.stdout.write(f"Saved {credential.name} ({credential.provider}), {key}.")
        if options["sync_now"]:
            run = catalog_sync_credential(credential=credential, trigger="cli")
            outcome = run.results.get(credential.name, {}) if run else {"error": "already syncing"}
            self.stdout.write(
                f"Synced: +{outcome.get('added', 0)} models"
                + (f", error: {outcome['error']}" if outcome.get("error") else "")
            )

    def _say_if_queued(self, queued: bool) -> None:
        if queued:
            self.stdout.write("Model sync queued.")
        else:  # a broker outage does not undo the save; say how to sync instead
            self.stderr.write(
                "Could not queue the model sync; run `manage.py sync_catalog` to sync now."
            )


def _read_key(stream: IO[str]) -> str:
    """One line from stdin; a prompt without echo when stdin is a terminal."""
    if stream.isatty():
        return getpass("API key (empty for keyless providers): ")
    return stream.readline().strip()
