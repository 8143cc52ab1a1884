"""The audit log (django-auditlog; core.audit, portal.audit; docs/security.md §16).

What people do through the pages is logged with who did it; exports, erasures
and bulk imports are one entry each; the secretariat reads and filters it at
操作の記録; nobody edits or deletes it; old entries go after the retention period.
"""

import datetime

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from core import audit
from core.tasks import sweep_audit_log
from directory.models import Service
from events.models import Registration
from network.models import Membership, Organisation
from tests.event_factories import EventFactory, RegistrationFactory
from tests.factories import MembershipFactory, OrganisationFactory
from tests.queries import assert_flat_query_count

pytestmark = pytest.mark.django_db

AUDIT_URL = reverse("audit_log")


def entries_about(obj, **filters):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_pk=str(obj.pk), **filters
    ).order_by("pk")


# --- what people do is logged, with who did it ---------------------------------------------


def test_an_org_admin_making_a_colleague_admin_is_logged_with_who_did_it(
    client_for, org_admin, contractor_member, contractor_org
):
    membership = Membership.objects.get(user=contractor_member, organisation=contractor_org)
    url = reverse("network:membership_edit", args=[contractor_org.pk, membership.pk])

    response = client_for(org_admin).post(
        url, {"staff_role": "sodan", "experience": "", "is_org_admin": "on"}
    )

    assert response.status_code == 302
    [entry] = entries_about(membership, action=LogEntry.Action.UPDATE)
    assert entry.actor == org_admin
    assert entry.changes["is_org_admin"] == ["False", "True"]
    assert entry.remote_addr == "127.0.0.1"


def test_a_member_cancelling_their_registration_is_logged_without_their_question(
    client_for, contractor_member, contractor_org
):
    registration = RegistrationFactory(
        user=contractor_member, organisation=contractor_org, question="家計の相談の進め方"
    )

    response = client_for(contractor_member).post(
        reverse("events:registration_cancel", args=[registration.pk])
    )

    assert response.status_code == 302
    [entry] = entries_about(registration, action=LogEntry.Action.UPDATE)
    assert entry.actor == contractor_member
    assert entry.changes["status"] == ["confirmed", "cancelled"]
    every_entry = " ".join(str(e.changes) for e in entries_about(registration))
    assert "家計の相談" not in every_entry


def test_a_role_given_in_the_admin_is_logged(client_for, superuser, contractor_member):
    from django.contrib.auth.models import Group

    committee = Group.objects.get(name="committee")

    contractor_member.groups.add(committee)

    [entry] = entries_about(contractor_member).filter(changes__groups__operation="add")
    assert entry.changes["groups"]["objects"] == ["committee"]


@pytest.mark.parametrize(
    "label",
    [
        "network.user",
        "network.membership",
        "network.organisation",
        "events.registration",
        "events.event",
        "surveys.survey",
        "committee.need",
        "directory.service",
        "directory.location",
        "directory.provider",
        "support.menu",
        "support.application",
        "note.authorlookup",
    ],
)
def test_the_issue_s_models_are_audited(label):
    from auditlog.registry import auditlog
    from django.apps import apps

    assert auditlog.contains(apps.get_model(label))


def test_exports_of_personal_data_are_logged(client_for, secretariat, contractor_member):
    client_for(contractor_member).post(reverse("my_data"))
    client_for(secretariat).post(reverse("person_data", args=[contractor_member.pk]))

    exports = entries_about(contractor_member, action=LogEntry.Action.ACCESS)

    assert [(e.actor_id, e.additional_data["event"]) for e in exports] == [
        (contractor_member.pk, audit.EXPORTED),
        (secretariat.pk, audit.EXPORTED),
    ]


def test_a_bulk_import_is_one_entry_with_its_counts():
    from directory.importing import import_directory

    content = (
        "municipality_code,id,provider,name,kana,description,status,categories,"
        "service_area,address,latitude,longitude,phones,days,opens,closes\r\n"
        "011002,A-1,監査テスト協議会,監査テスト相談窓口,かんさてすと,家計の相談,"
        "active,kakei,011002,札幌市中央区大通西19丁目,43.05,141.33,011-222-3333,月～金,9:00,17:00\r\n"
    ).encode()

    result = import_directory(raw=content, filename="audit.csv")

    if not result.written:  # the layout this test assumes must still be one the importer reads
        pytest.fail(f"import failed: {[e.message for e in result.errors]}")
    [entry] = LogEntry.objects.filter(additional_data__event=audit.IMPORTED)
    assert entry.content_type.model_class() is Service
    assert entry.object_repr == "audit.csv"
    assert entry.additional_data["created"] == result.created >= 1


# --- the secretariat reads it --------------------------------------------------------------


def test_the_secretariat_reads_and_filters_the_log(client_for, secretariat, org_admin):
    org = OrganisationFactory(name="監査の会")
    client = client_for(secretariat)
    client.post(
        reverse("network:organisation_edit", args=[org.pk]),
        {
            "kind": org.kind,
            "name": "監査の会（改称）",
            "kana": org.kana,
            "municipality": org.municipality_id or "",
            "region": org.region_id or "",
            "is_active": "on",
        },
    )
    renamed = entries_about(org, action=LogEntry.Action.UPDATE)
    assert renamed.exists(), "the organisation edit did not save"

    everything = client.get(AUDIT_URL).content.decode()
    by_kind = client.get(AUDIT_URL, {"kind": "network.organisation", "action": "1"})
    by_actor = client.get(AUDIT_URL, {"actor": "事務"}).content.decode()
    nobody = client.get(AUDIT_URL, {"actor": "存在しない人"}).content.decode()
    future = client.get(AUDIT_URL, {"since": "2099-01-01"}).content.decode()

    assert "操作の記録" in everything and "監査の会（改称）" in everything
    assert "事務 四郎" in everything
    listed = [row.entry for row in by_kind.context["rows"]]
    assert listed == list(renamed)
    assert "監査の会 → 監査の会（改称）" in by_kind.content.decode()
    assert "監査の会（改称）" in by_actor
    assert "条件に合う記録はありません" in nobody
    assert "条件に合う記録はありません" in future


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"since": "2024-13-40"}, "日付を正しく入力してください"),
        ({"kind": "auth.permission"}, "正しく選択してください"),
        ({"action": "9"}, "正しく選択してください"),
        ({"actor": "x" * 500}, "100 文字以下"),
    ],
)
def test_bad_filters_are_errors_in_japanese_not_500(client_for, secretariat, query, error):
    OrganisationFactory(name="一覧に出ない会")

    response = client_for(secretariat).get(AUDIT_URL, query)

    content = response.content.decode()
    assert response.status_code == 200
    assert "検索条件に誤りがあります" in content
    assert error in content
    assert "一覧に出ない会" not in content


@pytest.mark.parametrize("actor", ["committee", "contractor_member", "org_admin", "outsider"])
def test_nobody_else_reads_it(client_for, actors, actor):
    response = client_for(actors[actor]).get(AUDIT_URL)

    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(AUDIT_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_page_costs_the_same_queries_at_two_sizes(
    client_for, secretariat, django_assert_num_queries
):
    client = client_for(secretariat)
    LogEntry.objects.all().delete()
    counter = iter(range(10_000))

    def grow(n):
        for _ in range(n):
            OrganisationFactory(name=f"件数の会{next(counter)}")  # one entry each

    assert_flat_query_count(
        django_assert_num_queries,
        client,
        AUDIT_URL,
        grow,
        expected=6,
        count=lambda response: len(response.context["rows"]),
    )


# --- nobody edits it ---------------------------------------------------------------------------


def test_the_log_cannot_be_changed_from_the_portal_or_the_admin(client_for, superuser):
    org = OrganisationFactory(name="改ざんの会")
    [entry] = entries_about(org)
    client = client_for(superuser)
    before = list(LogEntry.objects.values_list())

    posted = client.post(AUDIT_URL, {"object_repr": "x"})
    changed = client.post(
        reverse("admin:auditlog_logentry_change", args=[entry.pk]), {"object_repr": "x"}
    )
    deleted = client.post(
        reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    bulk = client.post(
        reverse("admin:auditlog_logentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert posted.status_code == 405
    assert changed.status_code == deleted.status_code == 403
    assert bulk.status_code in (200, 302)
    assert list(LogEntry.objects.values_list()) == before


# --- retention -------------------------------------------------------------------------------


def test_entries_past_the_retention_period_are_swept(settings):
    settings.TSUNAGARI_AUDIT_RETENTION_DAYS = 30
    old_org, new_org = OrganisationFactory(name="古い会"), OrganisationFactory(name="新しい会")
    entries_about(old_org).update(timestamp=timezone.now() - datetime.timedelta(days=31))
    kept = list(entries_about(new_org))

    assert sweep_audit_log() == 1
    assert sweep_audit_log() == 0  # idempotent

    assert not entries_about(old_org).exists()
    assert list(entries_about(new_org)) == kept


def test_a_retention_of_zero_keeps_everything(settings):
    settings.TSUNAGARI_AUDIT_RETENTION_DAYS = 0
    org = OrganisationFactory(name="永年の会")
    entries_about(org).update(timestamp=timezone.now() - datetime.timedelta(days=10_000))

    assert sweep_audit_log() == 0
    assert entries_about(org).exists()


def test_the_sweep_is_scheduled(settings):
    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]

    assert "core.tasks.sweep_audit_log" in tasks


# --- where from ----------------------------------------------------------------------------------


def test_a_forged_forwarded_for_is_not_taken_as_the_address(settings, client_for, secretariat):
    settings.TRUSTED_PROXY_COUNT = 0
    event = EventFactory()
    registration = RegistrationFactory(event=event)

    client_for(secretariat).post(
        reverse("events:checkin_toggle", args=[event.pk, registration.pk]),
        {"attended": "1"},
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )

    changed = entries_about(registration, action=LogEntry.Action.UPDATE)
    assert changed.exists(), "the check-in did not save"
    assert {e.remote_addr for e in changed} == {"127.0.0.1"}
    assert Registration.objects.get(pk=registration.pk).attended


def test_membership_and_organisation_rows_made_in_tests_are_logged_too():
    """Factories save through the ORM: the signals see them (no actor)."""
    membership = MembershipFactory(organisation=OrganisationFactory(name="作成の会"))

    [created] = entries_about(membership, action=LogEntry.Action.CREATE)
    assert created.actor is None
    assert entries_about(Organisation.objects.get(name="作成の会")).exists()
