"""J4: the secretariat builds a survey and publishes it.

A new draft; three questions added in a row with 「保存して次の質問を追加」, the
second shown only to those who answered 『参加した』 to the first; the preview
(with JavaScript on, the conditional question appears only when its condition
is chosen); then 「公開して依頼を送る」: the survey is published and every
member of the audience is invited once.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from core.models import OutboxMessage
from surveys.models import Invitation, Question, Survey

JOURNEY = "survey-builder"
TITLE = "令和8年度 支援者のつながりアンケート"


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _add_question(staff, text, *, kind, choices="", condition=None, then_add=True):
    page = staff.page
    page.get_by_label("質問", exact=False).first.fill(text)
    page.get_by_label(kind, exact=True).check()
    if choices:
        page.get_by_label("選択肢", exact=False).first.fill(choices)
    if condition:
        page.get_by_label("表示条件").select_option(label=condition)
    staff.submit(staff.button("保存して次の質問を追加" if then_add else "保存する"))
    assert f"質問「{text}」を追加しました。" in staff.main_text()


def test_journey_secretariat_builds_previews_and_publishes_a_survey(
    open_as, secretariat, contractor_member, municipal_member
):
    staff = open_as(secretariat)
    page = staff.page
    staff.goto("/surveys/manage/new/")
    page.get_by_label("タイトル", exact=False).first.fill(TITLE)
    now = timezone.now()
    page.get_by_label("回答開始", exact=False).fill(_local(now - datetime.timedelta(hours=1)))
    page.get_by_label("回答締切", exact=False).fill(_local(now + datetime.timedelta(days=14)))
    staff.shot("new")
    staff.submit(staff.button("下書きとして作成"))
    survey = Survey.objects.get(title=TITLE)
    assert survey.status == Survey.Status.DRAFT
    assert "下書きとして作成しました" in staff.main_text()

    staff.goto(f"/surveys/manage/{survey.pk}/questions/add/")
    _add_question(
        staff,
        "今年度、情報交換会に参加しましたか",
        kind="単一選択",
        choices="参加した\n参加していない",
    )
    assert page.get_by_role("heading", level=1).inner_text() == "質問の追加（Q2）"
    _add_question(
        staff,
        "参加してよかった点を教えてください",
        kind="自由記述",
        condition="『参加した』と答えた人",
    )
    assert page.get_by_role("heading", level=1).inner_text() == "質問の追加（Q3）"
    staff.shot("question")
    _add_question(staff, "ネットワークは役に立っていますか", kind="5段階評価", then_add=False)

    questions = list(survey.questions.order_by("order"))
    assert [(q.text, q.kind) for q in questions] == [
        ("今年度、情報交換会に参加しましたか", Question.Kind.SINGLE),
        ("参加してよかった点を教えてください", Question.Kind.TEXT),
        ("ネットワークは役に立っていますか", Question.Kind.SCALE),
    ]
    assert questions[0].choices == ["参加した", "参加していない"]
    assert (questions[1].show_if_question, questions[1].show_if_value) == (questions[0], "参加した")

    # The preview: the conditional question follows the answer to Q1.
    staff.goto(f"/surveys/manage/{survey.pk}/preview/")
    conditional = page.locator(f"#question-{questions[1].pk}")
    assert conditional.is_hidden()
    page.get_by_label("参加した", exact=True).check()
    assert conditional.is_visible()
    staff.check_accessibility()
    staff.shot("preview")
    page.get_by_label("参加していない", exact=True).check()
    assert conditional.is_hidden()
    assert Invitation.objects.filter(survey=survey).count() == 0  # nothing sent yet

    staff.goto(f"/surveys/manage/{survey.pk}/publish/")
    assert "2件の依頼を新しく作り、メールで送ります。" in staff.main_text()
    staff.submit(staff.button("公開して依頼を送る"))
    assert "2件の依頼を送信しました。" in staff.main_text()
    staff.shot("published")

    survey.refresh_from_db()
    assert survey.status == Survey.Status.PUBLISHED
    invited = Invitation.objects.filter(survey=survey)
    assert sorted(invited.values_list("user__email", flat=True)) == sorted(
        [contractor_member.email, municipal_member.email]
    )
    mails = OutboxMessage.objects.filter(
        to_email__in=[contractor_member.email, municipal_member.email]
    )
    assert sorted(mails.values_list("to_email", flat=True)) == sorted(
        [contractor_member.email, municipal_member.email]
    )
    assert all(TITLE in m.subject for m in mails)
