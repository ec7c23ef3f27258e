from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import user_by_email
from accounts.services import api_key_create, workspace_for_user


class Command(BaseCommand):
    help = "Create an OpenProvider API key for a user's workspace and print it (shown once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("email", help="The email address the user signs in with.")
        parser.add_argument("--name", default="CLI key", help="A name to recognise the key by.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_by_email(email=options["email"])
        if user is None:
            raise CommandError(f"No user with the email address {options['email']!r}.")
        created = api_key_create(
            workspace=workspace_for_user(user=user), name=options["name"], created_by=user
        )
        # Only the key on stdout, so `KEY=$(manage.py create_api_key …)` works.
        self.stdout.write(created.plaintext)
