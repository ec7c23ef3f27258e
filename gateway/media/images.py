"""Images in and out: data URLs and uploads checked before use, generated images stored a while.

Accepted formats are PNG, JPEG, GIF and WebP. SVG is refused (it is a script-carrying document).
Every image is decoded far enough to prove it is what it claims: the magic bytes must match the
declared type, Pillow must verify it, and its pixel count is bounded (decompression bombs).
"""

import base64
import binascii
import io
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.utils import timezone
from PIL import Image

from accounts.models import Workspace
from gateway.api.errors import ApiError
from gateway.models import GeneratedImage

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
PILLOW_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
GENERIC_UPLOAD_TYPES = frozenset({"", "application/octet-stream"})
BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
WHITESPACE = re.compile(r"[ \t\r\n]+")
UPLOAD_OVERHEAD_BYTES = 64 * 1024  # multipart headers and the prompt field around the file
NAME = re.compile(r"[A-Za-z0-9_-]{32}\.(png|jpg|gif|webp)")


class InvalidImage(ApiError):
    """400 invalid_image: not a well-formed PNG, JPEG, GIF or WebP image."""

    def __init__(self, reason: str, *, param: str | None = "image_url") -> None:
        super().__init__(f"Invalid image: {reason}", status=400, code="invalid_image", param=param)


class ImageTooLarge(ApiError):
    """413 image_too_large: the image (decoded, uploaded or fetched) is over the byte cap."""

    def __init__(self, limit: int, *, param: str | None = "image_url") -> None:
        super().__init__(
            f"The image is larger than the limit of {limit} bytes.",
            status=413,
            code="image_too_large",
            param=param,
        )


@dataclass(frozen=True)
class ImageData:
    """A checked image: its bytes and its true content type."""

    content: bytes
    content_type: str

    def data_url(self) -> str:
        encoded = base64.b64encode(self.content).decode("ascii")
        return f"data:{self.content_type};base64,{encoded}"


def sniff_image_type(content: bytes) -> str | None:
    """The content type the magic bytes announce, among the accepted formats."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def normalize_type(content_type: str) -> str:
    base = content_type.split(";", 1)[0].strip().lower()
    return TYPE_ALIASES.get(base, base)


def validate_image(
    content: bytes, declared_type: str, *, param: str | None = "image_url"
) -> ImageData:
    """Check size, declared type, magic bytes and structure; raise InvalidImage / ImageTooLarge."""
    limit = settings.IMAGE_MAX_BYTES
    if len(content) > limit:
        raise ImageTooLarge(limit, param=param)
    declared = normalize_type(declared_type)
    if declared not in EXTENSIONS:
        raise InvalidImage("only PNG, JPEG, GIF and WebP images are accepted.", param=param)
    if sniff_image_type(content) != declared:
        raise InvalidImage(f"the content is not a {declared} image.", param=param)
    _verify_with_pillow(content, declared, param)
    return ImageData(content=content, content_type=declared)


def _verify_with_pillow(content: bytes, declared: str, param: str | None) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                found = PILLOW_FORMATS.get(image.format or "")
                if width * height > settings.IMAGE_MAX_PIXELS:
                    raise InvalidImage("the image has too many pixels.", param=param)
                image.verify()
    except InvalidImage:
        raise
    except Exception:  # Pillow raises many types on hostile input; all mean "not an image"
        raise InvalidImage("the image could not be decoded.", param=param) from None
    if found != declared:
        raise InvalidImage(f"the content is not a {declared} image.", param=param)


def parse_data_url(url: str, *, param: str | None = "image_url") -> ImageData:
    """A `data:image/<png|jpeg|gif|webp>;base64,<standard base64>` URL, decoded and checked."""
    if not isinstance(url, str) or not url[:5].lower() == "data:" or "," not in url:
        raise InvalidImage("expected a data:image/...;base64,... URL.", param=param)
    header, _, payload = url[5:].partition(",")
    parameters = [part.strip().lower() for part in header.split(";")]
    if len(parameters) < 2 or parameters[-1] != "base64":
        raise InvalidImage("the data URL must be base64-encoded (;base64,).", param=param)
    declared = normalize_type(parameters[0])
    if declared not in EXTENSIONS:
        raise InvalidImage("only PNG, JPEG, GIF and WebP images are accepted.", param=param)
    return validate_image(_decode_base64(payload, param), declared, param=param)


def _decode_base64(payload: str, param: str | None) -> bytes:
    limit = settings.IMAGE_MAX_BYTES
    encoded_limit = (limit // 3 + 1) * 4
    if len(payload) > 2 * encoded_limit:  # refuse before copying; whitespace cannot double it
        raise ImageTooLarge(limit, param=param)
    compact = WHITESPACE.sub("", payload)
    if len(compact) > encoded_limit:
        raise ImageTooLarge(limit, param=param)
    if not compact or len(compact) % 4 or not BASE64.fullmatch(compact):
        raise InvalidImage("the data URL is not valid standard base64.", param=param)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage("the data URL is not valid standard base64.", param=param) from None


def read_upload(upload: UploadedFile, *, param: str = "file") -> ImageData:
    """A multipart upload, checked like a data URL (a generic declared type defers to magic)."""
    limit = settings.IMAGE_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise ImageTooLarge(limit, param=param)
    content = upload.read(limit + 1)
    declared = normalize_type(upload.content_type or "")
    if declared in GENERIC_UPLOAD_TYPES:
        declared = sniff_image_type(content) or declared
    return validate_image(content, declared, param=param)


class CappedUploadHandler(FileUploadHandler):
    """Keeps an upload in memory and aborts with 413 as soon as it passes `limit()`
    (IMAGE_MAX_BYTES here; gateway.media.transcription caps audio the same way)."""

    @staticmethod
    def limit() -> int:
        return int(settings.IMAGE_MAX_BYTES)

    @staticmethod
    def too_large() -> ApiError:
        return ImageTooLarge(settings.IMAGE_MAX_BYTES, param="file")

    def handle_raw_input(
        self,
        input_data: Any,
        META: Any,
        content_length: int,
        boundary: bytes | str,
        encoding: str | None = None,
    ) -> None:
        if content_length > self.limit() + UPLOAD_OVERHEAD_BYTES:
            raise self.too_large()

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if start + len(raw_data) > self.limit():
            raise self.too_large()
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile:
        self.buffer.seek(0)
        return UploadedFile(
            file=self.buffer,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )


def generated_image_store(
    *, workspace: Workspace, image: ImageData, now: datetime | None = None
) -> GeneratedImage:
    """Save a generated image under an unguessable name; it expires after the TTL."""
    now = now or timezone.now()
    name = f"{secrets.token_urlsafe(24)}.{EXTENSIONS[image.content_type]}"
    path = default_storage.save(f"generated/{workspace.pk}/{name}", ContentFile(image.content))
    return GeneratedImage.objects.create(
        workspace=workspace,
        name=name,
        path=path,
        content_type=image.content_type,
        size=len(image.content),
        expires_at=now + timedelta(seconds=settings.GENERATED_IMAGE_TTL_SECONDS),
    )


def generated_image_get(name: str, *, now: datetime | None = None) -> GeneratedImage | None:
    """The live (unexpired) image with this name, or None."""
    if not NAME.fullmatch(name):
        return None
    return GeneratedImage.objects.filter(name=name, expires_at__gt=now or timezone.now()).first()


def generated_images_delete_expired(*, now: datetime | None = None, batch: int = 500) -> int:
    """Delete expired images, files first then rows; returns how many went."""
    expired = GeneratedImage.objects.filter(expires_at__lte=now or timezone.now())
    deleted = 0
    while rows := list(expired.values_list("pk", "path")[:batch]):
        for _, path in rows:
            default_storage.delete(path)
        GeneratedImage.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
        deleted += len(rows)
    return deleted
