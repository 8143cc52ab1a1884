"""The partner organisation's pages of the back-up menus: its engagements
(and no one else's), recording sessions, completing with the outcome report
and the follow-up survey; and the query count of the engagements list."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from support import services
from support.enums import ApplicationStatus, SessionMode
from support.models import EngagementSession
from surveys.models import Invitation
from tests import snapshots
from tests import support_factories as sf
from tests.queries import assert_flat_query_count

pytestmark = pytest.mark.django_db


def _content(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def menu(db):
    return sf.menu(number=7, name="食料支援の連携")


@pytest.fixture
def engagement(menu, contractor_member):
    return sf.engagement(
        sf.application(menu, contractor_member, need="食料の受け渡し窓口を増やしたい。")
    )


@pytest.fixture
def partner(menu):
    return sf.partner_member(menu, user__email="partner@example.org", user__full_name="協力 六郎")


def _session_data(**extra):
    return {
        "held_on": timezone.localdate().isoformat(),
        "duration_minutes": "90",
        "mode": SessionMode.VISIT,
        "done": "受け渡しの流れを職員と確認した。",
        "next_steps": "来月に2回目。",
        "partner_hours": "2.5",
        **extra,
    }


# --- the engagements ---------------------------------------------------------------


def test_engagements_page_lists_only_the_partners_engagements(
    engagement, partner, municipal_member, client_for
):
    other_menu = sf.menu(name="デジタル化相談")
    other = sf.engagement(sf.application(other_menu, municipal_member))

    response = client_for(partner).get(reverse("support:engagements"))

    assert list(response.context["page_obj"]) == [engagement]
    assert "食料支援の連携" in _content(response)
    assert "デジタル化相談" not in _content(response)
    assert other.application.organisation.name not in _content(response)


def test_engagements_page_lists_open_ones_first(menu, partner, contractor_member, client_for):
    done = sf.engagement(sf.application(menu, contractor_member))
    sf.session(done, partner)
    services.complete_engagement(
        engagement=done, by=partner, outcome_answers={"links_made": 1}, outcome_text="終了"
    )
    newer_open = sf.engagement(sf.application(menu, contractor_member))

    older_open = sf.engagement(sf.application(menu, contractor_member))
    type(older_open).objects.filter(pk=older_open.pk).update(
        accepted_at=timezone.now() - datetime.timedelta(days=3)
    )
    type(done).objects.filter(pk=done.pk).update(accepted_at=timezone.now())

    response = client_for(partner).get(reverse("support:engagements"))

    assert [e.pk for e in response.context["page_obj"]] == [newer_open.pk, older_open.pk, done.pk]


def test_engagements_page_without_engagements_says_so(contractor_member, client_for):
    response = client_for(contractor_member).get(reverse("support:engagements"))
    assert list(response.context["page_obj"]) == []
    assert "担当している支援はありません。" in _content(response)


def test_engagement_of_another_partner_answers_404(
    engagement, municipal_member, secretariat, client_for
):
    other_menu = sf.menu()
    other_partner = sf.partner_member(other_menu)
    foreign = sf.engagement(sf.application(other_menu, municipal_member, need="市の記録"))
    sf.session(foreign, other_partner)

    assert "市の記録" in _content(client_for(secretariat).get(foreign.get_absolute_url()))
    assert "市の記録" in _content(client_for(other_partner).get(foreign.get_absolute_url()))
    partner = sf.partner_member(engagement.application.menu)
    response = client_for(partner).get(foreign.get_absolute_url())
    assert response.status_code == 404
    assert "市の記録" not in _content(response)


def test_engagement_of_the_applicant_answers_404(engagement, contractor_member, client_for):
    response = client_for(contractor_member).get(engagement.get_absolute_url())
    assert response.status_code == 404
    assert "食料の受け渡し窓口を増やしたい。" not in _content(response)


def test_engagement_page_shows_need_sessions_and_totals(engagement, partner, client_for):
    sf.session(engagement, partner, days_ago=0, hours="2", coordination="0.5")
    sf.session(engagement, partner, days_ago=0, hours="1.5", coordination="0")

    response = client_for(partner).get(engagement.get_absolute_url())

    content = _content(response)
    assert "食料の受け渡し窓口を増やしたい。" in content
    assert (response.context["partner_hours"], response.context["secretariat_hours"]) == (
        Decimal("3.5"),
        Decimal("0.5"),
    )
    assert "2 回・合計 120 分／協力団体の従事 3.50 時間・事務局の調整 0.50 時間" in content
    assert "記録を追加" in content and "完了にする" in content
    assert engagement.coordinator.full_name in content


# --- recording a session -----------------------------------------------------------


def test_session_create_records_a_session(engagement, partner, client_for):
    response = client_for(partner).post(
        reverse("support:session_create", args=[engagement.pk]), _session_data(), follow=True
    )

    assert response.redirect_chain == [(engagement.get_absolute_url(), 302)]
    assert _messages(response) == ["支援記録を追加しました。"]
    session = EngagementSession.objects.get()
    assert (
        session.held_on,
        session.duration_minutes,
        session.mode,
        session.done,
        session.next_steps,
        session.partner_hours,
        session.secretariat_hours,
        session.recorded_by,
    ) == (
        timezone.localdate(),
        90,
        SessionMode.VISIT,
        "受け渡しの流れを職員と確認した。",
        "来月に2回目。",
        Decimal("2.5"),
        Decimal("0"),
        partner,
    )
    assert "受け渡しの流れを職員と確認した。" in _content(response)


def test_session_create_refuses_a_future_date(engagement, partner, client_for):
    client = client_for(partner)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    before = snapshots.take()

    response = client.post(
        reverse("support:session_create", args=[engagement.pk]),
        _session_data(held_on=tomorrow.isoformat()),
    )

    assert snapshots.take().changes_from(before) == []
    assert response.context["form"].errors["held_on"] == ["未来の日付は記録できません。"]
    assert "未来の日付は記録できません。" in _content(response)


def test_session_create_ignores_secretariat_hours_of_a_partner(engagement, partner, client_for):
    client = client_for(partner)
    form = client.get(reverse("support:session_create", args=[engagement.pk])).context["form"]
    assert "secretariat_hours" not in form.fields

    client.post(
        reverse("support:session_create", args=[engagement.pk]),
        _session_data(secretariat_hours="8"),
    )

    assert list(EngagementSession.objects.values_list("secretariat_hours", flat=True)) == [
        Decimal("0")
    ]


def test_session_create_by_the_secretariat_records_its_hours(engagement, secretariat, client_for):
    client_for(secretariat).post(
        reverse("support:session_create", args=[engagement.pk]),
        _session_data(secretariat_hours="1.25"),
    )
    assert list(EngagementSession.objects.values_list("secretariat_hours", flat=True)) == [
        Decimal("1.25")
    ]


def test_session_create_with_a_privacy_finding_needs_confirmation(engagement, partner, client_for):
    client = client_for(partner)
    done = "ご家族の番号は08012345678です。"
    response = client.post(
        reverse("support:session_create", args=[engagement.pk]), _session_data(done=done)
    )
    assert "個人が特定されるおそれのある内容が見つかりました" in _content(response)
    assert EngagementSession.objects.count() == 0


def test_session_create_by_another_partner_changes_nothing(
    engagement, municipal_member, client_for
):
    other_partner = sf.partner_member(sf.menu())
    client = client_for(other_partner)
    before = snapshots.take()
    response = client.post(reverse("support:session_create", args=[engagement.pk]), _session_data())
    assert (response.status_code, snapshots.take().changes_from(before)) == (404, [])


# --- completing ----------------------------------------------------------------------


def test_complete_without_a_session_is_refused(engagement, partner, client_for):
    client = client_for(partner)
    before = snapshots.take()

    response = client.post(
        reverse("support:complete", args=[engagement.pk]),
        {"q_links_made": "2", "outcome_text": "窓口が2か所増えた。"},
    )

    assert snapshots.take().changes_from(before) == []
    assert "支援記録を1件以上つけてから完了にしてください。" in _content(response)


def test_complete_sends_the_follow_up_survey(engagement, partner, contractor_org, client_for):
    sf.session(engagement, partner)
    client = client_for(partner)
    page = _content(client.get(reverse("support:complete", args=[engagement.pk])))
    assert f"完了にすると、{contractor_org.name}に事後アンケートをお送りします。" in page
    assert "連携を始めた窓口の数" in page

    response = client.post(
        reverse("support:complete", args=[engagement.pk]),
        {"q_links_made": "2", "outcome_text": "窓口が2か所増えた。"},
        follow=True,
    )

    engagement.refresh_from_db()
    engagement.application.refresh_from_db()
    assert engagement.application.status == ApplicationStatus.COMPLETED
    assert (engagement.outcome_answers, engagement.outcome_text) == (
        {"links_made": 2},
        "窓口が2か所増えた。",
    )
    survey = engagement.follow_up_survey
    assert survey is not None
    assert list(
        Invitation.objects.filter(survey=survey).values_list("organisation", flat=True)
    ) == [contractor_org.pk]
    assert _messages(response) == ["完了にしました。申込組織に事後アンケートをお送りしました。"]
    content = _content(response)
    assert "窓口が2か所増えた。" in content and "回答受付中" in content
    assert "記録を追加" not in content


def test_complete_requires_the_outcome_fields(engagement, partner, client_for):
    sf.session(engagement, partner)
    client = client_for(partner)
    response = client.post(reverse("support:complete", args=[engagement.pk]), {})
    form = response.context["form"]
    assert sorted(form.errors) == ["outcome_text", "q_links_made"]
    engagement.application.refresh_from_db()
    assert engagement.application.status == ApplicationStatus.ACCEPTED


def test_session_create_after_completion_is_refused(engagement, partner, client_for):
    sf.session(engagement, partner)
    services.complete_engagement(
        engagement=engagement, by=partner, outcome_answers={"links_made": 1}, outcome_text="終了"
    )
    client = client_for(partner)
    response = client.post(
        reverse("support:session_create", args=[engagement.pk]), _session_data(), follow=True
    )
    assert EngagementSession.objects.count() == 1
    assert _messages(response) == ["この支援は完了しているため、記録を追加・変更できません。"]


# --- query counts -----------------------------------------------------------------


def test_engagements_page_query_count_is_flat(
    menu, partner, contractor_member, client_for, django_assert_num_queries
):
    def add(n):
        for _ in range(n):
            eng = sf.engagement(sf.application(menu, contractor_member))
            sf.session(eng, partner)

    menu.slots_per_year = 100
    menu.save()
    assert_flat_query_count(
        django_assert_num_queries,
        client_for(partner),
        reverse("support:engagements"),
        add,
        6,  # session, user, roles (2), the count, the page
        lambda response: len(response.context["page_obj"]),
        large=20,
    )
