"""Hostile input on forms: ids that cannot be a row's key, and control
characters in single-line fields. Each is a Japanese field error and writes
nothing — never a 500 (SQLite cannot bind a 40-digit integer)."""

import importlib
import inspect

import pytest
from django import forms
from django.urls import reverse
from django_filters import FilterSet
from django_filters import filters as django_filters

from committee.models import Need
from core.filters import ModelChoiceFilter, ModelMultipleChoiceFilter
from core.forms import CheckedKeyMixin, CheckedKeysMixin, InputRules
from core.models import OutboxMessage
from events.models import Event, Registration, Session
from network.models import JoinRequest, Organisation
from surveys.models import Survey

from .event_factories import EventFactory, SessionFactory
from .factories import OrganisationFactory, municipality, program
from .survey_factories import SurveyFactory
from .test_event_manage import add_data, event_data
from .test_joining import join_form
from .test_manage import profile_data
from .test_survey_builder import survey_data

BIG = "1234567890123456789012345678901234567890"
NEGATIVE_BIG = "-" + BIG
SINGLE_LINE = "改行やタブなどの制御文字は入力できません。1行で入力してください。"
CONTROL = "制御文字は入力できません。"
NOT_A_CHOICE = "正しく選択してください。選択したものは候補にありません。"

pytestmark = pytest.mark.django_db


def not_one_of(value):
    return f"正しく選択してください。 {value} は候補にありません。"


def field_errors(response, field, form="form"):
    assert response.status_code == 200, response.status_code
    return response.context[form].errors.get(field, [])


# --- 40-digit ids in multi-selects: the six forms ----------------------------------------


@pytest.mark.parametrize("bad", [BIG, NEGATIVE_BIG])
def test_join_request_form_refuses_an_overflowing_program_id_anonymously(client, bad):
    data = join_form(programs=[str(program().pk), bad])
    response = client.post(reverse("network:join_request"), data)
    assert field_errors(response, "programs") == [not_one_of(bad)]
    assert not_one_of(bad) in response.content.decode()
    assert JoinRequest.objects.count() == 0


def test_organisation_edit_by_org_admin_refuses_an_overflowing_program_id(
    client_for, org_admin, contractor_org
):
    contractor_org.programs.set([program()])
    data = profile_data(contractor_org, name="書き換えられた名前", programs=[BIG])
    response = client_for(org_admin).post(
        reverse("network:organisation_edit", args=[contractor_org.pk]), data
    )
    assert field_errors(response, "programs") == [not_one_of(BIG)]
    contractor_org.refresh_from_db()
    assert contractor_org.name == "札幌生活サポートセンター"
    assert list(contractor_org.programs.values_list("key", flat=True)) == ["jiritsu_sodan"]


def test_organisation_edit_by_secretariat_refuses_an_overflowing_program_id(
    client_for, secretariat, other_org
):
    data = profile_data(other_org, kind=other_org.kind, name="書き換えられた名前", programs=[BIG])
    data["is_active"] = "on"
    response = client_for(secretariat).post(
        reverse("network:organisation_edit", args=[other_org.pk]), data
    )
    assert field_errors(response, "programs") == [not_one_of(BIG)]
    other_org.refresh_from_db()
    assert other_org.name == "函館くらし相談室"
    assert other_org.programs.count() == 0


def test_organisation_create_refuses_an_overflowing_program_id(client_for, secretariat):
    data = {
        "kind": "contractor",
        "name": "旭川ささえあいセンター",
        "kana": "あさひかわささえあいせんたー",
        "municipality": municipality("012041").pk,
        "programs": [program().pk, BIG],
        "is_active": "on",
    }
    response = client_for(secretariat).post(reverse("network:organisation_create"), data)
    assert field_errors(response, "programs") == [not_one_of(BIG)]
    assert not Organisation.objects.filter(name="旭川ささえあいセンター").exists()


CHOSEN_ERROR = "選べない組織が含まれています。一覧から選び直してください。"


def test_survey_create_refuses_an_overflowing_organisation_id(client_for, secretariat, other_org):
    data = survey_data(
        audience=Survey.Audience.CHOSEN, chosen_organisations=[str(other_org.pk), BIG]
    )
    response = client_for(secretariat).post(reverse("surveys:create"), data)
    assert field_errors(response, "chosen_organisations") == [CHOSEN_ERROR]
    assert Survey.objects.count() == 0


def test_survey_edit_refuses_an_overflowing_organisation_id(client_for, secretariat, other_org):
    survey = SurveyFactory(title="元のタイトル", status=Survey.Status.DRAFT)
    data = survey_data(
        title="書き換え", audience=Survey.Audience.CHOSEN, chosen_organisations=[BIG]
    )
    data.pop("template")
    response = client_for(secretariat).post(reverse("surveys:edit", args=[survey.pk]), data)
    assert field_errors(response, "chosen_organisations") == [CHOSEN_ERROR]
    survey.refresh_from_db()
    assert (survey.title, survey.audience) == ("元のタイトル", Survey.Audience.ALL_ORGANISATIONS)
    assert survey.chosen_organisations.count() == 0


# --- the same for single selects and list filters ----------------------------------------


def test_join_request_form_refuses_an_overflowing_municipality_id(client):
    response = client.post(reverse("network:join_request"), join_form(municipality=BIG))
    assert field_errors(response, "municipality") == [NOT_A_CHOICE]
    assert JoinRequest.objects.count() == 0


@pytest.mark.parametrize("field", ["organisation", "session"])
def test_registration_add_refuses_an_overflowing_id(
    client_for, secretariat, contractor_member, field
):
    event = EventFactory()
    SessionFactory(event=event)
    data = add_data(email=contractor_member.email, **{field: BIG})
    response = client_for(secretariat).post(
        reverse("events:registration_add", args=[event.pk]), data
    )
    assert field_errors(response, field) == [NOT_A_CHOICE]
    assert Registration.objects.count() == 0


def test_member_registration_refuses_an_overflowing_session_id(client_for, contractor_member):
    event = EventFactory()
    SessionFactory(event=event, capacity=10)
    response = client_for(contractor_member).post(
        reverse("events:register", args=[event.pk]), {"mode": "venue", "session": BIG}
    )
    assert field_errors(response, "session") == [NOT_A_CHOICE]
    assert Registration.objects.count() == 0


@pytest.mark.parametrize("field", ["municipality", "host_organisation", "audience_program"])
def test_event_form_refuses_an_overflowing_id(client_for, secretariat, field):
    response = client_for(secretariat).post(reverse("events:create"), event_data(**{field: BIG}))
    assert field_errors(response, field) == [NOT_A_CHOICE]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("field", ["owner", "event"])
def test_need_form_refuses_an_overflowing_id(client_for, committee_member, field):
    data = {"text": "研修の案内が届かない", "status": "new", "fiscal_year": "2021", field: BIG}
    response = client_for(committee_member).post(reverse("dashboard:need_create"), data)
    assert field_errors(response, field) == [NOT_A_CHOICE]
    assert Need.objects.count() == 0


def test_survey_form_refuses_an_overflowing_event_id(client_for, secretariat):
    data = survey_data(kind=Survey.Kind.POST_EVENT, event=BIG)
    response = client_for(secretariat).post(reverse("surveys:create"), data)
    assert field_errors(response, "event") == ["一覧にあるイベントを選んでください。"]
    assert Survey.objects.count() == 0


@pytest.mark.parametrize(
    "url_name,actor,params,field",
    [
        ("events:list", "contractor_member", {"region": BIG}, "region"),
        ("network:organisation_list", "contractor_member", {"region": BIG}, "region"),
        ("network:organisation_list", "contractor_member", {"municipality": BIG}, "municipality"),
        ("network:organisation_list", "contractor_member", {"program": BIG}, "program"),
        ("dashboard:needs", "committee", {"owner": BIG}, "owner"),
    ],
)
def test_list_filters_refuse_an_overflowing_id(client_for, actors, url_name, actor, params, field):
    OrganisationFactory(name="一覧に出るはずのない組織")
    response = client_for(actors[actor]).get(reverse(url_name), params)
    assert response.status_code == 200
    assert response.context["filter"].form.errors[field] == [NOT_A_CHOICE]
    assert "一覧に出るはずのない組織" not in response.content.decode()


# --- control characters in single-line fields --------------------------------------------


@pytest.fixture
def public_event(db):
    return EventFactory(audience=Event.Audience.PUBLIC, format=Event.Format.VENUE)


def guest_data(**changes):
    data = {
        "full_name": "一般 参加者",
        "full_name_kana": "いっぱん さんかしゃ",
        "email": "guest@example.org",
        "organisation_name": "地域の会",
        "mode": "venue",
        "question": "",
        "website": "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "field,value",
    [
        ("full_name", "山田 花子\r\nBcc: victim@example.org"),
        ("full_name", "山田\n花子"),
        ("full_name", "山田\u2028花子"),
        ("full_name_kana", "やまだ\tはなこ"),
        ("organisation_name", "地域の会\x1b[31m"),
    ],
)
def test_guest_registration_refuses_control_characters_in_single_line_fields(
    client, public_event, field, value
):
    response = client.post(
        reverse("events:register_guest", args=[public_event.pk]), guest_data(**{field: value})
    )
    assert field_errors(response, field) == [SINGLE_LINE]
    assert SINGLE_LINE in response.content.decode()
    assert Registration.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_guest_registration_keeps_line_breaks_of_the_question(client, public_event):
    response = client.post(
        reverse("events:register_guest", args=[public_event.pk]),
        guest_data(question="1行目\r\n2行目"),
    )
    assert response.status_code == 200
    registration = Registration.objects.get()
    assert registration.question == "1行目\r\n2行目"


@pytest.mark.parametrize(
    "field", ["organisation_name", "organisation_kana", "contact_name", "contact_kana"]
)
def test_join_request_refuses_line_breaks_in_single_line_fields(client, field):
    response = client.post(
        reverse("network:join_request"), join_form(**{field: "申請\r\nSubject: 偽の件名"})
    )
    assert field_errors(response, field) == [SINGLE_LINE]
    assert JoinRequest.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_join_request_keeps_line_breaks_of_the_message_but_not_other_controls(client):
    response = client.post(reverse("network:join_request"), join_form(message="よろしく\x07"))
    assert field_errors(response, "message") == [CONTROL]
    assert JoinRequest.objects.count() == 0

    response = client.post(reverse("network:join_request"), join_form(message="1行目\r\n\t2行目"))
    assert response.status_code == 302
    assert JoinRequest.objects.get().message == "1行目\r\n\t2行目"


def test_bulk_message_refuses_a_line_break_in_the_subject(client_for, secretariat):
    event = EventFactory()
    from .event_factories import RegistrationFactory

    RegistrationFactory(event=event)
    response = client_for(secretariat).post(
        reverse("events:message", args=[event.pk]),
        {"subject": "ご案内\nBcc: victim@example.org", "body": "本文", "statuses": ["confirmed"]},
    )
    assert field_errors(response, "subject") == [SINGLE_LINE]
    assert OutboxMessage.objects.count() == 0


def test_event_form_refuses_a_line_break_in_the_title_and_keeps_the_description(
    client_for, secretariat
):
    response = client_for(secretariat).post(
        reverse("events:create"), event_data(title="第3回\n情報交換会", description="1行目\n2行目")
    )
    assert field_errors(response, "title") == [SINGLE_LINE]
    assert field_errors(response, "description") == []
    assert Event.objects.count() == 0


def test_session_formset_refuses_a_line_break_in_a_session_title(client_for, secretariat):
    event = EventFactory()
    data = {
        "sessions-TOTAL_FORMS": "1",
        "sessions-INITIAL_FORMS": "0",
        "sessions-MIN_NUM_FORMS": "0",
        "sessions-MAX_NUM_FORMS": "50",
        "sessions-0-title": "分科会\r\nA",
        "sessions-0-description": "",
        "sessions-0-capacity": "",
        "sessions-0-order": "1",
    }
    response = client_for(secretariat).post(reverse("events:sessions", args=[event.pk]), data)
    assert response.status_code == 200
    formset = response.context["formset"]
    assert formset.forms[0].errors["title"] == [SINGLE_LINE]
    assert Session.objects.count() == 0


# --- every form follows the rules --------------------------------------------------------

FORM_MODULES = [
    "network.forms",
    "network.forms_joining",
    "events.forms",
    "events.forms_manage",
    "surveys.forms",
    "surveys.forms_manage",
    "committee.forms",
]
FILTER_MODULES = [
    "network.filters",
    "events.filters",
    "events.filters_manage",
    "surveys.filters",
    "committee.filters",
]


def _classes(module_names, base):
    for name in module_names:
        module = importlib.import_module(name)
        for _attr, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, base) and value.__module__ == name:
                yield value


def _unchecked(owner, members, rules):
    """Names of the members that are of a Django/django-filter choice class
    without being of the site's checked class; `rules` most specific first."""
    offenders = []
    for name, member in members.items():
        for plain, checked in rules:
            if isinstance(member, plain):
                if not isinstance(member, checked):
                    offenders.append(f"{owner.__qualname__}.{name}")
                break
    return offenders


def test_every_form_of_the_site_follows_the_input_rules():
    rules = [
        (forms.ModelMultipleChoiceField, CheckedKeysMixin),
        (forms.ModelChoiceField, CheckedKeyMixin),
    ]
    offenders = []
    for form_class in _classes(FORM_MODULES, forms.BaseForm):
        if not issubclass(form_class, InputRules):
            offenders.append(form_class.__qualname__)
        offenders += _unchecked(form_class, form_class.base_fields, rules)
    assert offenders == []


def test_every_model_choice_filter_checks_its_ids():
    rules = [
        (django_filters.ModelMultipleChoiceFilter, ModelMultipleChoiceFilter),
        (django_filters.ModelChoiceFilter, ModelChoiceFilter),
    ]
    offenders = []
    for filterset in _classes(FILTER_MODULES, FilterSet):
        offenders += _unchecked(filterset, filterset.base_filters, rules)
    assert offenders == []
