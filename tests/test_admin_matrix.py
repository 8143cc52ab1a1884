"""The admin site in the access matrix (issue 8, "Done means").

Every admin URL — changelist, add, change, delete, history, import and export
of every registered model, the auth groups and the password form — is walked
as the secretariat (staff, group `secretariat`, as the demo makes it) and as
the committee member. The committee may use nothing in the admin; the
secretariat may see and change exactly what network/permissions.py names.
Every POST that is not allowed is checked to change nothing in the database.

A model registered in the admin without a row in OBJECTS fails the suite, so
a new admin page cannot escape the matrix.
"""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from auditlog.models import LogEntry
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from committee.models import Need, NeedUpdate, ReportOpinion, ReportText, ReportTextRevision
from core.models import OutboxMessage
from events.models import CalendarFeed, Event, GuestRequest, Registration, Session
from network.models import (
    Commission,
    Invitation,
    JoinRequest,
    Membership,
    Municipality,
    Organisation,
    Program,
    Region,
    User,
)
from surveys.models import Answer, Question, Response, Survey
from surveys.models import Invitation as SurveyInvitation
from tests import directory_factories, support_factories
from tests.event_factories import EventFactory, RegistrationFactory, SessionFactory
from tests.factories import MembershipFactory, OrganisationFactory, municipality, program
from tests.note_factories import admin_matrix_objects
from tests.survey_factories import InvitationFactory, QuestionFactory, ResponseFactory, answer
from tests.test_security_admin import change_form_data, make_admin_secretariat

VIEWS = ("changelist", "add", "change", "delete", "history", "import", "export", "password")

# What the secretariat may open (GET 200) and what it may write (POST).
# Everything not listed answers 403 and changes nothing.
SECRETARIAT_SEES = {
    "network.organisation": {"changelist", "add", "change", "history", "import", "export"},
    "network.membership": {"changelist", "add", "change", "history", "import", "export"},
    # looked up by those forms: read-only
    "network.municipality": {"changelist", "change", "history"},
    "network.user": {"changelist", "change", "history"},
}
SECRETARIAT_WRITES = {
    "network.organisation": {"add", "change", "import"},
    "network.membership": {"add", "change", "import"},
}


def _objects(contractor_member, secretariat):
    """One row of every model the admin shows."""
    org = contractor_member.memberships.get().organisation
    city = OrganisationFactory(kind=Organisation.Kind.MUNICIPALITY, name="札幌市 福祉課")
    commission = Commission.objects.create(
        contractor=org, commissioner=city, program=program(), fiscal_year=2024
    )
    membership = MembershipFactory(organisation=org)
    _token, token_hash = Invitation.new_token()
    invitation = Invitation.objects.create(
        membership=membership,
        invited_by=secretariat,
        token_hash=token_hash,
        expires_at=Invitation.default_expiry(),
    )
    join_request = JoinRequest.objects.create(
        organisation_name="新しい支援の会",
        kind="support",
        municipality=municipality("012025"),
        contact_name="申請 太郎",
        contact_email="apply@example.org",
    )
    event = EventFactory(title="情報交換会（秘）")
    session = SessionFactory(event=event)
    registration = RegistrationFactory(event=event, user=contractor_member)
    feed = CalendarFeed.objects.create(user=contractor_member, token=CalendarFeed.new_token())
    guest_request = GuestRequest.objects.create(
        event=event, email="guest@example.org", confirmation_token_hash="0" * 64
    )
    question = QuestionFactory(kind=Question.Kind.TEXT)
    survey_invitation = InvitationFactory(survey=question.survey, user=contractor_member)
    response = ResponseFactory(invitation=survey_invitation, submitted_at=timezone.now())
    [the_answer] = answer(response, question, "秘密の回答")
    need = Need.objects.create(title="課題（秘）", text="内容", fiscal_year=2024)
    need_update = NeedUpdate.objects.create(need=need, author=secretariat, note="経過")
    report_text = ReportText.objects.create(
        fiscal_year=2024,
        section=ReportText.Section.ISSUES,
        text="報告書の本文（秘）",
        updated_by=secretariat,
        updated_at=timezone.now(),
    )
    revision = ReportTextRevision.objects.create(
        report_text=report_text,
        text=report_text.text,
        author=secretariat,
        created_at=timezone.now(),
    )
    opinion = ReportOpinion.objects.create(
        answer=the_answer, fiscal_year=2024, chosen_by=secretariat, chosen_at=timezone.now()
    )
    outbox = OutboxMessage.objects.create(
        key="matrix:1", kind="test", to_email="a@example.org", subject="件名", body="本文"
    )
    return {
        **admin_matrix_objects(contractor_member, secretariat),
        **directory_factories.admin_matrix_objects(),
        **support_factories.admin_matrix_objects(contractor_member),
        Region: Region.objects.order_by("pk").first(),
        Municipality: municipality("011002"),
        Program: program(),
        Organisation: org,
        Commission: commission,
        User: contractor_member,
        Membership: membership,
        Invitation: invitation,
        JoinRequest: join_request,
        Event: event,
        Session: session,
        Registration: registration,
        CalendarFeed: feed,
        GuestRequest: guest_request,
        Survey: question.survey,
        Question: question,
        SurveyInvitation: survey_invitation,
        Response: response,
        Answer: the_answer,
        OutboxMessage: outbox,
        Need: need,
        NeedUpdate: need_update,
        ReportText: report_text,
        ReportTextRevision: revision,
        ReportOpinion: opinion,
        Group: Group.objects.get(name="committee"),
        EmailAddress: EmailAddress.objects.create(
            user=contractor_member, email=contractor_member.email, verified=True, primary=True
        ),
        Authenticator: Authenticator.objects.create(
            user=contractor_member, type=Authenticator.Type.TOTP, data={"secret": "SECRETSEED"}
        ),
        LogEntry: LogEntry.objects.log_create(
            org, action=LogEntry.Action.UPDATE, changes={"name": ["旧名", org.name]}, force_log=True
        ),
    }


@pytest.fixture
def objects(contractor_member, secretariat):
    return _objects(contractor_member, secretariat)


def url_of(model, view, obj):
    info = (model._meta.app_label, model._meta.model_name)
    name = f"admin:{info[0]}_{info[1]}_{view}"
    if view == "password":
        if model is not User:
            return None
        name = "admin:auth_user_password_change"
    args = [obj.pk] if view in ("change", "delete", "history", "password") else []
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None  # e.g. no import/export for this model


def fingerprint():
    """Every row of every model the admin shows, plus who holds which group
    and permission: equal before and after means nothing changed."""
    state = {
        model._meta.label: list(model.objects.order_by("pk").values_list())
        for model in admin.site._registry
    }
    for through in (Group.permissions.through, User.groups.through, User.user_permissions.through):
        state[through._meta.label] = sorted(through.objects.values_list())
    state["passwords"] = sorted(User.objects.values_list("pk", "password", "email"))
    return state


def _edit(name, field, data):
    """A changed value for one form field, or None when it is not editable."""
    value = data.get(name)
    if field.disabled or isinstance(field, forms.ModelChoiceField | forms.ChoiceField):
        return None
    if type(field) is forms.CharField and isinstance(value, str) and value:
        return value[: (field.max_length or 1000) - 1] + "改"
    if isinstance(field, forms.EmailField) and value:
        return f"x{value}"
    if isinstance(field, forms.IntegerField) and value not in (None, ""):
        return int(value) + 1
    if isinstance(field, forms.BooleanField):
        return "" if value else "on"
    return None


def tamper(client_with_access, url):
    """Form data as the page would submit it (read as a superuser), with one
    field changed (text first, then e-mail, number, checkbox); None when the
    form has nothing to change."""
    response = client_with_access.get(url)
    form = response.context["adminform"].form
    data = change_form_data(client_with_access, url, response)
    for name, field in form.fields.items():
        edited = _edit(name, field, data)
        if edited is not None:
            data[name] = edited
            if edited == "":
                del data[name]
            return data
    return None


def import_payload():
    content = "name,kind,municipality\n行列テスト団体,support,011002\n".encode()
    return {
        "format": "0",
        "resource": "0",
        "import_file": SimpleUploadedFile("x.csv", content),
    }


def post_payload(view, data, obj=None):
    if view in ("change", "add"):
        return data
    if view == "delete":
        return {"post": "yes"}
    if view == "password":
        return {
            "password1": "Matrix-Secret-42",
            "password2": "Matrix-Secret-42",
            "usable_password": "true",
        }
    if view == "import":
        return import_payload()
    # the changelist: the bulk delete action on the row
    return {"action": "delete_selected", "_selected_action": [str(obj.pk)], "post": "yes"}


# Admins whose change form has no text, e-mail, number or checkbox field.
NOTHING_TO_TAMPER = {"network.Invitation", "directory.ServiceAtLocation"}


def registered():
    return sorted(admin.site._registry, key=lambda m: m._meta.label)


def test_admin_matrix_covers_every_registered_model(db, contractor_member, secretariat):
    objects = _objects(contractor_member, secretariat)

    assert sorted(m._meta.label for m in registered()) == sorted(m._meta.label for m in objects)


# --- the committee: nothing in the admin --------------------------------------------


@pytest.mark.parametrize("model", registered(), ids=lambda m: m._meta.label)
@pytest.mark.django_db
def test_admin_matrix_committee_sees_and_changes_nothing(
    client_for, superuser, committee_member, objects, model
):
    obj = objects[model]
    client = client_for(committee_member)
    login = reverse("admin:login")
    assert client.get(reverse("admin:index")).url.startswith(login)
    for view in VIEWS:
        url = url_of(model, view, obj)
        if url is None:
            continue
        before = fingerprint()

        page = client.get(url)
        sent = client.post(url, post_payload(view, {}, obj))

        assert (page.status_code, sent.status_code) == (302, 302), (view, url)
        assert page.url.startswith(login) and sent.url.startswith(login), (view, url)
        assert fingerprint() == before, (view, url)


# --- the secretariat: exactly its named set ------------------------------------------


@pytest.mark.parametrize("model", registered(), ids=lambda m: m._meta.label)
@pytest.mark.django_db
def test_admin_matrix_secretariat_sees_only_its_named_set(
    client_for, superuser, secretariat, objects, model
):
    staff = make_admin_secretariat(secretariat)
    obj = objects[model]
    label = model._meta.label_lower
    sees = SECRETARIAT_SEES.get(label, set())
    seen = set()
    for view in VIEWS:
        url = url_of(model, view, obj)
        if url is None:
            continue

        page = client_for(staff).get(url)

        assert page.status_code in (200, 403), (view, url, page.status_code)
        if page.status_code == 200:
            seen.add(view)
            if view in ("change", "history"):
                assert str(obj) in page.content.decode()
        else:
            assert str(obj) not in page.content.decode()
    assert seen == {v for v in sees if url_of(model, v, obj)}


@pytest.mark.parametrize("model", registered(), ids=lambda m: m._meta.label)
@pytest.mark.django_db
def test_admin_matrix_secretariat_forbidden_posts_change_nothing(
    client_for, superuser, secretariat, objects, model
):
    staff = make_admin_secretariat(secretariat)
    obj = objects[model]
    writes = SECRETARIAT_WRITES.get(model._meta.label_lower, set())
    change_url = url_of(model, "change", obj)
    # Without a free-text field the form's own data stands in (a read-only admin).
    data = tamper(client_for(superuser), change_url) or change_form_data(
        client_for(superuser), change_url
    )
    for view in ("add", "change", "delete", "password", "import", "changelist"):
        url = url_of(model, view, obj)
        if url is None or view in writes:
            continue
        client = client_for(staff)
        before = fingerprint()

        response = client.post(url, post_payload(view, data, obj))

        assert response.status_code == 403 or (
            view == "changelist" and response.status_code in (200, 302)
        ), (view, url, response.status_code)
        assert fingerprint() == before, (view, url)


@pytest.mark.parametrize("model", registered(), ids=lambda m: m._meta.label)
@pytest.mark.django_db
def test_admin_matrix_payloads_change_rows_for_a_superuser(client_for, superuser, objects, model):
    """The tampered change form would change the row where the admin allows a
    change at all: the forbidden POSTs above test something."""
    model_admin = admin.site._registry[model]
    client = client_for(superuser)
    url = url_of(model, "change", objects[model])
    page = client.get(url)
    before = fingerprint()
    if not model_admin.has_change_permission(page.wsgi_request, objects[model]):
        # A read-only admin refuses the form even to a superuser.
        response = client.post(url, change_form_data(client, url, page))
        assert response.status_code == 403
        assert fingerprint() == before
        return
    data = tamper(client, url)
    if data is None:
        # Changed only through choices: listed, so that a model losing its
        # last tamperable field is noticed rather than passed over.
        assert model._meta.label in NOTHING_TO_TAMPER
        return

    response = client.post(url, data)

    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    assert fingerprint() != before


# --- what the secretariat may do, it can do --------------------------------------------


@pytest.mark.django_db
def test_admin_matrix_secretariat_changes_an_organisation(
    client_for, superuser, secretariat, objects
):
    staff = make_admin_secretariat(secretariat)
    org = objects[Organisation]
    url = url_of(Organisation, "change", org)
    data = tamper(client_for(superuser), url)

    response = client_for(staff).post(url, data)

    assert response.status_code == 302
    org.refresh_from_db()
    assert org.name == data["name"] and org.name.endswith("改")


@pytest.mark.django_db
def test_admin_matrix_secretariat_adds_a_membership(client_for, secretariat, objects):
    staff = make_admin_secretariat(secretariat)
    person = objects[User]
    org = OrganisationFactory(name="追加先の団体")

    response = client_for(staff).post(
        reverse("admin:network_membership_add"),
        {"user": person.pk, "organisation": org.pk, "staff_role": "sodan", "experience": ""},
    )

    assert response.status_code == 302
    assert list(Membership.objects.filter(organisation=org).values_list("user", flat=True)) == [
        person.pk
    ]


@pytest.mark.parametrize("model", ["organisation", "membership"])
@pytest.mark.django_db
def test_admin_matrix_secretariat_imports(client_for, secretariat, contractor_org, model):
    staff = make_admin_secretariat(secretariat)
    client = client_for(staff)
    content = {
        "organisation": "name,kind,municipality\n行列テスト団体,support,011002\n",
        "membership": f"email,full_name,organisation\nnew@example.org,新人 一郎,{contractor_org.pk}\n",
    }[model]
    preview = client.post(
        reverse(f"admin:network_{model}_import"),
        {
            "format": "0",
            "resource": "0",
            "import_file": SimpleUploadedFile("x.csv", content.encode()),
        },
    )
    confirm = preview.context["confirm_form"]

    done = client.post(reverse(f"admin:network_{model}_process_import"), dict(confirm.initial))

    assert done.status_code == 302
    if model == "organisation":
        assert Organisation.objects.filter(name="行列テスト団体").count() == 1
    else:
        assert list(
            Membership.objects.filter(user__email="new@example.org").values_list(
                "organisation", flat=True
            )
        ) == [contractor_org.pk]
        assert not User.objects.get(email="new@example.org").is_staff


@pytest.mark.django_db
def test_admin_matrix_secretariat_index_lists_only_its_models(client_for, secretariat):
    staff = make_admin_secretariat(secretariat)

    response = client_for(staff).get(reverse("admin:index"))

    models = sorted(
        (app["app_label"], m["object_name"])
        for app in response.context["app_list"]
        for m in app["models"]
    )
    assert models == [
        ("network", "Membership"),
        ("network", "Municipality"),
        ("network", "Organisation"),
        ("network", "User"),
    ]
    assert Permission.objects.filter(group__name="secretariat").count() == 8
