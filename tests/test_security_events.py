"""Security defects of the events app (issue #8): the public guest form as a
mail relay and a way to block members, the organisation registrations page
showing events outside the viewer's audience, and the attendance import
writing into drafts and future events or failing on huge ids."""

import datetime
import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxMessage
from events import services
from events.importing import COLUMNS, import_attendance
from events.models import Event, GuestRequest, Registration
from events.views.manage_import import SESSION_KEY
from network.models import Commission, Organisation

from .event_factories import EventFactory, RegistrationFactory
from .factories import MembershipFactory, OrganisationFactory, program

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """The throttle counts in the cache, which outlives a test: start and
    leave it empty so that other tests' guest forms are not refused."""
    cache.clear()
    yield
    cache.clear()


# --- defect 7: the guest form ---------------------------------------------------------------


def _guest_url(event):
    return reverse("events:register_guest", args=[event.pk])


def _guest_data(**overrides):
    data = {
        "email": "victim@example.net",
        "full_name": "一般 参加者",
        "full_name_kana": "いっぱん さんかしゃ",
        "organisation_name": "",
        "mode": "venue",
        "question": "",
        "website": "",
    }
    data.update(overrides)
    return data


def _guest_mails():
    return OutboxMessage.objects.filter(kind="events.guest_confirm")


def test_guest_form_same_address_is_refused_after_the_limit(client_for, mailoutbox):
    event = EventFactory(audience=Event.Audience.PUBLIC, format=Event.Format.VENUE)
    client = client_for(None)
    limit = services.GUEST_MAILS_PER_ADDRESS

    pages = []
    for n in range(limit + 5):
        # Different clients: the per-address limit holds on its own.
        pages.append(client.post(_guest_url(event), _guest_data(), REMOTE_ADDR=f"192.0.2.{n + 1}"))

    sent = [page for page in pages if "確認メールを送りました" in page.content.decode()]
    refused = [page for page in pages[limit:]]
    assert len(sent) == limit
    for page in refused:
        assert page.status_code == 429
        assert "短時間に同じメールアドレスや同じ接続元からの申込が続いたため" in (
            page.content.decode()
        )
    assert _guest_mails().count() == limit
    assert set(_guest_mails().values_list("to_email", flat=True)) == {"victim@example.net"}


def test_guest_form_same_client_is_refused_after_the_limit(client_for):
    event = EventFactory(audience=Event.Audience.PUBLIC, format=Event.Format.VENUE)
    client = client_for(None)
    limit = services.GUEST_FORMS_PER_CLIENT

    pages = [
        client.post(
            _guest_url(event),
            _guest_data(email=f"target{n}@example.net"),
            REMOTE_ADDR="198.51.100.7",
        )
        for n in range(limit + 5)
    ]

    assert ["確認メールを送りました" in p.content.decode() for p in pages] == [True] * limit + [
        False
    ] * 5
    assert all(
        "しばらく時間をおいてからもう一度お試しください。" in p.content.decode()
        for p in pages[limit:]
    )
    assert _guest_mails().count() == limit
    # Another client is not held up by this one.
    other = client.post(
        _guest_url(event), _guest_data(email="someone@example.net"), REMOTE_ADDR="203.0.113.9"
    )
    assert "確認メールを送りました" in other.content.decode()


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_guest_form_counts_clients_behind_the_proxy_apart(client_for):
    event = EventFactory(audience=Event.Audience.PUBLIC, format=Event.Format.VENUE)
    client = client_for(None)
    limit = services.GUEST_FORMS_PER_CLIENT

    def send(n, forwarded_for):
        return client.post(
            _guest_url(event),
            _guest_data(email=f"p{n}@example.net"),
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    noisy = [send(n, "198.51.100.7") for n in range(limit + 1)]
    quiet = send(999, "203.0.113.9")

    assert "確認メールを送りました" not in noisy[-1].content.decode()
    assert "確認メールを送りました" in quiet.content.decode()
    assert _guest_mails().count() == limit + 1


def test_guest_confirm_mail_opening_line_has_no_user_text(
    client_for, mailoutbox, django_capture_on_commit_callbacks
):
    event = EventFactory(audience=Event.Audience.PUBLIC, format=Event.Format.VENUE)
    hostile = "当選しました http://evil.example/claim"

    with django_capture_on_commit_callbacks(execute=True):
        client_for(None).post(
            _guest_url(event),
            _guest_data(full_name=hostile, organisation_name="至急 連絡を", question="振込先"),
        )

    assert len(mailoutbox) == 1
    body = mailoutbox[0].body
    assert body.splitlines()[0] == "お申し込みありがとうございます。"
    assert hostile not in body
    assert "evil.example" not in body
    assert "至急" not in body and "振込先" not in body


def test_guest_registration_with_a_members_address_neither_links_nor_blocks(
    client_for, contractor_member, contractor_org, mailoutbox
):
    event = EventFactory(
        audience=Event.Audience.PUBLIC, format=Event.Format.VENUE, venue_capacity=1
    )
    client = client_for(None)
    client.post(_guest_url(event), _guest_data(email="NPO@example.org", full_name="なりすまし"))

    # Nothing is attached to the member's account.
    assert list(Registration.objects.filter(event=event)) == []
    request = GuestRequest.objects.get(event=event)
    assert request.email == "npo@example.org"
    assert not Registration.objects.filter(user=contractor_member).exists()

    member = client_for(contractor_member)
    response = member.post(reverse("events:register", args=[event.pk]), {"mode": "venue"})

    assert response.status_code == 302
    registration = Registration.objects.get(event=event, user=contractor_member)
    assert (registration.status, registration.organisation) == ("confirmed", contractor_org)
    # The unconfirmed request is discarded: its link no longer works.
    assert not GuestRequest.objects.exists()
    contractor_member.refresh_from_db()
    assert contractor_member.full_name == "受託 花子"


def _guest_as_member(event, **kwargs):
    """The public form filled in by someone else with the member's address."""
    data = {
        "event": event,
        "email": "npo@example.org",
        "full_name": "なりすまし",
        "full_name_kana": "",
        "organisation_name": "",
        "mode": "venue",
    }
    return services.register_guest(**{**data, **kwargs})


def test_guest_registration_for_an_account_attaches_only_when_confirmed(
    client_for, contractor_member, django_capture_on_commit_callbacks, mailoutbox
):
    event = EventFactory(audience=Event.Audience.PUBLIC, format=Event.Format.VENUE)
    with django_capture_on_commit_callbacks(execute=True):
        request = _guest_as_member(event, organisation_name="別の団体")
    assert not Registration.objects.filter(user=contractor_member).exists()
    assert mailoutbox[0].to == ["npo@example.org"]
    token = request.raw_token

    # Opening the link shows a button and still attaches nothing.
    client = client_for(None)
    page = client.get(reverse("events:confirm_guest", args=[token]))
    assert "申込を確定する" in page.content.decode()
    assert "なりすまし" not in page.content.decode()
    assert not Registration.objects.filter(user=contractor_member).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(reverse("events:confirm_guest", args=[token]))

    assert "参加が確定しました" in done.content.decode()
    registration = Registration.objects.get(event=event)
    assert (registration.user, registration.status) == (contractor_member, "confirmed")
    assert registration.organisation_name == "別の団体"
    assert not GuestRequest.objects.exists()
    contractor_member.refresh_from_db()
    assert contractor_member.full_name == "受託 花子"
    assert client.post(reverse("events:confirm_guest", args=[token])).status_code == 404
    assert Registration.objects.filter(event=event).count() == 1


def test_guest_request_link_after_the_member_registered_writes_nothing(contractor_member):
    event = EventFactory(audience=Event.Audience.PUBLIC, format=Event.Format.VENUE)
    request = _guest_as_member(event)
    mine = services.register(event=event, user=contractor_member, mode="venue")

    with pytest.raises(services.RegistrationError) as excinfo:
        services.confirm_guest(token=request.raw_token)

    assert excinfo.value.messages == ["この確認リンクは無効か、すでに使われています。"]
    assert list(Registration.objects.filter(event=event)) == [mine]


# --- defect 10: an organisation's registrations ---------------------------------------------


def _org_url(org):
    return reverse("events:organisation_registrations", args=[org.pk])


def test_organisation_registrations_show_only_visible_events_and_commissioned_years(
    client_for, municipal_member, municipal_org, contractor_org
):
    this_year = EventFactory(title="自治体も参加できる会")
    fy = this_year.fiscal_year
    Commission.objects.create(
        contractor=contractor_org, commissioner=municipal_org, program=program(), fiscal_year=fy
    )
    contractor_only = EventFactory(
        title="受託団体だけの勉強会",
        audience=Event.Audience.CONTRACTOR,
        starts_at=this_year.starts_at + datetime.timedelta(days=1),
        ends_at=this_year.ends_at + datetime.timedelta(days=1),
    )
    start = timezone.localtime(this_year.starts_at).replace(year=fy - 1 - 1)
    other_year = EventFactory(
        title="委託のない年度の会",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
    )
    assert other_year.fiscal_year < fy
    shown = MembershipFactory(organisation=contractor_org, user__full_name="見える 一人").user
    hidden = MembershipFactory(organisation=contractor_org, user__full_name="隠れる 二人").user
    past = MembershipFactory(organisation=contractor_org, user__full_name="昔の 三人").user
    RegistrationFactory(event=this_year, user=shown, organisation=contractor_org)
    RegistrationFactory(event=contractor_only, user=hidden, organisation=contractor_org)
    RegistrationFactory(event=other_year, user=past, organisation=contractor_org)
    client = client_for(municipal_member)
    # The contractor-only event itself answers 404 to this member.
    assert client.get(contractor_only.get_absolute_url()).status_code == 404

    response = client.get(_org_url(contractor_org))

    assert response.status_code == 200
    content = response.content.decode()
    assert [r.user for r in response.context["page_obj"]] == [shown]
    assert "自治体も参加できる会" in content and "見える 一人" in content
    for leaked in ("受託団体だけの勉強会", "隠れる 二人", "委託のない年度の会", "昔の 三人"):
        assert leaked not in content


def test_organisation_registrations_org_admin_sees_only_visible_events(
    client_for, org_admin, contractor_org
):
    municipal_only = EventFactory(title="自治体だけの会", audience=Event.Audience.MUNICIPAL)
    city = OrganisationFactory(kind=Organisation.Kind.MUNICIPALITY)
    both = MembershipFactory(organisation=contractor_org, user__full_name="兼務 四人").user
    MembershipFactory(organisation=city, user=both)
    RegistrationFactory(event=municipal_only, user=both, organisation=contractor_org)
    members = EventFactory(title="みんなの会")
    RegistrationFactory(event=members, user=both, organisation=contractor_org)

    response = client_for(org_admin).get(_org_url(contractor_org))

    content = response.content.decode()
    assert [r.event for r in response.context["page_obj"]] == [members]
    assert "みんなの会" in content
    assert "自治体だけの会" not in content


# --- defects 8 and 11: the attendance import ------------------------------------------------


def _csv(*rows) -> bytes:
    lines = [",".join(COLUMNS)] + [",".join(str(cell) for cell in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _row(event_id, email="kojin@example.org"):
    return [event_id, email, "個人 参加者", "", "", "", "", "venue", "", "1"]


def _past_event(**kwargs):
    start = timezone.now() - datetime.timedelta(days=20)
    return EventFactory(starts_at=start, ends_at=start + datetime.timedelta(hours=2), **kwargs)


@pytest.fixture
def held():
    return _past_event(title="開催済みの会", status=Event.Status.FINISHED)


@pytest.fixture
def not_held():
    past_draft = _past_event(title="下書きの会", status=Event.Status.DRAFT)
    future = EventFactory(title="来月の会")
    return past_draft, future


def _upload(client, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("events:import"), {"file": SimpleUploadedFile("attendance.csv", content)}
    )


def test_import_page_refuses_drafts_and_future_events_per_row(
    client_for, secretariat, held, not_held
):
    draft, future = not_held
    content = _csv(_row(held.pk), _row(draft.pk, "b@example.org"), _row(future.pk, "c@example.org"))

    response = _upload(client_for(secretariat), content)

    html = response.content.decode()
    errors = response.context["result"].errors
    assert [(e.row, e.column) for e in errors] == [(3, "event_id"), (4, "event_id")]
    assert errors[0].message == (
        f"イベントID {draft.pk} は下書きのイベントです。参加記録は開催済みのイベントにだけ取り込めます。"
    )
    assert errors[1].message == (
        f"イベントID {future.pk} のイベントはまだ開催されていません。"
        "参加記録は開催済みのイベントにだけ取り込めます。"
    )
    assert "取り込みを確定する" not in html
    assert SESSION_KEY not in client_for(secretariat).session
    assert not Registration.objects.exists()


def test_import_command_refuses_drafts_and_future_events(tmp_path, held, not_held):
    draft, future = not_held
    path = tmp_path / "attendance.csv"
    path.write_bytes(
        _csv(_row(draft.pk), _row(future.pk, "c@example.org"), _row(held.pk, "d@x.jp"))
    )
    err = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("import_attendance", str(path), stderr=err)

    assert excinfo.value.returncode == 1
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("行 2・列 event_id: イベントID")
    assert "下書きのイベントです" in lines[0]
    assert lines[1].startswith("行 3・列 event_id: イベントID")
    assert "まだ開催されていません" in lines[1]
    assert len(lines) == 2
    assert not Registration.objects.exists()


def test_import_cancelled_event_is_refused(held):
    cancelled = _past_event(status=Event.Status.CANCELLED)

    result = import_attendance(raw=_csv(_row(cancelled.pk)), filename="a.csv")

    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (
            2,
            "event_id",
            f"イベントID {cancelled.pk} は中止になったイベントです。"
            "参加記録は開催済みのイベントにだけ取り込めます。",
        )
    ]
    assert not Registration.objects.exists()


@pytest.mark.parametrize(
    "value",
    [
        "99999999999999999999999",
        "9223372036854775808",
        "１２３４５６７８９０１２３４５６７８９０",
        "৫",
        "-3",
    ],
)
def test_import_huge_or_odd_event_id_is_a_row_error(client_for, secretariat, held, value):
    content = _csv(_row(held.pk), _row(value, "b@example.org"))

    response = _upload(client_for(secretariat), content)

    assert response.status_code == 200
    errors = response.context["result"].errors
    assert [(e.row, e.column) for e in errors] == [(3, "event_id")]
    assert "イベントID「" in errors[0].message
    assert "正しくありません" in errors[0].message
    assert "取り込みを確定する" not in response.content.decode()
    assert not Registration.objects.exists()


def test_import_command_huge_event_id_is_a_row_error(tmp_path, held):
    path = tmp_path / "attendance.csv"
    path.write_bytes(_csv(_row("99999999999999999999999")))
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_attendance", str(path), stderr=err)

    assert err.getvalue().splitlines() == [
        "行 2・列 event_id: イベントID「99999999999999999999999」は正しくありません"
        "（1 以上の数字で、画面に表示されているイベントIDを入力してください）。"
    ]
    assert not Registration.objects.exists()


def test_import_of_a_held_event_still_writes(held):
    result = import_attendance(raw=_csv(_row(held.pk)), filename="a.csv")

    assert result.written
    assert list(Registration.objects.values_list("event_id", "attended")) == [(held.pk, True)]
