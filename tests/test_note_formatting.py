"""Safe formatting (note/formatting.py): a Markdown subset through
markdown-it-py, then the nh3 allow-list. Hostile input — script tags,
javascript: and data: links, event-handler attributes — is posted as a topic,
a reply and a note entry, and the pages that show them are read as a browser
would: every element and attribute inside a post body must be on the
allow-list, and every link http(s) or mailto with rel="nofollow noopener".
"""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from note import formatting, services
from tests.note_factories import NoteEntryFactory, ReplyFactory, TopicFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click]( javascript:alert(1) )",
    "<javascript:alert(1)>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[vb](vbscript:msgbox(1))",
    '<svg onload="alert(1)"></svg>',
    '<iframe src="https://evil.example/"></iframe>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '[x](https://example.org/" onmouseover="alert(1))',
    "<details open ontoggle=alert(1)>",
    "`<script>alert(1)</script>`",
    "```\n<img src=x onerror=alert(1)>\n```",
]
ALLOWED_TAGS = {"p", "br", "a", "ul", "ol", "li", "em", "strong", "code", "pre"}
ALLOWED_ATTRIBUTES = {"a": {"href", "rel"}, "ol": {"start"}}


class BodyParser(HTMLParser):
    """Every element and attribute inside <div class="post-body">…</div>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.elements.append((tag, dict(attrs)))
            if tag not in ("br",):
                self.depth += 1
        elif tag == "div" and ("class", "post-body") in attrs:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1


class AllAttributes(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.attributes += [(tag, name) for name, _value in attrs]


def event_handlers(html: str) -> list:
    """Every on…= attribute anywhere in the page (the site itself uses none)."""
    parser = AllAttributes()
    parser.feed(html)
    return [(tag, name) for tag, name in parser.attributes if name.startswith("on")]


def body_elements(html: str) -> list[tuple[str, dict]]:
    parser = BodyParser()
    parser.feed(html)
    return parser.elements


def unsafe(elements) -> list:
    problems = []
    for tag, attrs in elements:
        if tag not in ALLOWED_TAGS:
            problems.append(("tag", tag))
        for name, value in attrs.items():
            if name not in ALLOWED_ATTRIBUTES.get(tag, set()):
                problems.append(("attribute", tag, name))
            if name == "href" and not value.startswith(("http://", "https://", "mailto:")):
                problems.append(("href", value))
        if tag == "a" and attrs.get("rel") != "nofollow noopener":
            problems.append(("rel", attrs.get("rel")))
    return problems


@pytest.mark.parametrize("text", HOSTILE)
def test_note_formatting_render_keeps_hostile_input_inert(text):
    elements = body_elements(f'<div class="post-body">{formatting.render(text)}</div>')

    assert unsafe(elements) == []


def test_note_formatting_allows_the_subset():
    html = str(
        formatting.render(
            "**太字** と _強調_ と `コード`\n- 一つ目\n- 二つ目\n\n1. 手順\n2. 次\n\n"
            "[市のページ](https://example.org/a?b=1)\n改行"
        )
    )

    assert html == (
        "<p><strong>太字</strong> と <em>強調</em> と <code>コード</code></p>\n"
        "<ul>\n<li>一つ目</li>\n<li>二つ目</li>\n</ul>\n"
        "<ol>\n<li>手順</li>\n<li>次</li>\n</ol>\n"
        '<p><a href="https://example.org/a?b=1" rel="nofollow noopener">市のページ</a><br>\n'
        "改行</p>\n"
    )


def test_note_formatting_headings_images_and_quotes_stay_text():
    html = str(formatting.render("# 見出し\n\n> 引用\n\n![画像](https://example.org/a.png)"))

    assert "<h1" not in html and "<blockquote" not in html and "<img" not in html
    assert "# 見出し" in html and "&gt; 引用" in html


def test_note_hostile_topic_and_replies_reach_the_page_inert(
    contractor_member, municipal_member, client_for
):
    topic = TopicFactory(
        author=contractor_member, title="<script>alert('t')</script>", body="\n\n".join(HOSTILE)
    )
    for text in HOSTILE:
        ReplyFactory(topic=topic, author=municipal_member, body=text)

    html = client_for(municipal_member).get(reverse("note:topic", args=[topic.pk])).content.decode()
    elements = body_elements(html)

    assert len([e for e in elements if e[0] == "p"]) > len(HOSTILE)  # the bodies were parsed
    assert unsafe(elements) == []
    assert "<script>alert('t')</script>" not in html  # the title is escaped text
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in html
    assert event_handlers(html) == []


def test_note_hostile_entry_reaches_entry_page_and_casebook_inert(contractor_member, client_for):
    entry = NoteEntryFactory(title="<img src=x onerror=alert(1)>", summary="\n\n".join(HOSTILE))
    client = client_for(contractor_member)

    for url in (
        reverse("note:entry", args=[entry.pk]),
        reverse("note:casebook", args=[entry.fiscal_year]),
        reverse("note:entries"),
    ):
        html = client.get(url).content.decode()
        assert unsafe(body_elements(html)) == [], url
        assert "<img src=x" not in html, url
        assert event_handlers(html) == [], url


def test_note_hostile_text_posted_through_the_form_is_stored_as_typed(
    contractor_member, client_for
):
    """No HTML is stored: the database keeps what was typed, the page renders it."""
    from note.models import Topic
    from tests.note_factories import room

    body = '<img src=x onerror="alert(1)"> [x](javascript:alert(1))'
    response = client_for(contractor_member).post(
        reverse("note:topic_create", args=[room().pk]), {"title": "書式の確認", "body": body}
    )
    topic = Topic.objects.get(title="書式の確認")

    assert response.status_code == 302
    assert topic.body == body
    html = client_for(contractor_member).get(topic.get_absolute_url()).content.decode()
    assert unsafe(body_elements(html)) == []
    assert '<img src=x onerror="alert(1)">' not in html
    assert event_handlers(html) == []


def test_note_links_get_nofollow_noopener(contractor_member):
    topic = services.post_topic(
        room=TopicFactory().room,
        by=contractor_member,
        title="リンクの確認",
        body="[道のページ](https://www.pref.hokkaido.lg.jp/) と <https://example.org/>",
    )

    links = [
        attrs
        for tag, attrs in body_elements(
            f'<div class="post-body">{formatting.render(topic.body)}</div>'
        )
        if tag == "a"
    ]

    assert links == [
        {"href": "https://www.pref.hokkaido.lg.jp/", "rel": "nofollow noopener"},
        {"href": "https://example.org/", "rel": "nofollow noopener"},
    ]


def test_note_rendering_is_kept_per_text_and_stays_sanitised():
    from note import formatting

    formatting._clean_html.cache_clear()
    hostile = "<script>alert(1)</script>[x](javascript:alert(1)) **強調**"
    first = formatting.render(hostile)
    again = formatting.render(hostile)

    assert first == again
    assert formatting._clean_html.cache_info().hits == 1
    assert "<script>" not in again and 'href="javascript' not in again
    assert "<strong>強調</strong>" in again
