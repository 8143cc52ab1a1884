"""The organisation's page links its org admins to the organisation's
registrations and to the survey answers given for it (templates/network/
organisation_detail.html, surveys/templatetags/organisation_surveys.py)."""

import re

from django.urls import reverse

from .survey_factories import QuestionFactory, SurveyFactory, submitted_response


def _answered(title, organisation, **kwargs):
    survey = SurveyFactory(title=title, **kwargs)
    question = QuestionFactory(survey=survey)
    submitted_response(survey, organisation=organisation, answers={question: 3})
    return survey


def test_organisation_page_links_its_admin_to_registrations_and_answers(
    client_for, org_admin, contractor_org, other_org
):
    named = _answered("効果検証アンケート", contractor_org)
    _answered("匿名アンケート", contractor_org, anonymous=True)
    _answered("他団体だけのアンケート", other_org)
    SurveyFactory(title="未回答のアンケート")

    response = client_for(org_admin).get(
        reverse("network:organisation_detail", args=[contractor_org.pk])
    )

    html = response.content.decode()
    assert reverse("events:organisation_registrations", args=[contractor_org.pk]) in html
    survey_links = re.findall(rf'href="(/surveys/\d+/organisations/{contractor_org.pk}/)"', html)
    assert survey_links == [
        reverse("surveys:organisation_responses", args=[named.pk, contractor_org.pk])
    ]
    assert "効果検証アンケート" in html
    for title in ("匿名アンケート", "他団体だけのアンケート", "未回答のアンケート"):
        assert title not in html


def test_organisation_page_shows_a_plain_member_no_activity_links(
    client_for, contractor_member, contractor_org
):
    _answered("効果検証アンケート", contractor_org)

    response = client_for(contractor_member).get(
        reverse("network:organisation_detail", args=[contractor_org.pk])
    )

    html = response.content.decode()
    assert "この組織の参加と回答" not in html
    assert "効果検証アンケート" not in html
    assert reverse("events:organisation_registrations", args=[contractor_org.pk]) not in html
