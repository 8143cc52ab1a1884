"""The strict Content-Security-Policy (decision 0004) holds on every page.

Every URL of the access matrix, fetched as the secretariat and as an anonymous
visitor, answers with exactly the policy below, and its HTML holds nothing the
policy would refuse: no inline <script> (JSON data blocks aside), no <style>
element, no style= attribute, no on…= handler, no javascript: link. The same
for every admin page we render, the import preview included. The browser
journeys add the browser's own word: a CSP violation on Chromium's console
fails the journey (tests/journeys/helpers.py).
"""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.urls import reverse

from tests.factories import OrganisationFactory, municipality

# The access matrix's table and the fixtures that build its targets (imported
# so that pytest finds them here; requested through getfixturevalue).
from tests.test_access_matrix import MATRIX, targets, world  # noqa: F401
from tests.test_admin_matrix import VIEWS, _objects, registered, url_of

HEADER = "Content-Security-Policy"
# The policy as decision 0004 states it; written out here, not read from the
# settings, so that a change to the settings fails this test on purpose.
POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}
# <script type="application/json"> is data (json_script), never executed.
DATA_SCRIPT_TYPES = {"application/json"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}


def parse_policy(header: str) -> dict[str, list[str]]:
    """{directive: [sources]} of a policy header (directive order is not
    significant in CSP, and django-csp does not keep it)."""
    policy = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            policy[words[0]] = words[1:]
    return policy


class _InlineCodeFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def _problem(self, what: str) -> None:
        self.problems.append(f"line {self.getpos()[0]}: {what}")

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes:
            if (attributes.get("type") or "").strip().lower() not in DATA_SCRIPT_TYPES:
                self._problem("inline <script> without src")
        if tag == "style":
            self._problem("<style> element")
        for name, value in attrs:
            # In a template's source an attribute may follow a tag:
            # `{% if x %}style="…"` parses as the name `%}style`.
            bare = name.rsplit("}", 1)[-1]
            if bare == "style":
                self._problem(f"style= attribute on <{tag}>: {value!r}")
            elif bare.startswith("on") and len(bare) > 2:
                self._problem(f"{bare}= handler on <{tag}>")
            elif bare in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self._problem(f"javascript: URL in {bare}= on <{tag}>")


def inline_code(html: str) -> list[str]:
    """Everything in `html` that a policy without 'unsafe-inline' refuses."""
    finder = _InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


def assert_under_policy(response, url: str) -> None:
    """The response carries exactly POLICY and, when it is HTML, no inline code."""
    assert HEADER in response, f"{url} ({response.status_code}): no {HEADER} header"
    assert parse_policy(response[HEADER]) == POLICY, f"{url}: {response[HEADER]}"
    if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
        problems = inline_code(response.content.decode())
        assert problems == [], f"{url} ({response.status_code}): " + "; ".join(problems)


# --- (a) every page of the portal ----------------------------------------------------

PAGES = sorted({(name, target) for name, target, _expected in MATRIX}, key=str)


@pytest.mark.parametrize("url_name,target", PAGES, ids=[f"{n}[{t or '-'}]" for n, t in PAGES])
def test_csp_every_page_is_served_under_the_strict_policy(
    url_name, target, request, client_for, secretariat
):
    url = reverse(url_name, kwargs=request.getfixturevalue("targets")[target])
    for actor in (secretariat, None):
        response = client_for(actor).get(url)

        assert_under_policy(response, f"{url} as {actor or 'anonymous'}")


@pytest.mark.django_db
def test_csp_checked_pages_include_html(client_for, secretariat):
    """The page check above looks at real HTML: the manage home and the join
    form (the two pages that had style= attributes) are HTML with content."""
    client = client_for(secretariat)
    for url, text in (
        (reverse("network:manage_home"), "事務局の業務"),
        (reverse("network:join_request"), "ご担当者について"),
    ):
        response = client.get(url)

        assert response["Content-Type"].startswith("text/html")
        assert text in response.content.decode()
        assert_under_policy(response, url)


@pytest.mark.django_db
def test_csp_error_page_is_served_under_the_strict_policy(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert_under_policy(response, "/no-such-page/")


# --- the admin pages we render ----------------------------------------------------------


@pytest.mark.parametrize("model", registered(), ids=lambda m: m._meta.label)
@pytest.mark.django_db
def test_csp_admin_pages_are_served_under_the_strict_policy(
    client_for, superuser, contractor_member, secretariat, model
):
    obj = _objects(contractor_member, secretariat)[model]
    client = client_for(superuser)
    urls = [url_of(model, view, obj) for view in VIEWS]
    checked = [url for url in urls if url is not None]
    for url in checked:
        response = client.get(url)

        # 403: a read-only admin refuses "add" even to a superuser (our 403.html).
        assert response.status_code in (200, 403), url
        assert_under_policy(response, url)
    assert len(checked) >= 4  # changelist, add or change, delete, history at least


@pytest.mark.django_db
def test_csp_admin_index_and_login_are_served_under_the_strict_policy(client_for, superuser):
    index = client_for(superuser).get(reverse("admin:index"))
    # The admin's login is the site's (config/urls.py): its page is the one to check.
    login = client_for(None).get(reverse("admin:login"), follow=True)

    assert index.status_code == 200
    assert_under_policy(index, reverse("admin:index"))
    assert login.redirect_chain[0][0].startswith(reverse("account_login"))
    assert login.status_code == 200
    assert_under_policy(login, reverse("account_login"))


@pytest.mark.django_db
def test_csp_admin_import_preview_has_no_inline_style(client_for, superuser):
    """import-export marks up the preview's differences with
    <ins style="background:…">; our import template strips those attributes
    (its stylesheet colours ins/del already). One new row and one changed row,
    so both <ins> and <del> appear."""
    existing = OrganisationFactory(name="旧名の団体", municipality=municipality("011002"))
    content = (
        "id,name,kind,municipality\n"
        f"{existing.pk},新名の団体,contractor,011002\n"
        ",取り込みテスト団体,support,011002\n"
    )
    client = client_for(superuser)

    response = client.post(
        reverse("admin:network_organisation_import"),
        {
            "format": "0",
            "resource": "0",
            "import_file": SimpleUploadedFile("x.csv", content.encode()),
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["confirm_form"] is not None, html
    # import-export's own markup, less the style attribute.
    assert "<ins>取り込みテスト団体</ins>" in html
    assert "<del>旧</del>" in html and "<ins>新</ins>" in html
    assert_under_policy(response, "organisation import preview")


# --- templates on disk --------------------------------------------------------------------


def test_csp_no_template_holds_inline_script_or_style():
    """Every template of ours, also those no test renders in every state."""
    problems = []
    for path in sorted(Path(settings.BASE_DIR, "templates").rglob("*.html")):
        found = inline_code(path.read_text(encoding="utf-8"))
        problems += [f"{path.relative_to(settings.BASE_DIR)} {p}" for p in found]

    assert problems == []


# --- (b) the check can fail ---------------------------------------------------------


@pytest.mark.parametrize(
    "source,expected",
    [
        (
            '<div class="actions" style="margin-top:0">x</div>',
            "line 1: style= attribute on <div>: 'margin-top:0'",
        ),
        ("<p>a</p>\n<script>document.title = 'x';</script>", "line 2: inline <script> without src"),
        ('<script type="module">import "/x.js";</script>', "line 1: inline <script> without src"),
        ("<style>p { color: red }</style>", "line 1: <style> element"),
        ('<button onclick="go()">go</button>', "line 1: onclick= handler on <button>"),
        ('<a href=" javascript:go()">go</a>', "line 1: javascript: URL in href= on <a>"),
        (
            '<p {% if on %}style="color:red"{% endif %}>p</p>',
            "line 1: style= attribute on <p>: 'color:red'",
        ),
    ],
)
def test_csp_inline_code_check_catches_a_template_with_inline_code(source, expected):
    """A template with style= (or inline script) is caught, so the checks
    above can fail."""
    rendered = Template(source).render(Context({"on": True}))

    assert inline_code(rendered) == [expected]


def test_csp_inline_code_check_catches_a_template_attribute_in_source():
    """The on-disk scan reads `{% if %}style=` before it is rendered."""
    source = '<p {% if on %}style="color:red"{% endif %}>p</p>'

    assert inline_code(source) == ["line 1: style= attribute on <p>: 'color:red'"]


@pytest.mark.parametrize(
    "source",
    [
        '<script src="/static/js/site.js" defer></script>',
        '<script id="data" type="application/json">{"a": 1}</script>',
        '<div class="honeypot" data-style="x">on the page</div>',
        '<a href="/events/">javascript: in text is only text</a>',
    ],
)
def test_csp_inline_code_check_passes_what_the_policy_allows(source):
    assert inline_code(Template(source).render(Context())) == []
