"""Every rule of events/access.py as a unit, over the named actors (plus an
inactive account and a member of a deactivated organisation) and the events'
states and audiences. The expected results are written out: each table says
who gets what, and each negative has data that would leak if the rule were
wrong (a program the inactive organisation runs, a registration of another
year, a 受託団体のみ event of a commissioned organisation)."""

import datetime

import pytest
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from events import access
from events.models import CalendarFeed, Event, Registration
from network.models import Commission, Organisation

from .conftest import ACTOR_NAMES
from .event_factories import EventFactory, RegistrationFactory
from .factories import MembershipFactory, OrganisationFactory, UserFactory, program

pytestmark = pytest.mark.django_db

ACTORS = [*ACTOR_NAMES, "inactive_user", "inactive_org_member"]
MEMBERS = {
    "contractor_member",
    "municipal_member",
    "org_admin",
    "committee",
    "secretariat",
    "superuser",
}
MANAGERS = {"secretariat", "superuser"}


@pytest.fixture
def people(actors, contractor_org):
    """The named actors, an inactive account of the 受託団体 and a member of a
    deactivated 受託団体; both would see member events if inactivity were ignored."""
    contractor_org.programs.add(program("jiritsu_sodan"))
    inactive = MembershipFactory(organisation=contractor_org, user__is_active=False).user
    closed_org = OrganisationFactory(
        name="閉鎖した団体", kind=Organisation.Kind.CONTRACTOR, is_active=False
    )
    closed_org.programs.add(program("jiritsu_sodan"))
    closed_member = MembershipFactory(organisation=closed_org).user
    return {**actors, "inactive_user": inactive, "inactive_org_member": closed_member}


def as_user(user):
    if user is None:
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser()
    # A fresh instance: roles are cached per user object, as per request.
    return type(user).objects.get(pk=user.pk)


# --- which events each actor sees ------------------------------------------------------


@pytest.fixture
def events(db):
    past = timezone.now() - datetime.timedelta(days=40)
    return {
        "public": EventFactory(title="public", audience=Event.Audience.PUBLIC),
        "members": EventFactory(title="members"),
        "municipal": EventFactory(title="municipal", audience=Event.Audience.MUNICIPAL),
        "contractor": EventFactory(title="contractor", audience=Event.Audience.CONTRACTOR),
        "program": EventFactory(
            title="program",
            audience=Event.Audience.PROGRAM,
            audience_program=program("jiritsu_sodan"),
        ),
        "program_not_run": EventFactory(
            title="program_not_run",
            audience=Event.Audience.PROGRAM,
            audience_program=program("jukyo_kakuho"),
        ),
        "draft": EventFactory(title="draft", status=Event.Status.DRAFT),
        "cancelled": EventFactory(title="cancelled", status=Event.Status.CANCELLED),
        "cancelled_draft": EventFactory(
            title="cancelled_draft", status=Event.Status.CANCELLED, published_at=None
        ),
        "finished": EventFactory(
            title="finished",
            status=Event.Status.FINISHED,
            starts_at=past,
            ends_at=past + datetime.timedelta(hours=3),
        ),
    }


ANNOUNCED_TO_MEMBERS = {"public", "members", "cancelled", "finished"}
EVERY_EVENT = {
    "public",
    "members",
    "municipal",
    "contractor",
    "program",
    "program_not_run",
    "draft",
    "cancelled",
    "cancelled_draft",
    "finished",
}
SEES = {
    "anonymous": {"public"},
    "outsider": {"public"},
    "contractor_member": ANNOUNCED_TO_MEMBERS | {"contractor", "program"},
    "municipal_member": ANNOUNCED_TO_MEMBERS | {"municipal"},
    "org_admin": ANNOUNCED_TO_MEMBERS | {"contractor", "program"},
    "committee": ANNOUNCED_TO_MEMBERS | {"municipal", "contractor", "program", "program_not_run"},
    "secretariat": EVERY_EVENT,
    "superuser": EVERY_EVENT,
    "inactive_user": {"public"},
    "inactive_org_member": {"public"},
}


@pytest.mark.parametrize("actor", ACTORS)
def test_visible_events_by_actor(people, events, actor):
    user = as_user(people[actor])
    visible = {e.title for e in access.visible_events(Event.objects.all(), user)}
    assert visible == SEES[actor]


@pytest.mark.parametrize("actor", ACTORS)
def test_may_see_event_agrees_with_visible_events(people, events, actor):
    user = as_user(people[actor])
    seen = {name for name, event in events.items() if access.may_see_event(user, event)}
    assert seen == SEES[actor]


@pytest.mark.parametrize("actor", ACTORS)
def test_can_manage_events_by_actor(people, actor):
    assert access.can_manage_events(as_user(people[actor])) == (actor in MANAGERS)


@pytest.mark.parametrize("actor", ACTORS)
def test_events_manager_required_by_actor(people, actor):
    view = access.events_manager_required(lambda request: HttpResponse("ok"))
    request = RequestFactory().get("/events/manage/")
    request.user = as_user(people[actor])
    if actor == "anonymous":
        response = view(request)
        assert (response.status_code, response.url) == (
            302,
            "/accounts/login/?next=/events/manage/",
        )
    elif actor in MANAGERS:
        assert view(request).content == b"ok"
    else:
        with pytest.raises(Http404):
            view(request)


# --- registering -----------------------------------------------------------------------------


@pytest.fixture
def register_events(db):
    now = timezone.now()
    return {
        "public": EventFactory(title="public", audience=Event.Audience.PUBLIC),
        "members": EventFactory(title="members"),
        "public_closed": EventFactory(
            title="public_closed",
            audience=Event.Audience.PUBLIC,
            registration_opens_at=now - datetime.timedelta(days=2),
            registration_closes_at=now - datetime.timedelta(hours=1),
        ),
        "draft": EventFactory(title="draft", status=Event.Status.DRAFT),
        "cancelled": EventFactory(title="cancelled", status=Event.Status.CANCELLED),
        "finished": EventFactory(title="finished", status=Event.Status.FINISHED),
    }


def _registers(actor):
    # may_register ignores the window (the event's own rule) but not the status.
    if actor in MEMBERS:
        return {"public", "members", "public_closed"}
    return {"public", "public_closed"}


@pytest.mark.parametrize("actor", ACTORS)
def test_may_register_by_actor_and_event_state(people, register_events, actor):
    user = as_user(people[actor])
    allowed = {n for n, e in register_events.items() if access.may_register(user, e)}
    assert allowed == _registers(actor)


@pytest.mark.parametrize("actor", ACTORS)
def test_may_register_as_member_by_actor_and_event_state(people, register_events, actor):
    user = as_user(people[actor])
    allowed = {n for n, e in register_events.items() if access.may_register_as_member(user, e)}
    assert allowed == ({"public", "members"} if actor in MEMBERS else set())


@pytest.mark.parametrize("actor", ACTORS)
def test_may_register_as_guest_by_actor_and_event_state(people, register_events, actor):
    user = as_user(people[actor])
    allowed = {n for n, e in register_events.items() if access.may_register_as_guest(user, e)}
    assert allowed == (set() if actor in MEMBERS else {"public"})


REGISTERS_FOR = {
    "contractor_member": {"札幌生活サポートセンター"},
    "municipal_member": {"札幌市保健福祉局"},
    "org_admin": {"札幌生活サポートセンター"},
}


@pytest.mark.parametrize("actor", ACTORS)
def test_registering_organisations_by_actor(people, actor):
    organisations = access.registering_organisations(as_user(people[actor]))
    assert {o.name for o in organisations} == REGISTERS_FOR.get(actor, set())


@pytest.mark.parametrize("actor", ACTORS)
def test_may_change_registration_own_and_someone_elses(people, actor):
    someone = RegistrationFactory(user=UserFactory(full_name="別人"))
    user = as_user(people[actor])
    own = (
        RegistrationFactory(event=someone.event, user=people[actor])
        if people[actor] is not None
        else None
    )
    assert (
        access.may_change_registration(user, own) if own else False,
        access.may_change_registration(user, someone),
    ) == (
        actor not in {"anonymous", "inactive_user"},
        actor in MANAGERS,
    )


@pytest.mark.parametrize("actor", ACTORS)
def test_own_registrations_by_actor(people, actor):
    event = EventFactory()
    mine = {
        name: RegistrationFactory(event=event, user=user).pk
        for name, user in people.items()
        if user is not None
    }
    found = set(
        access.own_registrations(Registration.objects.all(), as_user(people[actor])).values_list(
            "pk", flat=True
        )
    )
    expected = set() if actor in {"anonymous", "inactive_user"} else {mine[actor]}
    assert found == expected


ONLINE = Registration.Mode.ONLINE


@pytest.mark.parametrize(
    ("case", "event_fields", "registration_fields", "shown"),
    [
        ("confirmed online", {}, {"mode": ONLINE}, True),
        ("confirmed at the venue", {}, {}, False),
        ("waiting online", {}, {"mode": ONLINE, "status": Registration.Status.WAITLISTED}, False),
        ("pending online", {}, {"mode": ONLINE, "status": Registration.Status.PENDING}, False),
        ("cancelled event", {"status": Event.Status.CANCELLED}, {"mode": ONLINE}, False),
        ("finished event", {"status": Event.Status.FINISHED}, {"mode": ONLINE}, False),
        ("no online URL", {"online_url": ""}, {"mode": ONLINE}, False),
    ],
)
def test_may_see_online_url_only_with_a_confirmed_online_seat(
    contractor_member, case, event_fields, registration_fields, shown
):
    event = EventFactory(**event_fields)
    registration = RegistrationFactory(event=event, user=contractor_member, **registration_fields)
    assert access.may_see_online_url(as_user(contractor_member), event, registration) == shown


@pytest.mark.parametrize("actor", ACTORS)
def test_may_see_online_url_never_from_someone_elses_registration(people, contractor_member, actor):
    event = EventFactory()
    registration = RegistrationFactory(event=event, user=contractor_member, mode=ONLINE)
    user = as_user(people[actor])
    assert access.may_see_online_url(user, event, registration) == (actor == "contractor_member")


def test_may_read_feed_only_while_the_account_is_active(contractor_member):
    feed = CalendarFeed.objects.create(user=contractor_member, token=CalendarFeed.new_token())
    assert access.may_read_feed(feed) is True
    contractor_member.is_active = False
    contractor_member.save(update_fields=["is_active"])
    feed.refresh_from_db()
    assert (access.may_read_feed(feed), access.may_read_feed(None)) == (False, False)


# --- other people's registrations ---------------------------------------------------------


@pytest.fixture
def registrations(people, contractor_org, municipal_org, other_org):
    """Registrations of the 受託団体 (commissioned by the 自治体 in 2030), of the
    自治体, and of an organisation nobody here answers for."""
    this_year = EventFactory(
        title="this year", starts_at=timezone.make_aware(datetime.datetime(2030, 6, 4, 13))
    )
    contractor_only = EventFactory(
        title="contractor only",
        audience=Event.Audience.CONTRACTOR,
        starts_at=timezone.make_aware(datetime.datetime(2030, 7, 4, 13)),
    )
    other_year = EventFactory(
        title="other year", starts_at=timezone.make_aware(datetime.datetime(2031, 6, 4, 13))
    )
    Commission.objects.create(
        contractor=contractor_org,
        commissioner=municipal_org,
        program=program("jiritsu_sodan"),
        fiscal_year=2030,
    )
    colleague = MembershipFactory(organisation=contractor_org).user
    made = {
        "contractor@this": RegistrationFactory(
            event=this_year, user=people["contractor_member"], organisation=contractor_org
        ),
        "colleague@this": RegistrationFactory(
            event=this_year, user=colleague, organisation=contractor_org
        ),
        "colleague@contractor_only": RegistrationFactory(
            event=contractor_only, user=colleague, organisation=contractor_org
        ),
        "colleague@other_year": RegistrationFactory(
            event=other_year, user=colleague, organisation=contractor_org
        ),
        "city@this": RegistrationFactory(
            event=this_year, user=people["municipal_member"], organisation=municipal_org
        ),
        "other@this": RegistrationFactory(event=this_year, organisation=other_org),
    }
    return {name: registration.pk for name, registration in made.items()}


EVERY_REGISTRATION = {
    "contractor@this",
    "colleague@this",
    "colleague@contractor_only",
    "colleague@other_year",
    "city@this",
    "other@this",
}
SEES_REGISTRATIONS = {
    "anonymous": set(),
    "outsider": set(),
    "contractor_member": {"contractor@this"},
    "municipal_member": {"city@this", "contractor@this", "colleague@this"},
    "org_admin": {
        "contractor@this",
        "colleague@this",
        "colleague@contractor_only",
        "colleague@other_year",
    },
    "committee": set(),
    "secretariat": EVERY_REGISTRATION,
    "superuser": EVERY_REGISTRATION,
    "inactive_user": set(),
    "inactive_org_member": set(),
}


@pytest.mark.parametrize("actor", ACTORS)
def test_visible_registrations_by_actor(people, registrations, actor):
    names = {pk: name for name, pk in registrations.items()}
    visible = access.visible_registrations(Registration.objects.all(), as_user(people[actor]))
    assert {names[pk] for pk in visible.values_list("pk", flat=True)} == SEES_REGISTRATIONS[actor]


@pytest.mark.parametrize("actor", ACTORS)
def test_may_see_organisation_registrations_by_actor(
    people, registrations, contractor_org, other_org, actor
):
    user = as_user(people[actor])
    assert (
        access.may_see_organisation_registrations(user, contractor_org),
        access.may_see_organisation_registrations(user, other_org),
    ) == (actor in MANAGERS | {"org_admin", "municipal_member"}, actor in MANAGERS)


@pytest.mark.parametrize("actor", ACTORS)
def test_followed_organisations_by_actor(people, contractor_org, actor):
    followed = access.followed_organisations(as_user(people[actor]))
    assert followed == ({contractor_org.pk} if actor == "org_admin" else set())
