"""Freshness of the navi's entries (directory.freshness, directory.tasks and
/navi/manage/freshness/): the daily sweep asks the secretariat and the
providers' org admins once per confirmation; an org admin confirms or
corrects their own providers' entries only."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxMessage
from directory import freshness, tasks
from directory.enums import ServiceStatus
from directory.models import LineDelivery, Service

from .directory_factories import window
from .factories import MembershipFactory, OrganisationFactory
from .queries import assert_flat_query_count

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 1)
LONG_AGO = datetime.date(2025, 5, 1)  # more than 12 months before TODAY
RECENTLY = datetime.date(2026, 1, 10)


def entry(name, *, organisation=None, verified_on=LONG_AGO, **fields) -> Service:
    service = window(name).service
    service.provider.organisation = organisation
    service.provider.save(update_fields=["organisation"])
    Service.objects.filter(pk=service.pk).update(verified_on=verified_on, **fields)
    service.refresh_from_db()
    return service


@pytest.fixture
def stale_mine(contractor_org, org_admin):
    """A stale entry of the org admin's organisation's provider."""
    return entry("札幌くらし相談窓口", organisation=contractor_org)


@pytest.fixture
def stale_theirs(other_org):
    """A stale entry of another organisation's provider, with its own admin."""
    MembershipFactory(
        organisation=other_org,
        is_org_admin=True,
        user__email="hakodate-admin@example.org",
        user__full_name="函館 管理",
    )
    return entry("函館くらし相談窓口", organisation=other_org)


def mails():
    return sorted(
        OutboxMessage.objects.filter(kind__startswith="directory.stale").values_list(
            "kind", "to_email"
        )
    )


def sweep(capture, today=TODAY):
    with capture(execute=True):
        return tasks.sweep_freshness(today=today)


# --- the sweep ---------------------------------------------------------------------


def test_freshness_sweep_mails_the_secretariat_and_each_providers_org_admins(
    secretariat,
    contractor_member,
    stale_mine,
    stale_theirs,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    entry("最近確認した窓口", verified_on=RECENTLY)
    entry("終了した窓口", status=ServiceStatus.DEFUNCT)

    queued = sweep(django_capture_on_commit_callbacks)

    assert queued == 3
    assert mails() == [
        ("directory.stale_admin", "hakodate-admin@example.org"),
        ("directory.stale_admin", "npo-admin@example.org"),
        ("directory.stale_secretariat", "secretariat@example.org"),
    ]
    to_secretariat = OutboxMessage.objects.get(to_email="secretariat@example.org")
    assert to_secretariat.subject == "【つながり】ナビの窓口 2 件の内容確認のお願い"
    assert "札幌くらし相談窓口" in to_secretariat.body
    assert "函館くらし相談窓口" in to_secretariat.body
    assert "最近確認した窓口" not in to_secretariat.body
    assert "/navi/manage/freshness/" in to_secretariat.body
    to_admin = OutboxMessage.objects.get(to_email="npo-admin@example.org")
    assert to_admin.subject == "【つながり】貴団体の窓口情報 1 件の内容確認のお願い"
    assert "札幌くらし相談窓口" in to_admin.body
    assert "函館くらし相談窓口" not in to_admin.body  # another organisation's entry
    assert f"/navi/manage/services/{stale_mine.pk}/edit/" in to_admin.body
    assert "2025年5月1日(木)" in to_admin.body
    assert sorted(m.to[0] for m in mailoutbox) == [
        "hakodate-admin@example.org",
        "npo-admin@example.org",
        "secretariat@example.org",
    ]
    flagged = dict(Service.objects.values_list("name", "stale_notified_on"))
    assert flagged == {
        "札幌くらし相談窓口": TODAY,
        "函館くらし相談窓口": TODAY,
        "最近確認した窓口": None,
        "終了した窓口": None,
    }


def test_freshness_sweep_twice_sends_nothing_twice(
    secretariat, stale_mine, django_capture_on_commit_callbacks
):
    assert sweep(django_capture_on_commit_callbacks) == 2
    assert sweep(django_capture_on_commit_callbacks) == 0
    assert sweep(django_capture_on_commit_callbacks, TODAY + datetime.timedelta(days=1)) == 0
    assert len(mails()) == 2


def test_freshness_sweep_asks_again_after_the_next_confirmation_goes_stale(
    secretariat, org_admin, stale_mine, django_capture_on_commit_callbacks
):
    sweep(django_capture_on_commit_callbacks)
    freshness.confirm(service=stale_mine, user=org_admin, today=TODAY)
    a_year_later = datetime.date(2027, 7, 1)
    assert sweep(django_capture_on_commit_callbacks, a_year_later) == 2
    assert len(mails()) == 4


def test_freshness_sweep_counts_a_never_confirmed_entry_from_its_creation(
    secretariat, django_capture_on_commit_callbacks
):
    new = entry("登録したばかりの窓口", verified_on=None)
    old = entry("昔登録した窓口", verified_on=None)
    Service.objects.filter(pk=old.pk).update(
        created_at=timezone.make_aware(datetime.datetime(2024, 4, 1))
    )
    sweep(django_capture_on_commit_callbacks, timezone.localdate())
    body = OutboxMessage.objects.get(to_email="secretariat@example.org").body
    assert "昔登録した窓口" in body and "未確認" in body
    assert "登録したばかりの窓口" not in body
    assert Service.objects.get(pk=new.pk).stale_notified_on is None


def test_freshness_sweep_skips_inactive_admins_and_providers_without_organisation(
    secretariat, contractor_org, django_capture_on_commit_callbacks
):
    MembershipFactory(
        organisation=contractor_org,
        is_org_admin=True,
        user__email="left@example.org",
        user__is_active=False,
    )
    entry("札幌くらし相談窓口", organisation=contractor_org)
    entry("運営者が組織でない窓口")
    assert sweep(django_capture_on_commit_callbacks) == 1
    assert mails() == [("directory.stale_secretariat", "secretariat@example.org")]


def test_sweep_line_deliveries_deletes_records_older_than_a_week(db):
    now = timezone.now()
    old = LineDelivery.objects.create(event_id="old")
    fresh = LineDelivery.objects.create(event_id="fresh")
    LineDelivery.objects.filter(pk=old.pk).update(received_at=now - datetime.timedelta(days=8))
    LineDelivery.objects.filter(pk=fresh.pk).update(received_at=now - datetime.timedelta(days=6))
    assert tasks.sweep_line_deliveries(now=now) == {"deleted": 1}
    assert list(LineDelivery.objects.values_list("event_id", flat=True)) == ["fresh"]
    assert tasks.sweep_line_deliveries(now=now) == {"deleted": 0}


# --- confirming -----------------------------------------------------------------------


def test_confirm_sets_the_date_and_who_and_clears_the_flag(org_admin, stale_mine):
    Service.objects.filter(pk=stale_mine.pk).update(stale_notified_on=TODAY)
    freshness.confirm(service=stale_mine, user=org_admin, today=TODAY)
    stale_mine.refresh_from_db()
    assert (stale_mine.verified_on, stale_mine.verified_by, stale_mine.stale_notified_on) == (
        TODAY,
        org_admin,
        None,
    )


def test_confirm_refuses_someone_elses_entry(org_admin, stale_theirs):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        freshness.confirm(service=stale_theirs, user=org_admin, today=TODAY)
    stale_theirs.refresh_from_db()
    assert (stale_theirs.verified_on, stale_theirs.verified_by) == (LONG_AGO, None)


# --- the pages --------------------------------------------------------------------------


def test_freshness_page_lists_only_the_org_admins_own_stale_entries(
    client_for, org_admin, stale_mine, stale_theirs
):
    entry(
        "最近確認した自団体の窓口",
        organisation=stale_mine.provider.organisation,
        verified_on=timezone.localdate(),
    )
    html = client_for(org_admin).get(reverse("directory:freshness")).content.decode()
    assert "札幌くらし相談窓口" in html
    assert "函館くらし相談窓口" not in html
    assert "最近確認した自団体の窓口" not in html
    assert "このまま確認済みにする" in html and "修正する" in html
    assert reverse("directory:confirm", args=[stale_mine.pk]) in html
    assert reverse("directory:import") not in html  # the secretariat's


def test_freshness_page_shows_every_stale_entry_to_the_secretariat(
    client_for, secretariat, stale_mine, stale_theirs
):
    html = client_for(secretariat).get(reverse("directory:freshness")).content.decode()
    assert "札幌くらし相談窓口" in html and "函館くらし相談窓口" in html
    assert reverse("directory:import") in html


def test_freshness_page_empty_state(client_for, org_admin):
    html = client_for(org_admin).get(reverse("directory:freshness")).content.decode()
    assert "確認を待っている窓口はありません。" in html


def test_freshness_page_anonymous_goes_to_login(client, stale_mine):
    url = reverse("directory:freshness")
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    post = client.post(reverse("directory:confirm", args=[stale_mine.pk]))
    assert post.status_code == 302 and post.url.startswith(reverse("account_login"))
    stale_mine.refresh_from_db()
    assert stale_mine.verified_on == LONG_AGO


def test_freshness_pages_are_404_for_members_who_are_not_admins(
    client_for, contractor_member, committee_member, stale_mine
):
    for user in (contractor_member, committee_member):
        client = client_for(user)
        assert client.get(reverse("directory:freshness")).status_code == 404
        assert client.post(reverse("directory:confirm", args=[stale_mine.pk])).status_code == 404
    stale_mine.refresh_from_db()
    assert stale_mine.verified_on == LONG_AGO


def test_org_admin_confirms_their_entry(client_for, org_admin, stale_mine):
    client = client_for(org_admin)
    response = client.post(reverse("directory:confirm", args=[stale_mine.pk]), follow=True)
    stale_mine.refresh_from_db()
    assert (stale_mine.verified_on, stale_mine.verified_by) == (timezone.localdate(), org_admin)
    html = response.content.decode()
    assert "「札幌くらし相談窓口」を確認済みにしました" in html
    assert "確認を待っている窓口はありません。" in html


def test_another_orgs_admin_gets_404_and_changes_nothing(client_for, org_admin, stale_theirs):
    client = client_for(org_admin)
    edit = reverse("directory:service_edit", args=[stale_theirs.pk])
    assert client.get(edit).status_code == 404
    assert client.post(edit, {"description": "書き換え", "status": "active"}).status_code == 404
    assert client.post(reverse("directory:confirm", args=[stale_theirs.pk])).status_code == 404
    stale_theirs.refresh_from_db()
    assert (stale_theirs.verified_on, stale_theirs.verified_by, stale_theirs.description) == (
        LONG_AGO,
        None,
        "",
    )


def test_confirm_refuses_get(client_for, org_admin, stale_mine):
    response = client_for(org_admin).get(reverse("directory:confirm", args=[stale_mine.pk]))
    assert response.status_code == 405
    stale_mine.refresh_from_db()
    assert stale_mine.verified_on == LONG_AGO


def _correction(**changes):
    data = {
        "description": "生活のお困りごとの相談を受けます。",
        "eligibility": "札幌市にお住まいの方",
        "fees": "無料",
        "application_process": "お電話ください。",
        "required_documents": "",
        "status": "active",
        "url": "https://example.org/soudan/",
    }
    return {**data, **changes}


def test_correction_saves_the_fields_and_confirms(client_for, org_admin, stale_mine):
    Service.objects.filter(pk=stale_mine.pk).update(stale_notified_on=TODAY)
    client = client_for(org_admin)
    edit = reverse("directory:service_edit", args=[stale_mine.pk])
    page = client.get(edit).content.decode()
    assert 'name="description"' in page and 'name="url"' in page
    response = client.post(edit, _correction(status="inactive"))
    assert response.status_code == 302 and response.url == reverse("directory:freshness")
    stale_mine.refresh_from_db()
    assert (
        stale_mine.description,
        stale_mine.fees,
        stale_mine.status,
        stale_mine.url,
        stale_mine.verified_on,
        stale_mine.verified_by,
        stale_mine.stale_notified_on,
    ) == (
        "生活のお困りごとの相談を受けます。",
        "無料",
        ServiceStatus.INACTIVE,
        "https://example.org/soudan/",
        timezone.localdate(),
        org_admin,
        None,
    )


def test_correction_with_a_bad_url_shows_the_error_by_the_field_and_writes_nothing(
    client_for, org_admin, stale_mine
):
    client = client_for(org_admin)
    edit = reverse("directory:service_edit", args=[stale_mine.pk])
    response = client.post(edit, _correction(url="http://"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "入力内容を確認してください。" in html
    field = html.split('<div class="form-field field-error">', 1)[1].split("</div>", 1)[0]
    assert 'for="id_url"' in field
    assert "URLを正しく入力してください。" in field
    stale_mine.refresh_from_db()
    assert (stale_mine.description, stale_mine.verified_on, stale_mine.verified_by) == (
        "",
        LONG_AGO,
        None,
    )


def test_freshness_page_query_count_is_flat(client_for, secretariat, django_assert_num_queries):
    client = client_for(secretariat)
    made = []

    def add_rows(n):
        for _ in range(n):
            made.append(entry(f"窓口{len(made)}"))

    assert_flat_query_count(
        django_assert_num_queries,
        client,
        reverse("directory:freshness"),
        add_rows,
        expected=6,
        count=lambda response: response.context["page_obj"].paginator.count,
    )


def test_freshness_page_is_paginated(client_for, secretariat):
    for n in range(51):
        entry(f"窓口{n:02d}")
    client = client_for(secretariat)
    first = client.get(reverse("directory:freshness"))
    second = client.get(reverse("directory:freshness"), {"page": 2})
    assert len(first.context["page_obj"]) == 50
    assert len(second.context["page_obj"]) == 1
    assert "2 / 2 ページ" in second.content.decode()


def test_freshness_page_for_a_fresh_user_in_another_org_is_empty(client_for, other_org):
    """An org admin whose organisation has no provider sees an empty list, not
    every entry."""
    admin = MembershipFactory(
        organisation=OrganisationFactory(name="別の団体"), is_org_admin=True
    ).user
    entry("札幌くらし相談窓口", organisation=other_org)
    html = client_for(admin).get(reverse("directory:freshness")).content.decode()
    assert "札幌くらし相談窓口" not in html
    assert "確認を待っている窓口はありません。" in html


def test_freshness_sweep_runs_as_beat_calls_it_without_arguments(
    secretariat, stale_mine, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_freshness.delay().get() == 2
    stale_mine.refresh_from_db()
    assert stale_mine.stale_notified_on == timezone.localdate()
    assert tasks.sweep_freshness("2026-06-01") == 0  # a date through the broker is text


def test_a_never_confirmed_entry_is_stale_from_the_local_day_it_was_made(db):
    """Made at 23:59 (Asia/Tokyo) the day before the limit: stale; made at
    00:00 on the limit's day (15:00 UTC the day before): not yet."""
    from directory.querysets import stale_before

    today = datetime.date(2026, 12, 8)
    limit = stale_before(today, settings.DIRECTORY_STALE_MONTHS)
    before, at = entry("前日に登録", verified_on=None), entry("当日に登録", verified_on=None)
    midnight = timezone.make_aware(datetime.datetime.combine(limit, datetime.time.min))
    Service.objects.filter(pk=before.pk).update(created_at=midnight - datetime.timedelta(minutes=1))
    Service.objects.filter(pk=at.pk).update(created_at=midnight)

    assert list(Service.objects.stale(today, settings.DIRECTORY_STALE_MONTHS)) == [before]
