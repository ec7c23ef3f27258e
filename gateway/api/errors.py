"""The one error envelope of /v1: {"error": {"message", "type", "code", "param", "request_id"}}."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.utils.log import log_response
from gunicorn.http.errors import (
    ChunkMissingTerminator,
    InvalidChunkExtension,
    InvalidChunkSize,
    NoMoreData,
)
from rest_framework import exceptions
from rest_framework.response import Response

from config.infra.logfilters import current_request_id

logger = logging.getLogger(__name__)

# Reading the body failed on the client's side: gunicorn's chunked framing refused, the client
# gone before the body ended. Raised wherever the body is read, middleware included.
BODY_READ_ERRORS = (
    InvalidChunkSize,
    ChunkMissingTerminator,
    InvalidChunkExtension,
    NoMoreData,
    UnreadablePostError,
)

TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    406: "invalid_request_error",
    408: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "api_error",
}
# 5xx answers about the providers' state, not a fault of this server: django.request logs every
# 5xx at ERROR (290 lines in one fuzzing run); these are logged once, at WARNING.
EXPECTED_5XX_CODES = frozenset({"no_available_model"})


class ApiError(exceptions.APIException):
    """An error with an explicit envelope; raise it from services and views alike."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        code: str = "invalid_request",
        param: str | None = None,
        type: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type or TYPE_BY_STATUS.get(status, "api_error")
        self.headers = headers or {}
        self.extra = extra or {}

    def envelope(self) -> dict[str, Any]:
        return envelope(
            self.message, type=self.type, code=self.code, param=self.param, **self.extra
        )


def is_api_path(path: str) -> bool:
    """True for /v1 and everything under it: the paths that answer with the envelope."""
    return path == "/v1" or path.startswith("/v1/")


ANALYZE_PATH = "/v1/images/analyze"
TRANSCRIPTIONS_PATH = "/v1/audio/transcriptions"
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # the form fields and part headers around an uploaded file


def body_limit(path: str) -> int | None:
    """The byte cap on a /v1 request body: image analysis takes a whole image, a transcription
    a whole audio file, the rest 2 MB."""
    if path == ANALYZE_PATH:
        return settings.ANALYZE_MAX_BODY_BYTES
    if path == TRANSCRIPTIONS_PATH:
        return settings.TRANSCRIPTION_MAX_BYTES + MULTIPART_OVERHEAD_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def request_too_large_error(path: str = "") -> ApiError:
    limit = body_limit(path)
    return ApiError(
        f"The request body is too large (the limit is {limit} bytes).",
        status=413,
        code="request_too_large",
    )


def envelope(message: str, *, type: str, code: str, param: str | None = None, **extra: Any) -> dict:
    error = {"message": message, "type": type, "code": code, "param": param, **extra}
    request_id = current_request_id.get()
    if request_id != "-":
        error.setdefault("request_id", request_id)
    return {"error": error}


def error_response(error: ApiError, request: HttpRequest | None = None) -> JsonResponse:
    """A plain Django response for places outside DRF views (middleware, streams, web JSON)."""
    response = JsonResponse(error.envelope(), status=error.status_code)
    for name, value in error.headers.items():
        response[name] = value
    log_if_expected(error, response, request)
    return response


def log_if_expected(
    error: ApiError, response: HttpResponse, request: HttpRequest | None = None
) -> None:
    """Log an expected 5xx at WARNING and mark it logged, so django.request skips its ERROR."""
    if error.code in EXPECTED_5XX_CODES:
        path = request.path if request is not None else "-"
        log_response(
            "%s: %s",
            response.reason_phrase,
            path,
            response=response,
            request=request,
            level="warning",
        )


def _first_validation_error(detail: Any, path: str = "") -> tuple[str, str]:
    """The first (param, message) of a DRF validation tree, param as `messages[0].role`."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                return _first_validation_error(value, path)
            child = f"{path}.{key}" if path else str(key)
            return _first_validation_error(value, child)
    if isinstance(detail, list) and detail:
        if all(isinstance(item, (str, exceptions.ErrorDetail)) for item in detail):
            return path, str(detail[0])
        for index, item in enumerate(detail):
            if item:
                return _first_validation_error(item, f"{path}[{index}]")
    return path, str(detail)


def _as_api_error(exc: Exception) -> ApiError | None:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        from accounts.authentication import INVALID_KEY_MESSAGE, MISSING_KEY_MESSAGE, MissingApiKey

        if isinstance(exc, (exceptions.NotAuthenticated, MissingApiKey)):
            return ApiError(MISSING_KEY_MESSAGE, status=401, code="missing_api_key")
        return ApiError(INVALID_KEY_MESSAGE, status=401, code="invalid_api_key")
    if isinstance(exc, exceptions.ValidationError):
        param, message = _first_validation_error(exc.detail)
        text = f"{param}: {message}" if param else message
        return ApiError(text, status=400, code="invalid_request", param=param or None)
    if isinstance(exc, exceptions.ParseError):
        return ApiError("The request body is not valid JSON.", status=400, code="invalid_json")
    if isinstance(exc, RequestDataTooBig):
        return request_too_large_error()
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)  # type: ignore[attr-defined]  # set by Throttled, not stubbed
        if type(exc) is exceptions.Throttled:
            message, code = "Rate limit exceeded.", "rate_limited"
        else:  # a subclass names its own reason (accounts.authentication.TooManyAuthFailures)
            message, code = str(exc.default_detail), str(exc.default_code)
        return ApiError(message, status=429, code=code, headers={"Retry-After": str(wait)})
    if isinstance(exc, exceptions.APIException):
        code = codes if isinstance(codes := exc.get_codes(), str) else exc.default_code
        return ApiError(str(exc.detail), status=exc.status_code, code=str(code))
    if isinstance(exc, Http404):
        return ApiError("Not found.", status=404, code="not_found")
    if isinstance(exc, PermissionDenied):
        return ApiError("Permission denied.", status=403, code="permission_denied")
    if isinstance(exc, SuspiciousOperation):
        return ApiError("The request was refused.", status=400, code="invalid_request")
    if isinstance(exc, BODY_READ_ERRORS):
        return ApiError(
            "The request body could not be read: its HTTP framing is malformed or it ended early.",
            status=400,
            code="invalid_body",
        )
    return _unavailable(exc)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _unavailable(exc: Exception) -> ApiError | None:
    """A saturated pool or an unreachable database: 503 with Retry-After, not a 500.

    The waits are bounded (DATABASE_POOL_TIMEOUT, the Redis pool's `timeout`, 1 s socket
    timeouts), so an overloaded worker answers instead of hanging.
    """
    from django.db import InterfaceError, OperationalError

    for cause in _causes(exc):
        name = type(cause).__name__
        if name == "PoolTimeout" or (
            name == "ConnectionError" and "No connection available" in str(cause)
        ):
            logger.warning("connection pool exhausted (%s)", name)
            return ApiError(
                "The server is busy; try again shortly.",
                status=503,
                code="server_busy",
                headers={"Retry-After": "1"},
            )
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable", exc_info=exc)
        return ApiError(
            "The database is unavailable; try again shortly.",
            status=503,
            code="database_unavailable",
            headers={"Retry-After": "5"},
        )
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every /v1 error in the envelope, never the key or upstream text."""
    error = _as_api_error(exc)
    if error is None:
        return None
    response = Response(error.envelope(), status=error.status_code)
    for name, value in error.headers.items():
        response[name] = value
    if error.status_code == 401:
        response["WWW-Authenticate"] = "Bearer"
    log_if_expected(error, response, context.get("request"))
    return response


def known_api_error(exc: BaseException | None) -> ApiError | None:
    """The envelope of a known error (with its own status); None for an unexpected one."""
    return _as_api_error(exc) if isinstance(exc, Exception) else None


def api_error_for_exception(exc: Exception) -> ApiError:
    """An envelope for any exception, including unexpected ones (logged, never echoed)."""
    error = _as_api_error(exc)
    if error is None:
        logger.error("unhandled error on /v1", exc_info=exc)
        error = ApiError(
            "The server had an error processing the request.", status=500, code="server_error"
        )
    return error
