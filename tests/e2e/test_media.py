"""The request builder's other workflows and image analysis by upload, in the browser."""

import re

from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.services import api_key_create
from tests.e2e.conftest import connect_fake, sign_in_as, snap
from tests.fakeprovider import tiny_png

EMAIL = "ada@example.com"


def test_the_request_builder_and_image_analysis(
    web: Page, live_server, fake_provider, browser_errors, tmp_path
):
    sign_in_as(web, live_server.url, EMAIL)
    connect_fake(EMAIL, fake_provider)
    user = User.objects.get(email=EMAIL)
    key = api_key_create(workspace=user.workspace, name="docs", created_by=user).plaintext

    web.goto(f"{live_server.url}/docs/")
    web.get_by_test_id("builder-key").fill(key)
    workflow = web.get_by_test_id("builder-workflow")
    status = web.get_by_test_id("builder-status")
    result = web.get_by_test_id("builder-result-json")

    workflow.select_option("models")
    expect(web.get_by_test_id("builder-path")).to_have_text("/v1/models")
    expect(web.get_by_test_id("builder-curl")).to_contain_text("/v1/models")
    web.get_by_test_id("builder-run").click()
    expect(status).to_have_text("Done.")
    expect(result).to_contain_text('"id": "fake/fake-chat"')

    workflow.select_option("image-generation")
    web.get_by_test_id("builder-run").click()
    expect(status).to_have_text("Done.")
    image = web.locator("#builder-result-media img")
    expect(image).to_be_visible()
    web.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())

    workflow.select_option("speech")
    web.get_by_test_id("builder-run").click()
    expect(status).to_have_text("Done.")
    audio = web.get_by_test_id("builder-audio")
    expect(audio).to_have_attribute("src", re.compile(r"^blob:"))
    web.wait_for_function("audio => audio.readyState >= 1", arg=audio.element_handle())
    snap(web, "docs-builder-speech")

    # A body that is not JSON is refused before any request
    workflow.select_option("chat")
    web.get_by_test_id("builder-body").fill("{not json")
    expect(web.get_by_test_id("builder-body-error")).to_contain_text("not valid JSON")
    web.get_by_test_id("builder-run").click()
    expect(web.get_by_test_id("builder-body")).to_be_focused()

    # A bad key shows the error envelope
    browser_errors.allow(r"status of 401 \(Unauthorized\) @ .*/v1/models$")
    web.get_by_test_id("builder-key").fill("opk_live_" + "x" * 43)
    workflow.select_option("models")
    web.get_by_test_id("builder-run").click()
    expect(status).to_contain_text("failed")
    expect(result).to_contain_text('"error"')

    # Image analysis of an uploaded picture in the playground
    picture = tmp_path / "blue.png"
    picture.write_bytes(tiny_png())
    web.goto(f"{live_server.url}/playground/")
    web.get_by_test_id("analyze-model").select_option("fake/fake-vision")
    web.get_by_test_id("analyze-file").set_input_files(str(picture))
    expect(web.locator("#analyze-preview img")).to_be_visible()
    web.get_by_test_id("analyze-submit").click()
    expect(web.get_by_test_id("analyze-result")).to_have_text(fake_provider.answer)
    expect(web.locator("#analyze-meta")).to_contain_text("fake/fake-vision")
    snap(web, "playground-analyze")
