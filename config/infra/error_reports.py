"""What error reports (admin emails, the DEBUG template log of their rendering) may show.

Django masks only POST fields and frame variables a view or function marks sensitive. Keys
pass through forms, services and adapters under many names, so every POST field and frame
variable whose name looks like a secret is masked too, in every frame, marked or not.
"""

import re
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

SECRET_NAME = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|PLAINTEXT|CIPHERTEXT",
    flags=re.IGNORECASE,
)


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = SECRET_NAME

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        parameters = super().get_post_parameters(request)
        if request is None or not self.is_active(request):
            return parameters
        if not any(SECRET_NAME.search(name) for name in parameters):
            return parameters
        cleansed = parameters.copy()
        for name in cleansed:
            if SECRET_NAME.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if request is not None and not self.is_active(request):
            return variables
        return [(name, self.cleanse_setting(name, value)) for name, value in variables]
