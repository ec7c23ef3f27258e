from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from . import checks, schema  # noqa: F401  (registers the deploy checks and schema auth)
