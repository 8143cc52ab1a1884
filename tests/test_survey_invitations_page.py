"""The secretariat's page of who has and has not answered a survey."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from network.models import Organisation

from .factories import OrganisationFactory, UserFactory
from .survey_factories import InvitationFactory, SurveyFactory, submitted_response
from .test_organisations import assert_flat_query_count


def page_url(survey):
    return reverse("surveys:invitations", kwargs={"pk": survey.pk})


@pytest.fixture
def manager(client_for, secretariat):
    return client_for(secretariat)


@pytest.fixture
def named_survey(db):
    """A person-unit survey: 山田 (受託団体) answered, 佐藤 (自治体) did not and
    was reminded twice, an organisation invitation (支援団体) has not answered."""
    survey = SurveyFactory(title="第3回 参加者アンケート")
    npo = OrganisationFactory(name="札幌くらしサポート", kana="さっぽろくらし")
    city = OrganisationFactory(
        name="旭川市福祉保険部", kana="あさひかわし", kind=Organisation.Kind.MUNICIPALITY
    )
    support = OrganisationFactory(name="くしろ支援ネット", kind=Organisation.Kind.SUPPORT)
    yamada = InvitationFactory(
        survey=survey,
        user=UserFactory(
            full_name="山田 花子", full_name_kana="やまだ はなこ", email="yamada@example.org"
        ),
        organisation=npo,
    )
    sato = InvitationFactory(
        survey=survey,
        user=UserFactory(
            full_name="佐藤 一郎", full_name_kana="さとう いちろう", email="sato@example.org"
        ),
        organisation=city,
        reminder_count=2,
        last_reminded_at=timezone.now() - datetime.timedelta(days=1),
    )
    org = InvitationFactory(survey=survey, user=None, organisation=support)
    submitted_response(survey, invitation=yamada)
    return survey, {"yamada": yamada, "sato": sato, "org": org}


def emails(response):
    return {invitation.email for invitation in response.context["page_obj"]}


def test_invitations_page_lists_everyone_with_their_state(manager, named_survey):
    survey, people = named_survey
    response = manager.get(page_url(survey))
    content = response.content.decode()
    assert response.status_code == 200
    assert emails(response) == {"yamada@example.org", "sato@example.org", people["org"].email}
    for text in (
        "山田 花子",
        "佐藤 一郎",
        "くしろ支援ネット",
        "（組織あて）",
        "回答済み",
        "未回答",
        "2回",
    ):
        assert text in content, text
    counts = response.context["counts"]
    assert (counts["invited"], counts["answered"], counts["unanswered"], counts["reminded"]) == (
        3,
        1,
        2,
        1,
    )
    # A named survey links to the answers given for the organisation.
    link = reverse(
        "surveys:organisation_responses",
        kwargs={"pk": survey.pk, "org_pk": people["yamada"].organisation_id},
    )
    assert link in content
    assert reverse("surveys:remind", kwargs={"pk": survey.pk}) in content


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"answered": "yes"}, {"yamada"}),
        ({"answered": "no"}, {"sato", "org"}),
        ({"org_kind": "municipality"}, {"sato"}),
        ({"org_kind": "support"}, {"org"}),
        ({"org_kind": "none"}, set()),
        ({"q": "山田"}, {"yamada"}),
        ({"q": "ヤマダ"}, {"yamada"}),  # katakana finds kana stored in hiragana
        ({"q": "sato@"}, {"sato"}),
        ({"q": "旭川"}, {"sato"}),
        ({"q": "さっぽろ"}, {"yamada"}),
        ({"q": "くしろ"}, {"org"}),
        ({"q": "山田 佐藤"}, set()),  # every word must match
        ({"answered": "no", "org_kind": "municipality"}, {"sato"}),
    ],
)
def test_invitations_page_filters(manager, named_survey, query, expected):
    survey, people = named_survey
    response = manager.get(page_url(survey), query)
    assert emails(response) == {people[name].email for name in expected}


def test_invitations_page_of_an_anonymous_survey_shows_only_whether_they_answered(manager):
    survey = SurveyFactory(anonymous=True)
    organisation = OrganisationFactory(name="匿名テスト団体")
    answered = InvitationFactory(survey=survey, organisation=organisation)
    InvitationFactory(survey=survey, organisation=organisation)
    submitted_response(survey, invitation=answered, anonymous=True)
    response = manager.get(page_url(survey))
    content = response.content.decode()
    assert "回答済み" in content and "未回答" in content
    assert "回答したかどうかだけを表示します" in content
    assert "回答を見る" not in content
    assert (
        reverse(
            "surveys:organisation_responses", kwargs={"pk": survey.pk, "org_pk": organisation.pk}
        )
        not in content
    )
    assert reverse("surveys:responses", kwargs={"pk": survey.pk}) not in content
    # No response time that could be matched against the answers.
    cells = re.findall(r'<td data-label="回答">(.*?)</td>', content, re.S)
    assert len(cells) == 2
    assert not any("年" in cell or ":" in cell for cell in cells)


def test_invitations_page_empty_and_filtered_states(manager):
    survey = SurveyFactory()
    assert "まだ依頼を送っていません" in manager.get(page_url(survey)).content.decode()
    InvitationFactory(survey=survey)
    response = manager.get(page_url(survey), {"answered": "yes"})
    assert "条件に合う依頼はありません" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"answered": "maybe"},
        {"org_kind": "'; DROP TABLE"},
        {"q": "x" * 500},
        {"q": "\x00"},
        {"page": "-1"},
        {"page": "abc"},
        {"page": "99999"},
    ],
)
def test_invitations_page_garbage_query_strings_never_500(manager, named_survey, query):
    survey, _people = named_survey
    assert manager.get(page_url(survey), query).status_code == 200


def test_invitations_page_is_paginated_by_50(manager):
    survey = SurveyFactory()
    InvitationFactory.create_batch(51, survey=survey)
    response = manager.get(page_url(survey))
    assert len(response.context["page_obj"]) == 50
    assert len(manager.get(page_url(survey), {"page": "2"}).context["page_obj"]) == 1


@pytest.mark.parametrize("anonymous", [False, True])
def test_invitations_page_query_count_is_flat(django_assert_num_queries, manager, anonymous):
    survey = SurveyFactory(anonymous=anonymous)

    def add(n):
        for invitation in InvitationFactory.create_batch(
            n, survey=survey, organisation=OrganisationFactory()
        ):
            submitted_response(survey, invitation=invitation, anonymous=anonymous)

    # session, user, groups, memberships (roles); survey; counts; page count; page.
    assert_flat_query_count(
        django_assert_num_queries,
        manager,
        page_url(survey),
        add,
        8,
        lambda response: len(response.context["page_obj"]),
    )


@pytest.mark.parametrize(
    "actor", ["outsider", "contractor_member", "municipal_member", "org_admin", "committee"]
)
def test_invitations_page_answers_404_to_everyone_but_the_secretariat(
    client_for, actors, actor, named_survey
):
    survey, _people = named_survey
    assert client_for(actors[actor]).get(page_url(survey)).status_code == 404


def test_invitations_page_sends_anonymous_visitors_to_login(client, named_survey):
    survey, _people = named_survey
    response = client.get(page_url(survey))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
