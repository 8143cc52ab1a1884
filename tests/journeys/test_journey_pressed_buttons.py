"""Every form with more than one submit button (and every password form),
pressed with JavaScript on: the pressed button's name/value reaches the view.

static/js/site.js disables a busy form's buttons while it is sent; a disabled
button is left out of the submitted data, so without its hidden carrier the
view would not know which button was pressed (the survey would only be saved,
the bulk mail never sent, 「保存して次の質問を追加」 would leave the builder).
Each test asserts the database effect that only the pressed button has.
"""

from __future__ import annotations

from django.core import mail
from django.test import Client

from core.models import OutboxMessage
from events.models import Registration
from surveys.models import Question, Response, Survey

from ..event_factories import EventFactory, RegistrationFactory
from ..factories import UserFactory
from ..survey_factories import InvitationFactory, QuestionFactory, SurveyFactory
from .helpers import link_in

JOURNEY = "buttons"
NEW_PASSWORD = "kita-no-daichi-2026"


def test_journey_buttons_survey_save_confirm_and_send(open_anonymous, contractor_member):
    survey = SurveyFactory(title="相談支援アンケート")
    QuestionFactory(survey=survey, kind=Question.Kind.SINGLE, choices=["はい", "いいえ"])
    invitation = InvitationFactory(survey=survey, user=contractor_member)
    member = open_anonymous()
    member.goto(invitation.link)
    member.page.get_by_label("はい").check()

    member.submit(member.button("一時保存"))  # action=save
    assert "一時保存しました" in member.main_text()
    assert Response.objects.filter(invitation=invitation, submitted_at=None).count() == 1

    member.submit(member.button("送信する"))  # action=confirm
    assert member.page.get_by_role("heading", level=1).inner_text() == "回答内容の確認"
    assert Response.objects.get(invitation=invitation).submitted_at is None

    member.submit(member.button("この内容で送信する"))  # action=submit
    assert (
        member.page.get_by_role("heading", level=1).inner_text() == "ご回答ありがとうございました"
    )
    assert Response.objects.get(invitation=invitation).submitted_at is not None


def test_journey_buttons_bulk_message_preview_back_and_send_once(open_as, secretariat):
    event = EventFactory(title="第5回 情報交換会")
    people = [
        RegistrationFactory(event=event, user=UserFactory(email=f"p{i}@example.org"))
        for i in range(2)
    ]
    RegistrationFactory(
        event=event, user=UserFactory(email="w@example.org"), status=Registration.Status.WAITLISTED
    )
    staff = open_as(secretariat)
    staff.goto(f"/events/manage/{event.pk}/message/")
    staff.page.get_by_label("件名").fill("会場の変更について")
    staff.page.get_by_label("本文").fill("会場が2階の大会議室に変わりました。")

    staff.submit(staff.button("内容を確認する"))  # action=preview
    assert "2 人に送ります。" in staff.main_text()
    staff.shot("bulk-preview")

    staff.submit(staff.button("戻って直す"))  # action=edit: back to the form, nothing queued
    assert staff.page.get_by_label("件名").input_value() == "会場の変更について"
    assert OutboxMessage.objects.filter(kind="events.bulk_message").count() == 0
    staff.page.get_by_label("本文").fill("会場が3階の研修室に変わりました。")
    staff.submit(staff.button("内容を確認する"))
    assert "3階の研修室" in staff.main_text()

    # A double click still sends each mail once.
    with staff.page.expect_navigation():
        staff.button("送信する").dblclick()  # action=send
    assert "2人へのメールを送信待ちに登録しました" in staff.main_text()
    sent = OutboxMessage.objects.filter(kind="events.bulk_message")
    assert sorted(sent.values_list("to_email", flat=True)) == sorted(r.user.email for r in people)
    assert all("3階の研修室" in m.body for m in sent)
    assert sorted(m.to[0] for m in mail.outbox if "会場の変更について" in m.subject) == sorted(
        r.user.email for r in people
    )


def test_journey_buttons_question_save_and_add_next(open_as, secretariat):
    survey = SurveyFactory(title="年次アンケート（下書き）", status=Survey.Status.DRAFT)
    staff = open_as(secretariat)
    staff.goto(f"/surveys/manage/{survey.pk}/questions/add/")
    staff.page.get_by_label("質問", exact=False).first.fill("相談件数は増えましたか")
    staff.page.get_by_label("選択肢", exact=False).first.fill("増えた\n変わらない\n減った")

    staff.submit(staff.button("保存して次の質問を追加"))  # then=add
    assert staff.path() == f"/surveys/manage/{survey.pk}/questions/add/"
    assert staff.page.get_by_role("heading", level=1).inner_text() == "質問の追加（Q2）"
    assert list(survey.questions.values_list("text", flat=True)) == ["相談件数は増えましたか"]

    staff.page.get_by_label("質問", exact=False).first.fill("連携先は増えましたか")
    staff.page.get_by_label("選択肢", exact=False).first.fill("はい\nいいえ")
    staff.submit(staff.button("保存する"))  # no `then`: back to the survey
    assert staff.path().startswith(f"/surveys/manage/{survey.pk}/")
    assert "/questions/" not in staff.path()
    assert list(survey.questions.order_by("order").values_list("text", flat=True)) == [
        "相談件数は増えましたか",
        "連携先は増えましたか",
    ]


def test_journey_buttons_password_reset_and_set(open_anonymous, open_as, contractor_member):
    # 1. パスワードの再設定: the link from the mail, then the new password.
    visitor = open_anonymous()
    visitor.goto("/accounts/password/reset/")
    visitor.page.get_by_label("メールアドレス").fill(contractor_member.email)
    visitor.submit(visitor.button("リンクを送る"))
    (reset_mail,) = [m for m in mail.outbox if contractor_member.email in m.to]
    visitor.goto(link_in(reset_mail.body, "/accounts/password/reset/key/"))
    visitor.page.locator("input[name=password1]").fill(NEW_PASSWORD)
    visitor.page.locator("input[name=password2]").fill(NEW_PASSWORD)
    visitor.submit(visitor.button("パスワードを設定する"))
    contractor_member.refresh_from_db()
    assert contractor_member.check_password(NEW_PASSWORD)

    # 2. パスワードの設定: someone signed in who has no password yet (e.g. imported
    # from a roster) sets one.
    newcomer = UserFactory(email="roster@example.org", password=None)
    newcomer.set_unusable_password()
    newcomer.save()
    client = Client()
    client.force_login(newcomer)
    person = open_anonymous()
    person.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": person.site}]
    )
    person.goto("/accounts/password/set/")
    person.page.locator("input[name=password1]").fill(NEW_PASSWORD)
    person.page.locator("input[name=password2]").fill(NEW_PASSWORD)
    person.submit(person.button("パスワードを設定する"))
    newcomer.refresh_from_db()
    assert newcomer.check_password(NEW_PASSWORD)

    # Both log in with the new password through the login form.
    open_as(contractor_member, NEW_PASSWORD)
    open_as(newcomer, NEW_PASSWORD)
