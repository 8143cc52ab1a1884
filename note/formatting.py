"""Safe formatting of what members write: the one function that turns a
post's text into HTML (`render`), used by every page through the
`note_markdown` template filter.

Rendered when a page is shown (and kept in a process's memory, keyed by the
text, see RENDERED_CACHE_SIZE), not stored: no HTML is ever kept in the
database, so a stored value cannot reach a page unescaped, and a change to
the rules below applies to every old post at once.

Two layers, each enough on its own for the common attacks:
1. markdown-it-py, CommonMark preset with raw HTML off (`<script>` stays
   text) and only the rules of a small subset on: paragraphs, line breaks,
   links, lists, emphasis, code. Its link validator already refuses
   javascript:, vbscript:, file: and data: URLs.
2. nh3 (the Ammonia sanitiser) with an allow-list of exactly the tags that
   subset produces, `href` as the only attribute, http/https/mailto as the
   only URL schemes, and rel="nofollow noopener" on every link.
"""

from __future__ import annotations

import functools

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset({"p", "br", "a", "ul", "ol", "li", "em", "strong", "code", "pre"})
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"

# The block and inline rules of the subset; everything else (headings,
# images, block quotes, rules, tables, raw HTML, entities) stays plain text.
_BLOCK_RULES = ["paragraph", "list", "code", "fence"]
_INLINE_RULES = ["text", "newline", "escape", "backticks", "emphasis", "link", "autolink"]


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    md.disable(
        [name for name in md.get_all_rules()["block"] if name not in _BLOCK_RULES]
        + [name for name in md.get_all_rules()["inline"] if name not in _INLINE_RULES]
    )
    return md


_MD = _parser()


def render(text: str) -> SafeString:
    """`text` (Markdown subset) as sanitised HTML, safe to put in a page."""
    if not text:
        return mark_safe("")
    return mark_safe(_clean_html(text))  # nh3's allow-list output: nothing else is kept


# The HTML is a function of the text alone, so a process keeps the last
# RENDERED_CACHE_SIZE renderings (a few MB): a topic's page of 50 replies
# rendered them all on every view (about a third of its time, make bench).
RENDERED_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=RENDERED_CACHE_SIZE)
def _clean_html(text: str) -> str:
    return nh3.clean(
        _MD.render(text),
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def excerpt(text: str, length: int = 90) -> str:
    """The first words of a post as plain text, for lists and mails (the
    template escapes it like any text)."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
