"""events.tallies: the dashboard's figures kept by the writes that change them.

The definition of every figure is committee.participation.compute_from_registrations
(the aggregation over the registrations that the dashboard ran on every page
view before); compute reads the tallies. After every service that changes a
registration or an event, the stored rows equal a recomputation from the
registrations (tallies.stored() == tallies.computed()) and the two computations
give the same Participation — on the demo data (the seed's 27/49/90/69/12 = 247)
and on random data. Each service that changes the figures is also run once with
the refresh switched off, to show the comparison would catch a service that
forgot it.
"""

import datetime
import io
import random
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from committee import participation as p
from core.dates import fiscal_year_of
from events import services, tallies
from events.importing import COLUMNS, import_attendance
from events.models import Event, EventTally, Registration, TalliedEvent, TalliedPresence
from events.services import RegistrationError
from network.models import Organisation, User

from .event_factories import EventFactory, RegistrationFactory
from .factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db
K = Organisation.Kind
VENUE, ONLINE = Registration.Mode.VENUE, Registration.Mode.ONLINE
NOW = timezone.now()
FY = fiscal_year_of(timezone.localdate())


def assert_tallies_match(now=None, years=(FY - 1, FY, FY + 1)):
    """The stored rows are what the registrations give, and so are the figures."""
    assert tallies.stored() == tallies.computed()
    now = now or timezone.now()
    for fiscal_year in years:
        assert p.compute(fiscal_year, now=now) == p.compute_from_registrations(
            fiscal_year, now=now
        ), fiscal_year


def member(organisation, **kwargs):
    return MembershipFactory(organisation=organisation, user=UserFactory(**kwargs)).user


def hours(n):
    return datetime.timedelta(hours=n)


def attendance_file(rows) -> bytes:
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    for row in rows:
        out.write(",".join(str(cell) for cell in row) + "\n")
    return out.getvalue().encode("utf-8")


class World:
    """Exchange meetings around today, registered for through the services:

    * `today`: published, started two hours ago, hybrid; 3 venue seats taken
      and one person waiting for the venue, one online;
    * `last_year`: finished, last 年度 (written by factories, then tallied);
    * `upcoming`: published, in 30 days; `public`: published, public, in 40 days;
    * `draft`: an exchange meeting not yet published; `symposium`: not counted.
    """

    def __init__(self, secretariat):
        self.by = secretariat
        self.npo = OrganisationFactory(name="札幌の団体", kind=K.CONTRACTOR)
        self.support = OrganisationFactory(name="支援の団体", kind=K.SUPPORT)
        self.city = OrganisationFactory(name="江別市 生活支援課", kind=K.MUNICIPALITY)
        self.mhlw = OrganisationFactory(name="厚生労働省 地域福祉課", kind=K.GOVERNMENT)
        self.other = OrganisationFactory(name="個人の会", kind=K.OTHER)
        start = timezone.now() - hours(2)
        self.today = EventFactory(
            title="今日の情報交換会",
            starts_at=start,
            ends_at=start + hours(5),
            fiscal_year=fiscal_year_of(timezone.localtime(start).date()),
            venue_capacity=3,
            online_capacity=None,
        )
        self.last_year = EventFactory(
            title="昨年度の情報交換会",
            starts_at=start - datetime.timedelta(days=400),
            status=Event.Status.FINISHED,
        )
        self.upcoming = EventFactory(title="次回の情報交換会")
        self.public = EventFactory(
            title="公開の情報交換会",
            audience=Event.Audience.PUBLIC,
            starts_at=timezone.now() + datetime.timedelta(days=40),
        )
        self.draft = EventFactory(title="下書き", status=Event.Status.DRAFT)
        self.symposium = EventFactory(title="シンポジウム", kind=Event.Kind.SYMPOSIUM)
        # Written by the factories: tallied as a service would after writing.
        tallies.refresh(e.pk for e in (self.today, self.last_year, self.upcoming, self.public))
        self.people = {}
        for key, org, mode in (
            ("npo1", self.npo, VENUE),
            ("npo2", self.npo, VENUE),
            ("city1", self.city, VENUE),
            ("waiting", self.support, VENUE),
            ("online1", self.mhlw, ONLINE),
        ):
            user = member(org, full_name=key)
            self.people[key] = services.register(event=self.today, user=user, mode=mode, by=self.by)
        assert self.people["waiting"].status == Registration.Status.WAITLISTED
        # Last 年度's meeting: history written directly, then tallied.
        self.veteran = RegistrationFactory(
            event=self.last_year, user=self.people["npo1"].user, organisation=self.npo
        )
        RegistrationFactory(event=self.last_year, organisation=self.city, attended=True)
        RegistrationFactory(event=self.last_year, organisation=self.other, mode=ONLINE)
        tallies.refresh([self.last_year.pk])
        services.register(
            event=self.upcoming, user=self.people["city1"].user, mode=VENUE, by=self.by
        )

    def reload(self, key) -> Registration:
        return Registration.objects.get(pk=self.people[key].pk)


@pytest.fixture
def world(secretariat):
    return World(secretariat)


# --- every service, one by one -------------------------------------------------------------


def _register(w):
    services.register(event=w.today, user=member(w.support), mode=ONLINE, by=w.by)


def _register_waitlisted(w):
    waiting = services.register(event=w.today, user=member(w.npo), mode=VENUE, by=w.by)
    assert waiting.status == Registration.Status.WAITLISTED


def _register_member_themselves(w):
    user = member(w.city)
    services.register(event=w.upcoming, user=user, mode=ONLINE)


def _register_on_behalf_choosing_the_organisation(w):
    user = member(w.npo)
    MembershipFactory(user=user, organisation=w.city)
    services.register(event=w.today, user=user, mode=ONLINE, organisation=w.city, by=w.by)


def _cancel_promotes(w):
    services.cancel_registration(registration=w.reload("npo2"), by=w.by)
    assert w.reload("waiting").status == Registration.Status.CONFIRMED


def _cancel_by_the_person(w):
    registration = w.reload("online1")
    services.cancel_registration(registration=registration, by=registration.user)


def _change_mode_promotes(w):
    services.change_registration(registration=w.reload("npo1"), mode=ONLINE, by=w.by)
    assert w.reload("waiting").status == Registration.Status.CONFIRMED


def _confirm_over_capacity(w):
    services.confirm_over_capacity(registration=w.reload("waiting"), by=w.by)


def _first_checkin_of_the_venue(w):
    # Only the checked-in count at the venue now; online still counts confirmed.
    services.set_attended(registration=w.reload("city1"), attended=True, by=w.by)


def _prepare_checked_in(w):
    services.set_attended(registration=w.reload("city1"), attended=True, by=w.by)


def _undo_checkin(w):
    services.set_attended(registration=w.reload("city1"), attended=False, by=w.by)


def _online_checkin(w):
    services.set_attended(registration=w.reload("online1"), attended=True, by=w.by)


def _checkin_after_the_meeting(w):
    services.set_attended(registration=w.veteran, attended=True, by=w.by)


def _fill_waitlist(w):
    Event.objects.filter(pk=w.today.pk).update(venue_capacity=10)
    assert services.fill_waitlist(event=w.today, by=w.by)


def _finish(w):
    services.finish_event(event=w.today, by=w.by)


def _cancel_event(w):
    services.cancel_event(event=w.upcoming, reason="台風のため", by=w.by)


def _cancel_todays_event(w):
    services.cancel_event(event=w.today, reason="会場の都合", by=w.by)


def _move_to_another_year(w):
    edited = Event.objects.get(pk=w.today.pk)
    edited.starts_at = w.today.starts_at - datetime.timedelta(days=365)
    edited.ends_at = edited.starts_at + hours(3)
    edited.fiscal_year = w.today.fiscal_year - 1
    services.update_event(event=edited, by=w.by)


def _change_kind(w):
    edited = Event.objects.get(pk=w.today.pk)
    edited.kind = Event.Kind.STUDY
    services.update_event(event=edited, by=w.by)


def _publish(w):
    services.publish_event(event=w.draft, by=w.by)


def _delete_draft(w):
    services.delete_draft_event(event=w.draft, by=w.by)


def _guest_registers(w):
    services.register_guest(
        event=w.public,
        email="guest@example.org",
        full_name="一般 参加者",
        full_name_kana="いっぱん さんかしゃ",
        organisation_name="市民活動センター",
        mode=VENUE,
    )


def _prepare_guest(w):
    w.guest = services.register_guest(
        event=w.public,
        email="guest@example.org",
        full_name="一般 参加者",
        full_name_kana="いっぱん さんかしゃ",
        organisation_name="市民活動センター",
        mode=VENUE,
    )


def _guest_confirms(w):
    services.confirm_guest(token=w.guest.raw_token)


def _guest_sweep(w):
    assert services.discard_unconfirmed_guests(now=timezone.now() + datetime.timedelta(days=8))


def _import_attendance(w):
    code = w.city.municipality.code
    result = import_attendance(
        raw=attendance_file(
            [
                # A new person of a new organisation, and an update: the
                # veteran checked in after all, at the venue.
                [
                    w.last_year.pk,
                    "new@example.org",
                    "新規 一郎",
                    "",
                    "新しい団体",
                    "支援団体",
                    code,
                    "会場",
                    "",
                    "1",
                ],
                [
                    w.last_year.pk,
                    w.veteran.user.email,
                    "",
                    "",
                    w.npo.name,
                    "",
                    w.npo.municipality.code,
                    "会場",
                    "",
                    "1",
                ],
            ]
        ),
        filename="attendance.csv",
    )
    assert result.written, result.errors


def _symposium(w):
    services.register(event=w.symposium, user=member(w.npo), mode=VENUE, by=w.by)
    assert not TalliedEvent.objects.filter(event=w.symposium).exists()


OPERATIONS = [
    # (name, prepare, act, changes the tallies)
    ("register", None, _register, True),
    ("register_waitlisted", None, _register_waitlisted, False),
    ("register_member_themselves", None, _register_member_themselves, True),
    (
        "register_on_behalf_for_an_organisation",
        None,
        _register_on_behalf_choosing_the_organisation,
        True,
    ),
    ("cancel_promotes_the_waiting", None, _cancel_promotes, True),
    ("cancel_by_the_person", None, _cancel_by_the_person, True),
    ("change_mode_promotes_the_waiting", None, _change_mode_promotes, True),
    ("confirm_over_capacity", None, _confirm_over_capacity, True),
    ("first_checkin_of_a_mode", None, _first_checkin_of_the_venue, True),
    ("undo_checkin", _prepare_checked_in, _undo_checkin, True),
    ("online_checkin", None, _online_checkin, True),
    ("checkin_after_the_meeting", None, _checkin_after_the_meeting, True),
    ("fill_waitlist", None, _fill_waitlist, True),
    ("finish_event", None, _finish, True),
    ("cancel_upcoming_event", None, _cancel_event, True),
    ("cancel_todays_event", None, _cancel_todays_event, True),
    ("move_to_another_fiscal_year", None, _move_to_another_year, True),
    ("change_kind", None, _change_kind, True),
    ("publish_draft", None, _publish, True),
    ("delete_draft", None, _delete_draft, False),
    ("guest_registers", None, _guest_registers, False),
    ("guest_confirms", _prepare_guest, _guest_confirms, True),
    ("guest_sweep", _prepare_guest, _guest_sweep, False),
    ("import_attendance", None, _import_attendance, True),
    ("register_for_a_symposium", None, _symposium, False),
]


@pytest.mark.parametrize(
    ("prepare", "act", "changes"),
    [op[1:] for op in OPERATIONS],
    ids=[op[0] for op in OPERATIONS],
)
def test_tallies_equal_a_recomputation_after_each_service(
    world, monkeypatch, prepare, act, changes
):
    assert_tallies_match()
    if prepare:
        prepare(world)
        assert_tallies_match()
    if changes:
        # Without the refresh the comparison fails: the test sees a service
        # that forgets it.
        with transaction.atomic():
            with monkeypatch.context() as off:
                off.setattr(tallies, "refresh", lambda event_ids: None)
                off.setattr(tallies, "forget", lambda event_ids: None)
                act(world)
            assert tallies.stored() != tallies.computed()
            transaction.set_rollback(True)

    act(world)

    assert_tallies_match()


def test_tallies_importing_the_same_file_again_writes_nothing(world):
    _import_attendance(world)
    with CaptureQueriesContext(connection) as again:
        _import_attendance(world)
    assert not [q for q in again.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))]
    assert_tallies_match()


# --- the seed ------------------------------------------------------------------------------


@pytest.fixture
def seeded():
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=StringIO())


def test_tallies_reproduce_the_seed_table(seeded):
    now = timezone.now()
    years = sorted(set(Event.objects.values_list("fiscal_year", flat=True)))
    # seed_demo writes its registrations in bulk, behind the services, and
    # then rebuilds the tallies: every 年度 reads them, with the definition's numbers.
    assert TalliedEvent.objects.exists()
    assert tallies.stored() == tallies.computed()
    data = p.compute(2021, now=now)
    assert [e.persons for e in data.events] == [27, 49, 90, 69, 12]
    assert data.totals.persons == 247
    assert tallies.stale_events() == []
    for fiscal_year in years:
        assert p.compute(fiscal_year, now=now) == p.compute_from_registrations(
            fiscal_year, now=now
        ), fiscal_year
    with CaptureQueriesContext(connection) as queries:
        assert p.compute(2021, now=now).as_json() == data.as_json()
    assert len(queries) == 8


# --- random data ------------------------------------------------------------------------------


def _random_world(rng: random.Random, secretariat):
    """Meetings of three 年度 in every state, organisations of every kind (and
    none), registrations in every status and mode, some checked in."""
    now = timezone.now()
    orgs = [
        OrganisationFactory(kind=rng.choice(list(K.values)), name=f"組織 {i}") for i in range(8)
    ] + [None]
    users = [UserFactory() for _i in range(24)]
    events = []
    for i in range(12):
        start = now + datetime.timedelta(days=rng.randint(-800, 60), hours=rng.randint(0, 8))
        status = rng.choice(
            [Event.Status.FINISHED] * 3 + [Event.Status.PUBLISHED] * 3 + [Event.Status.CANCELLED]
        )
        kind = Event.Kind.EXCHANGE if rng.random() < 0.8 else Event.Kind.REPORT
        events.append(
            EventFactory(
                title=f"第{i}回",
                kind=kind,
                starts_at=start,
                ends_at=start + hours(3),
                status=status,
                venue_capacity=None,
                online_capacity=None,
            )
        )
    for event in events:
        checkin = rng.random() < 0.5
        for user in rng.sample(users, rng.randint(0, 12)):
            status = rng.choice(
                [Registration.Status.CONFIRMED] * 4
                + [
                    Registration.Status.WAITLISTED,
                    Registration.Status.CANCELLED,
                    Registration.Status.PENDING,
                ]
            )
            RegistrationFactory(
                event=event,
                user=user,
                organisation=rng.choice(orgs),
                mode=rng.choice([VENUE, ONLINE]),
                status=status,
                attended=checkin
                and status != Registration.Status.WAITLISTED
                and rng.random() < 0.5,
            )
    return events, orgs, users


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_tallies_follow_random_registrations_and_services(seed, secretariat):
    rng = random.Random(seed)
    events, orgs, users = _random_world(rng, secretariat)
    tallies.rebuild()
    assert_tallies_match(years=range(FY - 3, FY + 2))

    for _step in range(25):
        event = rng.choice(events)
        event.refresh_from_db()
        registrations = list(Registration.objects.filter(event=event))
        action = rng.choice(["checkin", "cancel", "finish", "register", "direct", "import"])
        try:
            if action == "checkin" and registrations:
                registration = rng.choice(registrations)
                services.set_attended(
                    registration=registration, attended=not registration.attended, by=secretariat
                )
            elif action == "cancel" and registrations:
                services.cancel_registration(registration=rng.choice(registrations), by=secretariat)
            elif action == "finish":
                services.finish_event(event=event, by=secretariat)
            elif action == "register":
                org = rng.choice([o for o in orgs if o is not None])
                user = member(org)
                services.register(event=event, user=user, mode=VENUE, by=secretariat)
            elif action == "direct" and registrations:
                # A write behind the services' back, then the refresh they do.
                registration = rng.choice(registrations)
                registration.organisation = rng.choice(orgs)
                registration.status = rng.choice(Registration.Status.values)
                registration.save()
                tallies.refresh([event.pk])
            elif action == "import" and event.takes_attendance_records():
                user = rng.choice(users)
                org = rng.choice([o for o in orgs if o is not None])
                result = import_attendance(
                    raw=attendance_file(
                        [
                            [
                                event.pk,
                                user.email,
                                "",
                                "",
                                org.name,
                                "",
                                org.municipality.code,
                                rng.choice(["会場", "オンライン"]),
                                "",
                                rng.choice(["1", "0"]),
                            ]
                        ]
                    ),
                    filename="a.csv",
                )
                assert result.written or result.errors
        except RegistrationError:
            pass
        assert tallies.stored() == tallies.computed(), (seed, _step, action)
    assert_tallies_match(years=range(FY - 3, FY + 2))


# --- changes behind the services' back ---------------------------------------------------------


def _tally_rows():
    return {
        "events": list(TalliedEvent.objects.order_by("pk").values_list()),
        "kinds": list(EventTally.objects.order_by("pk").values_list()),
    }


def test_tallies_dashboard_falls_back_for_an_event_saved_directly_until_repaired(world):
    """The admin or a script changes events without the services: the
    dashboard sees tallies computed for other attributes, gives the
    definition's numbers and writes nothing; repair() brings the rows back."""
    now = timezone.now()
    assert p.compute(FY - 1, now=now).events[0].id == world.last_year.pk
    Event.objects.filter(pk=world.last_year.pk).update(status=Event.Status.CANCELLED)
    moved = Event.objects.get(pk=world.today.pk)
    moved.fiscal_year = FY + 1
    moved.save()
    rows = _tally_rows()

    assert p.compute(FY + 1, now=now) == p.compute_from_registrations(FY + 1, now=now)
    assert p.compute(FY - 1, now=now).events == []
    assert _tally_rows() == rows
    assert tallies.stale_events() == sorted([world.last_year.pk, world.today.pk])

    assert tallies.repair() == {"events": 2, "organisations": 0}
    assert tallies.stale_events() == []
    assert_tallies_match(now, years=(FY - 1, FY, FY + 1))


def test_tallies_dashboard_falls_back_for_an_organisation_in_another_group(world):
    now = timezone.now()
    before = p.compute(FY, now=now)
    assert before.events[0].government.organisations == 1
    # The network pages (or the admin's import) change a kind: no events service runs.
    Organisation.objects.filter(pk=world.mhlw.pk).update(kind=K.MUNICIPALITY)
    rows = _tally_rows()

    after = p.compute(FY, now=now)

    assert after == p.compute_from_registrations(FY, now=now)
    assert (after.events[0].government.organisations, after.events[0].municipal.organisations) == (
        0,
        2,
    )
    assert _tally_rows() == rows
    assert tallies.repair() == {"events": 0, "organisations": 1}
    assert tallies.stored() == tallies.computed()
    with CaptureQueriesContext(connection) as queries:
        assert p.compute(FY, now=now) == after
    assert len(queries) == 8


def test_tallies_hourly_sweep_repairs_an_organisation_changed_in_the_network_pages(world):
    from events import tasks

    Organisation.objects.filter(pk=world.mhlw.pk).update(kind=K.MUNICIPALITY)
    assert tallies.stored() != tallies.computed()

    assert tasks.sweep_tallies() == {"repaired": 1}

    assert tallies.stored() == tallies.computed()
    assert tasks.sweep_tallies() == {"repaired": 0}


def test_tallies_kind_change_within_a_group_still_reads_the_tallies(world):
    """受託団体 → 支援団体 keeps the organisation in 団体: the figures do not move."""
    now = timezone.now()
    Organisation.objects.filter(pk=world.npo.pk).update(kind=K.SUPPORT)
    with CaptureQueriesContext(connection) as queries:
        data = p.compute(FY, now=now)
    assert len(queries) == 8
    assert data == p.compute_from_registrations(FY, now=now)


def test_tallies_dashboard_falls_back_for_a_deleted_organisation(world):
    now = timezone.now()
    # Last 年度: the city checked in at the venue, the その他 group online.
    assert p.compute(FY - 1, now=now).totals.distinct_organisations == 1
    world.city.delete()  # its people's registrations keep no organisation

    after = p.compute(FY - 1, now=now)

    assert after == p.compute_from_registrations(FY - 1, now=now)
    assert after.totals.distinct_organisations == 0
    assert after.events[0].other.persons == 2
    tallies.repair()
    assert tallies.stale_organisations() == []
    assert_tallies_match(now)


def test_tallies_forget_events_deleted_outright(world):
    """Deleting a held meeting outright (the admin) after tallies.forget."""
    tallies.forget([world.last_year.pk])
    world.last_year.delete()
    assert_tallies_match()


# --- cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 50])
def test_tallies_checkin_costs_the_same_queries_whatever_the_size(size, secretariat):
    """Checking one more person in, at a meeting whose venue already uses
    check-in, with 1 or 50 others registered."""
    event = EventFactory(starts_at=timezone.now() - hours(1), venue_capacity=None)
    organisation = OrganisationFactory()
    RegistrationFactory(event=event, organisation=organisation, attended=True)
    registrations = RegistrationFactory.create_batch(size, event=event, organisation=organisation)
    tallies.refresh([event.pk])
    with CaptureQueriesContext(connection) as queries:
        services.set_attended(registration=registrations[0], attended=True, by=secretariat)
    # set_attended: savepoint, the actor's roles (2), the registration locked,
    # its update. The refresh: savepoint, the tally row locked, the event, the
    # modes that used check-in, the present registrations, the stored presence,
    # the one new presence row, the kind rows read and rewritten (2), the
    # event's row; the person's presence in the 年度 and 年度 row read, the row
    # written; the organisation's presence and 年度 row read (unchanged,
    # nothing written); the two releases. The audit log (decision 0007): the
    # row before the update, the person its name is made of, the entry.
    assert len(queries) == 26
    assert tallies.stored() == tallies.computed()


def test_tallies_refresh_of_another_kind_of_event_is_two_queries(secretariat):
    study = EventFactory(kind=Event.Kind.STUDY)
    RegistrationFactory(event=study)
    with CaptureQueriesContext(connection) as queries:
        tallies.refresh([study.pk])
    # The savepoint and its release, the (absent) tally row, the event.
    assert [q["sql"].split()[0] for q in queries.captured_queries] == [
        "SAVEPOINT",
        "SELECT",
        "SELECT",
        "RELEASE",
    ]
    assert not TalliedEvent.objects.exists() and not TalliedPresence.objects.exists()


def test_tallies_data_version_reads_no_registration(world):
    with CaptureQueriesContext(connection) as queries:
        p.data_version(FY)
    (query,) = queries.captured_queries
    assert "events_registration" not in query["sql"]
    assert "events_talliedevent" in query["sql"]


def test_tallies_data_version_follows_a_checkin_but_not_an_upcoming_registration(world):
    before = p.data_version(FY)
    services.register(event=world.upcoming, user=member(world.npo), mode=VENUE, by=world.by)
    assert p.data_version(FY) == before
    services.set_attended(registration=world.reload("npo1"), attended=True, by=world.by)
    assert p.data_version(FY) != before


def _concurrent_checkins_and_cancellations():
    """16 registrations of one meeting: 12 checked in and 4 cancelled at the
    same moment, each in a thread with its own connection. Returns the
    meeting and the errors the threads met."""
    start = timezone.now() - hours(1)
    event = EventFactory(
        starts_at=start, ends_at=start + hours(4), venue_capacity=None, online_capacity=None
    )
    secretariat = UserFactory(groups=["secretariat"])
    orgs = [OrganisationFactory(kind=kind) for kind in (K.CONTRACTOR, K.MUNICIPALITY, K.OTHER)]
    registrations = [
        RegistrationFactory(event=event, organisation=orgs[i % 3], mode=(VENUE, ONLINE)[i % 2])
        for i in range(16)
    ]
    tallies.refresh([event.pk])
    barrier = threading.Barrier(len(registrations))
    errors = []

    def act(index, pk):
        try:
            registration = Registration.objects.get(pk=pk)
            by = User.objects.get(pk=secretariat.pk)
            barrier.wait(timeout=60)
            if index % 4 == 3:
                services.cancel_registration(registration=registration, by=by)
            else:
                services.set_attended(registration=registration, attended=True, by=by)
        except Exception as exc:  # noqa: BLE001 - collected and asserted empty
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=act, args=(i, r.pk)) for i, r in enumerate(registrations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return event, errors


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_tallies_stay_exact_under_concurrent_checkins_and_cancellations():
    """Check-ins lock only their registration, cancellations the event: the
    refreshes follow each other on the tally row's lock (PostgreSQL) or the
    write lock (SQLite), and nothing is lost."""
    event, errors = _concurrent_checkins_and_cancellations()

    assert errors == []
    assert Registration.objects.filter(event=event, attended=True).count() == 12
    assert tallies.stored() == tallies.computed()
    now = timezone.now()
    assert p.compute(event.fiscal_year, now=now) == p.compute_from_registrations(
        event.fiscal_year, now=now
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_tallies_without_the_row_lock_collide_on_postgresql(monkeypatch):
    """Negative control: refreshes that do not lock the tally row read each
    other's rows half-written and collide (or lose a change)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: there is no race to show")

    def without_lock(m, ids):
        return {s.event_id: s for s in m.TalliedEvent.objects.filter(event_id__in=sorted(ids))}

    kind_rows = tallies._kind_rows

    def slowly(rows):
        time.sleep(0.05)  # widen the window between reading and writing
        return kind_rows(rows)

    monkeypatch.setattr(tallies, "_lock", without_lock)
    monkeypatch.setattr(tallies, "_kind_rows", slowly)
    _event, errors = _concurrent_checkins_and_cancellations()

    assert errors or tallies.stored() != tallies.computed()


# --- the data migration ----------------------------------------------------------------------


def test_tallies_rebuild_with_the_migration_models_fills_existing_meetings(world):
    EventTally.objects.all().delete()
    TalliedEvent.objects.all().delete()
    state = MigrationExecutor(connection).loader.project_state(("events", "0007_dashboard_tallies"))

    counts = tallies.rebuild(state.apps)

    assert counts["events"] == TalliedEvent.objects.count() == 4
    assert_tallies_match()
