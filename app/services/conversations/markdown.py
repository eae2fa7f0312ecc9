"""A reply's markdown as HTML that is safe to put in the page.

Two layers: markdown-it renders CommonMark (with tables and strikethrough) with raw HTML off,
so a `<script>` or an `onerror=` in a reply comes out as text, and refuses `javascript:` links;
then nh3 (the Rust `ammonia` sanitizer) keeps only the tags and attributes listed here,
whatever the renderer let through. Images in a reply become links: a remote image would
load from a third party when the page opens (the page's CSP also refuses it).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token

TAGS = {"p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol",
        "li", "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th",
        "td"}
ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _image_as_link(renderer: RendererHTML, tokens: Sequence[Token], index: int, options: Any,
                   env: Any) -> str:
    token = tokens[index]
    alt = renderer.renderInlineAsText(token.children or [], options, env) or "image"
    return f'<a href="{escapeHtml(str(token.attrGet("src") or ""))}">{escapeHtml(alt)}</a>'


@functools.cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _image_as_link)
    return md


def render_markdown(text: str) -> str:
    """`text` (markdown) as sanitized HTML."""
    return nh3.clean(_markdown().render(text), tags=TAGS, attributes=ATTRIBUTES,
                     url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow")
