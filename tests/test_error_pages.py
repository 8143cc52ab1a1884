"""Japanese error pages on the site's layout (issue 10), with DEBUG off.

404, 403 and 400 extend base.html; 500 is rendered by Django without a request
or context processors, so it stands alone with the same header and the static
stylesheet; a failed CSRF check shows 403_csrf.html through core.errors. The
crashing views below live in this module's own URLconf (`pytest.mark.urls`),
which includes the real one for base.html's links, never in config/urls.py.
"""

from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.template.loader import render_to_string
from django.test import Client
from django.urls import include, path

from tests.test_csp import assert_under_policy, inline_code


def _crash(request):
    raise RuntimeError("a bug in a view")


def _suspicious(request):
    raise SuspiciousOperation("a tampered request")


def _denied(request):
    raise PermissionDenied


urlpatterns = [
    path("test-errors/crash/", _crash),
    path("test-errors/suspicious/", _suspicious),
    path("test-errors/denied/", _denied),
    path("", include("config.urls")),
]
THIS_URLCONF = __name__


class _Page(HTMLParser):
    """What a person sees of an error page: its <h1>, whether the site header
    is there, where ホームへ leads, which stylesheets it loads."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.h1 = ""
        self.site_header = False
        self.home_links: list[str] = []
        self.stylesheets: list[str] = []
        self._in_h1 = False
        self._href = None
        self._link_text = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "header" and "site-header" in (attributes.get("class") or "").split():
            self.site_header = True
        elif tag == "h1":
            self._in_h1 = True
        elif tag == "a":
            self._href, self._link_text = attributes.get("href"), ""
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes.get("href"))

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False
        elif tag == "a":
            if self._link_text.strip() == "ホームへ":
                self.home_links.append(self._href)
            self._href = None

    def handle_data(self, data):
        if self._in_h1:
            self.h1 += data.strip()
        if self._href is not None:
            self._link_text += data


def page_of(html: str) -> dict:
    page = _Page()
    page.feed(html)
    page.close()
    return {
        "h1": page.h1,
        "site_header": page.site_header,
        "home": page.home_links,
        "stylesheets": page.stylesheets,
    }


def expected(h1: str) -> dict:
    return {"h1": h1, "site_header": True, "home": ["/"], "stylesheets": ["/static/css/site.css"]}


@pytest.fixture(autouse=True)
def _debug_off(settings):
    # The test settings already say so; stated here because Django shows its
    # own technical pages instead of these templates when DEBUG is on.
    settings.DEBUG = False


@pytest.mark.django_db
def test_error_page_404_is_japanese_on_the_site_layout(client):
    response = client.get("/no-such-page/")

    html = response.content.decode()
    assert response.status_code == 404
    assert page_of(html) == expected("ページが見つかりません")
    assert "お探しのページは見つかりませんでした。" in html
    assert [t.name for t in response.templates][:2] == ["404.html", "base.html"]
    assert_under_policy(response, "/no-such-page/")


@pytest.mark.django_db
def test_error_page_404_for_a_member_shows_their_menu(client, contractor_member):
    """Rendered with the request: a logged-in person keeps their own menu."""
    client.force_login(contractor_member)

    response = client.get("/no-such-page/")

    html = response.content.decode()
    assert response.status_code == 404
    assert page_of(html) == expected("ページが見つかりません")
    assert "ログアウト" in html and "組織一覧" in html


@pytest.mark.django_db
def test_error_page_csrf_failure_says_the_page_expired(contractor_member, password):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/accounts/login/", {"login": contractor_member.email, "password": password}
    )

    html = response.content.decode()
    assert response.status_code == 403
    assert page_of(html) == expected("ページの有効期限が切れました")
    assert "ページを再読み込み（更新）してから、もう一度入力して送信してください。" in html
    assert [t.name for t in response.templates][:2] == ["403_csrf.html", "base.html"]
    assert "_auth_user_id" not in client.session  # and nobody was logged in
    assert_under_policy(response, "login without a CSRF token")


@pytest.mark.django_db
@pytest.mark.urls(THIS_URLCONF)
def test_error_page_500_is_self_contained_and_japanese():
    client = Client(raise_request_exception=False)

    response = client.get("/test-errors/crash/")

    html = response.content.decode()
    assert response.status_code == 500
    assert page_of(html) == expected("システムエラーが発生しました")
    assert "a bug in a view" not in html
    # Only 500.html: nothing that needs a request or the database.
    assert [t.name for t in response.templates] == ["500.html"]
    assert_under_policy(response, "/test-errors/crash/")


def test_error_page_500_renders_without_request_or_database():
    """Django renders 500.html with no context at all; it must not need one
    (no `db` fixture: a query here would fail the test)."""
    html = render_to_string("500.html")

    assert page_of(html) == expected("システムエラーが発生しました")
    assert "しばらく時間をおいてから、もう一度お試しください。" in html
    assert inline_code(html) == []


@pytest.mark.django_db
@pytest.mark.urls(THIS_URLCONF)
def test_error_page_400_for_a_suspicious_request(client):
    response = client.get("/test-errors/suspicious/")

    html = response.content.decode()
    assert response.status_code == 400
    assert page_of(html) == expected("リクエストを処理できませんでした")
    assert "a tampered request" not in html
    assert [t.name for t in response.templates][:2] == ["400.html", "base.html"]
    assert_under_policy(response, "/test-errors/suspicious/")


@pytest.mark.django_db
@pytest.mark.urls(THIS_URLCONF)
def test_error_page_403_when_permission_is_denied(client):
    response = client.get("/test-errors/denied/")

    html = response.content.decode()
    assert response.status_code == 403
    assert page_of(html) == expected("この操作はできません")
    assert [t.name for t in response.templates][:2] == ["403.html", "base.html"]
    assert_under_policy(response, "/test-errors/denied/")


@pytest.mark.django_db
def test_error_page_400_for_a_disallowed_host(client):
    """A request for a host not in ALLOWED_HOSTS fails before the user is
    read (the request has no `user`): the page still renders."""
    response = client.get("/", HTTP_HOST="evil.example.com")

    assert response.status_code == 400
    assert page_of(response.content.decode()) == expected("リクエストを処理できませんでした")
