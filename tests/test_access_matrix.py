"""Every URL × every actor (DESIGN §4), as one table.

The table below is the access policy in executable form. `test_every_url_has_a_row`
fails as soon as someone adds a URL pattern to a project app without deciding
who may open it. Third-party URL sets (allauth, Django admin) are covered by a
few representative rows; their own access logic is theirs.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from network.models import Invitation, JoinRequest
from tests.conftest import ACTOR_NAMES
from tests.factories import MembershipFactory, municipality

# Column order of the rows: see ACTOR_NAMES in conftest.
#        anon outsider contractor municipal org_admin committee secretariat superuser
PUBLIC = (200, 200, 200, 200, 200, 200, 200, 200)
MEMBERS = (302, 404, 200, 200, 200, 200, 200, 200)
OWN_ORG_ADMIN = (302, 404, 404, 404, 200, 404, 200, 200)
OTHER_ORG_ADMIN = (302, 404, 404, 404, 404, 404, 200, 200)
OWN_ORG_ADMIN_POST_ONLY = (302, 404, 404, 404, 405, 404, 405, 405)
SECRETARIAT = (302, 404, 404, 404, 404, 404, 200, 200)
SECRETARIAT_POST_ONLY = (302, 404, 404, 404, 404, 404, 405, 405)
LOGGED_IN = (302, 200, 200, 200, 200, 200, 200, 200)
MUNICIPAL_AUDIENCE = (302, 404, 404, 200, 404, 200, 200, 200)
OWNER_ONLY = (302, 404, 200, 404, 404, 404, 404, 404)  # owner: contractor_member
DASHBOARD = (302, 404, 404, 404, 404, 200, 200, 200)
DASHBOARD_POST_ONLY = (302, 404, 404, 404, 404, 405, 405, 405)
NOBODY = (302, 404, 404, 404, 404, 404, 404, 404)
NOBODY_AT_ALL = (404, 404, 404, 404, 404, 404, 404, 404)
GUEST_FORM = (200, 200, 302, 302, 302, 302, 302, 302)  # members are sent to the member form
ADMIN_SITE = (302, 302, 302, 302, 302, 302, 302, 200)
LOGIN_PAGE = (200, 302, 302, 302, 302, 302, 302, 302)

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
    ("network:organisation_edit", "own_org", OWN_ORG_ADMIN),
    ("network:organisation_edit", "other_org", OTHER_ORG_ADMIN),
    ("network:staff_list", "own_org", OWN_ORG_ADMIN),
    ("network:staff_list", "other_org", OTHER_ORG_ADMIN),
    ("network:staff_invite", "own_org", OWN_ORG_ADMIN),
    ("network:staff_invite", "other_org", OTHER_ORG_ADMIN),
    ("network:membership_edit", "own_membership", OWN_ORG_ADMIN),
    ("network:membership_edit", "other_membership", OTHER_ORG_ADMIN),
    ("network:membership_remove", "own_membership", OWN_ORG_ADMIN),
    ("network:membership_remove", "other_membership", OTHER_ORG_ADMIN),
    ("network:invitation_revoke", "own_invitation", OWN_ORG_ADMIN),
    ("network:invitation_revoke", "other_invitation", OTHER_ORG_ADMIN),
    ("network:invitation_resend", "own_invitation", OWN_ORG_ADMIN_POST_ONLY),
    ("network:manage_home", None, SECRETARIAT),
    ("network:organisation_create", None, SECRETARIAT),
    ("network:people_list", None, SECRETARIAT),
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
    ("events:calendar", "members_event", MEMBERS),
    ("events:calendar", "public_event", PUBLIC),
    ("events:register", "open_event", MEMBERS),
    ("events:register", "municipal_event", MUNICIPAL_AUDIENCE),
    ("events:register_guest", "public_event", GUEST_FORM),
    ("events:confirm_guest", "guest_token", PUBLIC),
    ("events:feed", "feed_token", PUBLIC),
    ("events:mine", None, LOGGED_IN),
    ("events:calendar_settings", None, LOGGED_IN),
    ("events:registration_edit", "own_registration", OWNER_ONLY),
    ("events:registration_cancel", "own_registration", OWNER_ONLY),
    ("events:organisation_registrations", "own_org_registrations", OWN_ORG_ADMIN),
    ("events:organisation_registrations", "other_org_registrations", OTHER_ORG_ADMIN),
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
]

PROJECT_APPS = ("core", "network", "events", "surveys", "directory", "config")


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


def _event_targets(owner, secretariat):
    from events import services as event_services
    from events.models import CalendarFeed, Event
    from tests.event_factories import EventFactory, RegistrationFactory

    members_event = EventFactory(audience=Event.Audience.MEMBERS)
    open_event = EventFactory(audience=Event.Audience.MEMBERS)  # nobody registered yet
    public_event = EventFactory(audience=Event.Audience.PUBLIC)
    municipal_event = EventFactory(audience=Event.Audience.MUNICIPAL)
    draft_event = EventFactory(status=Event.Status.DRAFT)
    cancelled_draft = EventFactory(
        audience=Event.Audience.PUBLIC, status=Event.Status.CANCELLED, published_at=None
    )
    own_registration = RegistrationFactory(event=members_event, user=owner)
    guest = event_services.register_guest(
        event=public_event,
        email="guest@example.org",
        full_name="一般 参加者",
        full_name_kana="いっぱん さんかしゃ",
        organisation_name="地域の会",
        mode="venue",
    )
    feed = CalendarFeed.objects.create(user=owner, token=CalendarFeed.new_token())
    return {
        "members_event": {"pk": members_event.pk},
        "open_event": {"pk": open_event.pk},
        "public_event": {"pk": public_event.pk},
        "municipal_event": {"pk": municipal_event.pk},
        "draft_event": {"pk": draft_event.pk},
        "cancelled_draft_event": {"pk": cancelled_draft.pk},
        "own_registration": {"pk": own_registration.pk},
        "checkin_registration": {"pk": members_event.pk, "registration_pk": own_registration.pk},
        "guest_token": {"token": guest.raw_token},
        "feed_token": {"token": feed.token},
        "export_csv": {"pk": members_event.pk, "fmt": "csv"},
    }


def _survey_targets(respondent, own_org, other_org, secretariat):
    import datetime

    from django.utils import timezone

    from surveys.models import Need, Question, Survey
    from tests.survey_factories import InvitationFactory, QuestionFactory, SurveyFactory

    survey = SurveyFactory(title="効果検証アンケート")
    question = QuestionFactory(survey=survey, kind=Question.Kind.SCALE)
    invitation = InvitationFactory(survey=survey, user=respondent)
    anonymous = SurveyFactory(anonymous=True)
    draft = SurveyFactory(status=Survey.Status.DRAFT)
    closed = SurveyFactory(closes_at=timezone.now() - datetime.timedelta(minutes=1))
    need = Need.objects.create(
        title="主任どうしのつながり",
        text="主任相談支援員同士のつながりが欲しい。",
        fiscal_year=2021,
    )
    return {
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


@pytest.fixture
def targets(contractor_org, other_org, org_admin, contractor_member, secretariat):
    """URL kwargs for each target kind. 'own' = the org admin's organisation."""
    own_membership = MembershipFactory(organisation=contractor_org)
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
    events = _event_targets(contractor_member, secretariat)
    surveys = _survey_targets(contractor_member, contractor_org, other_org, secretariat)
    return {
        None: {},
        **events,
        **surveys,
        "own_org_registrations": {"org_pk": contractor_org.pk},
        "other_org_registrations": {"org_pk": other_org.pk},
        "token": {"token": public_token},
        "own_org": {"pk": contractor_org.pk},
        "other_org": {"pk": other_org.pk},
        "own_membership": {"pk": contractor_org.pk, "membership_pk": own_membership.pk},
        "other_membership": {"pk": other_org.pk, "membership_pk": other_membership.pk},
        "own_invitation": {"pk": contractor_org.pk, "invitation_pk": invitations["own"].pk},
        "other_invitation": {"pk": other_org.pk, "invitation_pk": invitations["other"].pk},
        "join_request": {"pk": join_request.pk},
    }


@pytest.mark.parametrize(
    "url_name,target,expected", MATRIX, ids=[f"{n}[{t or '-'}]" for n, t, _e in MATRIX]
)
def test_access_matrix(url_name, target, expected, actors, targets, client_for):
    url = reverse(url_name, kwargs=targets[target])
    failures = []
    for actor_name, status in zip(ACTOR_NAMES, expected, strict=True):
        response = client_for(actors[actor_name]).get(url)
        if response.status_code != status:
            failures.append(f"{actor_name}: expected {status}, got {response.status_code}")
        elif status == 302 and actor_name == "anonymous":
            assert "/login/" in response["Location"], response["Location"]
    assert not failures, f"{url}: " + "; ".join(failures)
