"""A reply's markdown becomes HTML in which nothing a model (or a user it echoes) wrote can run:
no element, attribute or URL scheme outside the short list is kept."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from app.services.conversations.markdown import render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    '![pic](https://tracker.example/p.png "t")',
    "<details open ontoggle=alert(1)>x</details>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=https://evil.example></iframe>",
    '[a](https://x.example "q\\" onmouseover=\\"alert(1)")',
    "<style>body{display:none}</style>",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]


class _Elements(HTMLParser):
    """The elements and attributes a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("source", HOSTILE)
def test_nothing_that_runs_survives(source: str) -> None:
    html = render_markdown(source)
    for tag, attrs in elements(html):
        assert tag in {"p", "a", "code", "table", "thead", "tbody", "tr", "th", "td"}, html
        assert set(attrs) <= {"href", "title", "rel"}, html  # no event handler, no style
        href = (attrs.get("href") or "https:").strip().lower()
        assert href.startswith(("https:", "http:")), html


def test_markdown_is_rendered() -> None:
    html = render_markdown("# Title\n\n**bold** _em_ ~~gone~~ `code`\n\n- one\n- two\n\n"
                           "```python\nprint('<b>')\n```\n\n[docs](https://example.com/a?b=1)"
                           "\n\n| a | b |\n|--:|---|\n| 1 | 2 |")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong> <em>em</em> <s>gone</s> <code>code</code>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert '<pre><code class="language-python">print(\'&lt;b&gt;\')\n</code></pre>' in html
    assert '<a href="https://example.com/a?b=1" rel="noopener noreferrer nofollow">docs</a>' \
        in html
    assert "<th>a</th>" in html and "style=" not in html


def test_an_image_becomes_a_link_to_it() -> None:
    html = render_markdown("![a chart](https://example.com/c.png)")
    assert html == '<p><a href="https://example.com/c.png" rel="noopener noreferrer nofollow">' \
                   "a chart</a></p>\n"
