"""iCalendar output (RFC 5545): the single-event .ics and the personal feed."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from events import ics
from events.models import CalendarFeed, Event, Registration

from .event_factories import EventFactory, RegistrationFactory

JST = datetime.timezone(datetime.timedelta(hours=9))


def _unfold(body: str) -> list[str]:
    """Content lines as a client reads them: CRLF + space joins a folded line."""
    return body.replace("\r\n ", "").split("\r\n")


def _assert_valid_lines(body: str):
    assert body.endswith("\r\n")
    # Every physical line ends with CRLF: no bare LF anywhere.
    assert "\n" not in body.replace("\r\n", "")
    for line in body.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75, line


def _property(body: str, name: str) -> list[str]:
    return [line.split(":", 1)[1] for line in _unfold(body) if line.split(":", 1)[0] == name]


def test_ics_escape_text_escapes_backslash_semicolon_comma_and_newlines():
    assert ics.escape_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_ics_fold_splits_at_75_octets_between_characters():
    line = "SUMMARY:" + "情報交換会" * 20  # 8 + 300 octets
    folded = ics.fold(line)
    physical = folded.split("\r\n")
    assert len(physical) > 1
    assert all(len(part.encode("utf-8")) <= 75 for part in physical)
    assert all(part.startswith(" ") for part in physical[1:])
    # Unfolding gives back exactly the original line (no character was cut).
    assert folded.replace("\r\n ", "") == line


def test_ics_fold_leaves_short_lines_alone():
    assert ics.fold("VERSION:2.0") == "VERSION:2.0"


def test_ics_format_utc_converts_local_time_to_utc_with_z():
    moment = datetime.datetime(2021, 6, 4, 13, 30, tzinfo=JST)
    assert ics.format_utc(moment) == "20210604T043000Z"


@pytest.mark.django_db
def test_event_ics_is_a_valid_calendar_with_the_events_details(client):
    event = EventFactory(
        title="第1回 情報交換会, 札幌; オンライン併用",
        starts_at=datetime.datetime(2021, 6, 4, 13, 30, tzinfo=JST),
        ends_at=datetime.datetime(2021, 6, 4, 16, 30, tzinfo=JST),
        venue_name="かでる2・7",
        venue_address="札幌市中央区北2条西7丁目",
        description="一行目\n二行目は長い説明です。" + "支援者同士の学び合い。" * 10,
        audience=Event.Audience.PUBLIC,
    )
    response = client.get(reverse("events:calendar", args=[event.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="tsunagari-event-{event.pk}.ics"'
    )
    body = response.content.decode("utf-8")
    _assert_valid_lines(body)
    lines = _unfold(body)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert lines.count("BEGIN:VEVENT") == 1
    assert _property(body, "UID") == [f"event-{event.pk}@127.0.0.1"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", _property(body, "DTSTAMP")[0])
    assert _property(body, "DTSTART") == ["20210604T043000Z"]
    assert _property(body, "DTEND") == ["20210604T073000Z"]
    assert _property(body, "SUMMARY") == ["第1回 情報交換会\\, 札幌\\; オンライン併用"]
    assert _property(body, "LOCATION") == ["かでる2・7 札幌市中央区北2条西7丁目／オンライン"]
    assert _property(body, "URL") == [f"http://testserver/events/{event.pk}/"]
    description = _property(body, "DESCRIPTION")[0]
    assert description.startswith("相談支援の連携\\n一行目\\n二行目は長い説明です。")
    assert _property(body, "STATUS") == ["CONFIRMED"]
    # The long description really was folded.
    assert any(line.startswith(" ") for line in body.split("\r\n"))


@pytest.mark.django_db
def test_event_ics_of_a_cancelled_event_says_status_cancelled(client):
    event = EventFactory(
        audience=Event.Audience.PUBLIC,
        status=Event.Status.CANCELLED,
        cancellation_reason="大雪のため",
    )
    body = client.get(reverse("events:calendar", args=[event.pk])).content.decode()

    assert _property(body, "STATUS") == ["CANCELLED"]
    assert _property(body, "SEQUENCE") == ["1"]
    assert _property(body, "SUMMARY")[0].startswith("【中止】")
    assert "中止の理由: 大雪のため" in _property(body, "DESCRIPTION")[0]


@pytest.mark.django_db
def test_event_ics_of_an_online_event_has_no_online_url(client, contractor_member):
    event = EventFactory(format=Event.Format.ONLINE, online_url="https://meet.example.org/secret")
    RegistrationFactory(event=event, user=contractor_member, mode=Registration.Mode.ONLINE)
    client.force_login(contractor_member)
    body = client.get(reverse("events:calendar", args=[event.pk])).content.decode()

    assert "meet.example.org" not in body
    assert _property(body, "LOCATION") == ["オンライン"]


@pytest.mark.django_db
def test_event_ics_of_an_event_the_visitor_may_not_see_is_404(client_for, contractor_member):
    municipal_only = EventFactory(audience=Event.Audience.MUNICIPAL)
    draft = EventFactory(status=Event.Status.DRAFT)

    client = client_for(contractor_member)
    assert client.get(reverse("events:calendar", args=[municipal_only.pk])).status_code == 404
    assert client.get(reverse("events:calendar", args=[draft.pk])).status_code == 404
    client = client_for(None)
    assert client.get(reverse("events:calendar", args=[municipal_only.pk])).status_code == 302


@pytest.mark.django_db
def test_personal_feed_lists_active_registrations_and_cancelled_events(client, contractor_member):
    feed = CalendarFeed.objects.create(user=contractor_member, token=CalendarFeed.new_token())
    confirmed = EventFactory(title="確定した会")
    waiting = EventFactory(title="待っている会")
    called_off = EventFactory(title="中止になった会", status=Event.Status.CANCELLED)
    withdrawn = EventFactory(title="取り消した会")
    not_mine = EventFactory(title="申し込んでいない会")
    RegistrationFactory(event=confirmed, user=contractor_member)
    RegistrationFactory(
        event=waiting, user=contractor_member, status=Registration.Status.WAITLISTED
    )
    RegistrationFactory(
        event=called_off, user=contractor_member, status=Registration.Status.CANCELLED
    )
    RegistrationFactory(
        event=withdrawn, user=contractor_member, status=Registration.Status.CANCELLED
    )
    RegistrationFactory(event=not_mine)

    response = client.get(reverse("events:feed", args=[feed.token]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content.decode()
    _assert_valid_lines(body)
    summaries = _property(body, "SUMMARY")
    assert summaries.count("確定した会") == 1
    assert "【キャンセル待ち】待っている会" in summaries
    assert "【中止】中止になった会" in summaries
    assert not any("取り消した会" in s or "申し込んでいない会" in s for s in summaries)
    assert _property(body, "STATUS").count("CANCELLED") == 1
    assert _unfold(body).count("BEGIN:VEVENT") == 3


@pytest.mark.django_db
def test_personal_feed_with_an_unknown_token_is_404(client, contractor_member):
    CalendarFeed.objects.create(user=contractor_member, token=CalendarFeed.new_token())
    assert client.get(reverse("events:feed", args=["not-a-token"])).status_code == 404
    assert client.get("/events/calendar/abc%00def.ics").status_code == 404
    assert client.get("/events/calendar/" + "a" * 500 + ".ics").status_code == 404


@pytest.mark.django_db
def test_personal_feed_needs_no_login_and_shows_only_the_tokens_owner(
    client, contractor_member, municipal_member
):
    mine = CalendarFeed.objects.create(user=contractor_member, token=CalendarFeed.new_token())
    event = EventFactory(title="他人の会")
    RegistrationFactory(event=event, user=municipal_member)
    client.force_login(municipal_member)

    body = client.get(reverse("events:feed", args=[mine.token])).content.decode()

    assert "他人の会" not in body
    assert "BEGIN:VEVENT" not in body


@pytest.mark.django_db
def test_personal_feed_leaves_out_meetings_older_than_the_history(client, contractor_member):
    feed = CalendarFeed.objects.create(user=contractor_member, token=CalendarFeed.new_token())
    old_start = timezone.now() - datetime.timedelta(days=500)
    old = EventFactory(
        title="昔の会",
        starts_at=old_start,
        ends_at=old_start + datetime.timedelta(hours=2),
        status=Event.Status.FINISHED,
    )
    RegistrationFactory(event=old, user=contractor_member)

    body = client.get(reverse("events:feed", args=[feed.token])).content.decode()
    assert "昔の会" not in body
