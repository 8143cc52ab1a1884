"""Unconfirmed guest registrations do not linger: a link never opened is let
go after GUEST_CONFIRMATION_DAYS or once the event has started."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from events import services, tasks
from events.models import Event, GuestRequest, Registration

from .event_factories import EventFactory, RegistrationFactory
from .factories import UserFactory

pytestmark = pytest.mark.django_db


def guest(event, email, *, age_days=0):
    made = services.register_guest(
        event=event,
        email=email,
        full_name="来訪 者",
        full_name_kana="らいほう しゃ",
        organisation_name="",
        mode="venue",
    )
    type(made).objects.filter(pk=made.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=age_days)
    )
    return made


def test_unconfirmed_guests_are_discarded_after_the_confirmation_period(client):
    event = EventFactory(audience=Event.Audience.PUBLIC, venue_capacity=5)
    old = guest(event, "old@example.net", age_days=services.GUEST_CONFIRMATION_DAYS + 1)
    fresh = guest(event, "fresh@example.net", age_days=1)
    member = UserFactory(email="member@example.org")
    request = guest(event, member.email, age_days=services.GUEST_CONFIRMATION_DAYS + 1)
    assert isinstance(request, GuestRequest)
    seated = RegistrationFactory(event=event)

    assert tasks.sweep_unconfirmed_guests() == {"discarded": 2}

    old.refresh_from_db()
    fresh.refresh_from_db()
    seated.refresh_from_db()
    assert (old.status, old.confirmation_token_hash) == (Registration.Status.CANCELLED, "")
    assert fresh.status == Registration.Status.PENDING
    assert seated.status == Registration.Status.CONFIRMED
    assert not GuestRequest.objects.filter(pk=request.pk).exists()
    # The old link no longer confirms anything; the fresh one still does.
    assert client.get(f"/events/registrations/confirm/{old.raw_token}/").status_code == 404
    assert client.get(f"/events/registrations/confirm/{fresh.raw_token}/").status_code == 200
    # A second sweep finds nothing left to do.
    assert tasks.sweep_unconfirmed_guests() == {"discarded": 0}


def test_unconfirmed_guests_of_a_started_event_are_discarded():
    event = EventFactory(audience=Event.Audience.PUBLIC)
    pending = guest(event, "late@example.net", age_days=0)
    Event.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() - datetime.timedelta(minutes=5)
    )

    assert services.discard_unconfirmed_guests() == 1

    pending.refresh_from_db()
    assert pending.status == Registration.Status.CANCELLED


def test_run_periodic_reports_the_guest_sweep():
    out = StringIO()
    call_command("run_periodic", stdout=out)
    assert (
        "確認されなかったゲスト申込の取り消し: 0件を取り消しました" in out.getvalue().splitlines()
    )
