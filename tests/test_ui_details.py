"""Details a new user stumbles on (issue 9): the dashboard's 年度 select, its
totals row, the favicon, empty choices in selects, the searchable 市町村
select, English question keys, one word for staff, the secretariat's menu."""

from __future__ import annotations

import datetime
import re
from html import unescape
from pathlib import Path

import pytest
from django import forms
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from core import filters as site_filters
from core import forms as site_forms
from events.models import Event
from network.models import Membership, Municipality, Organisation

from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import MembershipFactory, OrganisationFactory
from .survey_factories import catalog_survey

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
# The templates of the committee's pages: no inline script or style (a strict
# Content-Security-Policy is the design).
DASHBOARD_TEMPLATES = sorted((ROOT / "templates" / "committee").glob("*.html"))


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def text_of(html: str) -> str:
    """What a person reads: tags dropped, entities decoded, whitespace folded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def finished_meeting(year: int, month: int, number: int) -> Event:
    starts = timezone.make_aware(datetime.datetime(year, month, 10, 13, 30))
    return EventFactory(
        number=number,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=3),
        status=Event.Status.FINISHED,
    )


# --- the dashboard's 年度 ---------------------------------------------------------------


def test_dashboard_year_select_follows_without_button_by_script_file(client_for, committee_member):
    html = client_for(committee_member).get(reverse("dashboard:home")).content.decode()

    form = re.search(r'<form method="get" class="year-form"[^>]*>.*?</form>', html, re.S).group(0)
    assert "data-follow-select" in form
    # Without JavaScript the button is there to press; dashboard.js hides it.
    assert re.findall(r"<button[^>]*>([^<]*)</button>", form) == ["表示"]
    assert "data-follow-select-button" in form
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts == [
        ' src="/static/js/site.js" defer',
        ' src="/static/js/dashboard.js" defer',
    ]
    script = (ROOT / "static" / "js" / "dashboard.js").read_text(encoding="utf-8")
    assert "form[data-follow-select]" in script and "[data-print]" in script


@pytest.mark.parametrize("template", DASHBOARD_TEMPLATES, ids=lambda p: p.name)
def test_dashboard_templates_have_no_inline_script_or_style(template):
    source = template.read_text(encoding="utf-8")

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", source) == []
    assert re.findall(r"\bstyle=", source) == []


def test_dashboard_need_candidates_follow_their_year_select(client_for, committee_member):
    html = client_for(committee_member).get(reverse("dashboard:need_create")).content.decode()

    form = re.search(r'<form method="get" action="#candidates"[^>]*>', html).group(0)
    assert "data-follow-select" in form
    assert '<script src="/static/js/dashboard.js" defer></script>' in html


def test_dashboard_links_to_the_needs_register(client_for, committee_member):
    html = client_for(committee_member).get(reverse("dashboard:home")).content.decode()

    links = re.findall(r'<a class="button small" href="([^"]+)">([^<]+)</a>', html)
    assert (reverse("dashboard:needs"), "課題の登録簿") in links


def test_dashboard_totals_row_sums_no_returning_figure(client_for, committee_member):
    # One organisation comes to both meetings of 2021, for the first time ever:
    # the second meeting counts it as 継続, the 年度 has no organisation that
    # had come in an earlier 年度.
    first, second = finished_meeting(2021, 6, 1), finished_meeting(2021, 10, 2)
    npo = OrganisationFactory(kind=Organisation.Kind.CONTRACTOR)
    RegistrationFactory(event=first, organisation=npo)
    RegistrationFactory(event=second, organisation=npo)

    html = client_for(committee_member).get(reverse("dashboard:home") + "?fy=2021").content
    html = html.decode()

    table = re.search(r'<table class="stack participation-table.*?</table>', html, re.S).group(0)
    body = re.search(r"<tbody>.*?</tbody>", table, re.S).group(0)
    foot = re.search(r"<tfoot>.*?</tfoot>", table, re.S).group(0)
    continuing = r'<td class="num" data-label="継続">(.*?)</td>'
    assert [text_of(c) for c in re.findall(continuing, body, re.S)] == ["0", "1"]
    assert [text_of(c) for c in re.findall(continuing, foot, re.S)] == ["— 合計なし（回ごとの数）"]
    stats = text_of(re.search(r'<section class="grid stats.*?</section>', html, re.S).group(0))
    assert "うち今年度初参加 1 前年度以前から 0" in stats


# --- the favicon ------------------------------------------------------------------------


def test_favicon_is_linked_from_every_page(client):
    html = client.get(reverse("home")).content.decode()

    assert re.findall(r'<link rel="icon"[^>]*>', html) == [
        '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">'
    ]
    icon = (ROOT / "static" / "img" / "favicon.svg").read_text(encoding="utf-8")
    assert icon.startswith("<svg ") and 'viewBox="0 0 32 32"' in icon


# --- empty choices ----------------------------------------------------------------------


@pytest.fixture
def pages(secretariat, municipal_member, contractor_org, municipal_org):
    """The main form and filter pages, per actor."""
    event = EventFactory(has_social=True, social_capacity=10)
    SessionFactory(event=event)
    registration = RegistrationFactory(
        event=event, user=municipal_member, organisation=municipal_org, question="質問"
    )
    survey = catalog_survey("annual")
    staff = MembershipFactory(organisation=contractor_org)
    useful = survey.questions.get(key="useful")
    manage = [
        ("network:manage_home", []),
        ("network:organisation_create", []),
        ("network:organisation_list", []),
        ("network:organisation_edit", [contractor_org.pk]),
        ("network:people_list", []),
        ("network:join_request_list", []),
        ("network:staff_invite", [contractor_org.pk]),
        ("network:membership_edit", [contractor_org.pk, staff.pk]),
        ("events:manage_list", []),
        ("events:create", []),
        ("events:edit", [event.pk]),
        ("events:sessions", [event.pk]),
        ("events:registrations", [event.pk]),
        ("events:registration_add", [event.pk]),
        ("events:message", [event.pk]),
        ("events:list", []),
        ("surveys:manage_list", []),
        ("surveys:create", []),
        ("surveys:edit", [survey.pk]),
        ("surveys:question_add", [survey.pk]),
        ("surveys:question_edit", [survey.pk, useful.pk]),
        ("surveys:invitations", [survey.pk]),
        ("dashboard:needs", []),
        ("dashboard:need_create", []),
        ("dashboard:need_detail", []),
    ]
    from committee.models import Need

    need = Need.objects.create(title="課題", text="内容", fiscal_year=2021)
    urls = {
        "secretariat": [
            reverse(name, args=args or ([need.pk] if name == "dashboard:need_detail" else []))
            for name, args in manage
        ],
        "member": [
            reverse("events:list"),
            reverse("events:registration_edit", args=[registration.pk]),
            reverse("network:organisation_list"),
            reverse("surveys:list"),
        ],
    }
    return {"secretariat": secretariat, "member": municipal_member}, urls


def test_selects_never_offer_dashes_on_form_and_filter_pages(client_for, client, pages):
    users, urls = pages
    seen = {}
    for who, user in users.items():
        c = client_for(user)
        for url in urls[who]:
            response = c.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            seen[url] = html.count("<select")
            assert "---------" not in html, f"{who} {url}"
    client.logout()
    join = client.get(reverse("network:join_request")).content.decode()
    assert "---------" not in join
    # The pages do have selects: the check is not vacuous.
    assert sum(seen.values()) >= 25


class _Form(site_forms.Form):
    kind = forms.ChoiceField(choices=[("", "---------"), *Organisation.Kind.choices])
    experience = forms.ChoiceField(
        choices=[("", "---------"), *Membership.Experience.choices], required=False
    )
    named = forms.ChoiceField(choices=[("", "未定"), ("a", "A")], required=False)


class _ModelForm(site_forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["organisation", "experience"]


def _empty_labels(form) -> dict:
    labels = {}
    for name in form.fields:
        options = dict((str(v), str(label)) for v, label in form[name].field.widget.choices)
        labels[name] = options.get("")
    return labels


def test_empty_choice_says_what_to_choose_in_every_site_form():
    assert _empty_labels(_Form()) == {
        "kind": "選択してください",
        "experience": "指定なし",
        "named": "未定",
    }
    assert _empty_labels(_ModelForm()) == {
        "organisation": "選択してください",
        "experience": "指定なし",
    }
    # The rendered select says the same.
    assert '<option value="" selected>選択してください</option>' in str(_Form()["kind"])


def test_empty_choice_of_a_filter_says_all():
    class _Filter(site_filters.FilterSet):
        municipality = site_filters.ModelChoiceFilter(queryset=Municipality.objects.all())

        class Meta:
            model = Organisation
            fields = ["kind", "municipality"]

    form = _Filter({}).form
    assert str(form.fields["municipality"].empty_label) == "すべて"
    assert '<option value="" selected>すべて</option>' in str(form["kind"])


# --- the 市町村 select --------------------------------------------------------------------


def test_municipality_selects_are_searchable_by_name_and_reading(
    client_for, client, org_admin, contractor_org, secretariat
):
    sapporo = Municipality.objects.get(name="札幌市")
    pages = [
        client.get(reverse("network:join_request")),
        client_for(org_admin).get(reverse("network:organisation_edit", args=[contractor_org.pk])),
        client_for(secretariat).get(reverse("network:organisation_list")),
    ]
    for response in pages:
        html = response.content.decode()
        select = re.search(r'<select name="municipality"[^>]*>', html).group(0)
        assert 'data-searchable="名前・かなで探す"' in select
        assert 'data-search-count="該当 {n} 件"' in select
        options = [
            (re.search(r'value="(\d+)"', attrs).group(1), kana, name)
            for attrs, kana, name in re.findall(
                r'<option( value="\d+"[^>]*?) data-kana="([^"]+)"[^>]*>([^<]+)</option>', html
            )
        ]
        assert len(options) == Municipality.objects.count() == 179
        assert (str(sapporo.pk), "さっぽろし", "札幌市") in options
        # Still grouped under the 振興局 for those without JavaScript.
        assert html.count("<optgroup") >= 14
    script = (ROOT / "static" / "js" / "site.js").read_text(encoding="utf-8")
    assert "select[data-searchable]" in script


# --- English question keys -------------------------------------------------------------


KEYS = ("attended", "useful", "continue", "format", "comments", "frequency", "expectations")


def test_survey_management_pages_show_no_question_keys(client_for, secretariat):
    survey = catalog_survey("annual")
    assert {q.key for q in survey.questions.all()} >= {"attended", "useful", "continue"}
    c = client_for(secretariat)

    for url in [
        reverse("surveys:detail", args=[survey.pk]),
        reverse("surveys:preview", args=[survey.pk]),
        reverse("surveys:invitations", args=[survey.pk]),
        reverse("surveys:results", args=[survey.pk]),
        reverse("surveys:publish", args=[survey.pk]),
    ]:
        text = text_of(c.get(url).content.decode())
        assert [k for k in KEYS if re.search(rf"\b{k}\b", text)] == [], url
        assert "キー:" not in text
    detail = text_of(c.get(reverse("surveys:detail", args=[survey.pk])).content.decode())
    useful = survey.questions.get(key="useful")
    assert f"Q{useful.order} {useful.text}" in detail


# --- one word for staff ----------------------------------------------------------------


def test_staff_are_called_職員_on_every_organisation_page(client_for, org_admin, contractor_org):
    c = client_for(org_admin)
    pages = {
        "home": c.get(reverse("home")),
        "detail": c.get(reverse("network:organisation_detail", args=[contractor_org.pk])),
        "staff": c.get(reverse("network:staff_list", args=[contractor_org.pk])),
        "invite": c.get(reverse("network:staff_invite", args=[contractor_org.pk])),
    }

    for name, response in pages.items():
        assert "スタッフ" not in response.content.decode(), name
    staff = pages["staff"].content.decode()
    assert re.findall(r"<h1>([^<]+)</h1>", staff) == ["職員一覧"]
    assert re.findall(r"<h1>([^<]+)</h1>", pages["invite"].content.decode()) == ["職員を招待"]
    links = re.findall(r"<a [^>]*>([^<]+)</a>", pages["detail"].content.decode())
    assert "職員一覧" in links


# --- the secretariat's menu ------------------------------------------------------------


def _survey_menu(html: str) -> list[str]:
    nav = re.search(r'<nav id="site-nav".*?</nav>', html, re.S).group(0)
    return re.findall(r'<a href="([^"]+)"[^>]*>アンケート</a>', nav)


def test_secretariat_survey_menu_leads_to_the_management_list(
    client_for, secretariat, municipal_member
):
    assert _survey_menu(client_for(secretariat).get(reverse("home")).content.decode()) == [
        reverse("surveys:manage_list")
    ]
    assert _survey_menu(client_for(municipal_member).get(reverse("home")).content.decode()) == [
        reverse("surveys:list")
    ]


def test_dashboard_menu_is_the_only_current_item_on_the_dashboard(client_for, committee_member):
    html = client_for(committee_member).get(reverse("dashboard:home")).content.decode()

    nav = re.search(r'<nav id="site-nav".*?</nav>', html, re.S).group(0)
    assert re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', nav) == ["委員会"]
