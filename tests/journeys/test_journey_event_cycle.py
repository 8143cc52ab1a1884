"""J1: the secretariat runs a hybrid 情報交換会 from creation to the post-event survey.

The secretariat creates the meeting through the real form (capacities, a 懇親会),
adds two breakout sessions on the sessions page and publishes it after the
confirmation page. A member registers in the browser (venue, a session, the
懇親会); three more register through the service (one at the venue, two online).
The secretariat sends a bulk message to the 懇親会 people (preview → send, sent
twice: one mail per recipient), then, on the day, checks the venue people in on
the 受付 page (the online side is not checked in) and finishes the meeting. The
periodic sweep sends the post-event survey to the people who came — venue and
online alike — and they all have the thank-you mail; the one venue person who
did not come gets neither.
"""

from __future__ import annotations

import datetime

from django.core.management import call_command
from django.utils import timezone

from core.models import OutboxMessage
from events import services as event_services
from events.models import Event, Registration, Session
from surveys import services as survey_services
from surveys.models import Invitation, Survey

from ..factories import MembershipFactory, OrganisationFactory
from .helpers import link_in

JOURNEY = "event-cycle"
TITLE = "第8回 情報交換会（ハイブリッド）"


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _create_event(office, start: datetime.datetime) -> Event:
    page = office.page
    office.goto("/events/manage/new/")
    page.locator("[name=kind]").select_option("exchange")
    page.locator("[name=number]").fill("8")
    page.locator("[name=title]").fill(TITLE)
    page.locator("[name=theme]").fill("地域の居場所づくり")
    page.locator("[name=starts_at]").fill(_local(start))
    page.locator("[name=ends_at]").fill(_local(start + datetime.timedelta(hours=3)))
    page.locator("[name=format]").select_option("hybrid")
    page.locator("[name=venue_name]").fill("かでる2・7")
    page.locator("[name=venue_address]").fill("札幌市中央区北2条西7丁目")
    page.locator("[name=venue_capacity]").fill("20")
    page.locator("[name=online_capacity]").fill("40")
    page.locator("[name=online_url]").fill("https://meet.example.org/kaigi8")
    page.locator("[name=has_social]").check()
    page.locator("[name=social_capacity]").fill("10")
    page.locator("[name=social_details]").fill("会場近くで18時から")
    office.submit(office.button("下書きとして保存"))
    assert f"「{TITLE}」を下書きとして保存しました。" in office.main_text(), office.main_text()
    event = Event.objects.get(title=TITLE)
    assert (
        event.status,
        event.format,
        event.venue_capacity,
        event.online_capacity,
        event.has_social,
        event.social_capacity,
    ) == (Event.Status.DRAFT, Event.Format.HYBRID, 20, 40, True, 10)
    return event


def _add_sessions(office, event: Event) -> None:
    page = office.page
    office.goto(f"/events/manage/{event.pk}/sessions/")
    page.locator("input[name$='-0-title']").fill("分科会A：就労支援")
    page.locator("input[name$='-0-capacity']").fill("15")
    page.locator("input[name$='-1-title']").fill("分科会B：居住支援")
    office.submit(office.button("分科会を保存する"))
    assert "分科会を保存しました。" in office.main_text()
    assert list(
        Session.objects.filter(event=event).order_by("order", "pk").values_list("title", "capacity")
    ) == [("分科会A：就労支援", 15), ("分科会B：居住支援", None)]


def _publish(office, event: Event) -> None:
    office.goto(f"/events/manage/{event.pk}/publish/")
    shown = office.main_text()
    assert "会場：20人" in shown and "オンライン：40人" in shown and "懇親会：10人" in shown
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT  # nothing happens before the button
    office.shot("publish-confirm")
    office.submit(office.button("公開する"))
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED


def _register_in_browser(member, event: Event) -> None:
    page = member.page
    member.goto(event.get_absolute_url())
    member.submit(page.get_by_role("link", name="参加を申し込む"))
    page.get_by_label("会場で参加").check()
    page.get_by_label("分科会A", exact=False).check()
    page.get_by_role("group", name="懇親会").get_by_label("参加する", exact=True).check()
    member.submit(member.button("申し込む"))
    assert "参加が確定しました。懇親会への参加も確定しました。" in member.main_text()


def _send_bulk_message(office, event: Event) -> set[str]:
    page = office.page
    office.goto(f"/events/manage/{event.pk}/message/")
    page.locator("[name=subject]").fill("懇親会の会場のご案内")
    page.locator("[name=body]").fill("懇親会は2階の食堂で行います。")
    page.get_by_role("group", name="懇親会").get_by_label("懇親会に参加（確定）").check()
    office.submit(office.button("内容を確認する"))
    shown = office.main_text()
    assert "2 人に送ります。" in shown, shown
    assert "【つながり】懇親会の会場のご案内" in shown
    assert "懇親会は2階の食堂で行います。" in shown
    recipients = set(
        page.locator("[data-recipient]").evaluate_all("rows => rows.map(r => r.dataset.recipient)")
    )
    assert not OutboxMessage.objects.filter(kind="events.bulk_message").exists()
    office.shot("message-preview")
    office.submit(office.button("送信する"))
    assert "2人へのメールを送信待ちに登録しました" in office.main_text()
    # The same send once more (the browser's back and resend): nothing new.
    office.page.go_back()
    office.submit(office.button("送信する"))
    sent = list(
        OutboxMessage.objects.filter(kind="events.bulk_message").values_list("to_email", flat=True)
    )
    assert sorted(sent) == sorted(recipients)
    return recipients


def _check_in(office, event: Event, people) -> None:
    page = office.page
    office.goto(f"/events/manage/{event.pk}/checkin/")
    office.submit(page.locator("nav.tabs").get_by_role("link", name="会場"))
    assert "受付（会場）" in office.main_text()
    for registration in people:
        row = page.locator(f"#reg-{registration.pk}")
        row.get_by_role("button", name="受付する").click()
        row.get_by_role("button", name="✓ 出席").wait_for()
    assert page.locator("[data-count=attended]").inner_text() == str(len(people))
    office.shot("checkin")
    # The online list: nobody checked in there, all its confirmed still count.
    office.submit(page.locator("nav.tabs").get_by_role("link", name="オンライン"))
    shown = office.main_text()
    assert "オンラインの参加確定者全員を出席として数えます" in shown
    assert page.locator("[data-count=attended]").inner_text() == "0"


def test_journey_hybrid_meeting_from_creation_to_the_post_event_survey(
    open_as, open_anonymous, secretariat, municipal_member
):
    office = open_as(secretariat)
    start = timezone.localtime() + datetime.timedelta(days=14)
    start = start.replace(hour=13, minute=30, second=0, microsecond=0)
    event = _create_event(office, start)
    _add_sessions(office, event)
    _publish(office, event)

    city = open_as(municipal_member)
    _register_in_browser(city, event)

    npo = OrganisationFactory(name="苫小牧くらし支援センター")
    others = {}
    session_b = Session.objects.get(event=event, title="分科会B：居住支援")
    for key, mode, social in (
        ("venue-absent", Registration.Mode.VENUE, False),
        ("online1", Registration.Mode.ONLINE, True),
        ("online2", Registration.Mode.ONLINE, False),
    ):
        user = MembershipFactory(
            organisation=npo, user__email=f"{key}@example.org", user__full_name=f"{key} さん"
        ).user
        others[key] = event_services.register(
            event=event, user=user, mode=mode, session=session_b, social=social
        )
    first = Registration.objects.get(event=event, user=municipal_member)
    assert (first.status, first.mode, first.session.title, first.social) == (
        Registration.Status.CONFIRMED,
        Registration.Mode.VENUE,
        "分科会A：就労支援",
        Registration.SocialStatus.CONFIRMED,
    )

    assert _send_bulk_message(office, event) == {"city@example.org", "online1@example.org"}

    # The day: the meeting has started.
    now = timezone.now()
    Event.objects.filter(pk=event.pk).update(
        starts_at=now - datetime.timedelta(hours=3), ends_at=now - datetime.timedelta(minutes=5)
    )
    _check_in(office, event, [first])
    first.refresh_from_db()
    assert first.attended is True
    assert list(
        Registration.objects.filter(event=event, attended=True).values_list(
            "user__email", flat=True
        )
    ) == ["city@example.org"]

    office.goto(f"/events/manage/{event.pk}/finish/")
    office.submit(office.button("終了にしてお礼メールを送る"))
    event.refresh_from_db()
    assert event.status == Event.Status.FINISHED
    came = {"city@example.org", "online1@example.org", "online2@example.org"}
    thanked = set(
        OutboxMessage.objects.filter(kind="events.thanks").values_list("to_email", flat=True)
    )
    assert thanked == came

    # The post-event survey, addressed to the event's attendees.
    survey = survey_services.create_survey(
        title="第8回 情報交換会 参加者アンケート",
        kind=Survey.Kind.POST_EVENT,
        fiscal_year=event.fiscal_year,
        audience=Survey.Audience.EVENT_ATTENDEES,
        respondent_unit=Survey.Unit.PERSON,
        opens_at=now - datetime.timedelta(hours=1),
        closes_at=now + datetime.timedelta(days=14),
        event=event,
        template="post_event",
        by=secretariat,
    )
    survey_services.publish_survey(survey=survey, by=secretariat)
    call_command("run_periodic", stdout=open("/dev/null", "w"))

    invited = set(Invitation.objects.filter(survey=survey).values_list("user__email", flat=True))
    assert invited == came
    survey_mails = list(
        OutboxMessage.objects.filter(kind__startswith="surveys.").values_list("to_email", flat=True)
    )
    assert sorted(survey_mails) == sorted(came)
    # Running the sweep again sends nothing twice.
    call_command("run_periodic", stdout=open("/dev/null", "w"))
    assert OutboxMessage.objects.filter(kind__startswith="surveys.").count() == 3
    assert OutboxMessage.objects.filter(kind="events.thanks").count() == 3

    # What an online participant sees: the survey link in their mail opens it.
    mail = OutboxMessage.objects.get(kind__startswith="surveys.", to_email="online2@example.org")
    assert "「第8回 情報交換会（ハイブリッド）」にご参加いただき" in mail.body
    online = open_anonymous()
    online.goto(link_in(mail.body, "/surveys/r/"))
    assert "第8回 情報交換会 参加者アンケート" in online.main_text()
    online.shot("survey")
