"""Model output is Markdown rendered server-side and sanitized: nothing in it can run."""

from html.parser import HTMLParser

import pytest

from gateway.web.markdown import markdown_html

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "[link](javascript:alert(1))",
    "'-alert(1)-'</script><script>alert(1)</script>",
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "<iframe src=https://evil.example></iframe>",
    "![pixel](https://tracker.example/p.png)",
]


class Elements(HTMLParser):
    """The tags and attributes a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("payload", PAYLOADS)
def test_nothing_executable_survives(payload):
    found = elements(str(markdown_html(payload)))

    tags = {tag for tag, _ in found}
    attributes = [(name, value or "") for _, attrs in found for name, value in attrs]
    assert not tags & {"script", "img", "svg", "iframe", "object", "embed", "style"}
    assert not [name for name, _ in attributes if name.startswith("on")]
    assert not [v for n, v in attributes if n in ("href", "src") and not v.startswith("http")]


def test_markdown_still_renders():
    html = str(markdown_html("# Title\n\n**bold** and `code`\n\n```\nx = 1\n```\n\n- a\n- b"))

    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert "<pre><code>x = 1" in html
    assert "<li>a</li>" in html


def test_raw_html_in_an_answer_is_shown_as_text():
    assert "&lt;b&gt;hi&lt;/b&gt;" in markdown_html("<b>hi</b>")


def test_links_open_safely():
    html = str(markdown_html("[docs](https://example.com)"))

    assert 'href="https://example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
