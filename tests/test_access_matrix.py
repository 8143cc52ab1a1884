"""Every URL × every actor (DESIGN §4), as two tables: what a GET answers each
actor (MATRIX), and what a POST by each actor answers and writes (POST_MATRIX).

The tables are the access policy in executable form. `test_every_url_has_a_row`
fails as soon as someone adds a URL pattern to a project app without deciding
who may open it; `test_every_post_accepting_url_has_a_post_row` fails as soon as
a URL answers a POST with anything but 405 and has no row in POST_MATRIX.
A forbidden POST must answer 404 (anonymous: the login page) and leave every
table as it was (tests/snapshots.py); the same payload from an allowed actor
must write, which proves the payload would have done harm. Third-party URL sets
(allauth, Django admin) are covered by a few representative GET rows; their own
access logic is theirs.

Two more actors are checked on every row of both tables without a column of
their own: a deactivated account (a former secretariat member, so a leak would
show) must fare exactly like the anonymous visitor, and the admin of a
deactivated organisation exactly like the outsider (MIRRORED).
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from network.models import Invitation, JoinRequest, Organisation
from tests import snapshots
from tests.conftest import ACTOR_NAMES
from tests.factories import (
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    municipality,
    program,
)

# Column order of the rows: see ACTOR_NAMES in conftest.
#        anon outsider contractor municipal org_admin committee secretariat superuser
PUBLIC = (200, 200, 200, 200, 200, 200, 200, 200)
MEMBERS = (302, 404, 200, 200, 200, 200, 200, 200)
OWN_ORG_ADMIN = (302, 404, 404, 404, 200, 404, 200, 200)
OTHER_ORG_ADMIN = (302, 404, 404, 404, 404, 404, 200, 200)
OWN_ORG_ADMIN_POST_ONLY = (302, 404, 404, 404, 405, 404, 405, 405)
SECRETARIAT = (302, 404, 404, 404, 404, 404, 200, 200)
SECRETARIAT_POST_ONLY = (302, 404, 404, 404, 404, 404, 405, 405)
LOGGED_IN_POST_ONLY = (302, 405, 405, 405, 405, 405, 405, 405)
LOGGED_IN = (302, 200, 200, 200, 200, 200, 200, 200)
MUNICIPAL_AUDIENCE = (302, 404, 404, 200, 404, 200, 200, 200)
OWNER_ONLY = (302, 404, 200, 404, 404, 404, 404, 404)  # owner: contractor_member
DASHBOARD = (302, 404, 404, 404, 404, 200, 200, 200)
DASHBOARD_POST_ONLY = (302, 404, 404, 404, 404, 405, 405, 405)
NOBODY = (302, 404, 404, 404, 404, 404, 404, 404)
NOBODY_AT_ALL = (404, 404, 404, 404, 404, 404, 404, 404)
# 「現在地から探す」 without a position: an error page for anyone (400).
NO_POSITION = (400,) * 8
# A public POST-only URL (the LINE webhook): GET is 405 for anyone.
PUBLIC_POST_ONLY = (405,) * 8
GUEST_FORM = (200, 200, 302, 302, 302, 302, 302, 302)  # members are sent to the member form
ADMIN_SITE = (302, 302, 302, 302, 302, 302, 302, 200)
LOGIN_PAGE = (200, 302, 302, 302, 302, 302, 302, 302)
# Event audiences (events.access): 受託団体 members; members of an organisation
# running the event's program (the 自治体 runs 就労準備支援 here); a program
# none of the actors' organisations runs (the committee and the secretariat only).
CONTRACTOR_AUDIENCE = (302, 404, 200, 404, 200, 200, 200, 200)
PROGRAM_AUDIENCE = (302, 404, 404, 200, 404, 200, 200, 200)
STAFF_AUDIENCE = (302, 404, 404, 404, 404, 200, 200, 200)
# Registration for a cancelled or finished event: members are sent back to it.
CLOSED_TO_MEMBERS = (302, 404, 302, 302, 302, 302, 302, 302)

# The back-up menus (support.access): applying is for staff of an organisation
# (not the committee as such); the contractor's accepted application is the
# contractor's organisation's and its partner's (the 自治体, municipal_member);
# the engagement's records are the partner's only.
SUPPORT_APPLICANTS = (302, 404, 200, 200, 200, 404, 200, 200)
SUPPORT_APPLICANTS_POST_ONLY = (302, 404, 405, 405, 405, 404, 405, 405)
SUPPORT_PARTNER = (302, 404, 404, 200, 404, 404, 200, 200)

# Actors without a column: each must get exactly what the actor named gets.
MIRRORED = {"inactive_user": "anonymous", "inactive_org_admin": "outsider"}
LOGGED_OUT = {"anonymous", "inactive_user"}


def columns(expected):
    """(actor name, expected) for every actor, the mirrored ones included."""
    named = dict(zip(ACTOR_NAMES, expected, strict=True))
    return [*named.items(), *((actor, named[like]) for actor, like in MIRRORED.items())]


# (url name, target, expected statuses). Targets are built by `targets` below.
MATRIX = [
    ("home", None, PUBLIC),
    ("healthz", None, PUBLIC),
    ("account_login", None, LOGIN_PAGE),
    ("account_email", None, NOBODY_AT_ALL),
    ("admin:index", None, ADMIN_SITE),
    ("network:join_request", None, PUBLIC),
    ("network:join_request_done", None, PUBLIC),
    ("network:accept_invitation", "token", PUBLIC),
    ("network:organisation_list", None, MEMBERS),
    ("network:organisation_detail", "own_org", MEMBERS),
    ("network:organisation_detail", "other_org", MEMBERS),
    # Deactivated: the secretariat's only, also for the org admin who ran it.
    ("network:organisation_detail", "inactive_org", SECRETARIAT),
    ("network:organisation_edit", "inactive_org", SECRETARIAT),
    ("network:staff_list", "inactive_org", SECRETARIAT),
    ("network:organisation_edit", "own_org", OWN_ORG_ADMIN),
    ("network:organisation_edit", "other_org", OTHER_ORG_ADMIN),
    ("network:staff_list", "own_org", OWN_ORG_ADMIN),
    ("network:staff_list", "other_org", OTHER_ORG_ADMIN),
    ("network:staff_invite", "own_org", OWN_ORG_ADMIN),
    ("network:staff_invite", "other_org", OTHER_ORG_ADMIN),
    ("network:membership_edit", "own_membership", OWN_ORG_ADMIN),
    ("network:membership_edit", "other_membership", OTHER_ORG_ADMIN),
    # A colleague whose account was deactivated: still the org admin's to tidy up.
    ("network:membership_edit", "inactive_staff_membership", OWN_ORG_ADMIN),
    ("network:membership_remove", "own_membership", OWN_ORG_ADMIN),
    ("network:membership_remove", "other_membership", OTHER_ORG_ADMIN),
    ("network:invitation_revoke", "own_invitation", OWN_ORG_ADMIN),
    ("network:invitation_revoke", "other_invitation", OTHER_ORG_ADMIN),
    ("network:invitation_resend", "own_invitation", OWN_ORG_ADMIN_POST_ONLY),
    ("network:manage_home", None, SECRETARIAT),
    ("network:organisation_create", None, SECRETARIAT),
    ("network:people_list", None, SECRETARIAT),
    # A person's data export (portal.disclosure): POST only; the person
    # themselves, and the secretariat for anyone (here the 受託団体 member).
    ("my_data", None, LOGGED_IN_POST_ONLY),
    ("person_data", "person", SECRETARIAT_POST_ONLY),
    # A person's erasure (portal.erasure): the secretariat's, on the person's request.
    ("person_erase", "person", SECRETARIAT),
    ("audit_log", None, SECRETARIAT),
    ("network:join_request_list", None, SECRETARIAT),
    ("network:join_request_detail", "join_request", SECRETARIAT),
    # events: public and member pages
    ("events:list", None, PUBLIC),
    ("events:detail", "members_event", MEMBERS),
    ("events:detail", "public_event", PUBLIC),
    ("events:detail", "municipal_event", MUNICIPAL_AUDIENCE),
    ("events:detail", "draft_event", SECRETARIAT),
    # Called off before it was ever published: still nobody's but the secretariat's.
    ("events:detail", "cancelled_draft_event", SECRETARIAT),
    ("events:detail", "contractor_event", CONTRACTOR_AUDIENCE),
    ("events:detail", "program_event", PROGRAM_AUDIENCE),
    ("events:detail", "unrun_program_event", STAFF_AUDIENCE),
    # Announced, then called off or held: still the members' to look up.
    ("events:detail", "cancelled_event", MEMBERS),
    ("events:detail", "finished_event", MEMBERS),
    ("events:calendar", "members_event", MEMBERS),
    ("events:calendar", "public_event", PUBLIC),
    ("events:register", "open_event", MEMBERS),
    ("events:register", "municipal_event", MUNICIPAL_AUDIENCE),
    ("events:register", "contractor_event", CONTRACTOR_AUDIENCE),
    ("events:register", "program_event", PROGRAM_AUDIENCE),
    ("events:register", "unrun_program_event", STAFF_AUDIENCE),
    ("events:register", "cancelled_event", CLOSED_TO_MEMBERS),
    ("events:register", "finished_event", CLOSED_TO_MEMBERS),
    ("events:register_guest", "public_event", GUEST_FORM),
    ("events:confirm_guest", "guest_token", PUBLIC),
    ("events:feed", "feed_token", PUBLIC),
    # A deactivated account's feed stops with the account.
    ("events:feed", "inactive_feed_token", NOBODY_AT_ALL),
    ("events:mine", None, LOGGED_IN),
    ("events:calendar_settings", None, LOGGED_IN),
    ("events:registration_edit", "own_registration", OWNER_ONLY),
    ("events:registration_cancel", "own_registration", OWNER_ONLY),
    ("events:organisation_registrations", "own_org_registrations", OWN_ORG_ADMIN),
    ("events:organisation_registrations", "other_org_registrations", OTHER_ORG_ADMIN),
    ("events:organisation_registrations", "inactive_org_registrations", SECRETARIAT),
    # events: secretariat
    ("events:manage_list", None, SECRETARIAT),
    ("events:create", None, SECRETARIAT),
    ("events:edit", "members_event", SECRETARIAT),
    ("events:sessions", "members_event", SECRETARIAT),
    ("events:copy", "members_event", SECRETARIAT),
    ("events:publish", "draft_event", SECRETARIAT),
    ("events:cancel", "members_event", SECRETARIAT),
    ("events:delete", "draft_event", SECRETARIAT),
    ("events:finish", "members_event", SECRETARIAT),
    ("events:registrations", "members_event", SECRETARIAT),
    ("events:registration_add", "members_event", SECRETARIAT),
    ("events:registration_change", "checkin_registration", SECRETARIAT),
    ("events:registration_cancel_on_behalf", "checkin_registration", SECRETARIAT),
    ("events:checkin", "members_event", SECRETARIAT),
    ("events:checkin_toggle", "checkin_registration", SECRETARIAT_POST_ONLY),
    ("events:message", "members_event", SECRETARIAT),
    ("events:export", "export_csv", SECRETARIAT),
    ("events:import", None, SECRETARIAT),
    ("events:import_confirm", None, SECRETARIAT_POST_ONLY),
    # surveys: respondents and members
    ("surveys:respond", "survey_token", PUBLIC),
    ("surveys:thanks", None, PUBLIC),
    ("surveys:list", None, LOGGED_IN),
    ("surveys:answer", "survey", OWNER_ONLY),
    # surveys: results
    ("surveys:results", "survey", DASHBOARD),
    ("surveys:responses", "survey", SECRETARIAT),
    ("surveys:responses", "anonymous_survey", NOBODY),
    ("surveys:organisation_responses", "survey_own_org", OWN_ORG_ADMIN),
    ("surveys:organisation_responses", "survey_other_org", OTHER_ORG_ADMIN),
    # An open survey's aggregates are the secretariat's; the committee's once closed (issue 8).
    ("surveys:export", "survey_aggregates", SECRETARIAT),
    ("surveys:export", "closed_survey_aggregates", DASHBOARD),
    ("surveys:export", "survey_answers", SECRETARIAT),
    # surveys: secretariat
    ("surveys:manage_list", None, SECRETARIAT),
    ("surveys:create", None, SECRETARIAT),
    ("surveys:detail", "survey", SECRETARIAT),
    ("surveys:edit", "survey", SECRETARIAT),
    ("surveys:preview", "survey", SECRETARIAT),
    ("surveys:copy", "survey", SECRETARIAT),
    ("surveys:publish", "draft_survey", SECRETARIAT),
    ("surveys:close", "survey", SECRETARIAT),
    ("surveys:question_add", "survey", SECRETARIAT),
    ("surveys:question_edit", "question", SECRETARIAT),
    ("surveys:question_delete", "question", SECRETARIAT),
    ("surveys:question_move", "question", SECRETARIAT_POST_ONLY),
    ("surveys:invitations", "survey", SECRETARIAT),
    ("surveys:remind", "survey", SECRETARIAT),
    # committee dashboard and needs register
    ("dashboard:home", None, DASHBOARD),
    ("dashboard:participation_json", None, DASHBOARD),
    ("dashboard:participation_csv", None, DASHBOARD),
    ("dashboard:needs", None, DASHBOARD),
    ("dashboard:need_create", None, DASHBOARD),
    ("dashboard:need_raise", None, DASHBOARD_POST_ONLY),
    ("dashboard:need_export", "csv", DASHBOARD),
    ("dashboard:need_detail", "need", DASHBOARD),
    # the annual report: read by the committee, its texts written by the secretariat
    ("dashboard:report", None, DASHBOARD),
    ("dashboard:report_edit", None, SECRETARIAT),
    ("dashboard:report_opinions", None, SECRETARIAT),
    ("dashboard:report_docx", None, DASHBOARD),
    ("dashboard:report_pdf", None, DASHBOARD),
    # directory: the public navi and its exports (no login)
    ("directory:home", None, PUBLIC),
    ("directory:area", "navi_category", PUBLIC),
    ("directory:region", "navi_region", PUBLIC),
    ("directory:municipality", "navi_municipality", PUBLIC),
    ("directory:near", None, NO_POSITION),
    ("directory:search", None, PUBLIC),
    ("directory:window", "navi_window", PUBLIC),
    ("directory:window", "navi_inactive_window", NOBODY_AT_ALL),
    ("directory:export_hsds", None, PUBLIC),
    ("directory:export_csv", "navi_csv", PUBLIC),
    ("directory:line_webhook", None, PUBLIC_POST_ONLY),
    # directory: freshness (the secretariat and org admins, for their providers) and import
    ("directory:freshness", None, OWN_ORG_ADMIN),
    ("directory:service_edit", "own_service", OWN_ORG_ADMIN),
    ("directory:service_edit", "other_service", OTHER_ORG_ADMIN),
    ("directory:confirm", "own_service", OWN_ORG_ADMIN_POST_ONLY),
    ("directory:import", None, SECRETARIAT),
    ("directory:import_confirm", None, SECRETARIAT_POST_ONLY),
    # support: the catalogue, applying, following an application
    ("support:menus", None, MEMBERS),
    ("support:menu", "support_menu", MEMBERS),
    ("support:apply", "support_menu", SUPPORT_APPLICANTS),
    ("support:applications", None, MEMBERS),
    ("support:application", "support_accepted", SUPPORT_APPLICANTS),
    ("support:application", "support_other", SECRETARIAT),
    ("support:withdraw", "support_pending", SUPPORT_APPLICANTS_POST_ONLY),
    # support: the partner's engagements and records
    ("support:engagements", None, MEMBERS),
    ("support:engagement", "support_engagement", SUPPORT_PARTNER),
    ("support:session_create", "support_engagement", SUPPORT_PARTNER),
    ("support:complete", "support_engagement", SUPPORT_PARTNER),
    # support: the secretariat's triage and exports
    ("support:manage_applications", None, SECRETARIAT),
    ("support:manage_application", "support_pending", SECRETARIAT),
    ("support:manage_application", "support_other", SECRETARIAT),
    ("support:accept", "support_pending", SECRETARIAT_POST_ONLY),
    ("support:hold", "support_pending", SECRETARIAT_POST_ONLY),
    ("support:decline", "support_pending", SECRETARIAT_POST_ONLY),
    ("support:export_applications", "support_csv", SECRETARIAT),
    ("support:export_sessions", "support_csv", SECRETARIAT),
]

PROJECT_APPS = (
    "core",
    "network",
    "events",
    "surveys",
    "directory",
    "support",
    "committee",
    "portal",
    "config",
)


def _project_url_names(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    names = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            module = getattr(entry.urlconf_module, "__name__", "")
            if module.split(".")[0] not in PROJECT_APPS:
                continue
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names |= _project_url_names(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            view_module = getattr(entry.callback, "__module__", "")
            if view_module.split(".")[0] in PROJECT_APPS:
                names.add(prefix + entry.name)
    return names


def test_every_url_has_a_row():
    covered = {name for name, _target, _expected in MATRIX}
    missing = _project_url_names() - covered
    assert not missing, f"URLs without a row in the access matrix: {sorted(missing)}"


def test_matrix_rows_have_a_status_per_actor():
    assert all(len(expected) == len(ACTOR_NAMES) for _n, _t, expected in MATRIX)


# --- the objects every row points at -------------------------------------------------


def _local(value) -> str:
    """A datetime as the forms' datetime-local inputs send it."""
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""


def _event_targets(owner, secretariat, municipal_org, inactive_user):
    from events import services as event_services
    from events.models import CalendarFeed, Event
    from tests.event_factories import EventFactory, RegistrationFactory

    now = timezone.now()
    day = datetime.timedelta(days=1)
    members_event = EventFactory(title="メンバーの会", audience=Event.Audience.MEMBERS)
    open_event = EventFactory(title="受付中の会", audience=Event.Audience.MEMBERS)
    public_event = EventFactory(title="一般公開の会", audience=Event.Audience.PUBLIC)
    municipal_event = EventFactory(title="自治体の会", audience=Event.Audience.MUNICIPAL)
    contractor_event = EventFactory(title="受託団体の会", audience=Event.Audience.CONTRACTOR)
    municipal_org.programs.add(program("shuro_junbi"))
    program_event = EventFactory(
        title="就労準備支援の会",
        audience=Event.Audience.PROGRAM,
        audience_program=program("shuro_junbi"),
    )
    unrun_program_event = EventFactory(
        title="住居確保の会",
        audience=Event.Audience.PROGRAM,
        audience_program=program("jukyo_kakuho"),
    )
    draft_event = EventFactory(title="下書きの会", status=Event.Status.DRAFT)
    cancelled_draft = EventFactory(
        title="公開前に中止した会",
        audience=Event.Audience.PUBLIC,
        status=Event.Status.CANCELLED,
        published_at=None,
    )
    cancelled_event = EventFactory(
        title="中止した会", status=Event.Status.CANCELLED, published_at=now - 10 * day
    )
    finished_event = EventFactory(
        title="終了した会",
        status=Event.Status.FINISHED,
        starts_at=now - 8 * day,
        ends_at=now - 8 * day + datetime.timedelta(hours=3),
    )
    # Held yesterday and not finished yet: the one the secretariat can finish.
    held_event = EventFactory(
        title="昨日の会", starts_at=now - day, ends_at=now - day + datetime.timedelta(hours=3)
    )
    own_registration = RegistrationFactory(event=members_event, user=owner)
    asked = RegistrationFactory(event=held_event, question="ケース会議に福祉事務所が来ません。")
    guest = event_services.register_guest(
        event=public_event,
        email="guest@example.org",
        full_name="一般 参加者",
        full_name_kana="いっぱん さんかしゃ",
        organisation_name="地域の会",
        mode="venue",
    )
    feed = CalendarFeed.objects.create(user=owner, token=CalendarFeed.new_token())
    inactive_feed = CalendarFeed.objects.create(user=inactive_user, token=CalendarFeed.new_token())
    objects = {
        "members_event": members_event,
        "held_event": held_event,
        "own_registration": own_registration,
        "asked_registration": asked,
    }
    targets = {
        "members_event": {"pk": members_event.pk},
        "open_event": {"pk": open_event.pk},
        "public_event": {"pk": public_event.pk},
        "municipal_event": {"pk": municipal_event.pk},
        "contractor_event": {"pk": contractor_event.pk},
        "program_event": {"pk": program_event.pk},
        "unrun_program_event": {"pk": unrun_program_event.pk},
        "draft_event": {"pk": draft_event.pk},
        "cancelled_draft_event": {"pk": cancelled_draft.pk},
        "cancelled_event": {"pk": cancelled_event.pk},
        "finished_event": {"pk": finished_event.pk},
        "held_event": {"pk": held_event.pk},
        "own_registration": {"pk": own_registration.pk},
        "checkin_registration": {"pk": members_event.pk, "registration_pk": own_registration.pk},
        "guest_token": {"token": guest.raw_token},
        "feed_token": {"token": feed.token},
        "inactive_feed_token": {"token": inactive_feed.token},
        "export_csv": {"pk": members_event.pk, "fmt": "csv"},
    }
    return targets, objects


def _survey_targets(respondent, own_org, other_org, secretariat):
    from committee.models import Need
    from surveys.models import Question, Survey
    from tests.survey_factories import InvitationFactory, QuestionFactory, SurveyFactory

    survey = SurveyFactory(title="効果検証アンケート")
    question = QuestionFactory(survey=survey, kind=Question.Kind.SCALE)
    # A second question, so that the first one can move down.
    QuestionFactory(survey=survey, kind=Question.Kind.SCALE)
    invitation = InvitationFactory(survey=survey, user=respondent)
    anonymous = SurveyFactory(anonymous=True)
    draft = SurveyFactory(status=Survey.Status.DRAFT)
    QuestionFactory(survey=draft)  # a survey without questions cannot be published
    closed = SurveyFactory(closes_at=timezone.now() - datetime.timedelta(minutes=1))
    need = Need.objects.create(
        title="主任どうしのつながり",
        text="主任相談支援員同士のつながりが欲しい。",
        fiscal_year=2021,
    )
    # A free text of the annual survey of the 年度 the report opens on: the
    # opinion the report may quote (committee.report_opinions).
    from committee import panels
    from tests.survey_factories import submitted_response

    annual = SurveyFactory(
        kind=Survey.Kind.ANNUAL,
        title="年次アンケート",
        fiscal_year=panels.shown_year(None, timezone.now())[0],
    )
    free = QuestionFactory(survey=annual, kind=Question.Kind.TEXT, required=False)
    opinion = submitted_response(annual, organisation=own_org, answers={free: "参考になった。"})
    objects = {
        "survey": survey,
        "question": question,
        "need": need,
        "opinion_answer": opinion.answers.get(),
    }
    targets = {
        "survey": {"pk": survey.pk},
        "anonymous_survey": {"pk": anonymous.pk},
        "draft_survey": {"pk": draft.pk},
        "question": {"pk": survey.pk, "question_pk": question.pk},
        "survey_token": {"token": invitation.token},
        "survey_own_org": {"pk": survey.pk, "org_pk": own_org.pk},
        "survey_other_org": {"pk": survey.pk, "org_pk": other_org.pk},
        "survey_aggregates": {"pk": survey.pk, "what": "aggregates", "fmt": "csv"},
        "closed_survey_aggregates": {"pk": closed.pk, "what": "aggregates", "fmt": "csv"},
        "survey_answers": {"pk": survey.pk, "what": "answers", "fmt": "csv"},
        "csv": {"fmt": "csv"},
        "need": {"pk": need.pk},
    }
    return targets, objects


def _directory_targets(own_org, other_org):
    from directory.enums import ServiceStatus
    from directory.models import Provider
    from tests.directory_factories import window

    own = window("自分の法人の窓口")
    Provider.objects.filter(pk=own.service.provider_id).update(organisation=own_org)
    other = window("ほかの法人の窓口")
    Provider.objects.filter(pk=other.service.provider_id).update(organisation=other_org)
    inactive = window("休止中の窓口")
    inactive.service.status = ServiceStatus.INACTIVE
    inactive.service.save()
    objects = {"own_service": own.service, "other_service": other.service}
    targets = {
        "navi_category": {"category": "seikatsu"},
        "navi_region": {"category": "seikatsu", "region": own.location.municipality.region_id},
        "navi_municipality": {"category": "seikatsu", "code": "011002"},
        "navi_window": {"pk": own.pk},
        "navi_inactive_window": {"pk": inactive.pk},
        "navi_csv": {"code": "011002"},
        "own_service": {"pk": own.service_id},
        "other_service": {"pk": other.service_id},
    }
    return targets, objects


def _support_targets(contractor_member, contractor_org, other_org, municipal_org, secretariat):
    """A back-up menu delivered by the 自治体 (so municipal_member is the
    partner's staff): the contractor's accepted application with its
    engagement, its pending one, and another organisation's pending one."""
    from tests import support_factories as sf

    menu = sf.menu(number=7, name="フードバンク窓口連携支援事業", partners=[municipal_org])
    accepted = sf.application(menu, contractor_member, submitted_days_ago=10)
    engagement = sf.engagement(accepted, by=secretariat, partner=municipal_org)
    sf.session(engagement, secretariat, days_ago=2)
    pending = sf.application(menu, contractor_member, need="シェルターの調整を相談したい。")
    stranger = MembershipFactory(organisation=other_org).user
    other = sf.application(menu, stranger, need="SNS窓口を開きたい。")
    objects = {
        "support_menu": menu,
        "support_engagement": engagement,
        "support_pending": pending,
        "support_partner": municipal_org,
        "secretariat": secretariat,
        "own_org": contractor_org,
    }
    targets = {
        "support_menu": {"number": menu.number},
        "support_accepted": {"pk": accepted.pk},
        "support_pending": {"pk": pending.pk},
        "support_other": {"pk": other.pk},
        "support_engagement": {"pk": engagement.pk},
        "support_csv": {"fmt": "csv"},
    }
    return targets, objects


@dataclass
class World:
    targets: dict  # target name -> URL kwargs
    objects: dict  # what the POST payloads are built from
    people: dict  # every actor, the mirrored ones included


@pytest.fixture
def world(
    actors, contractor_org, other_org, municipal_org, org_admin, contractor_member, secretariat
):
    """URL kwargs for each target kind. 'own' = the org admin's organisation."""
    # A former secretariat member: were deactivation ignored, they could do anything.
    inactive_user = UserFactory(
        email="former@example.org", full_name="退職 六郎", groups=["secretariat"], is_active=False
    )
    # The org admin also ran an organisation that has since been deactivated.
    inactive_org = OrganisationFactory(name="解散した相談室", is_active=False)
    MembershipFactory(organisation=inactive_org, user=org_admin, is_org_admin=True)
    inactive_org_admin = MembershipFactory(
        organisation=inactive_org,
        is_org_admin=True,
        user__email="closed-admin@example.org",
        user__full_name="閉鎖 七子",
    ).user
    own_membership = MembershipFactory(organisation=contractor_org)
    inactive_staff = MembershipFactory(organisation=contractor_org, user__is_active=False)
    other_membership = MembershipFactory(organisation=other_org)
    invitations = {}
    for label, membership in (("own", own_membership), ("other", other_membership)):
        _token, token_hash = Invitation.new_token()
        invitations[label] = Invitation.objects.create(
            membership=membership,
            invited_by=secretariat,
            token_hash=token_hash,
            expires_at=Invitation.default_expiry(),
        )
    public_token, public_hash = Invitation.new_token()
    Invitation.objects.create(
        membership=MembershipFactory(organisation=contractor_org, user__password=None),
        token_hash=public_hash,
        expires_at=Invitation.default_expiry(),
    )
    join_request = JoinRequest.objects.create(
        organisation_name="新しい支援の会",
        kind="support",
        municipality=municipality("012025"),
        contact_name="申請 太郎",
        contact_email="apply@example.org",
    )
    event_targets, event_objects = _event_targets(
        contractor_member, secretariat, municipal_org, inactive_user
    )
    survey_targets, survey_objects = _survey_targets(
        contractor_member, contractor_org, other_org, secretariat
    )
    directory_targets, directory_objects = _directory_targets(contractor_org, other_org)
    support_targets, support_objects = _support_targets(
        contractor_member, contractor_org, other_org, municipal_org, secretariat
    )
    targets = {
        None: {},
        **event_targets,
        **survey_targets,
        **directory_targets,
        **support_targets,
        "own_org_registrations": {"org_pk": contractor_org.pk},
        "other_org_registrations": {"org_pk": other_org.pk},
        "inactive_org_registrations": {"org_pk": inactive_org.pk},
        "token": {"token": public_token},
        "own_org": {"pk": contractor_org.pk},
        "other_org": {"pk": other_org.pk},
        "inactive_org": {"pk": inactive_org.pk},
        "own_membership": {"pk": contractor_org.pk, "membership_pk": own_membership.pk},
        "other_membership": {"pk": other_org.pk, "membership_pk": other_membership.pk},
        "inactive_staff_membership": {
            "pk": contractor_org.pk,
            "membership_pk": inactive_staff.pk,
        },
        "own_invitation": {"pk": contractor_org.pk, "invitation_pk": invitations["own"].pk},
        "other_invitation": {"pk": other_org.pk, "invitation_pk": invitations["other"].pk},
        "join_request": {"pk": join_request.pk},
        "person": {"pk": contractor_member.pk},
    }
    objects = {
        **event_objects,
        **survey_objects,
        **directory_objects,
        **support_objects,
        "own_org": contractor_org,
        "other_org": other_org,
        "person": contractor_member,
    }
    people = {**actors, "inactive_user": inactive_user, "inactive_org_admin": inactive_org_admin}
    return World(targets=targets, objects=objects, people=people)


@pytest.fixture
def targets(world):
    return world.targets


# --- GET ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_name,target,expected", MATRIX, ids=[f"{n}[{t or '-'}]" for n, t, _e in MATRIX]
)
def test_access_matrix(url_name, target, expected, world, client_for):
    url = reverse(url_name, kwargs=world.targets[target])
    failures = []
    for actor_name, status in columns(expected):
        response = client_for(world.people[actor_name]).get(url)
        if response.status_code != status:
            failures.append(f"{actor_name}: expected {status}, got {response.status_code}")
        elif status == 302 and actor_name in LOGGED_OUT:
            assert "/login/" in response["Location"], (actor_name, response["Location"])
    assert not failures, f"{url}: " + "; ".join(failures)


# Upcoming events each actor finds on the list (events.access: audience, state).
_PUBLIC_EVENTS = {"一般公開の会"}
_MEMBER_EVENTS = _PUBLIC_EVENTS | {"メンバーの会", "受付中の会", "中止した会"}
_STAFF_EVENTS = _MEMBER_EVENTS | {"自治体の会", "受託団体の会", "就労準備支援の会", "住居確保の会"}
_SECRETARIAT_EVENTS = _STAFF_EVENTS | {"下書きの会", "公開前に中止した会"}
LISTED_EVENTS = {
    "anonymous": _PUBLIC_EVENTS,
    "outsider": _PUBLIC_EVENTS,
    "contractor_member": _MEMBER_EVENTS | {"受託団体の会"},
    "municipal_member": _MEMBER_EVENTS | {"自治体の会", "就労準備支援の会"},
    "org_admin": _MEMBER_EVENTS | {"受託団体の会"},
    "committee": _STAFF_EVENTS,
    "secretariat": _SECRETARIAT_EVENTS,
    "superuser": _SECRETARIAT_EVENTS,
}
PAST_EVENTS = {
    name: set() if listed == _PUBLIC_EVENTS else {"終了した会", "昨日の会"}
    for name, listed in LISTED_EVENTS.items()
}


def _listed_titles(response) -> set:
    return {event.title for event in response.context["page_obj"]}


def test_event_list_shows_each_actor_exactly_their_events(world, client_for):
    shown = {}
    past = {}
    for actor_name, _like in columns(ACTOR_NAMES):
        client = client_for(world.people[actor_name])
        shown[actor_name] = _listed_titles(client.get(reverse("events:list")))
        past[actor_name] = _listed_titles(client.get(reverse("events:list"), {"when": "past"}))
    expected = {actor: LISTED_EVENTS[MIRRORED.get(actor, actor)] for actor in shown}
    assert shown == expected
    assert past == {actor: PAST_EVENTS[MIRRORED.get(actor, actor)] for actor in past}


# --- POST -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Writes:
    """The POST is answered with `status` and writes to the database."""

    status: int

    def __repr__(self):
        return f"{self.status}+write"


W200, W302 = Writes(200), Writes(302)

# An int answers and writes nothing; W… answers and writes.
ANYONE_WRITES = (W302,) * 8
ANYONE_WRITES_200 = (W200,) * 8
OWN_ORG_ADMIN_WRITES = (302, 404, 404, 404, W302, 404, W302, W302)
OTHER_ORG_ADMIN_WRITES = (302, 404, 404, 404, 404, 404, W302, W302)
SECRETARIAT_WRITES = (302, 404, 404, 404, 404, 404, W302, W302)
SECRETARIAT_WRITES_200 = (302, 404, 404, 404, 404, 404, W200, W200)
SECRETARIAT_READS = (302, 404, 404, 404, 404, 404, 200, 200)
OWNER_WRITES = (302, 404, W302, 404, 404, 404, 404, 404)
MEMBERS_WRITE = (302, 404, W302, W302, W302, W302, W302, W302)
MUNICIPAL_AUDIENCE_WRITES = (302, 404, 404, W302, 404, W302, W302, W302)
CONTRACTOR_AUDIENCE_WRITES = (302, 404, W302, 404, W302, W302, W302, W302)
PROGRAM_AUDIENCE_WRITES = (302, 404, 404, W302, 404, W302, W302, W302)
STAFF_AUDIENCE_WRITES = (302, 404, 404, 404, 404, W302, W302, W302)
GUESTS_WRITE = (W200, W200, 302, 302, 302, 302, 302, 302)
# "create" makes a feed for whoever has none; the 受託団体 member has one already.
FEED_CREATED = (302, W302, 302, W302, W302, W302, W302, W302)
DASHBOARD_WRITES = (302, 404, 404, 404, 404, W302, W302, W302)
# support: the municipal member may not apply for the contractor's organisation
# (the form refuses the choice); the committee as such applies for none.
SUPPORT_APPLY_WRITES = (302, 404, W302, 200, W302, 404, W302, W302)
SUPPORT_APPLICANTS_WRITE = (302, 404, W302, 404, W302, 404, W302, W302)
SUPPORT_PARTNER_WRITES = (302, 404, 404, W302, 404, 404, W302, W302)


@dataclass(frozen=True)
class Post:
    url_name: str
    target: str | None
    outcomes: tuple
    # The payload, built afresh for every actor from World.objects.
    data: Callable = field(default=lambda objects: {})
    # Puts into the actor's session what the POST relies on (e.g. an upload).
    prepare: Callable | None = None


def _join_request(objects):
    from network.models import Program

    return {
        "organisation_name": "釧路くらしの相談室",
        "organisation_kana": "くしろくらしのそうだんしつ",
        "kind": Organisation.Kind.SUPPORT,
        "municipality": str(municipality("012068").pk),
        "programs": [str(p.pk) for p in Program.objects.order_by("order")[:2]],
        "contact_name": "申請 七海",
        "contact_kana": "しんせい ななみ",
        "contact_email": "nanami@example.org",
        "contact_phone": "0154-00-0000",
        "message": "ネットワークに参加したいです。",
        "website": "",
    }


def _profile(org_name):
    def data(objects):
        org = objects[org_name]
        return {
            "kind": org.kind,
            "is_active": "on",
            "name": "書き換えた名前",
            "kana": org.kana,
            "municipality": org.municipality_id or "",
            "email": org.email,
            "phone": "",
            "website": "",
            "address": "",
            "description": "",
        }

    return data


def _organisation(objects):
    return {
        "kind": "contractor",
        "name": "旭川ささえあいセンター",
        "kana": "あさひかわささえあいせんたー",
        "municipality": municipality("012041").pk,
        "email": "info@example.org",
        "is_active": "on",
    }


def _event_form(objects):
    event = objects["members_event"]
    return {
        "kind": event.kind,
        "number": event.number,
        "fiscal_year": event.fiscal_year,
        "title": "書き換えた題名",
        "theme": event.theme,
        "description": event.description,
        "starts_at": _local(event.starts_at),
        "ends_at": _local(event.ends_at),
        "registration_opens_at": "",
        "registration_closes_at": "",
        "format": event.format,
        "venue_name": event.venue_name,
        "venue_address": event.venue_address,
        "municipality": "",
        "venue_capacity": event.venue_capacity,
        "online_capacity": event.online_capacity,
        "online_url": event.online_url,
        "social_capacity": "",
        "social_details": "",
        "audience": event.audience,
        "audience_program": "",
        "host_organisation": "",
        "report_url": "",
        "video_url": "",
        # The edit page asks before mailing the registrants; this is the "yes".
        "confirm_changes": "yes",
        "change_id": "0123456789abcdef0123456789abcdef",
    }


def _sessions(objects):
    event = objects["members_event"]
    return {
        "sessions-TOTAL_FORMS": "1",
        "sessions-INITIAL_FORMS": "0",
        "sessions-MIN_NUM_FORMS": "0",
        "sessions-MAX_NUM_FORMS": "50",
        "sessions-0-title": "就労準備支援",
        "sessions-0-description": "",
        "sessions-0-capacity": "",
        "sessions-0-order": "1",
        "sessions-0-event": str(event.pk),
    }


def _venue(objects):
    return {"mode": "venue"}


def _walk_in(objects):
    return {
        "email": "walkin@example.org",
        "full_name": "当日 参加者",
        "full_name_kana": "とうじつ さんかしゃ",
        "organisation": "",
        "organisation_name": "",
        "mode": "venue",
        "session": "",
        "question": "",
    }


def _bulk_message(objects):
    return {
        "subject": "会場変更のお知らせ",
        "body": "会場が3階に変わりました。",
        "statuses": ["confirmed"],
        "action": "send",
    }


def _attendance_csv(objects) -> bytes:
    from events.importing import COLUMNS

    row = [
        str(objects["held_event"].pk),
        "walkin@example.org",
        "当日 参加者",
        "とうじつ さんかしゃ",
    ]
    row += ["", "", "", "会場", "", "○"]
    return (",".join(COLUMNS) + "\n" + ",".join(row) + "\n").encode("utf-8")


def _correction(objects):
    return {"description": "書き換えた説明", "status": "active", "url": ""}


DIRECTORY_CSV = "municipality_code,name,address\n011002,行列テストの窓口,札幌市中央区\n".encode()


def _directory_upload(objects):
    return {"file": SimpleUploadedFile("navi.csv", DIRECTORY_CSV)}


def _pending_directory_upload(client, objects):
    """A previewed directory file waiting in the actor's session, as the
    upload step leaves it."""
    from directory.views.manage import SESSION_KEY, STORAGE_DIR

    path = default_storage.save(f"{STORAGE_DIR}/matrix.csv", ContentFile(DIRECTORY_CSV))
    session = client.session
    session[SESSION_KEY] = {"token": UPLOAD_TOKEN, "path": path, "name": "navi.csv"}
    session.save()


def _attendance_upload(objects):
    return {"file": SimpleUploadedFile("attendance.csv", _attendance_csv(objects))}


UPLOAD_TOKEN = "matrix-upload-token"


def _pending_upload(client, objects):
    """A previewed upload waiting in the actor's session, exactly as the
    upload step leaves it: only the access check stands between it and the
    database."""
    from events.views.manage_import import SESSION_KEY, STORAGE_DIR

    path = default_storage.save(f"{STORAGE_DIR}/matrix.csv", ContentFile(_attendance_csv(objects)))
    session = client.session
    session[SESSION_KEY] = {"token": UPLOAD_TOKEN, "path": path, "name": "attendance.csv"}
    session.save()


def _answers(objects):
    from surveys.services import field_name

    return {"action": "save", field_name(objects["question"]): "4"}


def _survey_form(objects):
    survey = objects["survey"]
    return {
        "title": "書き換えた題名",
        "introduction": survey.introduction,
        "kind": survey.kind,
        "event": "",
        "fiscal_year": survey.fiscal_year,
        "audience": survey.audience,
        "respondent_unit": survey.respondent_unit,
        "opens_at": _local(survey.opens_at),
        "closes_at": _local(survey.closes_at),
        "reminder_days": "",
    }


def _new_survey(objects):
    return {
        "title": "令和3年度 効果検証アンケート",
        "introduction": "情報交換会の効果検証のためのアンケートです。",
        "kind": "annual",
        "event": "",
        "fiscal_year": "",
        "template": "",
        "audience": "all_organisations",
        "respondent_unit": "organisation",
        "opens_at": "2022-01-10T09:00",
        "closes_at": "2022-01-31T17:00",
        "reminder_days": "7, 3",
    }


def _question(objects):
    return {
        "text": "今後も参加したいですか",
        "help_text": "",
        "kind": "single",
        "choices": "はい\nいいえ",
        "scale_min_label": "",
        "scale_max_label": "",
        "audience": "all",
        "condition": "",
        "key": "",
    }


def _new_need(objects):
    from core.dates import fiscal_year_of

    return {
        "title": "ケース会議への参加",
        "text": "福祉事務所にケース会議へ来てもらう工夫を知りたい。",
        "fiscal_year": fiscal_year_of(timezone.now()),
        "status": "new",
        "function": "",
        "owner": "",
        "due_date": "",
        "notes": "",
        "event": "",
    }


def _triage(objects):
    return {
        "status": "sorting",
        "function": "",
        "owner": "",
        "due_date": "",
        "notes": "",
        "note": "整理を始めます。",
    }


POST_MATRIX = [
    # network: public forms
    Post("network:join_request", None, ANYONE_WRITES, _join_request),
    Post(
        "network:accept_invitation",
        "token",
        ANYONE_WRITES,
        lambda o: {
            "new_password1": "Kushiro-2021-tsunagari",
            "new_password2": "Kushiro-2021-tsunagari",
        },
    ),
    # network: org admins and the secretariat
    Post("network:organisation_edit", "own_org", OWN_ORG_ADMIN_WRITES, _profile("own_org")),
    Post("network:organisation_edit", "other_org", OTHER_ORG_ADMIN_WRITES, _profile("other_org")),
    Post(
        "network:membership_edit",
        "own_membership",
        OWN_ORG_ADMIN_WRITES,
        lambda o: {"staff_role": "shunin_sodan", "experience": "5to10"},
    ),
    Post(
        "network:membership_edit",
        "other_membership",
        OTHER_ORG_ADMIN_WRITES,
        lambda o: {"staff_role": "shunin_sodan", "experience": "5to10"},
    ),
    Post("network:membership_remove", "own_membership", OWN_ORG_ADMIN_WRITES),
    Post("network:membership_remove", "other_membership", OTHER_ORG_ADMIN_WRITES),
    Post("network:membership_remove", "inactive_staff_membership", OWN_ORG_ADMIN_WRITES),
    Post(
        "network:staff_invite",
        "own_org",
        OWN_ORG_ADMIN_WRITES,
        lambda o: {
            "email": "new-staff@example.org",
            "full_name": "新人 八郎",
            "staff_role": "sodan",
        },
    ),
    Post(
        "network:staff_invite",
        "other_org",
        OTHER_ORG_ADMIN_WRITES,
        lambda o: {
            "email": "new-staff@example.org",
            "full_name": "新人 八郎",
            "staff_role": "sodan",
        },
    ),
    Post("network:invitation_resend", "own_invitation", OWN_ORG_ADMIN_WRITES),
    Post("network:invitation_resend", "other_invitation", OTHER_ORG_ADMIN_WRITES),
    Post("network:invitation_revoke", "own_invitation", OWN_ORG_ADMIN_WRITES),
    Post("network:invitation_revoke", "other_invitation", OTHER_ORG_ADMIN_WRITES),
    Post("network:organisation_create", None, SECRETARIAT_WRITES, _organisation),
    Post(
        "network:join_request_detail",
        "join_request",
        SECRETARIAT_WRITES,
        lambda o: {"action": "approve"},
    ),
    # events: everyone and members
    Post(
        "events:register_guest",
        "public_event",
        GUESTS_WRITE,
        lambda o: {
            "full_name": "一般 参加者",
            "full_name_kana": "いっぱん さんかしゃ",
            "email": "visitor@example.net",
            "organisation_name": "NPO法人 どさんこ",
            "mode": "venue",
            "question": "",
            "website": "",
        },
    ),
    Post("events:confirm_guest", "guest_token", ANYONE_WRITES_200),
    Post("events:register", "open_event", MEMBERS_WRITE, _venue),
    Post("events:register", "municipal_event", MUNICIPAL_AUDIENCE_WRITES, _venue),
    Post("events:register", "contractor_event", CONTRACTOR_AUDIENCE_WRITES, _venue),
    Post("events:register", "program_event", PROGRAM_AUDIENCE_WRITES, _venue),
    Post("events:register", "unrun_program_event", STAFF_AUDIENCE_WRITES, _venue),
    Post("events:register", "cancelled_event", CLOSED_TO_MEMBERS, _venue),
    Post("events:register", "finished_event", CLOSED_TO_MEMBERS, _venue),
    Post("events:calendar_settings", None, FEED_CREATED, lambda o: {"action": "create"}),
    Post(
        "events:registration_edit", "own_registration", OWNER_WRITES, lambda o: {"mode": "online"}
    ),
    Post("events:registration_cancel", "own_registration", OWNER_WRITES),
    # events: the secretariat
    Post("events:create", None, SECRETARIAT_WRITES, _event_form),
    Post("events:edit", "members_event", SECRETARIAT_WRITES, _event_form),
    Post("events:sessions", "members_event", SECRETARIAT_WRITES, _sessions),
    Post("events:copy", "members_event", SECRETARIAT_WRITES),
    Post("events:publish", "draft_event", SECRETARIAT_WRITES),
    Post(
        "events:cancel",
        "members_event",
        SECRETARIAT_WRITES,
        lambda o: {"reason": "台風のため中止します。", "confirm": "on"},
    ),
    Post("events:delete", "draft_event", SECRETARIAT_WRITES),
    Post("events:finish", "held_event", SECRETARIAT_WRITES),
    Post("events:registration_add", "members_event", SECRETARIAT_WRITES, _walk_in),
    Post(
        "events:registration_change",
        "checkin_registration",
        SECRETARIAT_WRITES,
        lambda o: {"mode": "online"},
    ),
    Post("events:registration_cancel_on_behalf", "checkin_registration", SECRETARIAT_WRITES),
    Post(
        "events:checkin_toggle",
        "checkin_registration",
        SECRETARIAT_WRITES,
        lambda o: {"attended": "1"},
    ),
    Post("events:message", "members_event", SECRETARIAT_WRITES, _bulk_message),
    # The upload is a dry run: the file waits in storage, the database is untouched.
    Post("events:import", None, SECRETARIAT_READS, _attendance_upload),
    Post(
        "events:import_confirm",
        None,
        SECRETARIAT_WRITES,
        lambda o: {"token": UPLOAD_TOKEN},
        prepare=_pending_upload,
    ),
    # surveys: respondents (the link is the credential) and members
    Post("surveys:respond", "survey_token", ANYONE_WRITES, _answers),
    Post("surveys:answer", "survey", OWNER_WRITES, _answers),
    # surveys: the secretariat
    Post("surveys:create", None, SECRETARIAT_WRITES, _new_survey),
    Post("surveys:edit", "survey", SECRETARIAT_WRITES, _survey_form),
    # The preview checks answers as a respondent would; it saves nothing.
    Post("surveys:preview", "survey", SECRETARIAT_READS, _answers),
    Post("surveys:copy", "survey", SECRETARIAT_WRITES),
    Post("surveys:publish", "draft_survey", SECRETARIAT_WRITES),
    Post("surveys:close", "survey", SECRETARIAT_WRITES),
    Post("surveys:question_add", "survey", SECRETARIAT_WRITES, _question),
    Post("surveys:question_edit", "question", SECRETARIAT_WRITES, _question),
    Post("surveys:question_delete", "question", SECRETARIAT_WRITES),
    Post("surveys:question_move", "question", SECRETARIAT_WRITES, lambda o: {"direction": "down"}),
    Post("surveys:remind", "survey", SECRETARIAT_WRITES),
    # committee: the needs register
    Post("dashboard:need_create", None, DASHBOARD_WRITES, _new_need),
    Post(
        "dashboard:need_raise",
        None,
        DASHBOARD_WRITES,
        lambda o: {"kind": "registration", "id": o["asked_registration"].pk},
    ),
    Post("dashboard:need_detail", "need", DASHBOARD_WRITES, _triage),
    # committee: the annual report's paragraphs, the secretariat's to write
    Post(
        "dashboard:report_edit",
        None,
        SECRETARIAT_WRITES,
        lambda o: {"issues": "委託元の自治体の意識を高める工夫が必要。", "survey_summary": ""},
    ),
    # committee: the opinions the annual report quotes, the secretariat's to choose
    Post(
        "dashboard:report_opinions",
        None,
        SECRETARIAT_WRITES,
        lambda o: {"shown": [o["opinion_answer"].pk], "chosen": [o["opinion_answer"].pk]},
    ),
    # directory: without LINE_CHANNEL_SECRET the webhook is off for everyone
    # (its signed calls: tests/test_directory_line.py).
    Post("directory:line_webhook", None, NOBODY_AT_ALL, lambda o: {"events": "[]"}),
    # directory: an org admin confirms or corrects their own providers' entries only
    Post("directory:confirm", "own_service", OWN_ORG_ADMIN_WRITES),
    Post("directory:confirm", "other_service", OTHER_ORG_ADMIN_WRITES),
    Post("directory:service_edit", "own_service", OWN_ORG_ADMIN_WRITES, _correction),
    Post("directory:service_edit", "other_service", OTHER_ORG_ADMIN_WRITES, _correction),
    # The upload is a dry run: the file waits in storage, the database is untouched.
    Post("directory:import", None, SECRETARIAT_READS, _directory_upload),
    Post(
        "directory:import_confirm",
        None,
        SECRETARIAT_WRITES,
        lambda o: {"token": UPLOAD_TOKEN},
        prepare=_pending_directory_upload,
    ),
]

# Pages that answer a POST like a GET and change nothing: every GET row of
# theirs is a POST row too, with the same statuses and a payload that would
# write if the page took it. The portal's own read-only pages refuse POST
# (405, require_safe; test_every_post_accepting_url_has_a_post_row checks
# it); allauth's e-mail page, with changing the address turned off, is the
# one left.
READ_ONLY = {"account_email"}


# Pages that take a form by POST and show its outcome without saving it.
def _support_application(objects):
    return {
        "organisation": objects["own_org"].pk,
        "need": "相談窓口とフードバンクの連携を始めたい。",
        "contact_name": "申込 花子",
        "contact_email": "apply@example.org",
    }


def _support_session(objects):
    return {
        "held_on": timezone.localdate().isoformat(),
        "duration_minutes": "60",
        "mode": "online",
        "done": "窓口の流れを一緒に確認した。",
        "partner_hours": "1.5",
        # Only the secretariat's form has it; the partner's ignores it.
        "secretariat_hours": "0.5",
    }


def _support_outcome(objects):
    return {"q_links_made": "2", "outcome_text": "窓口とフードバンクの連絡会が始まった。"}


def _support_accept(objects):
    return {"partner": objects["support_partner"].pk, "coordinator": objects["secretariat"].pk}


POST_MATRIX += [
    Post("support:apply", "support_menu", SUPPORT_APPLY_WRITES, _support_application),
    Post("support:withdraw", "support_pending", SUPPORT_APPLICANTS_WRITE),
    Post("support:session_create", "support_engagement", SUPPORT_PARTNER_WRITES, _support_session),
    Post("support:complete", "support_engagement", SUPPORT_PARTNER_WRITES, _support_outcome),
    Post("support:accept", "support_pending", SECRETARIAT_WRITES, _support_accept),
    Post(
        "support:hold", "support_pending", SECRETARIAT_WRITES, lambda o: {"reason": "確認中です。"}
    ),
    Post(
        "support:decline",
        "support_pending",
        SECRETARIAT_WRITES,
        lambda o: {"reason": "今年度の枠が埋まりました。"},
    ),
]


DRY_RUNS = {"events:import", "surveys:preview", "directory:import"}

# URLs whose writes need more than an actor: the LINE webhook acts only on a
# body signed with the channel secret, which the tests' settings leave unset
# (off: 404 for all); tests/test_directory_line.py proves a signed call writes
# and an unsigned one does not.
SIGNED = {"directory:line_webhook"}

# Downloads by POST: a person's data export (開示). What they write is the
# download's own audit entry (tests/test_audit.py), for those who may download.
DOWNLOADS = {"my_data", "person_data"}
LOGGED_IN_DOWNLOADS = (302, W200, W200, W200, W200, W200, W200, W200)
SECRETARIAT_DOWNLOADS = (302, 404, 404, 404, 404, 404, W200, W200)
POST_MATRIX += [
    Post("my_data", None, LOGGED_IN_DOWNLOADS),
    Post("person_data", "person", SECRETARIAT_DOWNLOADS),
    # Erasure, confirmed by typing the person's address: it writes for the secretariat only.
    Post("person_erase", "person", SECRETARIAT_WRITES, lambda o: {"email": o["person"].email}),
]


def _hostile(objects):
    return {"action": "delete", "status": "closed", "name": "書き換え", "title": "書き換え"}


POST_MATRIX += [
    Post(name, target, expected, _hostile) for name, target, expected in MATRIX if name in READ_ONLY
]


def test_snapshots_name_each_table_a_write_changed(contractor_org):
    from auditlog.models import LogEntry

    from events.models import Event
    from tests.event_factories import EventFactory

    before = snapshots.take()
    EventFactory(title="増えた会")
    Organisation.objects.filter(pk=contractor_org.pk).update(name="書き換えた名前")

    logged = LogEntry.objects.count()  # the factory's saves, in the audit log

    assert snapshots.take().changes_from(before) == [
        f"{LogEntry._meta.db_table}: {logged - 1} → {logged} rows",
        f"{Event._meta.db_table}: 0 → 1 rows",
        f"{Organisation._meta.db_table}: rows changed",
    ]
    assert snapshots.take().changes_from(snapshots.take()) == []


def test_post_matrix_rows_have_an_outcome_per_actor():
    assert [row for row in POST_MATRIX if len(row.outcomes) != len(ACTOR_NAMES)] == []


def test_post_matrix_every_writing_url_has_an_actor_it_writes_for():
    """A payload nobody's POST writes with proves nothing about the refusals.
    Per URL: registering for a cancelled event writes for nobody, and the same
    payload writes on the open event's row."""
    writes_somewhere = {
        row.url_name
        for row in POST_MATRIX
        if any(isinstance(outcome, Writes) for outcome in row.outcomes)
    }
    posted = {row.url_name for row in POST_MATRIX}
    assert sorted(posted - writes_somewhere - READ_ONLY - DRY_RUNS - SIGNED - DOWNLOADS) == []


def _probe_actor(expected) -> str:
    """Someone the GET row lets in (200, or 405 for a POST-only URL), so that
    what answers the POST is the view, not the access check."""
    for actor_name, status in zip(ACTOR_NAMES, expected, strict=True):
        if status in (200, 405):
            return actor_name
    return "superuser"


def test_every_post_accepting_url_has_a_post_row(world, client_for):
    """Every project URL is POSTed (empty) by someone its GET row lets in: a
    view that answers anything but 405 takes POSTs, and needs POST rows; one
    that refuses them must not have any."""
    posted = {row.url_name for row in POST_MATRIX}
    first_row = {}
    for name, target, expected in MATRIX:
        first_row.setdefault(name, (target, expected))
    missing, stale = [], []
    for url_name in sorted(_project_url_names()):
        target, expected = first_row[url_name]
        url = reverse(url_name, kwargs=world.targets[target])
        client = client_for(world.people[_probe_actor(expected)])
        cache.clear()
        savepoint = transaction.savepoint()
        try:
            status = client.post(url, {}).status_code
        finally:
            transaction.savepoint_rollback(savepoint)
        if status != 405 and url_name not in posted:
            missing.append(f"{url_name} ({status})")
        if status == 405 and url_name in posted:
            stale.append(url_name)
    assert (missing, stale) == ([], []), (
        f"POST-accepting URLs without a POST row: {missing}; "
        f"POST rows for URLs that refuse POST: {stale}"
    )


@pytest.fixture
def stray_uploads():
    """Uploads the import pages leave in storage during the test, removed after."""
    from directory.views.manage import STORAGE_DIR as DIRECTORY_DIR
    from events.views.manage_import import STORAGE_DIR as EVENTS_DIR

    def listing():
        found = set()
        for directory in (EVENTS_DIR, DIRECTORY_DIR):
            try:
                found |= {f"{directory}/{n}" for n in default_storage.listdir(directory)[1]}
            except FileNotFoundError:
                pass
        return found

    before = listing()
    yield
    for path in listing() - before:
        default_storage.delete(path)


def _form_errors(response) -> str:
    """A refused form's errors, to tell a bad payload from a refused actor."""
    form = (response.context or {}).get("form") if hasattr(response, "context") else None
    errors = getattr(form, "errors", None)
    return f" (form errors: {dict(errors)})" if errors else ""


@pytest.mark.parametrize(
    "row", POST_MATRIX, ids=[f"{row.url_name}[{row.target or '-'}]" for row in POST_MATRIX]
)
def test_post_matrix(row, world, client_for, stray_uploads):
    """Each actor POSTs in a savepoint rolled back afterwards, so every actor
    meets the same database and the row's payload."""
    url = reverse(row.url_name, kwargs=world.targets[row.target])
    failures = []
    for actor_name, outcome in columns(row.outcomes):
        client = client_for(world.people[actor_name])
        cache.clear()  # rate limits count in the cache: every actor starts afresh
        savepoint = transaction.savepoint()
        try:
            if row.prepare:
                row.prepare(client, world.objects)
            before = snapshots.take()
            response = client.post(url, row.data(world.objects))
            changed = snapshots.take().changes_from(before)
        finally:
            transaction.savepoint_rollback(savepoint)
        writes = isinstance(outcome, Writes)
        status = outcome.status if writes else outcome
        got = f"{response.status_code}{'+write' if changed else ''}"
        if response.status_code != status or writes != bool(changed):
            failures.append(
                f"{actor_name}: expected {outcome!r}, got {got} {changed or ''}"
                + _form_errors(response)
            )
        elif status == 302 and not writes and actor_name in LOGGED_OUT:
            if "/login/" not in response["Location"]:
                failures.append(f"{actor_name}: sent to {response['Location']}, not to log in")
    assert not failures, f"POST {url}: " + "; ".join(failures)
