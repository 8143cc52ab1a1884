"""A menu's slots under concurrent acceptances: never more engagements in a
年度 than `slots_per_year`.

Like tests/test_event_concurrency.py: real threads, each with its own database
connection, released together by a barrier, against whatever database the
suite runs on (SQLite locally; PostgreSQL when DATABASE_URL is set). Each
thread accepts a different application of the same menu, which has one slot
left. The negative control replaces the menu lock with a plain read and widens
the race window (services._before_write) to show that the race is real and that
the lock is what closes it.

These tests commit for real (transactional database); serialized_rollback
restores the reference data the migrations loaded, for the tests that follow.
"""

import threading
import time

import pytest
from django.db import connection, connections

from core.models import OutboxMessage
from core.templatetags.wareki import wareki_fy
from network.models import Organisation, User
from support import services
from support.enums import ApplicationStatus
from support.models import Application, ApplicationUpdate, Engagement, Menu

from . import support_factories as sf
from .factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

APPLICANTS = 12
RUNS = 3
SLOTS = 3


def _menu_with_one_slot_left(secretariat: User) -> Menu:
    """A menu with SLOTS slots, SLOTS - 1 of them taken this 年度."""
    menu = sf.menu(slots=SLOTS)
    for _ in range(SLOTS - 1):
        member = MembershipFactory(organisation=OrganisationFactory()).user
        sf.engagement(sf.application(menu, member), by=secretariat)
    return menu


def _pending(menu: Menu, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        organisation = OrganisationFactory(kind=Organisation.Kind.CONTRACTOR)
        member = MembershipFactory(organisation=organisation).user
        ids.append(sf.application(menu, member).pk)
    return ids


def _race(application_ids: list[int], secretariat_id: int):
    """Every application is accepted at the same moment, each by its own request.

    Returns (engagements, refusals, errors) as collected by the threads."""
    barrier = threading.Barrier(len(application_ids))
    guard = threading.Lock()
    engagements, refusals, errors = [], [], []

    def attempt(application_id: int) -> None:
        try:
            # Connect and read before the barrier, so the race is about slots.
            by = User.objects.get(pk=secretariat_id)
            application = Application.objects.select_related("menu").get(pk=application_id)
            partner = application.menu.partners.get()
            barrier.wait(timeout=60)
            engagement = services.accept_application(
                application=application, partner=partner, coordinator=by, by=by
            )
            with guard:
                engagements.append(engagement)
        except services.SupportError as exc:
            with guard:
                refusals.append(exc)
        except Exception as exc:  # noqa: BLE001 - collected and asserted empty
            with guard:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(pk,)) for pk in application_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "an acceptance thread hung"
    return engagements, refusals, errors


def _taken(menu: Menu) -> int:
    return Application.objects.filter(menu=menu, status=ApplicationStatus.ACCEPTED).count()


def test_accept_concurrent_never_exceeds_the_slots():
    secretariat = sf.secretariat_user()
    for _run in range(RUNS):
        menu = _menu_with_one_slot_left(secretariat)
        ids = _pending(menu, APPLICANTS)

        engagements, refusals, errors = _race(ids, secretariat.pk)

        assert errors == []
        assert len(engagements) == 1
        assert [exc.code for exc in refusals] == ["full"] * (APPLICANTS - 1)
        assert {exc.messages[0] for exc in refusals} == {
            f"{wareki_fy(menu.applications.first().fiscal_year)}の受入件数（{SLOTS}件）に達しています。"
        }
        # What the requests were told is what the database holds.
        assert _taken(menu) == SLOTS
        assert Engagement.objects.filter(application__menu=menu).count() == SLOTS
        (winner,) = engagements
        statuses = dict(Application.objects.filter(pk__in=ids).values_list("pk", "status"))
        assert statuses == {
            pk: ApplicationStatus.ACCEPTED
            if pk == winner.application_id
            else ApplicationStatus.SUBMITTED
            for pk in ids
        }
        # The refused ones wrote no history and queued no mail.
        accepted_updates = ApplicationUpdate.objects.filter(
            application_id__in=ids, new_status=ApplicationStatus.ACCEPTED
        )
        assert list(accepted_updates.values_list("application_id", flat=True)) == [
            winner.application_id
        ]
        (update,) = accepted_updates
        assert (
            OutboxMessage.objects.filter(key__startswith=f"support:status:{update.pk}:").count()
            == 1
        )


def test_accept_without_lock_exceeds_the_slots_on_postgresql(monkeypatch):
    """Negative control: without the menu lock, and with a short pause between
    counting and writing, concurrent acceptances all see a free slot."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite serialises writers with BEGIN IMMEDIATE (the transaction mode "
            "itself), so there is no race to show; see the SQLite test below."
        )
    monkeypatch.setattr(services, "_lock_menu", lambda menu_id: Menu.objects.get(pk=menu_id))
    monkeypatch.setattr(services, "_before_write", lambda: time.sleep(0.05))
    secretariat = sf.secretariat_user()
    menu = _menu_with_one_slot_left(secretariat)
    ids = _pending(menu, APPLICANTS)

    _engagements, _refusals, errors = _race(ids, secretariat.pk)

    assert errors == []
    assert _taken(menu) > SLOTS


def test_accept_on_sqlite_is_serialised_by_immediate_transactions(monkeypatch):
    """On SQLite SELECT … FOR UPDATE does nothing; what serialises writers is
    `transaction_mode=IMMEDIATE`. Even without the menu lock and with the race
    window widened, the slots hold."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite transaction mode only matters on SQLite")
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    monkeypatch.setattr(services, "_lock_menu", lambda menu_id: Menu.objects.get(pk=menu_id))
    monkeypatch.setattr(services, "_before_write", lambda: time.sleep(0.01))
    secretariat = sf.secretariat_user()
    menu = _menu_with_one_slot_left(secretariat)
    ids = _pending(menu, APPLICANTS)

    engagements, refusals, errors = _race(ids, secretariat.pk)

    assert errors == []
    assert len(engagements) == 1
    assert len(refusals) == APPLICANTS - 1
    assert _taken(menu) == SLOTS
