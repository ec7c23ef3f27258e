"""Data URLs and uploads are proven images; generated images are stored a while."""

import base64
import io
import struct
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image
from rest_framework.test import APIClient

from gateway.media.images import (
    CappedUploadHandler,
    ImageData,
    ImageTooLarge,
    InvalidImage,
    generated_image_store,
    parse_data_url,
    read_upload,
)
from gateway.models import GeneratedImage
from gateway.tasks import generated_images_cleanup_task
from tests.fakeprovider import tiny_png

PNG = tiny_png()


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buffer, format=fmt)
    return buffer.getvalue()


def data_url(content: bytes, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64,{base64.b64encode(content).decode()}"


def png_with_size(width: int, height: int) -> bytes:
    """A PNG header announcing huge dimensions with almost no pixel data (a bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("fmt", "declared", "expected"),
    [
        ("PNG", "image/png", "image/png"),
        ("JPEG", "image/jpeg", "image/jpeg"),
        ("JPEG", "image/jpg", "image/jpeg"),
        ("GIF", "image/gif", "image/gif"),
        ("WEBP", "image/webp", "image/webp"),
    ],
)
def test_data_urls_of_accepted_formats_decode_to_checked_images(fmt, declared, expected):
    content = encoded(fmt)

    image = parse_data_url(data_url(content, declared))

    assert image == ImageData(content=content, content_type=expected)


def test_base64_may_be_wrapped_over_lines():
    text = base64.b64encode(PNG).decode()
    wrapped = "\n".join(text[i : i + 20] for i in range(0, len(text), 20))

    assert parse_data_url(f"data:image/png;base64,{wrapped}\n").content == PNG


def test_a_checked_image_round_trips_through_its_data_url():
    image = parse_data_url(data_url(PNG))

    assert parse_data_url(image.data_url()) == image


def _url_safe_png() -> str:
    text = base64.b64encode(PNG).decode()
    assert "+" in text or "/" in text, "fixture must exercise the URL-safe alphabet"
    return "data:image/png;base64," + text.replace("+", "-").replace("/", "_")


BAD_DATA_URLS = {
    "bad base64": "data:image/png;base64,iVBOR*w0KGgo=",
    "url-safe alphabet": _url_safe_png(),
    "missing padding": data_url(PNG).rstrip("="),
    "html": data_url(b"<script>alert(1)</script>", "text/html"),
    "svg": data_url(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
    "no base64 marker": "data:image/png," + base64.b64encode(PNG).decode(),
    "not a data url": "https://example.com/a.png",
    "no comma": "data:image/png;base64",
    "empty payload": "data:image/png;base64,",
    "mismatched magic": data_url(PNG, "image/jpeg"),
    "magic only": data_url(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
    "truncated png": data_url(PNG[:40]),
    "percent-encoded": "data:image/png;base64,iVBORw0KGgo%3D",
}


@pytest.mark.parametrize("url", BAD_DATA_URLS.values(), ids=BAD_DATA_URLS.keys())
def test_malformed_or_foreign_data_urls_are_400_invalid_image(url):
    if url == BAD_DATA_URLS["missing padding"]:
        assert data_url(PNG).endswith("="), "fixture must need padding"

    with pytest.raises(InvalidImage) as caught:
        parse_data_url(url)

    assert (caught.value.status_code, caught.value.code) == (400, "invalid_image")


def test_a_50_mb_data_url_is_413_before_decoding():
    url = "data:image/png;base64," + "A" * (50 * 1024 * 1024)

    with pytest.raises(ImageTooLarge) as caught:
        parse_data_url(url)

    assert (caught.value.status_code, caught.value.code) == (413, "image_too_large")


def test_an_image_just_over_the_byte_cap_is_413(settings):
    settings.IMAGE_MAX_BYTES = len(PNG) - 1

    with pytest.raises(ImageTooLarge):
        parse_data_url(data_url(PNG))


def test_an_image_with_too_many_pixels_is_refused(settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000

    with pytest.raises(InvalidImage, match="too many pixels"):
        parse_data_url(data_url(png_with_size(2000, 2000)))


def test_a_decompression_bomb_is_refused_by_pillow_as_well():
    with pytest.raises(InvalidImage):
        parse_data_url(data_url(png_with_size(100_000, 100_000)))


@hypothesis_settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300).map(lambda b: data_url(b)),
        st.binary(max_size=len(PNG)).map(lambda b: data_url(PNG[: len(PNG) // 2] + b)),
        st.tuples(st.integers(0, len(PNG) - 1), st.integers(0, 255)).map(
            lambda flip: data_url(PNG[: flip[0]] + bytes([flip[1]]) + PNG[flip[0] + 1 :])
        ),
    )
)
def test_the_data_url_parser_raises_only_its_domain_errors(url):
    try:
        image = parse_data_url(url)
    except (InvalidImage, ImageTooLarge):
        return
    assert image.content_type == "image/png"


def test_an_upload_with_a_generic_type_is_judged_by_its_bytes():
    upload = SimpleUploadedFile("cat.bin", PNG, content_type="application/octet-stream")

    assert read_upload(upload) == ImageData(PNG, "image/png")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b"<html></html>", "text/html"),
        (b"<html></html>", "application/octet-stream"),
        (PNG, "image/gif"),
    ],
)
def test_uploads_get_the_same_checks_as_data_urls(content, content_type):
    upload = SimpleUploadedFile("x", content, content_type=content_type)

    with pytest.raises(InvalidImage) as caught:
        read_upload(upload)

    assert caught.value.param == "file"


def _multipart_request(content: bytes):
    request = RequestFactory().post(
        "/v1/images/analyze",
        {"prompt": "what is it?", "file": SimpleUploadedFile("a.png", content, "image/png")},
    )
    request.upload_handlers = [CappedUploadHandler(request)]
    return request


def test_the_capped_upload_handler_keeps_an_upload_under_the_cap(settings):
    request = _multipart_request(PNG)

    upload = request.FILES["file"]

    assert read_upload(upload).content == PNG


def test_the_capped_upload_handler_stops_reading_past_the_cap(settings):
    settings.IMAGE_MAX_BYTES = 1000
    request = _multipart_request(b"\x89PNG\r\n\x1a\n" + b"x" * 5000)

    with pytest.raises(ImageTooLarge):
        request.FILES  # noqa: B018 (parsing is the act under test)


def test_the_capped_upload_handler_refuses_a_huge_declared_body_at_once(settings):
    settings.IMAGE_MAX_BYTES = 10
    request = _multipart_request(b"x" * 100_000)

    with pytest.raises(ImageTooLarge):
        request.FILES  # noqa: B018


def test_a_stored_image_is_served_by_name_without_a_key(workspace, media_root):
    stored = generated_image_store(workspace=workspace, image=ImageData(PNG, "image/png"))

    response = APIClient().get(f"/v1/files/images/{stored.name}", HTTP_ACCEPT="image/png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert stored.path == f"generated/{workspace.pk}/{stored.name}"
    assert (media_root / stored.path).read_bytes() == PNG


def test_stored_image_names_are_unguessable(workspace, media_root):
    names = {
        generated_image_store(workspace=workspace, image=ImageData(PNG, "image/png")).name
        for _ in range(5)
    }

    assert len(names) == 5
    assert all(len(name) == len("x" * 32 + ".png") for name in names)


def test_an_expired_image_is_a_404_envelope(workspace, media_root):
    stored = generated_image_store(workspace=workspace, image=ImageData(PNG, "image/png"))
    GeneratedImage.objects.filter(pk=stored.pk).update(expires_at=timezone.now())

    response = APIClient().get(f"/v1/files/images/{stored.name}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "image_not_found"


@pytest.mark.parametrize("name", ["nope.png", "..%2F..%2Fsettings.py", "A" * 32 + ".svg"])
def test_unknown_or_malformed_names_are_404(name, db, media_root):
    response = APIClient().get(f"/v1/files/images/{name}")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_the_cleanup_task_deletes_expired_files_and_rows_only(workspace, media_root):
    old = generated_image_store(
        workspace=workspace,
        image=ImageData(PNG, "image/png"),
        now=timezone.now() - timedelta(days=2),
    )
    fresh = generated_image_store(workspace=workspace, image=ImageData(PNG, "image/png"))

    deleted = generated_images_cleanup_task()

    assert deleted == 1
    assert list(GeneratedImage.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not default_storage.exists(old.path)
    assert default_storage.exists(fresh.path)
