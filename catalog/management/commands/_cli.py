"""Helpers shared by the catalog commands (the underscore keeps Django from listing it)."""

from collections.abc import Sequence

from django.core.management.base import CommandError

from accounts.selectors import user_by_email
from accounts.services import workspace_for_user


def workspace_id_for(email: str | None) -> int | None:
    """The workspace of the user with this email; None when no email was given."""
    if not email:
        return None
    user = user_by_email(email=email)
    if user is None:
        raise CommandError(f"No user with the email address {email!r}.")
    return workspace_for_user(user=user).pk


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with columns padded to their widest cell."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)
