"""The role-aware home page (DESIGN §2): each actor sees the panels of its roles."""

import pytest
from django.urls import reverse

from events.models import Event
from tests.event_factories import EventFactory, RegistrationFactory
from tests.note_factories import TopicFactory
from tests.note_factories import room as note_room
from tests.survey_factories import InvitationFactory, SurveyFactory

HOME = reverse("home")


def test_home_anonymous_sees_join_and_public_events_only(client, db):
    EventFactory(title="公開シンポジウム", audience=Event.Audience.PUBLIC)
    EventFactory(title="メンバー限定の情報交換会", audience=Event.Audience.MEMBERS)

    html = client.get(HOME).content.decode()

    assert "ネットワークへの参加申請" in html
    assert "公開シンポジウム" in html
    assert "メンバー限定の情報交換会" not in html


def test_home_member_sees_organisation_events_registrations_and_surveys(
    client_for, contractor_member, contractor_org
):
    event = EventFactory(title="第1回 情報交換会")
    RegistrationFactory(event=event, user=contractor_member)
    survey = SurveyFactory(title="イベント後アンケート")
    InvitationFactory(survey=survey, user=contractor_member)

    html = client_for(contractor_member).get(HOME).content.decode()

    assert contractor_org.name in html
    assert "第1回 情報交換会" in html
    assert "参加確定" in html
    assert "イベント後アンケート" in html
    assert "事務局の作業" not in html
    assert "検討委員会" not in html


def test_home_answered_survey_is_not_listed(client_for, contractor_member):
    survey = SurveyFactory(title="回答済みのアンケート")
    invitation = InvitationFactory(survey=survey, user=contractor_member)
    invitation.responded_at = invitation.sent_at
    invitation.save()

    html = client_for(contractor_member).get(HOME).content.decode()

    assert "回答済みのアンケート" not in html


def test_home_org_admin_sees_staff_management(client_for, org_admin, contractor_org):
    html = client_for(org_admin).get(HOME).content.decode()

    assert reverse("network:staff_list", args=[contractor_org.pk]) in html


def test_home_committee_sees_dashboard_panel(client_for, committee_member):
    html = client_for(committee_member).get(HOME).content.decode()

    assert "検討委員会" in html
    assert reverse("dashboard:home") in html
    assert "事務局の作業" not in html


def test_home_secretariat_sees_desk(client_for, secretariat):
    html = client_for(secretariat).get(HOME).content.decode()

    assert "事務局の作業" in html
    assert reverse("network:join_request_list") in html


def test_home_outsider_is_told_to_ask_for_membership(client_for, outsider):
    html = client_for(outsider).get(HOME).content.decode()

    assert "所属組織が登録されていません" in html
    assert reverse("network:organisation_list") not in html


@pytest.mark.parametrize("n", [1, 50])
def test_home_query_count_is_flat(n, client_for, contractor_member, django_assert_num_queries):
    network_room = note_room()
    for i in range(n):
        event = EventFactory(title=f"情報交換会{i}")
        RegistrationFactory(event=event, user=contractor_member)
        InvitationFactory(survey=SurveyFactory(), user=contractor_member)
        TopicFactory(room=network_room, title=f"相談{i}")
    client = client_for(contractor_member)
    # session, user, roles (groups, memberships), programs of the user's
    # organisations (event audiences), events, registrations, surveys,
    # memberships panel, the board's unanswered count (its rooms' meetings
    # attended, the count), network stats
    with django_assert_num_queries(12):
        response = client.get(HOME)
    assert response.status_code == 200
    assert f"まだ誰も答えていない相談が {n} 件あります。" in response.content.decode()
