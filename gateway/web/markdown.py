"""Model output is untrusted: Markdown is rendered server-side, then sanitized with nh3."""

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

EXTENSIONS = ["fenced_code", "tables", "sane_lists"]
# nh3's defaults minus images: a model's answer must not make the browser fetch arbitrary URLs.
ALLOWED_TAGS = (nh3.ALLOWED_TAGS - {"img"}) | {"pre", "code"}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def _converter() -> markdown_lib.Markdown:
    """Markdown that shows raw HTML in the text as text instead of passing it through."""
    converter = markdown_lib.Markdown(extensions=EXTENSIONS, output_format="html")
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    return converter


def markdown_html(text: str) -> SafeString:
    """Markdown to HTML that is safe to insert into a page."""
    rendered = _converter().convert(text)
    # bandit B308/B703 and ruff S308 reviewed: only nh3's allowlisted output is marked safe.
    sanitized = sanitize_html(rendered)
    return mark_safe(sanitized)  # noqa: S308  # nosec B308 B703
