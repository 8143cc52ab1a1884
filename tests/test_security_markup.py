"""Stored markup: hostile text in every field a user can write, on every page
that shows it, is shown as text and never becomes markup or a script link.

Each field gets its own payload (marker xssN), written straight into the
database, as anything that got past a form would be. Every page is parsed
with html.parser: no element may carry an on* attribute, no <script> may hold a
payload, no <img src=x>, and no href/src/action may be a javascript: URL. Each
marker must be seen as text (or an attribute value) on at least one page, so
the sweep really looks at every field.
"""

import datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from committee.models import Need, NeedUpdate
from events import services as event_services
from events.models import Event, Registration
from network.models import JoinRequest, Organisation
from surveys.models import Question

from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import MembershipFactory, OrganisationFactory, UserFactory, municipality
from .survey_factories import (
    InvitationFactory,
    QuestionFactory,
    SurveyFactory,
    submitted_response,
)

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data"}


class Markers:
    """Hands out one payload per field and remembers which it gave."""

    def __init__(self):
        self.given: dict[str, str] = {}

    def long(self, field: str) -> str:
        marker = self._marker(field)
        return f'"><script>{marker}</script><img src=x onerror={marker}>'

    def short(self, field: str) -> str:
        # For the few fields of 30 characters or less (phone numbers).
        marker = self._marker(field)
        return f"<img src=x onerror={marker}>"

    def link(self, field: str) -> str:
        marker = self._marker(field)
        return f"javascript:alert('{marker}')"

    def _marker(self, field: str) -> str:
        marker = f"xss{len(self.given) + 1}x"
        self.given[marker] = field
        return marker


class PageChecker(HTMLParser):
    def __init__(self, markers):
        super().__init__(convert_charrefs=True)
        self.markers = markers
        self.problems: list[str] = []
        self.seen: set[str] = set()
        self._in_script = False

    def _look(self, text: str):
        for marker in self.markers:
            if marker in text:
                self.seen.add(marker)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            self._look(value)
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and "".join(value.split()).lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        attributes = dict(attrs)
        if tag == "script":
            self._in_script = True
        if tag == "img" and attributes.get("src") == "x":
            self.problems.append(f"<img {attrs!r}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self._in_script = False

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and any(marker in data for marker in self.markers):
            self.problems.append(f"<script>{data[:60]!r}")
        self._look(data)


def check_page(content: str, markers) -> PageChecker:
    checker = PageChecker(markers)
    checker.feed(content)
    checker.close()
    return checker


@pytest.fixture
def world(
    db, contractor_org, other_org, contractor_member, org_admin, committee_member, secretariat
):
    m = Markers()
    now = timezone.now()

    # People and organisations.
    for user in (contractor_member, org_admin):
        user.full_name = m.long(f"{user.email} full_name")
        user.full_name_kana = m.long(f"{user.email} full_name_kana")
        user.save()
    for org in (contractor_org, other_org):
        org.name = m.long(f"{org.pk} organisation name")
        org.kana = m.long(f"{org.pk} organisation kana")
        org.address = m.long(f"{org.pk} organisation address")
        org.description = m.long(f"{org.pk} organisation description")
        org.phone = m.short(f"{org.pk} organisation phone")
        org.website = m.link(f"{org.pk} organisation website")
        org.save()
    contact = MembershipFactory(organisation=contractor_org, user__password=None).user
    contact.full_name = m.long("contact full_name")
    contact.save()

    # Events: one the member is registered for, one open to register, one
    # public (the guest form), one draft, one cancelled, one finished.
    def hostile_event(label, **kwargs):
        return EventFactory(
            title=m.long(f"{label} title"),
            theme=m.long(f"{label} theme"),
            description=m.long(f"{label} description"),
            venue_name=m.long(f"{label} venue_name"),
            venue_address=m.long(f"{label} venue_address"),
            has_social=True,
            social_details=m.long(f"{label} social_details"),
            host_organisation=other_org,
            **kwargs,
        )

    registered = hostile_event(
        "registered",
        online_url=m.link("registered online_url"),
        report_url=m.link("registered report_url"),
        video_url=m.link("registered video_url"),
    )
    session = SessionFactory(
        event=registered,
        title=m.long("session title"),
        description=m.long("session description"),
    )
    registration = RegistrationFactory(
        event=registered,
        user=contractor_member,
        organisation=contractor_org,
        mode=Registration.Mode.ONLINE,
        session=session,
        question=m.long("registration question"),
        attended=True,
    )
    RegistrationFactory(
        event=registered, user=org_admin, organisation_name=m.long("registration organisation_name")
    )
    open_event = hostile_event("open")
    SessionFactory(event=open_event, title=m.long("open session title"), capacity=10)
    public_event = hostile_event("public", audience=Event.Audience.PUBLIC)
    event_services.register_guest(
        event=public_event,
        email="guest@example.org",
        full_name=m.long("guest full_name"),
        full_name_kana=m.long("guest full_name_kana"),
        organisation_name=m.long("guest organisation_name"),
        mode="venue",
        question=m.long("guest question"),
    )
    draft = hostile_event("draft", status=Event.Status.DRAFT)
    cancelled = hostile_event(
        "cancelled",
        status=Event.Status.CANCELLED,
        cancellation_reason=m.long("cancellation_reason"),
    )
    past_start = now - datetime.timedelta(days=20)
    finished = hostile_event(
        "finished",
        status=Event.Status.FINISHED,
        starts_at=past_start,
        ends_at=past_start + datetime.timedelta(hours=3),
        fiscal_year=registered.fiscal_year,
    )
    RegistrationFactory(event=finished, user=contractor_member, organisation=contractor_org)

    # Surveys: one open for the member to answer, one closed with answers.
    def hostile_survey(label, **kwargs):
        survey = SurveyFactory(
            title=m.long(f"{label} survey title"),
            introduction=m.long(f"{label} survey introduction"),
            **kwargs,
        )
        single = QuestionFactory(
            survey=survey,
            kind=Question.Kind.SINGLE,
            text=m.long(f"{label} single text"),
            help_text=m.long(f"{label} single help_text"),
            choices=[m.long(f"{label} choice 1"), m.long(f"{label} choice 2")],
            allow_other=True,
        )
        scale = QuestionFactory(
            survey=survey,
            kind=Question.Kind.SCALE,
            text=m.long(f"{label} scale text"),
            scale_min_label=m.short(f"{label} scale_min_label"),
            scale_max_label=m.short(f"{label} scale_max_label"),
        )
        text = QuestionFactory(
            survey=survey,
            kind=Question.Kind.TEXT,
            required=False,
            text=m.long(f"{label} text question"),
            show_if_question=single,
            show_if_value=single.choices[0],
        )
        return survey, single, scale, text

    open_survey, open_question, *_ = hostile_survey("open")
    invitation = InvitationFactory(survey=open_survey, user=contractor_member)
    closed_survey, single, scale, text = hostile_survey(
        "closed", opens_at=now - datetime.timedelta(days=30)
    )
    closed_survey.closes_at = now - datetime.timedelta(days=1)
    closed_survey.save()
    responders = [contractor_org, other_org] + [OrganisationFactory() for _ in range(3)]
    for index, org in enumerate(responders):
        user = contractor_member if index == 0 else UserFactory()
        survey_invitation = InvitationFactory(survey=closed_survey, user=user, organisation=org)
        submitted_response(
            closed_survey,
            invitation=survey_invitation,
            organisation=org,
            answers={
                single: single.choices[0] if index else "その他:" + m.long("answer other text"),
                scale: 4,
                text: m.long(f"free-text answer {index}"),
            },
        )

    # Needs, join requests.
    need = Need.objects.create(
        title=m.long("need title"),
        text=m.long("need text"),
        notes=m.long("need notes"),
        fiscal_year=registered.fiscal_year,
        event=registered,
        source=Need.Source.REGISTRATION,
        source_registration=registration,
    )
    NeedUpdate.objects.create(need=need, author=secretariat, note=m.long("need update note"))
    join_request = JoinRequest.objects.create(
        organisation_name=m.long("join organisation_name"),
        organisation_kana=m.long("join organisation_kana"),
        kind=Organisation.Kind.SUPPORT,
        municipality=municipality("012025"),
        contact_name=m.long("join contact_name"),
        contact_kana=m.long("join contact_kana"),
        contact_email="apply@example.org",
        contact_phone=m.short("join contact_phone"),
        message=m.long("join message"),
    )
    declined = JoinRequest.objects.create(
        organisation_name=m.long("declined organisation_name"),
        kind=Organisation.Kind.SUPPORT,
        municipality=municipality("012025"),
        contact_name="申請 次郎",
        contact_email="declined@example.org",
        status=JoinRequest.Status.DECLINED,
        decline_reason=m.long("decline_reason"),
    )
    return {
        "markers": m.given,
        "registered": registered,
        "open_event": open_event,
        "public_event": public_event,
        "draft": draft,
        "cancelled": cancelled,
        "finished": finished,
        "registration": registration,
        "open_survey": open_survey,
        "invitation": invitation,
        "closed_survey": closed_survey,
        "question": open_question,
        "need": need,
        "join_request": join_request,
        "declined": declined,
        "contact_membership": contact.memberships.get(),
    }


def pages(w, contractor_org, other_org):
    """(actor, url) for every page that shows what the world holds."""
    registered, survey, closed = w["registered"], w["open_survey"], w["closed_survey"]
    own, other = contractor_org.pk, other_org.pk
    member_pages = [
        reverse("home"),
        reverse("events:list"),
        reverse("events:detail", args=[registered.pk]),
        reverse("events:detail", args=[w["open_event"].pk]),
        reverse("events:detail", args=[w["cancelled"].pk]),
        reverse("events:detail", args=[w["finished"].pk]),
        reverse("events:register", args=[w["open_event"].pk]),
        reverse("events:mine"),
        reverse("events:registration_edit", args=[w["registration"].pk]),
        reverse("events:registration_cancel", args=[w["registration"].pk]),
        reverse("network:organisation_list"),
        reverse("network:organisation_detail", args=[own]),
        reverse("network:organisation_detail", args=[other]),
        reverse("surveys:list"),
        reverse("surveys:answer", args=[survey.pk]),
        w["invitation"].link,
    ]
    public_pages = [
        reverse("home"),
        reverse("events:list"),
        reverse("events:detail", args=[w["public_event"].pk]),
        reverse("events:register_guest", args=[w["public_event"].pk]),
        w["invitation"].link,
    ]
    org_admin_pages = [
        reverse("home"),
        reverse("network:organisation_edit", args=[own]),
        reverse("network:staff_list", args=[own]),
        reverse("network:membership_edit", args=[own, w["contact_membership"].pk]),
        reverse("network:membership_remove", args=[own, w["contact_membership"].pk]),
        reverse("events:organisation_registrations", args=[own]),
        reverse("surveys:organisation_responses", args=[closed.pk, own]),
    ]
    committee_pages = [
        reverse("home"),
        reverse("dashboard:home"),
        reverse("dashboard:needs"),
        reverse("dashboard:need_create"),
        reverse("dashboard:need_detail", args=[w["need"].pk]),
        reverse("surveys:results", args=[closed.pk]),
    ]
    secretariat_pages = [
        reverse("home"),
        reverse("network:manage_home"),
        reverse("network:people_list"),
        reverse("network:organisation_edit", args=[other]),
        reverse("network:staff_list", args=[other]),
        reverse("network:join_request_list"),
        reverse("network:join_request_list") + "?status=declined",
        reverse("network:join_request_detail", args=[w["join_request"].pk]),
        reverse("network:join_request_detail", args=[w["declined"].pk]),
        reverse("events:manage_list"),
        reverse("events:detail", args=[w["draft"].pk]),
        reverse("events:edit", args=[registered.pk]),
        reverse("events:sessions", args=[registered.pk]),
        reverse("events:copy", args=[registered.pk]),
        reverse("events:publish", args=[w["draft"].pk]),
        reverse("events:cancel", args=[registered.pk]),
        reverse("events:finish", args=[registered.pk]),
        reverse("events:registrations", args=[registered.pk]),
        reverse("events:registrations", args=[w["public_event"].pk]) + "?status=pending",
        reverse("events:registration_add", args=[registered.pk]),
        reverse("events:checkin", args=[registered.pk]),
        reverse("events:message", args=[registered.pk]),
        reverse("surveys:manage_list"),
        reverse("surveys:create"),
        reverse("surveys:detail", args=[survey.pk]),
        reverse("surveys:detail", args=[closed.pk]),
        reverse("surveys:edit", args=[survey.pk]),
        reverse("surveys:preview", args=[survey.pk]),
        reverse("surveys:copy", args=[survey.pk]),
        reverse("surveys:question_add", args=[survey.pk]),
        reverse("surveys:question_edit", args=[survey.pk, w["question"].pk]),
        reverse("surveys:question_delete", args=[survey.pk, w["question"].pk]),
        reverse("surveys:invitations", args=[closed.pk]),
        reverse("surveys:results", args=[closed.pk]),
        reverse("surveys:responses", args=[closed.pk]),
        reverse("dashboard:home"),
        reverse("dashboard:needs"),
        reverse("dashboard:need_detail", args=[w["need"].pk]),
    ]
    return (
        [("contractor_member", url) for url in member_pages]
        + [("anonymous", url) for url in public_pages]
        + [("org_admin", url) for url in org_admin_pages]
        + [("committee", url) for url in committee_pages]
        + [("secretariat", url) for url in secretariat_pages]
    )


def test_stored_markup_is_shown_as_text_on_every_page(
    world, actors, client_for, contractor_org, other_org
):
    markers = world["markers"]
    problems, seen = [], set()
    for actor, url in pages(world, contractor_org, other_org):
        response = client_for(actors[actor]).get(url)
        if response.status_code != 200:
            problems.append(f"{actor} {url}: status {response.status_code}")
            continue
        checker = check_page(response.content.decode(), markers)
        problems += [f"{actor} {url}: {problem}" for problem in checker.problems]
        seen |= checker.seen
    assert problems == [], "\n".join(problems)
    # Every field was on some page (escaped), so every field was checked.
    unseen = sorted(markers[m] for m in set(markers) - seen)
    assert unseen == [], "\n".join(unseen)


def test_social_details_in_the_registration_forms_help_text_is_text(world, client_for, actors):
    """The reported case: 懇親会の案内 in the help text of the 懇親会 field."""
    for actor, url in [
        ("contractor_member", reverse("events:register", args=[world["open_event"].pk])),
        ("anonymous", reverse("events:register_guest", args=[world["public_event"].pk])),
    ]:
        html = client_for(actors[actor]).get(url).content.decode()
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=" in html


@pytest.mark.parametrize(
    "value", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>1</script>"]
)
def test_url_fields_refuse_script_addresses_on_input(client_for, org_admin, contractor_org, value):
    from .test_manage import profile_data

    response = client_for(org_admin).post(
        reverse("network:organisation_edit", args=[contractor_org.pk]),
        profile_data(contractor_org, website=value),
    )
    assert response.context["form"].errors["website"] == ["URLを正しく入力してください。"]
    contractor_org.refresh_from_db()
    assert contractor_org.website == ""


@pytest.mark.parametrize("field", ["online_url", "report_url", "video_url"])
def test_event_url_fields_refuse_script_addresses_on_input(client_for, secretariat, field):
    from .test_event_manage import event_data

    response = client_for(secretariat).post(
        reverse("events:create"), event_data(**{field: "javascript:alert(1)"})
    )
    assert response.context["form"].errors[field] == ["URLを正しく入力してください。"]
    assert Event.objects.count() == 0


def test_script_link_stored_anyway_is_not_a_link(client_for, contractor_member, contractor_org):
    contractor_org.website = "javascript:alert(1)"
    contractor_org.save()
    html = (
        client_for(contractor_member)
        .get(reverse("network:organisation_detail", args=[contractor_org.pk]))
        .content.decode()
    )
    assert check_page(html, []).problems == []
    assert "<dd>javascript:alert(1)</dd>" in html
