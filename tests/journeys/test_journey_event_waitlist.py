"""J2: a 自治体 member and a 受託団体 member register for a meeting with one
venue seat and one 懇親会 seat.

Both choose the venue, a breakout session, the 懇親会 and write a 事前質問. The
second is put on the waiting list (for the seat and the 懇親会) and the page says
so. The first cancels, after a confirmation page. The second is promoted and
gets exactly one new mail, which states the seat and the 懇親会 as they now are.
"""

from __future__ import annotations

from core.models import OutboxMessage
from events.models import Registration

from ..event_factories import EventFactory, SessionFactory

JOURNEY = "event-waitlist"


def _register(actor, event, *, session: str, question: str) -> None:
    page = actor.page
    actor.goto(event.get_absolute_url())
    actor.submit(page.get_by_role("link", name="参加を申し込む"))
    page.get_by_label("会場で参加").check()
    page.get_by_label(session, exact=False).check()
    page.get_by_role("group", name="懇親会").get_by_label("参加する", exact=True).check()
    page.get_by_label("事前質問", exact=False).fill(question)
    actor.submit(actor.button("申し込む"))


def test_journey_second_registrant_waits_and_is_promoted_with_one_mail(
    open_as, municipal_member, contractor_member
):
    event = EventFactory(
        title="第7回 情報交換会",
        venue_capacity=1,
        online_capacity=10,
        has_social=True,
        social_capacity=1,
        social_details="会場近くの食堂で18時から。",
    )
    SessionFactory(event=event, title="分科会A：就労支援")
    SessionFactory(event=event, title="分科会B：居住支援")

    city = open_as(municipal_member)
    _register(city, event, session="分科会A", question="就労準備支援の広域実施について")
    assert "参加が確定しました。懇親会への参加も確定しました。" in city.main_text()
    first = Registration.objects.get(event=event, user=municipal_member)
    assert (first.status, first.mode, first.session.title, first.social, first.question) == (
        Registration.Status.CONFIRMED,
        Registration.Mode.VENUE,
        "分科会A：就労支援",
        Registration.SocialStatus.CONFIRMED,
        "就労準備支援の広域実施について",
    )
    assert first.organisation.name == "札幌市保健福祉局"

    npo = open_as(contractor_member)
    npo.goto(f"/events/{event.pk}/register/")
    assert "満席（申し込むとキャンセル待ちになります）" in npo.main_text()
    _register(npo, event, session="分科会B", question="居住支援法人との連携")
    shown = npo.main_text()
    assert "キャンセル待ち（1番目）で受け付けました" in shown
    assert "懇親会は定員に達しているため、キャンセル待ちです。" in shown
    npo.shot("waitlisted")
    second = Registration.objects.get(event=event, user=contractor_member)
    assert (second.status, second.social) == (
        Registration.Status.WAITLISTED,
        Registration.SocialStatus.WAITLISTED,
    )

    # The first cancels: a confirmation page first, nothing changes before it.
    city.goto(event.get_absolute_url())
    city.submit(city.page.get_by_role("link", name="申込をキャンセル"))
    assert "申込をキャンセルします。よろしいですか？" in city.main_text()
    city.shot("cancel-confirm")
    first.refresh_from_db()
    assert first.status == Registration.Status.CONFIRMED
    before = set(
        OutboxMessage.objects.filter(to_email=contractor_member.email).values_list("pk", flat=True)
    )
    city.submit(city.button("キャンセルする"))
    assert f"「{event.title}」の申込をキャンセルしました。" in city.main_text()

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Registration.Status.CANCELLED
    assert (second.status, second.social) == (
        Registration.Status.CONFIRMED,
        Registration.SocialStatus.CONFIRMED,
    )
    new_mail = list(
        OutboxMessage.objects.filter(to_email=contractor_member.email).exclude(pk__in=before)
    )
    assert len(new_mail) == 1, [(m.subject, m.body) for m in new_mail]
    body = new_mail[0].body
    assert "参加が確定しました" in new_mail[0].subject
    assert "参加方法：会場で参加" in body or "参加方法：会場" in body
    assert "分科会：分科会B：居住支援" in body
    assert "懇親会：参加確定" in body
    assert "キャンセル待ち" not in body.split("■", 1)[1]

    # The promoted person's page says so.
    npo.goto(event.get_absolute_url())
    assert "参加確定" in npo.page.locator(".my-registration").inner_text()
    npo.shot("promoted")
