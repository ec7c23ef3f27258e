"""Re-encrypt every stored provider key with the current OPENPROVIDER_ENCRYPTION_KEY/SECRET_KEY.

Rotation: set the new keys, move the old ones to OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS /
SECRET_KEY_FALLBACKS, run this, then drop the fallbacks. Safe to re-run; exits non-zero naming
the credentials no key could decrypt (they are left as they were). Credentials marked
`unreadable` that decrypt now go back to `unknown`, so their models are routed again at once.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from providers.services import secrets_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt stored provider keys with the current encryption keys."

    def handle(self, *args: Any, **options: Any) -> None:
        result = secrets_reencrypt()
        self.stdout.write(
            f"re-encrypted {result.rewritten}, already current {result.current}, "
            f"unreadable {len(result.failed)}"
        )
        if result.readable_again:
            ids = ", ".join(str(pk) for pk in result.readable_again)
            self.stdout.write(
                f"readable again (were marked unreadable, now unknown until checked): {ids}"
            )
        if result.failed:
            ids = ", ".join(str(pk) for pk in result.failed)
            raise CommandError(f"could not decrypt provider credentials with ids: {ids}")
