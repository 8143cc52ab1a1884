"""J6: an org admin invites a colleague and follows the organisation's activity.

From the organisation's page the admin invites a colleague; the colleague opens
the link in the mail, sets a password and can log in with it. Then the admin
finds the organisation's event registrations and survey answers through links
on the organisation's page — and not another organisation's.
"""

from __future__ import annotations

from django.core import mail

from network.models import Membership, User

from ..event_factories import EventFactory, RegistrationFactory
from ..survey_factories import QuestionFactory, SurveyFactory, submitted_response
from .helpers import link_in

JOURNEY = "org-admin"
PASSWORD = "sapporo-odori-2026"


def test_journey_org_admin_invites_a_colleague_and_finds_the_organisations_activity(
    open_as, open_anonymous, org_admin, contractor_org, contractor_member, other_org
):
    meeting = EventFactory(title="第8回 情報交換会")
    RegistrationFactory(event=meeting, user=contractor_member, organisation=contractor_org)
    RegistrationFactory(event=meeting, organisation=other_org, user__full_name="他団体 六子")
    survey = SurveyFactory(title="令和8年度 効果検証アンケート")
    question = QuestionFactory(survey=survey, text="連携先は増えましたか")
    submitted_response(
        survey, organisation=contractor_org, user=contractor_member, answers={question: 4}
    )
    submitted_response(survey, organisation=other_org, answers={question: 1})
    SurveyFactory(title="回答のないアンケート")

    admin = open_as(org_admin)
    page = admin.page
    admin.goto(contractor_org.get_absolute_url())
    admin.submit(page.get_by_role("link", name="職員一覧"))
    admin.submit(page.get_by_role("link", name="職員を招待"))
    page.get_by_label("メールアドレス").fill("colleague@example.org")
    page.get_by_label("氏名", exact=False).first.fill("新人 七海")
    admin.shot("invite")
    admin.submit(admin.button("招待メールを送る"))
    assert "colleague@example.org に招待メールを送りました。" in admin.main_text()
    colleague = User.objects.get(email="colleague@example.org")
    assert not colleague.has_usable_password()
    assert Membership.objects.filter(user=colleague, organisation=contractor_org).count() == 1

    # The colleague opens the mailed link and chooses a password.
    (invitation_mail,) = [m for m in mail.outbox if "colleague@example.org" in m.to]
    newcomer = open_anonymous()
    newcomer.goto(link_in(invitation_mail.body, "/network/invitation/"))
    assert contractor_org.name in newcomer.main_text()
    newcomer.page.locator("input[name=new_password1]").fill(PASSWORD)
    newcomer.page.locator("input[name=new_password2]").fill(PASSWORD)
    newcomer.shot("set-password")
    newcomer.submit(newcomer.button("パスワードを設定して参加する"))
    assert f"「{contractor_org.name}」の所属者として参加しました。" in newcomer.main_text()
    colleague.refresh_from_db()
    assert colleague.check_password(PASSWORD)
    # …and can log in with it later, through the login form.
    open_as(colleague, PASSWORD)

    # The organisation's registrations, from the organisation's page.
    admin.goto(contractor_org.get_absolute_url())
    admin.shot("organisation")
    admin.submit(page.get_by_role("link", name="イベントの申込状況"))
    registrations = admin.main_text()
    assert meeting.title in registrations and contractor_member.full_name in registrations
    assert "他団体 六子" not in registrations

    # The organisation's survey answers, from the organisation's page.
    admin.goto(contractor_org.get_absolute_url())
    assert page.get_by_role("link", name="回答のないアンケート").count() == 0
    admin.submit(page.get_by_role("link", name=survey.title))
    answers = admin.main_text()
    assert f"{contractor_org.name}の回答" in answers
    assert question.text in answers and "4" in answers
    assert page.locator(".response-entry, article, section").count() >= 1
    admin.shot("answers")
    assert admin.path() == f"/surveys/{survey.pk}/organisations/{contractor_org.pk}/"
