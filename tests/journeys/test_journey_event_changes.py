"""The secretariat changes a published meeting's date and deletes a draft.

The events manage list shows at most three actions per row (what the event's
status allows), on one line on a desktop. Changing the date asks first (what changes, how many are told); after
the confirmation the registered member has exactly one mail with the new date,
and their 申込一覧 shows it. A draft is deleted after a confirmation page.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from core.models import OutboxMessage
from events.models import Event

from ..event_factories import EventFactory, RegistrationFactory, SessionFactory

JOURNEY = "event-changes"


def _local(*args):
    return timezone.make_aware(datetime.datetime(*args))


def _rows_on_one_line(actor) -> list[int]:
    """For each row of the manage list, how many lines its actions take."""
    return actor.page.evaluate(
        """() => [...document.querySelectorAll('.event-manage-table .row-actions')].map(ul => {
          const tops = new Set([...ul.querySelectorAll('li')].map(li => li.offsetTop));
          return tops.size;
        })"""
    )


def test_journey_secretariat_changes_the_date_and_deletes_a_draft(
    open_as, size, secretariat, municipal_member
):
    event = EventFactory(
        title="第8回 情報交換会",
        starts_at=_local(2030, 6, 4, 13, 30),
        ends_at=_local(2030, 6, 4, 16, 30),
    )
    RegistrationFactory(event=event, user=municipal_member)
    draft = EventFactory(title="第9回 情報交換会（案）", status=Event.Status.DRAFT)
    SessionFactory(event=draft, title="分科会A")
    EventFactory(title="第7回 情報交換会", status=Event.Status.FINISHED)
    EventFactory(title="中止した会", status=Event.Status.CANCELLED)

    office = open_as(secretariat)
    office.goto("/events/manage/")
    row_texts = office.page.locator(".event-manage-table .row-actions").all_inner_texts()
    # What each status allows (as in the event's header), in any row order:
    # published, cancelled (nothing left to do), finished, draft.
    assert sorted(tuple(text.split()) for text in row_texts) == [
        (),
        ("公開", "削除"),
        ("受付", "お礼メール"),
        ("受付", "中止"),
    ]
    if size == "desktop":
        assert sorted(_rows_on_one_line(office)) == [0, 1, 1, 1]
    office.shot("manage-list")

    # Change the date: a confirmation page says what changes and to whom.
    office.goto(f"/events/manage/{event.pk}/edit/")
    office.page.get_by_label("開始日時").fill("2030-06-11T14:00")
    office.page.get_by_label("終了日時").fill("2030-06-11T17:00")
    office.submit(office.button("保存する"))
    shown = office.main_text()
    assert "申込者に知らせる変更があります" in shown
    assert "2030年6月4日(火) 13:30〜16:30" in shown
    assert "2030年6月11日(火) 14:00〜17:00" in shown
    assert "保存すると、1 人に変更のお知らせメールが送られます。" in shown
    office.shot("change-confirm")
    event.refresh_from_db()
    assert event.starts_at == _local(2030, 6, 4, 13, 30)
    assert not OutboxMessage.objects.exists()

    office.submit(office.button("保存してお知らせを送る"))
    assert "変更のお知らせを1人に送ります。" in office.main_text()
    event.refresh_from_db()
    assert (event.starts_at, event.ends_at) == (_local(2030, 6, 11, 14), _local(2030, 6, 11, 17))
    mail = list(OutboxMessage.objects.filter(to_email=municipal_member.email))
    assert len(mail) == 1, [m.subject for m in mail]
    assert "日時（変更後）：2030年6月11日(火) 14:00〜17:00" in mail[0].body

    # Going back to the confirmation and sending it again mails nobody twice.
    office.page.go_back()
    office.submit(office.button("保存してお知らせを送る"))
    assert OutboxMessage.objects.filter(to_email=municipal_member.email).count() == 1

    member = open_as(municipal_member)
    member.goto("/events/mine/")
    mine = member.main_text()
    assert "2030年6月11日(火)" in mine and "14:00〜17:00" in mine
    member.shot("mine-new-date")

    # Delete the draft, after a confirmation page.
    office.goto(f"/events/manage/{draft.pk}/registrations/")
    office.submit(office.page.locator(".event-actions").get_by_role("link", name="削除"))
    assert "下書き「第9回 情報交換会（案）」を削除します。元に戻せません。" in office.main_text()
    assert Event.objects.filter(pk=draft.pk).exists()
    office.shot("delete-confirm")
    office.submit(office.button("下書きを削除する"))
    assert "下書き「第9回 情報交換会（案）」を削除しました。" in office.main_text()
    assert office.path() == "/events/manage/"
    assert not Event.objects.filter(pk=draft.pk).exists()
