"""Bulk mail targeting (events:message): by status, mode, session, 懇親会 and
attendance; the preview shows the mail as it will be sent and exactly the
people it goes to; a double-submitted send queues each mail once."""

import datetime
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxMessage
from events import services
from events.models import Registration
from events.views import manage as manage_views

from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
R = Registration


@pytest.fixture
def manager(client_for, secretariat):
    return client_for(secretariat)


@pytest.fixture
def meeting():
    """A hybrid meeting that started an hour ago, with two sessions and a 懇親会;
    the venue used check-in, the online side did not."""
    start = timezone.now() - datetime.timedelta(hours=1)
    event = EventFactory(
        title="第12回 情報交換会",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        has_social=True,
        social_capacity=20,
    )
    a = SessionFactory(event=event, title="分科会A：就労支援", order=1)
    b = SessionFactory(event=event, title="分科会B：居住支援", order=2)
    npo = OrganisationFactory(name="小樽よりそいネット")
    people = {}
    for key, kana, values in (
        ("venue_a", "あ", dict(mode=R.Mode.VENUE, session=a, social="confirmed", attended=True)),
        ("venue_b", "い", dict(mode=R.Mode.VENUE, session=b)),
        ("online_a", "う", dict(mode=R.Mode.ONLINE, session=a, social="confirmed")),
        ("online_none", "え", dict(mode=R.Mode.ONLINE, social="waitlisted")),
        ("waiting_b", "お", dict(mode=R.Mode.VENUE, session=b, status=R.Status.WAITLISTED)),
        ("cancelled_a", "か", dict(mode=R.Mode.VENUE, session=a, status=R.Status.CANCELLED)),
    ):
        user = UserFactory(email=f"{key}@example.org", full_name=f"{key} さん", full_name_kana=kana)
        people[key] = RegistrationFactory(event=event, user=user, organisation=npo, **values)
    # Someone of another event, who must never receive anything.
    RegistrationFactory(user__email="elsewhere@example.org", mode=R.Mode.ONLINE)
    return event, {"a": a, "b": b}


def _addresses(*keys) -> set[str]:
    return {f"{key}@example.org" for key in keys}


def _data(sessions, **filters):
    data = {
        "subject": "資料のご案内",
        "body": "当日の資料を掲載しました。",
        "statuses": ["confirmed"],
    }
    for name, value in filters.items():
        if name == "session" and value in sessions:
            value = str(sessions[value].pk)
        data[name] = value
    return data


CASES = [
    ({"mode": "venue"}, {"venue_a", "venue_b"}),
    ({"mode": "online"}, {"online_a", "online_none"}),
    ({"session": "a"}, {"venue_a", "online_a"}),
    ({"session": "none"}, {"online_none"}),
    ({"social": "confirmed"}, {"venue_a", "online_a"}),
    ({"social": "waitlisted"}, {"online_none"}),
    ({"social": "none"}, {"venue_b"}),
    # Present: checked in at the venue; online did not use check-in, so its confirmed.
    ({"attendance": "present"}, {"venue_a", "online_a", "online_none"}),
    ({"attendance": "absent"}, {"venue_b"}),
    ({"statuses": ["confirmed", "waitlisted"], "session": "b"}, {"venue_b", "waiting_b"}),
    ({"statuses": ["waitlisted"]}, {"waiting_b"}),
    ({"mode": "online", "social": "confirmed"}, {"online_a"}),
    ({}, {"venue_a", "venue_b", "online_a", "online_none"}),
]


def _preview(manager, event, data):
    response = manager.post(
        reverse("events:message", args=[event.pk]), {**data, "action": "preview"}
    )
    assert response.status_code == 200
    return response


def _listed(response) -> set[str]:
    return set(re.findall(r'data-recipient="([^"]+)"', response.content.decode()))


@pytest.mark.parametrize(("filters", "expected"), CASES)
def test_bulk_message_filter_previews_and_sends_to_exactly_the_chosen(
    manager, meeting, filters, expected, django_capture_on_commit_callbacks
):
    event, sessions = meeting
    data = _data(sessions, **filters)

    preview = _preview(manager, event, data)
    assert _listed(preview) == _addresses(*expected)
    assert f"{len(expected)} 人に送ります。" in preview.content.decode()
    assert not OutboxMessage.objects.exists()

    message_id = preview.context["message_id"]
    for _attempt in range(2):  # a double click, or a reload of the send
        with django_capture_on_commit_callbacks(execute=True):
            manager.post(
                reverse("events:message", args=[event.pk]),
                {**data, "action": "send", "message_id": message_id},
            )

    sent = list(OutboxMessage.objects.values_list("to_email", flat=True))
    assert sorted(sent) == sorted(_addresses(*expected))


def test_bulk_message_service_and_preview_use_one_selection(meeting):
    event, sessions = meeting
    audience = services.BulkAudience(mode=R.Mode.ONLINE, attendance=services.ATTENDANCE_PRESENT)
    chosen = services.bulk_message_recipients(event=event, audience=audience)
    preview = services.preview_bulk_message(
        event=event, subject="件名", body="本文", audience=audience
    )

    assert [r.user.email for r in chosen] == ["online_a@example.org", "online_none@example.org"]
    assert [r.user.email for r in preview.recipients] == [r.user.email for r in chosen]
    assert (preview.count, preview.more) == (2, 0)


def test_bulk_message_preview_shows_the_mail_exactly_as_sent(
    manager, meeting, django_capture_on_commit_callbacks
):
    event, sessions = meeting
    data = _data(sessions, mode="online", social="confirmed")
    preview = _preview(manager, event, data)
    content = preview.content.decode()
    shown_subject = re.search(r'data-preview="subject">([^<]*)<', content).group(1)
    shown_body = re.search(r'data-preview="body">(.*?)</dd>', content, re.S).group(1)
    # What the page shows lists the chosen filters in words.
    assert "参加方法" in content and "懇親会に参加（確定）" in content

    with django_capture_on_commit_callbacks(execute=True):
        manager.post(
            reverse("events:message", args=[event.pk]),
            {**data, "action": "send", "message_id": preview.context["message_id"]},
        )

    (mail,) = OutboxMessage.objects.all()
    assert mail.to_email == "online_a@example.org"
    assert html.unescape(shown_subject) == mail.subject == "【つながり】資料のご案内"
    assert html.unescape(shown_body.replace("<br>", "\n")) == mail.body
    assert mail.body.startswith("online_a さん 様")
    assert "当日の資料を掲載しました。" in mail.body


def test_bulk_message_preview_names_people_and_organisations_and_caps_the_list(
    manager, meeting, monkeypatch
):
    event, sessions = meeting
    monkeypatch.setattr(manage_views, "PREVIEW_RECIPIENTS", 2)

    content = _preview(manager, event, _data(sessions)).content.decode()

    assert "4 人に送ります。" in content
    assert re.findall(r'data-recipient="([^"]+)"', content) == [
        "venue_a@example.org",
        "venue_b@example.org",
    ]
    assert "venue_a さん" in content and "小樽よりそいネット" in content
    assert "ほか 2名" in content


def test_bulk_message_refuses_a_session_of_another_event(manager, meeting):
    event, sessions = meeting
    elsewhere = SessionFactory(title="よその分科会")
    data = _data(sessions, session=str(elsewhere.pk))

    for action in ("preview", "send"):
        response = manager.post(
            reverse("events:message", args=[event.pk]), {**data, "action": action}
        )
        assert response.status_code == 200
        assert response.context["step"] == "edit"
        assert response.context["form"].errors
    assert not OutboxMessage.objects.exists()
    with pytest.raises(services.RegistrationError):
        services.bulk_message_recipients(
            event=event, audience=services.BulkAudience(session=str(elsewhere.pk))
        )


def test_bulk_message_offers_only_the_filters_the_event_has(manager, meeting):
    event, _sessions = meeting
    upcoming = EventFactory(format="venue", has_social=False)

    def fields(e):
        return list(manager.get(reverse("events:message", args=[e.pk])).context["form"].fields)

    assert fields(upcoming) == ["subject", "body", "statuses"]
    assert fields(event) == [
        "subject",
        "body",
        "statuses",
        "mode",
        "session",
        "social",
        "attendance",
    ]
    content = manager.get(reverse("events:message", args=[event.pk])).content.decode()
    assert "分科会A：就労支援" in content and "分科会なし" in content
    assert "---------" not in content
