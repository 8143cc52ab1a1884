"""Seats under concurrent requests: never more confirmed than capacity.

Each test starts real threads, each with its own database connection, released
together by a barrier, against whatever database the suite runs on (SQLite
locally; PostgreSQL when DATABASE_URL is set — CI runs both). The negative
control removes the event lock and widens the race window to show that the race
is real and that the lock is what closes it.

These tests commit for real (transactional database); serialized_rollback
restores the reference data the migrations loaded, for the tests that follow.
"""

import threading
import time

import pytest
from django.db import connection, connections

from core.models import OutboxMessage
from events import services
from events.models import Event, Registration
from network.models import Organisation, User

from .event_factories import EventFactory
from .factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PEOPLE = 50
RUNS = 3
VENUE_SEATS = 5
SOCIAL_SEATS = 3


def _member_ids(count: int) -> list[int]:
    organisation = OrganisationFactory(kind=Organisation.Kind.CONTRACTOR)
    return [MembershipFactory(organisation=organisation).user_id for _ in range(count)]


def _small_event() -> Event:
    return EventFactory(
        format=Event.Format.VENUE,
        venue_capacity=VENUE_SEATS,
        online_capacity=None,
        has_social=True,
        social_capacity=SOCIAL_SEATS,
    )


def _race(event_id: int, user_ids: list[int]):
    """Everyone registers for the venue and the 懇親会 at the same moment.

    Returns (registrations, refusals, errors) as collected by the threads."""
    barrier = threading.Barrier(len(user_ids))
    guard = threading.Lock()
    registrations, refusals, errors = [], [], []

    def attempt(user_id: int) -> None:
        try:
            # Connect and read before the barrier, so the race is about seats.
            user = User.objects.get(pk=user_id)
            event = Event.objects.get(pk=event_id)
            barrier.wait(timeout=60)
            registration = services.register(
                event=event, user=user, mode=Registration.Mode.VENUE, social=True
            )
            with guard:
                registrations.append(registration)
        except services.RegistrationError as exc:
            with guard:
                refusals.append(exc)
        except Exception as exc:  # noqa: BLE001 - collected and asserted empty
            with guard:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(user_id,)) for user_id in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a registration thread hung"
    return registrations, refusals, errors


def _tally(event: Event) -> dict:
    rows = Registration.objects.filter(event=event)
    return {
        "rows": rows.count(),
        "people": rows.values("user").distinct().count(),
        "confirmed": rows.filter(status="confirmed").count(),
        "waitlisted": rows.filter(status="waitlisted").count(),
        "social_confirmed": rows.filter(social="confirmed").count(),
        "social_waitlisted": rows.filter(social="waitlisted").count(),
    }


def test_register_concurrent_never_overbooks(mailoutbox):
    user_ids = _member_ids(PEOPLE)
    for _run in range(RUNS):
        event = _small_event()

        registrations, refusals, errors = _race(event.pk, user_ids)

        assert errors == []
        assert refusals == []
        assert _tally(event) == {
            "rows": PEOPLE,
            "people": PEOPLE,
            "confirmed": VENUE_SEATS,
            "waitlisted": PEOPLE - VENUE_SEATS,
            "social_confirmed": SOCIAL_SEATS,
            "social_waitlisted": PEOPLE - SOCIAL_SEATS,
        }
        # What each request was told matches what the database holds.
        assert sorted(r.status for r in registrations) == sorted(
            ["confirmed"] * VENUE_SEATS + ["waitlisted"] * (PEOPLE - VENUE_SEATS)
        )
        # The first in the queue are the ones confirmed: nobody was skipped.
        ordered = list(Registration.objects.filter(event=event).order_by("created_at", "pk"))
        assert [r.status for r in ordered[:VENUE_SEATS]] == ["confirmed"] * VENUE_SEATS
        # One confirmation or waitlist mail per person, each sent once.
        messages = OutboxMessage.objects.filter(key__startswith="registration:").filter(
            key__in=[f"registration:{r.pk}:{r.status}" for r in ordered]
        )
        assert messages.count() == PEOPLE
        assert set(messages.values_list("status", flat=True)) == {"sent"}
    assert len(mailoutbox) == PEOPLE * RUNS


def test_register_concurrent_duplicate_submissions_make_one_registration():
    (user_id,) = _member_ids(1)
    event = _small_event()

    registrations, refusals, errors = _race(event.pk, [user_id] * 20)

    assert errors == []
    assert len(registrations) == 1
    assert len(refusals) == 19
    assert {exc.messages[0] for exc in refusals} == {"すでにお申し込み済みです。"}
    assert Registration.objects.filter(event=event).count() == 1
    assert Registration.objects.get(event=event).status == "confirmed"


def test_register_concurrent_cancellations_promote_without_overbooking():
    """Cancellations racing with new registrations: the freed seats go to the
    waiting list and the confirmed count never passes capacity."""
    user_ids = _member_ids(30)
    event = _small_event()
    first, _refusals, errors = _race(event.pk, user_ids[:20])
    assert errors == []
    confirmed = [r for r in first if r.status == "confirmed"]
    barrier = threading.Barrier(len(confirmed) + 10)
    failures = []

    def cancel(registration_id: int) -> None:
        try:
            registration = Registration.objects.select_related("user").get(pk=registration_id)
            barrier.wait(timeout=60)
            services.cancel_registration(registration=registration, by=registration.user)
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            connections.close_all()

    def join(user_id: int) -> None:
        try:
            user = User.objects.get(pk=user_id)
            barrier.wait(timeout=60)
            services.register(event=event, user=user, mode="venue", social=True)
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=cancel, args=(r.pk,)) for r in confirmed]
    threads += [threading.Thread(target=join, args=(user_id,)) for user_id in user_ids[20:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    assert failures == []
    active = Registration.objects.filter(event=event).active()
    assert active.filter(status="confirmed").count() == VENUE_SEATS
    assert active.filter(social="confirmed").count() == SOCIAL_SEATS
    assert active.count() == 25
    # The seats went to the earliest of those still waiting.
    waiting_first = list(active.order_by("created_at", "pk"))
    assert [r.status for r in waiting_first[:VENUE_SEATS]] == ["confirmed"] * VENUE_SEATS


def test_register_without_lock_overbooks_on_postgresql(monkeypatch):
    """Negative control: without the row lock, and with a short pause between
    counting and writing, concurrent requests all see free seats."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite serialises writers with BEGIN IMMEDIATE (the transaction mode "
            "itself), so there is no race to show; see the SQLite test below."
        )
    monkeypatch.setattr(services, "_lock_event", lambda event_id: Event.objects.get(pk=event_id))
    monkeypatch.setattr(services, "_before_write", lambda: time.sleep(0.05))
    user_ids = _member_ids(PEOPLE)
    event = _small_event()

    _registrations, _refusals, errors = _race(event.pk, user_ids)

    assert errors == []
    tally = _tally(event)
    assert tally["confirmed"] > VENUE_SEATS
    assert tally["social_confirmed"] > SOCIAL_SEATS


def test_register_on_sqlite_is_serialised_by_immediate_transactions(monkeypatch):
    """On SQLite SELECT … FOR UPDATE does nothing; what serialises writers is
    `transaction_mode=IMMEDIATE` (the write lock is taken at BEGIN). Even without
    the event lock and with the race window widened, nobody is overbooked."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite transaction mode only matters on SQLite")
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    monkeypatch.setattr(services, "_lock_event", lambda event_id: Event.objects.get(pk=event_id))
    monkeypatch.setattr(services, "_before_write", lambda: time.sleep(0.01))
    user_ids = _member_ids(20)
    event = _small_event()

    _registrations, _refusals, errors = _race(event.pk, user_ids)

    assert errors == []
    tally = _tally(event)
    assert tally["confirmed"] == VENUE_SEATS
    assert tally["social_confirmed"] == SOCIAL_SEATS
