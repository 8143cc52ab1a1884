"""J3: a member answers a survey from the invitation link.

They save a draft (一時保存), come back through the same link later, find their
answers, go on to the confirmation and send. The response is stored as
submitted with the answers, and the thanks page shows.
"""

from __future__ import annotations

from decimal import Decimal

from surveys.models import Question, Response

from ..survey_factories import QuestionFactory
from .helpers import answers_of, invited_to_survey

JOURNEY = "survey-answer"


def _survey_for(member):
    survey, invitation, scale, single = invited_to_survey(member, "第3回 情報交換会 事後アンケート")
    text = QuestionFactory(
        survey=survey,
        order=3,
        kind=Question.Kind.TEXT,
        required=False,
        text="次回取り上げてほしいテーマ",
    )
    return survey, invitation, (scale, single, text)


def test_journey_member_saves_a_draft_comes_back_and_sends(open_anonymous, municipal_member):
    survey, invitation, (scale, single, text) = _survey_for(municipal_member)

    # The invitation link opens without logging in: the link is the credential.
    member = open_anonymous()
    member.goto(invitation.link)
    page = member.page
    assert page.get_by_role("heading", level=1).inner_text() == survey.title
    page.get_by_label("4", exact=True).check()
    page.get_by_label("参加したい").check()
    member.shot("form")
    member.submit(member.button("一時保存"))

    assert "一時保存しました" in member.main_text()
    draft = Response.objects.get(invitation=invitation)
    assert draft.submitted_at is None
    assert answers_of(draft) == {scale: Decimal("4"), single: "参加したい"}

    # Later, from the same link: the saved answers are there.
    member.goto("/")
    member.goto(invitation.link)
    assert "一時保存した回答を表示しています" in member.main_text()
    assert page.get_by_label("4", exact=True).is_checked()
    assert page.get_by_label("参加したい").is_checked()
    page.get_by_label(text.text).fill("ひきこもり支援と家計改善")
    member.submit(member.button("送信する"))

    assert page.get_by_role("heading", level=1).inner_text() == "回答内容の確認"
    confirm = member.main_text()
    assert "4 / 5（とても役に立った）" not in confirm  # 4 has no label; only 1 and 5 do
    assert "4 / 5" in confirm and "参加したい" in confirm and "ひきこもり支援と家計改善" in confirm
    member.shot("confirm")
    assert Response.objects.get(pk=draft.pk).submitted_at is None  # not sent yet
    member.submit(member.button("この内容で送信する"))

    assert page.get_by_role("heading", level=1).inner_text() == "ご回答ありがとうございました"
    assert survey.title in member.main_text()
    member.shot("thanks")
    response = Response.objects.get(invitation=invitation)
    assert response.submitted_at is not None
    assert answers_of(response) == {
        scale: Decimal("4"),
        single: "参加したい",
        text: "ひきこもり支援と家計改善",
    }
    invitation.refresh_from_db()
    assert invitation.responded_at == response.submitted_at

    # The link now says it was already sent and shows nothing of the answers.
    member.goto(invitation.link)
    assert "この回答はすでに送信されています" in member.main_text()
    assert "ひきこもり支援と家計改善" not in member.main_text()
