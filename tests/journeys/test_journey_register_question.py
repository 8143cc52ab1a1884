"""J-question: the privacy guard on a 事前質問, in the browser (issue #12).

A member registers with a question that names a person and a phone number:
the form comes back with both highlighted and nothing saved; they tick the
confirmation and send again; the registration is made, its question flagged,
so the committee's candidate list does not show it.
"""

from __future__ import annotations

from events.models import Registration

from ..event_factories import EventFactory

JOURNEY = "register-question"
QUESTION = "佐藤さん（011-222-3333）への支援で、家計の立て直しをどう進めるか知りたいです。"


def test_journey_flagged_question_is_caught_then_confirmed(open_as, contractor_member):
    event = EventFactory(title="第4回 情報交換会")
    member = open_as(contractor_member)
    page = member.page
    member.goto(event.get_absolute_url())
    member.submit(page.get_by_role("link", name="参加を申し込む"))
    page.get_by_label("会場で参加").check()
    page.get_by_label("事前質問（困っていること・知りたいこと）").fill(QUESTION)
    member.submit(member.button("申し込む"))

    flags = page.locator("mark.privacy-flag")
    assert sorted(flags.all_inner_texts()) == ["011-222-3333", "佐藤さん"]
    assert not Registration.objects.filter(event=event).exists()
    member.shot("flagged")

    page.get_by_label("実在の人物についての内容ではありません").check()
    member.submit(member.button("申し込む"))

    registration = Registration.objects.get(event=event)
    assert registration.question == QUESTION and registration.question_flagged
    assert "参加が確定しました。" in member.main_text()
