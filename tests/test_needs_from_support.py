"""「課題にする」 on a back-up menu application and on an engagement's outcome
report: the need copies the application's 「困っていること」 or the outcome's
「成果と今後」 — never who applied — in the application's 年度, links back to
the secretariat's page for the secretariat (nothing for the committee, which
opens no application page), and is raised once per source item."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from committee.enums import RAISABLE_SOURCES, NeedSource
from committee.models import Need
from support import services

from . import support_factories as sf
from .factories import MembershipFactory

pytestmark = pytest.mark.django_db
RAISE = reverse("dashboard:need_raise")
NEED = "フードバンクと窓口の連携を始めたいが、誰に相談すればよいか分からない。"
OUTCOME = "窓口とフードバンクの連絡会が始まり、月1回の情報交換が続いている。"


@pytest.fixture
def food():
    return sf.menu(number=7, name="フードバンク連携")


@pytest.fixture
def application(food, contractor_member):
    return sf.application(food, contractor_member, need=NEED)


@pytest.fixture
def completed(application):
    engagement = sf.engagement(application)
    partner = sf.partner_member(application.menu)
    sf.session(engagement, partner)
    return services.complete_engagement(
        engagement=engagement, by=partner, outcome_answers={"links_made": 2}, outcome_text=OUTCOME
    )


def test_the_new_sources_are_raisable():
    assert NeedSource.APPLICATION in RAISABLE_SOURCES and NeedSource.OUTCOME in RAISABLE_SOURCES
    assert (NeedSource.APPLICATION.label, NeedSource.OUTCOME.label) == (
        "後方支援の申込",
        "後方支援の成果報告",
    )


def test_secretariat_raises_an_application_once_and_it_links_to_the_manage_page(
    client_for, secretariat, committee_member, application, contractor_member
):
    client = client_for(secretariat)
    response = client.post(RAISE, {"kind": "application", "id": application.pk})

    need = Need.objects.get()
    assert response.status_code == 302 and response.url == need.get_absolute_url()
    assert (need.source, need.source_application, need.text, need.fiscal_year) == (
        NeedSource.APPLICATION,
        application,
        NEED,
        application.fiscal_year,
    )
    assert need.raised_by == secretariat
    again = client.post(RAISE, {"kind": "application", "id": application.pk})
    assert again.url == need.get_absolute_url() and Need.objects.count() == 1

    detail = client.get(need.get_absolute_url()).content.decode()
    manage = reverse("support:manage_application", args=[application.pk])
    assert f'<a href="{manage}">後方支援メニュー「フードバンク連携」の申込</a>' in detail
    # The committee reads the source's name, with no link, and never who applied.
    detail = client_for(committee_member).get(need.get_absolute_url()).content.decode()
    assert "後方支援メニュー「フードバンク連携」の申込" in detail
    assert manage not in detail
    for secret in (
        application.organisation.name,
        contractor_member.full_name,
        application.contact_email,
    ):
        assert secret not in detail
    export = client.get(reverse("dashboard:need_export", args=["csv"]))
    body = export.content.decode("utf-8-sig")
    assert "後方支援メニュー「フードバンク連携」の申込" in body
    assert application.organisation.name not in body


def test_secretariat_raises_an_outcome_once_and_it_links_to_the_engagement(
    client_for, secretariat, committee_member, completed
):
    client = client_for(secretariat)
    client.post(RAISE, {"kind": "outcome", "id": completed.pk})
    client.post(RAISE, {"kind": "outcome", "id": completed.pk})

    need = Need.objects.get()
    assert (need.source, need.source_engagement, need.text, need.fiscal_year) == (
        NeedSource.OUTCOME,
        completed,
        OUTCOME,
        completed.application.fiscal_year,
    )
    detail = client.get(need.get_absolute_url()).content.decode()
    assert (
        f'<a href="{completed.get_absolute_url()}">後方支援メニュー「フードバンク連携」の成果報告</a>'
        in detail
    )
    detail = client_for(committee_member).get(need.get_absolute_url()).content.decode()
    assert "後方支援メニュー「フードバンク連携」の成果報告" in detail
    assert completed.get_absolute_url() not in detail


def test_no_one_else_raises_and_a_refusal_changes_nothing(
    client_for, committee_member, contractor_member, application, food
):
    partner = sf.partner_member(food)
    for actor in (None, contractor_member, partner):
        response = client_for(actor).post(RAISE, {"kind": "application", "id": application.pk})
        assert response.status_code in (302, 404)
        assert Need.objects.count() == 0
    # The committee member may not open this application: posting its id finds nothing.
    committee = client_for(committee_member)
    assert committee.post(RAISE, {"kind": "application", "id": application.pk}).status_code == 404
    assert committee.post(RAISE, {"kind": "application", "id": 999999}).status_code == 404
    assert Need.objects.count() == 0


def test_an_engagement_without_an_outcome_report_cannot_be_raised(
    client_for, secretariat, application
):
    engagement = sf.engagement(application)
    response = client_for(secretariat).post(RAISE, {"kind": "outcome", "id": engagement.pk})
    assert response.status_code == 404 and Need.objects.count() == 0


def test_a_committee_member_raises_what_their_own_organisation_applied_for(
    client_for, committee_member, food, contractor_member
):
    MembershipFactory(
        user=committee_member, organisation=contractor_member.memberships.get().organisation
    )
    own = sf.application(food, contractor_member, need=NEED)
    response = client_for(committee_member).post(RAISE, {"kind": "application", "id": own.pk})
    need = Need.objects.get()
    assert response.url == need.get_absolute_url() and need.source_application == own


def _render(user, source, kind: str) -> str:
    request = RequestFactory().get("/support/somewhere/")
    request.user = user
    template = Template(
        "{% load needs %}{% raise_need_form kind %}{% raise_need_button source kind %}"
    )
    return template.render(Context({"request": request, "source": source, "kind": kind}))


def test_the_buttons_show_for_who_may_raise_and_send_the_id(
    secretariat, contractor_member, application, completed
):
    html = _render(secretariat, application, "application")
    assert '<form id="raise-need-application"' in html and 'value="application"' in html
    assert f'form="raise-need-application" name="id" value="{application.pk}"' in html
    html = _render(secretariat, completed, "engagement")
    assert '<form id="raise-need-outcome"' in html and 'name="kind" value="outcome"' in html
    assert f'form="raise-need-outcome" name="id" value="{completed.pk}"' in html
    assert "課題にする" not in _render(contractor_member, application, "application")


def test_no_button_on_an_engagement_still_running(secretariat, food, municipal_member):
    running = sf.engagement(sf.application(food, municipal_member))
    assert "課題にする" not in _render(secretariat, running, "engagement")
