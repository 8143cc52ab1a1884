"""The secretariat's triage of back-up menu applications, through the views:
the list with its filters and slot summary, one application, accept / hold /
decline, and what others get when they try."""

import re

import pytest
from django.urls import reverse

from core.dates import current_fiscal_year
from core.models import OutboxMessage
from core.templatetags.wareki import wareki_fy
from support.enums import ApplicationStatus
from support.models import Application, ApplicationUpdate, Engagement

from . import snapshots
from . import support_factories as sf
from .factories import MembershipFactory, OrganisationFactory
from .queries import assert_flat_query_count

pytestmark = pytest.mark.django_db

LIST_URL = reverse("support:manage_applications")


def _page_url(app):
    return reverse("support:manage_application", args=[app.pk])


def _url(name, app):
    return reverse(f"support:{name}", args=[app.pk])


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _actions(response) -> list[str]:
    """The URLs the page's triage forms post to (not the header's logout)."""
    urls = re.findall(r'<form method="post" action="([^"]+)"', response.content.decode())
    return [url for url in urls if url.startswith("/support/")]


def _status_mails(app) -> list[str]:
    keys = [f"support:status:{u.pk}:" for u in app.updates.all()]
    return sorted(
        m.subject
        for m in OutboxMessage.objects.filter(key__startswith="support:status:")
        if any(m.key.startswith(k) for k in keys)
    )


def _rows(response) -> list[str]:
    return [app.organisation.name for app in response.context["page_obj"]]


@pytest.fixture
def menu():
    return sf.menu(number=3, name="食のつなぎ支援", slots=2)


@pytest.fixture
def pending(menu, contractor_member):
    return sf.application(menu, contractor_member)


# --- the list ------------------------------------------------------------------------


def test_applications_list_shows_pending_first_by_default(
    client_for, secretariat, menu, contractor_member, municipal_member, other_org
):
    accepted = sf.application(menu, municipal_member)
    sf.engagement(accepted, by=secretariat)
    waiting = sf.application(menu, contractor_member)

    response = client_for(secretariat).get(LIST_URL)

    assert _rows(response) == [waiting.organisation.name]
    text = _text(response)
    assert "③ 食のつなぎ支援" in text
    assert "1 / 2" in text  # slots used in the current 年度
    assert response.context["summary_year"] == current_fiscal_year()

    everything = client_for(secretariat).get(LIST_URL, {"status": ""})
    assert _rows(everything) == ["札幌生活サポートセンター", "札幌市保健福祉局"]
    assert 'class="badge application-status-accepted">実施中' in _text(everything)
    assert "協力団体3" in _text(everything)


def test_applications_list_filters_by_status_kind_and_year(
    client_for, secretariat, menu, contractor_member, municipal_member
):
    city = sf.application(menu, municipal_member)
    sf.application(menu, contractor_member)
    client = client_for(secretariat)

    assert _rows(client.get(LIST_URL, {"kind": "municipality"})) == [city.organisation.name]
    assert _rows(client.get(LIST_URL, {"status": "accepted"})) == []
    assert _rows(client.get(LIST_URL, {"fy": str(current_fiscal_year() - 1)})) == []
    bad = client.get(LIST_URL, {"fy": "1999", "menu": "abc"})
    assert _rows(bad) == []
    assert "検索条件に誤りがあります" in _text(bad)


def test_applications_list_export_links_carry_the_filter(client_for, secretariat, pending):
    response = client_for(secretariat).get(LIST_URL, {"kind": "contractor"})
    fy = current_fiscal_year()
    query = f"kind=contractor&amp;fy={fy}&amp;status=pending"
    text = _text(response)
    assert f'href="/support/manage/export/applications.csv?{query}"' in text
    assert f'href="/support/manage/export/sessions.xlsx?{query}"' in text


def test_applications_list_is_404_for_everyone_but_the_secretariat(client_for, actors, pending):
    assert _rows(client_for(actors["secretariat"]).get(LIST_URL)) == ["札幌生活サポートセンター"]
    for name in ("outsider", "contractor_member", "municipal_member", "org_admin", "committee"):
        response = client_for(actors[name]).get(LIST_URL)
        assert (name, response.status_code) == (name, 404)
        assert "札幌生活サポートセンター" not in response.content.decode()


def test_applications_list_query_count_is_flat(
    client_for, secretariat, menu, django_assert_num_queries
):
    def add_rows(n):
        for _ in range(n):
            member = MembershipFactory(organisation=OrganisationFactory()).user
            app = sf.application(menu, member)
            Application.objects.filter(pk=app.pk).update(status=ApplicationStatus.ON_HOLD)

    assert_flat_query_count(
        django_assert_num_queries,
        client_for(secretariat),
        LIST_URL,
        add_rows,
        9,
        lambda response: len(response.context["page_obj"]),
        large=20,
    )


# --- one application ------------------------------------------------------------------


def test_application_page_shows_need_contact_history_and_three_forms(
    client_for, secretariat, pending
):
    response = client_for(secretariat).get(_page_url(pending))
    text = _text(response)
    assert "食料支援の窓口連携を始めたい。" in text
    assert "npo@example.org" in text
    assert "受入枠：残り 2 件（2 件中）" in text
    assert [u.new_status for u in response.context["history"]] == [ApplicationStatus.SUBMITTED]
    assert _actions(response) == [
        _url("accept", pending),
        _url("hold", pending),
        _url("decline", pending),
    ]
    # The coordinator defaults to the secretariat member looking at it.
    assert response.context["accept_form"]["coordinator"].value() == secretariat.pk
    assert list(response.context["accept_form"].fields["partner"].queryset) == list(
        pending.menu.partners.all()
    )


def test_application_page_is_404_for_the_applicant(client_for, contractor_member, pending):
    assert client_for(contractor_member).get(_page_url(pending)).status_code == 404


# --- triage -----------------------------------------------------------------------------


def test_accept_assigns_partner_and_links_to_the_engagement(client_for, secretariat, pending):
    partner = pending.menu.partners.get()
    client = client_for(secretariat)
    response = client.post(
        _url("accept", pending),
        {"partner": partner.pk, "coordinator": secretariat.pk, "note": "電話で確認済み"},
    )
    assert (response.status_code, response["Location"]) == (302, _page_url(pending))
    pending.refresh_from_db()
    assert pending.status == ApplicationStatus.ACCEPTED
    engagement = Engagement.objects.get(application=pending)
    assert (engagement.partner, engagement.coordinator) == (partner, secretariat)
    assert [(u.new_status, u.note) for u in pending.updates.all()] == [
        (ApplicationStatus.SUBMITTED, ""),
        (ApplicationStatus.ACCEPTED, "電話で確認済み"),
    ]
    response = client.get(_page_url(pending))
    page = _text(response)
    assert "受理しました。協力団体3と申込組織にメールでお知らせします。" in page
    assert f'href="{reverse("support:engagement", args=[engagement.pk])}"' in page
    assert _actions(response) == []
    assert len(_status_mails(pending)) == 2  # 受付, then 実施中: one each


def test_hold_and_decline_store_the_reason_and_mail_once_each(client_for, secretariat, pending):
    client = client_for(secretariat)
    response = client.post(_url("hold", pending), {"reason": "協力団体と日程を調整中です。"})
    assert (response.status_code, response["Location"]) == (302, _page_url(pending))
    pending.refresh_from_db()
    assert (pending.status, pending.status_reason) == (
        ApplicationStatus.ON_HOLD,
        "協力団体と日程を調整中です。",
    )
    response = client.get(_page_url(pending))
    assert "保留にしました。申込組織に理由をメールでお知らせします。" in _text(response)
    # On hold: it may still be accepted or declined, not held again.
    assert _actions(response) == [_url("accept", pending), _url("decline", pending)]

    response = client.post(_url("decline", pending), {"reason": "今年度の枠が埋まりました。"})
    assert (response.status_code, response["Location"]) == (302, _page_url(pending))
    pending.refresh_from_db()
    assert (pending.status, pending.status_reason) == (
        ApplicationStatus.DECLINED,
        "今年度の枠が埋まりました。",
    )
    assert [u.new_status for u in pending.updates.all()] == [
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ON_HOLD,
        ApplicationStatus.DECLINED,
    ]
    assert len(_status_mails(pending)) == 3
    assert OutboxMessage.objects.filter(key__startswith="support:status:").count() == 3


@pytest.mark.parametrize("action", ["hold", "decline"])
def test_triage_reason_is_required_and_nothing_is_written(client_for, secretariat, pending, action):
    client = client_for(secretariat)  # logging in writes last_login
    before = snapshots.take()
    response = client.post(_url(action, pending), {"reason": "  "})
    assert response.status_code == 200
    assert "申込組織に伝える理由を入力してください。" in _text(response)
    assert response.context[f"{action}_form"].errors == {
        "reason": ["申込組織に伝える理由を入力してください。"]
    }
    assert snapshots.take().changes_from(before) == []


def test_accept_when_the_menu_is_full_shows_the_slots_error(
    client_for, secretariat, municipal_member, other_org, contractor_member
):
    menu = sf.menu(slots=1)
    sf.engagement(sf.application(menu, municipal_member), by=secretariat)
    waiting = sf.application(menu, contractor_member)
    client = client_for(secretariat)
    before = snapshots.take()

    response = client.post(
        _url("accept", waiting),
        {"partner": menu.partners.get().pk, "coordinator": secretariat.pk},
    )

    assert response.status_code == 200
    fy = current_fiscal_year()
    assert f"{wareki_fy(fy)}の受入件数（1件）に達しています。" in _text(response)
    assert response.context["accept_form"].non_field_errors() == [
        f"{wareki_fy(fy)}の受入件数（1件）に達しています。"
    ]
    assert snapshots.take().changes_from(before) == []
    waiting.refresh_from_db()
    assert waiting.status == ApplicationStatus.SUBMITTED


def test_accept_with_a_partner_outside_the_menu_shows_the_error_next_to_it(
    client_for, secretariat, pending, other_org
):
    client = client_for(secretariat)
    before = snapshots.take()
    response = client.post(
        _url("accept", pending), {"partner": other_org.pk, "coordinator": secretariat.pk}
    )
    assert response.status_code == 200
    assert list(response.context["accept_form"].errors) == ["partner"]
    assert snapshots.take().changes_from(before) == []


def test_accept_refuses_a_coordinator_outside_the_secretariat(
    client_for, secretariat, pending, committee_member
):
    client = client_for(secretariat)
    before = snapshots.take()
    response = client.post(
        _url("accept", pending),
        {"partner": pending.menu.partners.get().pk, "coordinator": committee_member.pk},
    )
    assert response.status_code == 200
    assert list(response.context["accept_form"].errors) == ["coordinator"]
    assert snapshots.take().changes_from(before) == []


@pytest.mark.parametrize(
    "name", ["outsider", "contractor_member", "municipal_member", "org_admin", "committee"]
)
@pytest.mark.parametrize("action", ["accept", "hold", "decline"])
def test_triage_by_anyone_but_the_secretariat_is_404_and_changes_nothing(
    client_for, actors, pending, name, action
):
    secretariat = actors["secretariat"]
    payload = {
        "partner": pending.menu.partners.get().pk,
        "coordinator": secretariat.pk,
        "reason": "理由があります。",
    }
    client = client_for(actors[name])
    before = snapshots.take()
    response = client.post(_url(action, pending), payload)
    assert (response.status_code, snapshots.take().changes_from(before)) == (404, [])
    # The same payload writes when the secretariat sends it.
    response = client_for(secretariat).post(_url(action, pending), payload)
    assert (response.status_code, response["Location"]) == (302, _page_url(pending))
    assert ApplicationUpdate.objects.filter(application=pending).count() == 2


def test_triage_get_is_refused(client_for, secretariat, pending):
    response = client_for(secretariat).get(_url("accept", pending))
    assert response.status_code == 405
    pending.refresh_from_db()
    assert pending.status == ApplicationStatus.SUBMITTED
