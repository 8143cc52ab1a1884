"""The secretariat changes or cancels a registration on the person's behalf,
from the event's 申込者 list: the same seat and waiting-list rules as the
person's own change (events.services), the person is mailed as usual, and
who did it is stored and shown."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxMessage
from events.models import Registration

from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import UserFactory

pytestmark = pytest.mark.django_db

FORBIDDEN = ["outsider", "contractor_member", "municipal_member", "org_admin", "committee"]


def change_url(registration):
    return reverse(
        "events:registration_change",
        kwargs={"pk": registration.event_id, "registration_pk": registration.pk},
    )


def cancel_url(registration):
    return reverse(
        "events:registration_cancel_on_behalf",
        kwargs={"pk": registration.event_id, "registration_pk": registration.pk},
    )


def list_url(event):
    return reverse("events:registrations", args=[event.pk])


@pytest.fixture
def manager(client_for, secretariat):
    return client_for(secretariat)


@pytest.fixture
def full_venue():
    """One venue seat, taken; one person waiting for it; online has room.
    Registration has closed: the person could no longer change it themselves."""
    event = EventFactory(
        title="第5回 情報交換会",
        venue_capacity=1,
        online_capacity=10,
        has_social=True,
        registration_closes_at=timezone.now() - datetime.timedelta(hours=1),
    )
    seated = RegistrationFactory(
        event=event, user=UserFactory(email="seated@example.org", full_name="会場 一子")
    )
    waiting = RegistrationFactory(
        event=event,
        user=UserFactory(email="waiting@example.org", full_name="待機 二郎"),
        status=Registration.Status.WAITLISTED,
    )
    return event, seated, waiting


def mails(email, kind):
    return list(
        OutboxMessage.objects.filter(to_email=email, kind=kind).values_list("body", flat=True)
    )


def test_registration_change_on_behalf_moves_the_seat_and_promotes_the_waiting(
    manager, secretariat, full_venue, django_capture_on_commit_callbacks
):
    event, seated, waiting = full_venue
    list_page = manager.get(list_url(event)).content.decode()
    assert change_url(seated) in list_page and cancel_url(seated) in list_page
    form_page = manager.get(change_url(seated)).content.decode()
    assert "本人に代わって変更します。" in form_page

    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            change_url(seated), {"mode": "online", "social": "yes", "question": ""}, follow=True
        )
    assert "会場 一子 さんの申込を変更しました（参加確定）。" in response.content.decode()
    seated.refresh_from_db()
    waiting.refresh_from_db()
    assert (seated.mode, seated.status, seated.social) == (
        Registration.Mode.ONLINE,
        Registration.Status.CONFIRMED,
        Registration.SocialStatus.CONFIRMED,
    )
    assert (seated.changed_by, seated.changed_at is not None) == (secretariat, True)
    # The freed venue seat went to the person waiting, who is told.
    assert waiting.status == Registration.Status.CONFIRMED
    assert len(mails("waiting@example.org", "events.promoted")) == 1
    changed = mails("seated@example.org", "events.changed")
    assert len(changed) == 1
    assert "事務局で、お申し込みの内容を次のとおり変更しました。" in changed[0]
    assert "参加方法：オンライン" in changed[0]
    listing = manager.get(list_url(event)).content.decode()
    assert "事務局が変更（事務 四郎・" in listing


def test_registration_change_on_behalf_into_a_full_session_waitlists(manager, full_venue):
    event, seated, _waiting = full_venue
    full = SessionFactory(event=event, title="分科会A", capacity=1)
    RegistrationFactory(event=event, mode=Registration.Mode.ONLINE, session=full)
    manager.post(
        change_url(seated),
        {"mode": "venue", "session": str(full.pk), "social": "no", "question": ""},
    )
    seated.refresh_from_db()
    assert (seated.session, seated.status) == (full, Registration.Status.WAITLISTED)
    body = mails("seated@example.org", "events.changed")[0]
    assert "キャンセル待ちになりました" in body


def test_registration_cancel_on_behalf_asks_first_then_cancels_and_promotes(
    manager, secretariat, full_venue, django_capture_on_commit_callbacks
):
    event, seated, waiting = full_venue
    content = manager.get(cancel_url(seated)).content.decode()
    assert (
        "会場 一子 さんの「第5回 情報交換会」への申込を、本人に代わってキャンセルします。"
        in content
    )
    seated.refresh_from_db()
    assert seated.status == Registration.Status.CONFIRMED

    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(cancel_url(seated), follow=True)
    assert "会場 一子 さんの申込をキャンセルしました。" in response.content.decode()
    seated.refresh_from_db()
    waiting.refresh_from_db()
    assert (seated.status, seated.cancelled_by) == (Registration.Status.CANCELLED, secretariat)
    assert waiting.status == Registration.Status.CONFIRMED
    cancelled = mails("seated@example.org", "events.cancelled")
    assert len(cancelled) == 1
    assert "事務局で、次のイベントのお申し込みをキャンセルしました。" in cancelled[0]
    assert len(mails("waiting@example.org", "events.promoted")) == 1
    cancelled_rows = manager.get(list_url(event) + "?status=cancelled").content.decode()
    assert "事務局がキャンセル（事務 四郎・" in cancelled_rows

    # A second POST changes nothing and mails nobody again.
    count = OutboxMessage.objects.count()
    response = manager.post(cancel_url(seated))
    assert "この申込はキャンセルできません" in response.content.decode()
    assert OutboxMessage.objects.count() == count


def test_own_change_is_not_noted_as_on_behalf(client_for, full_venue):
    event, seated, _waiting = full_venue
    event.registration_closes_at = None
    event.save()
    client = client_for(seated.user)
    client.post(
        reverse("events:registration_edit", args=[seated.pk]),
        {"mode": "online", "social": "no", "question": "自分で変更"},
    )
    seated.refresh_from_db()
    assert (seated.mode, seated.changed_by) == (Registration.Mode.ONLINE, seated.user)
    assert seated.changed_on_behalf is False
    body = mails("seated@example.org", "events.changed")[0]
    assert "事務局で" not in body


def test_registration_change_on_behalf_refuses_a_cancelled_registration(manager, full_venue):
    _event, seated, _waiting = full_venue
    seated.status = Registration.Status.CANCELLED
    seated.save()
    response = manager.post(change_url(seated), {"mode": "online", "social": "no"})
    assert "この申込は変更できません" in response.content.decode()
    seated.refresh_from_db()
    assert (seated.mode, seated.changed_by) == (Registration.Mode.VENUE, None)
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("actor", FORBIDDEN)
def test_registration_on_behalf_answers_404_to_everyone_else_and_changes_nothing(
    client_for, actors, actor, full_venue
):
    _event, seated, waiting = full_venue
    client = client_for(actors[actor])
    for target in (change_url(seated), cancel_url(seated)):
        assert client.get(target).status_code == 404, target
        response = client.post(target, {"mode": "online", "social": "yes", "question": "x"})
        assert response.status_code == 404, target
    seated.refresh_from_db()
    waiting.refresh_from_db()
    assert (seated.status, seated.mode, seated.social, seated.changed_by) == (
        Registration.Status.CONFIRMED,
        Registration.Mode.VENUE,
        Registration.SocialStatus.NONE,
        None,
    )
    assert waiting.status == Registration.Status.WAITLISTED
    assert not OutboxMessage.objects.exists()


def test_registration_on_behalf_answers_404_for_another_events_registration(manager, full_venue):
    _event, seated, _waiting = full_venue
    other = EventFactory()
    target = reverse(
        "events:registration_cancel_on_behalf",
        kwargs={"pk": other.pk, "registration_pk": seated.pk},
    )
    assert manager.post(target).status_code == 404
    seated.refresh_from_db()
    assert seated.status == Registration.Status.CONFIRMED
