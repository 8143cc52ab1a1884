"""The pages `make bench` measures: one line each.

A page is measured on the national data set and on the demo data set with
the same line: its URL names the objects it shows by a {placeholder}, and
RESOLVERS find that object in whichever data set is measured (the meeting
with the most registrations, the busiest 年度…). A later issue adds its page
as one line in PAGES (and, when the page needs an object of its own, one
resolver).

Targets (DESIGN §6, issue #11), checked per page by bench/report.py:
* every page: p95 ≤ 50 ms, national ÷ demo (medians) ≤ 1.2, and the same
  number of queries on both data sets (unless the demo has no rows of the
  kind at all: Page.unlike_demo, printed with the result);
* kind LIST (a list showing 50 rows): median ≤ 10× the bare logged-in view;
* kind DASHBOARD: p95 ≤ 100 ms instead of 50, warm and cold.
A cold page is requested right after a check-in at a meeting its figures
count (events.services.set_attended, not timed): the first view after a
change, as the committee sees it after the secretariat's reception desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

PAGE, LIST, DASHBOARD = "page", "list", "dashboard"


@dataclass(frozen=True)
class Page:
    name: str
    role: str  # a key of dataset.ROLE_LABELS
    url: str  # with {placeholders} from RESOLVERS
    kind: str = PAGE
    cold: str | None = None  # the 年度 placeholder whose figures a check-in changes
    # Why the demo data cannot show this page's query count: it has no rows of
    # the kind at all (a list with no row skips its page query; a 年度 with no
    # held meeting skips the per-meeting ones), so 0 rows is compared with N,
    # not 1 with N (DESIGN §6). The counts are then printed, not compared.
    unlike_demo: str = ""
    # A {placeholder} whose value the answer must contain (the one person a
    # search should find): a page that answers 200 without it is an error.
    expect: str = ""


# The note search's first page: on the national data 1,000 entries match and
# rank first, so the page may hold no topic (whose queries are then skipped).
ENTRIES_FIRST = "the page's mix of note entries and topics differs"

# fmt: off
PAGES = [
    Page("home", "anonymous", "/"),
    Page("home", "contractor", "/"),
    Page("home", "municipal", "/"),
    Page("home", "org_admin", "/"),
    Page("home", "committee", "/"),
    Page("home", "secretariat", "/"),
    Page("event list", "contractor", "/events/"),
    Page("event page (largest upcoming)", "contractor", "/events/{upcoming_event}/"),
    Page("registration list p1", "secretariat", "/events/manage/{big_event}/registrations/", LIST),
    Page("registration list p2", "secretariat", "/events/manage/{big_event}/registrations/?page=2", LIST),
    Page("check-in search, one hit", "secretariat", "/events/manage/{big_event}/checkin/?q={one_hit}", expect="{one_hit_name}"),
    Page("check-in search, many hits", "secretariat", "/events/manage/{big_event}/checkin/?q={many_hit}", LIST),
    Page("check-in list", "secretariat", "/events/manage/{big_event}/checkin/", LIST),
    Page("organisation list", "contractor", "/network/organisations/", LIST),
    Page("people list", "secretariat", "/network/manage/people/", LIST),
    Page("survey list (member)", "contractor", "/surveys/"),
    Page("survey results", "secretariat", "/surveys/{big_survey}/results/"),
    Page("survey results (suppressed)", "committee", "/surveys/{big_survey}/results/"),
    Page("survey responses list", "secretariat", "/surveys/{big_survey}/responses/", LIST),
    Page("survey invitations list", "secretariat", "/surveys/manage/{big_survey}/invitations/", LIST),
    Page("dashboard, busiest 年度", "committee", "/dashboard/?fy={busy_fy}", DASHBOARD),
    Page("dashboard, busiest 年度, cold", "committee", "/dashboard/?fy={busy_fy}", DASHBOARD, "busy_fy"),
    Page("dashboard, current 年度", "committee", "/dashboard/?fy={current_fy}", DASHBOARD),
    Page("dashboard, current 年度, cold", "committee", "/dashboard/?fy={current_fy}", DASHBOARD, "current_fy", "the demo's current 年度 has no held meeting"),
    Page("participation.json", "committee", "/dashboard/participation.json?fy={busy_fy}", DASHBOARD),
    Page("participation.json, cold", "committee", "/dashboard/participation.json?fy={busy_fy}", DASHBOARD, "busy_fy"),
    Page("needs register", "committee", "/dashboard/needs/", LIST, unlike_demo="the demo data has no needs"),
    Page("annual report, busiest 年度", "committee", "/dashboard/report/?fy={busy_fy}", DASHBOARD),
    Page("annual report, busiest 年度, cold", "committee", "/dashboard/report/?fy={busy_fy}", DASHBOARD, "busy_fy"),
    Page("events manage list", "secretariat", "/events/manage/", LIST),
    Page("surveys manage list", "secretariat", "/surveys/manage/", LIST),
    Page("board: home", "contractor", "/note/"),
    Page("board: room (network)", "contractor", "/note/rooms/{network_room}/", LIST),
    Page("board: room, unanswered", "contractor", "/note/rooms/{network_room}/?show=unanswered", LIST, unlike_demo="every topic of the demo's network room has a reply"),
    Page("board: room search, 2 characters", "contractor", "/note/rooms/{network_room}/?q=%E6%94%AF%E6%8F%B4", LIST),
    Page("board: room search, 4 characters", "contractor", "/note/rooms/{network_room}/?q=%E5%AE%B6%E8%A8%88%E6%94%B9%E5%96%84", LIST),
    Page("board: note search, 1 character", "contractor", "/note/search/?q=%E5%AE%B6", LIST, unlike_demo=ENTRIES_FIRST),
    Page("board: note search, 2 characters", "contractor", "/note/search/?q=%E6%94%AF%E6%8F%B4", LIST, unlike_demo=ENTRIES_FIRST),
    Page("board: note search, 4 characters", "contractor", "/note/search/?q=%E5%AE%B6%E8%A8%88%E6%94%B9%E5%96%84", LIST, unlike_demo=ENTRIES_FIRST),
    Page("board: topic (most replies)", "contractor", "/note/topics/{busy_topic}/", unlike_demo="the demo's busiest topic is kept in the note (its entry is read)"),
    Page("board: my topics", "contractor", "/note/mine/", LIST),
    Page("navi: home", "anonymous", "/navi/"),
    Page("navi: choose an area", "anonymous", "/navi/c/seikatsu/"),
    Page("navi: windows in 札幌市 (most windows)", "anonymous", "/navi/c/seikatsu/m/011002/"),
    Page("navi: windows in 札幌市, page 3", "anonymous", "/navi/c/seikatsu/m/011002/?page=3", unlike_demo="the demo has one page of windows"),
    Page("navi: windows in 石狩振興局", "anonymous", "/navi/c/seikatsu/r/{ishikari}/"),
    Page("navi: search, 1 character", "anonymous", "/navi/search/?q=%E5%AE%B6"),
    Page("navi: search, 2 characters", "anonymous", "/navi/search/?q=%E5%AE%B6%E8%A8%88"),
    Page("navi: search, 7 characters", "anonymous", "/navi/search/?q=%E3%81%8F%E3%82%89%E3%81%97%E3%82%B5%E3%83%9D%E3%83%BC%E3%83%88"),
    Page("navi: search by area, 2 characters", "anonymous", "/navi/search/?q=%E5%B0%B1%E5%8A%B4&r={kamikawa}"),
    Page("navi: search by area and trouble, 1 character", "anonymous", "/navi/search/?q=%E5%AE%B6&r={ishikari}&c=kakei"),
    Page("navi: near me (札幌駅)", "anonymous", "/navi/near/?lat=43.0687&lon=141.3508", unlike_demo="the demo's 12 windows do not fill the 0.5 km and 3 km boxes, so it reads the 50 km one too"),
    Page("navi: a window", "anonymous", "/navi/w/{navi_window}/"),
    Page("support: menus", "contractor", "/support/"),
    Page("support: a menu", "contractor", "/support/menus/{apply_menu}/"),
    Page("support: apply form", "contractor", "/support/menus/{apply_menu}/apply/"),
    Page("support: our applications", "contractor", "/support/applications/"),
    Page("support: an application (completed)", "contractor", "/support/applications/{my_application}/"),
    Page("support: engagements (partner)", "partner", "/support/engagements/"),
    Page("support: an engagement (partner)", "partner", "/support/engagements/{partner_engagement}/"),
    Page("support: manage applications (waiting, this 年度)", "secretariat", "/support/manage/", LIST),
    Page("support: manage applications, every 年度 and status", "secretariat", "/support/manage/?fy=&status=", LIST),
    Page("support: manage an application", "secretariat", "/support/manage/applications/{my_application}/"),
]
# fmt: on


def label(page: Page) -> str:
    from .dataset import ROLE_LABELS

    return f"{page.name} — {ROLE_LABELS[page.role]}"


# --- finding the objects in the data set being measured ----------------------------------


def _big_event():
    from django.db.models import Count

    from events.models import Registration

    row = (
        Registration.objects.values("event_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "event_id")
        .first()
    )
    return row["event_id"]


def _upcoming_event():
    from django.db.models import Count
    from django.utils import timezone

    from events.models import Event

    event = (
        Event.objects.filter(status=Event.Status.PUBLISHED, starts_at__gt=timezone.now())
        .annotate(n=Count("registrations"))
        .order_by("-n", "starts_at", "pk")
        .first()
    )
    return event.pk


def _busy_fy():
    """The 年度 with the most registrations at held exchange meetings."""
    from django.db.models import Count

    from events.models import Event, Registration

    row = (
        Registration.objects.filter(
            event__kind=Event.Kind.EXCHANGE, event__status=Event.Status.FINISHED
        )
        .values("event__fiscal_year")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    return row["event__fiscal_year"]


def _current_fy():
    from django.utils import timezone

    from .dataset import fiscal_year_of

    return fiscal_year_of(timezone.localdate())


def _big_survey():
    from django.db.models import Count

    from surveys.models import Response

    row = (
        Response.objects.filter(submitted_at__isnull=False)
        .values("survey_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "survey_id")
        .first()
    )
    return row["survey_id"]


def _registrants(event_id):
    """(kana, the texts a check-in search looks in) of the meeting's active registrants."""
    from events.models import Registration

    rows = (
        Registration.objects.filter(event_id=event_id)
        .exclude(status=Registration.Status.CANCELLED)
        .values_list(
            "user__full_name_kana",
            "user__full_name",
            "user__email",
            "organisation__name",
            "organisation_name",
        )
        .order_by("pk")
    )
    return [(r[0] or "", r[1] or "", " ".join(x or "" for x in r).lower()) for r in rows]


def _one_hit_person(context):
    """(kana, name) of a registrant whose kana words (surname, given name) are
    not all found in any other registrant's name, address or organisation:
    the search (every word somewhere) finds exactly one."""
    rows = _registrants(context["big_event"])
    for kana, name, _text in rows:
        words = kana.lower().split()
        if words and sum(all(w in t for w in words) for _k, _n, t in rows) == 1:
            return kana, name
    raise LookupError("no registrant with a name of their own")


def _one_hit(context):
    return quote(context["one_hit_person"][0])


def _one_hit_name(context):
    from django.utils.html import escape

    return escape(context["one_hit_person"][1])


def _many_hit(context):
    """The surname (kana) shared by the most registrants of the meeting."""
    rows = _registrants(context["big_event"])
    surnames = {kana.split(" ")[0] for kana, _n, _t in rows if " " in kana}
    best = max(sorted(surnames), key=lambda s: sum(s in text for _k, _n, text in rows))
    return quote(best)


def _network_room():
    from note.enums import RoomKind
    from note.models import Room

    return Room.objects.get(kind=RoomKind.NETWORK).pk


def _busy_topic():
    """The published topic with the most replies."""
    from django.db.models import Count

    from note.models import Topic

    return (
        Topic.objects.filter(state="published")
        .annotate(n=Count("replies"))
        .order_by("-n", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def _region(name):
    def resolve():
        from network.models import Region

        return Region.objects.get(name=name).pk

    return resolve


def _navi_window():
    """A public window in 札幌市 with hours (the page reads them)."""
    from directory.models import ServiceAtLocation

    return (
        ServiceAtLocation.objects.public()
        .filter(location__municipality__code="011002", schedules__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def _role_organisations(role):
    """The organisations of the data set's account for `role` (bench.dataset.ROLE_EMAILS)."""
    from network.models import Membership

    from .dataset import ROLE_EMAILS

    return Membership.objects.filter(user__email__in=ROLE_EMAILS[role]).values("organisation_id")


def _apply_menu():
    """The first menu the contractor's organisation may apply for."""
    from network.models import Organisation
    from support.models import Menu

    organisation = Organisation.objects.get(pk__in=_role_organisations("contractor"))
    return next(
        menu.number
        for menu in Menu.objects.with_eligibility().order_by("number")
        if not menu.refusal_for(organisation)
    )


def _my_application():
    """The contractor's organisation's latest completed application (the
    demo's ⑦: applied, accepted, sessions recorded, outcome reported)."""
    from support.enums import ApplicationStatus
    from support.models import Application

    return (
        Application.objects.filter(
            organisation_id__in=_role_organisations("contractor"),
            status=ApplicationStatus.COMPLETED,
        )
        .order_by("-submitted_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )


def _partner_engagement():
    """The latest completed engagement assigned to the partner account's
    organisation (the demo's ⑦ and the national data set's showcase)."""
    from support.models import Engagement

    return (
        Engagement.objects.filter(
            partner_id__in=_role_organisations("partner"), completed_at__isnull=False
        )
        .order_by("-accepted_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )


# Called with the context (for those that depend on another value) or without.
RESOLVERS = {
    "big_event": _big_event,
    "upcoming_event": _upcoming_event,
    "busy_fy": _busy_fy,
    "current_fy": _current_fy,
    "big_survey": _big_survey,
    "one_hit_person": _one_hit_person,
    "one_hit": _one_hit,
    "one_hit_name": _one_hit_name,
    "many_hit": _many_hit,
    "network_room": _network_room,
    "busy_topic": _busy_topic,
    "ishikari": _region("石狩振興局"),
    "kamikawa": _region("上川総合振興局"),
    "navi_window": _navi_window,
    "apply_menu": _apply_menu,
    "my_application": _my_application,
    "partner_engagement": _partner_engagement,
}
NEEDS_CONTEXT = {"one_hit_person", "one_hit", "one_hit_name", "many_hit"}


class Context(dict):
    """Placeholder values, found on first use."""

    def __missing__(self, key):
        resolver = RESOLVERS[key]
        value = resolver(self) if key in NEEDS_CONTEXT else resolver()
        self[key] = value
        return value


# --- the change that makes a dashboard cold ------------------------------------------------


class CheckIn:
    """Toggles the attendance of one registration at a held exchange meeting
    of the 年度 (or an earlier one: the figures count those too), through the
    service the reception desk uses."""

    def __init__(self, fiscal_year: int, by):
        from events.models import Event, Registration

        self.by = by
        held = Registration.objects.filter(
            event__kind=Event.Kind.EXCHANGE,
            event__status=Event.Status.FINISHED,
            event__fiscal_year__lte=fiscal_year,
            status=Registration.Status.CONFIRMED,
        )
        self.registration = (
            held.filter(event__registrations__attended=True)
            .order_by("-event__fiscal_year", "-event__starts_at", "pk")
            .first()
        ) or held.order_by("-event__starts_at", "pk").first()
        self.original = self.registration.attended if self.registration else None

    def __call__(self):
        from events import services

        if self.registration is None:
            return
        self.registration = services.set_attended(
            registration=self.registration, attended=not self.registration.attended, by=self.by
        )

    def restore(self):
        from events import services

        if self.registration is not None and self.registration.attended != self.original:
            services.set_attended(
                registration=self.registration, attended=self.original, by=self.by
            )
