"""Import of past attendance lists (events/importing.py), its command and its pages.

Every malformed file must write nothing and name the row (the header is row 1,
as in Excel) and the column.
"""

import datetime
import io
from pathlib import Path

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.importing import COLUMNS, import_attendance
from events.models import Event, Registration
from events.views.manage_import import SESSION_KEY
from network.models import Membership, Organisation, User

from .event_factories import EventFactory, RegistrationFactory

pytestmark = pytest.mark.django_db

TEMPLATE = Path(__file__).parent / "data" / "events" / "attendance_template.csv"
HEADER = ",".join(COLUMNS)


# --- helpers -------------------------------------------------------------------------


@pytest.fixture
def events(db):
    # Attendance is recorded only for meetings that have been held.
    held = timezone.now() - datetime.timedelta(days=60)
    first = EventFactory(
        title="第1回 情報交換会",
        status=Event.Status.FINISHED,
        starts_at=held,
        ends_at=held + datetime.timedelta(hours=3),
    )
    second = EventFactory(
        title="第2回 情報交換会",
        format=Event.Format.ONLINE,
        starts_at=held + datetime.timedelta(days=30),
        ends_at=held + datetime.timedelta(days=30, hours=3),
    )
    return first, second


@pytest.fixture
def waitlisted(events, contractor_member, contractor_org):
    return RegistrationFactory(
        event=events[0],
        user=contractor_member,
        organisation=contractor_org,
        status=Registration.Status.WAITLISTED,
    )


@pytest.fixture
def csv_text(events, contractor_member, contractor_org):
    """The template filled with this database's ids (4 rows, 2 events)."""
    return TEMPLATE.read_text(encoding="utf-8").format(
        event=events[0].pk,
        other_event=events[1].pk,
        member_email=contractor_member.email.upper(),
        member_org=contractor_org.name,
        member_org_code=contractor_org.municipality.code,
    )


def xlsx_bytes(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_rows(text: str) -> list[list[str]]:
    import csv

    return list(csv.reader(io.StringIO(text)))


def counts() -> dict:
    return {
        "users": User.objects.count(),
        "organisations": Organisation.objects.count(),
        "memberships": Membership.objects.count(),
        "registrations": Registration.objects.count(),
        "registration_states": sorted(
            Registration.objects.values_list("pk", "status", "attended", "mode", "social")
        ),
    }


def run(text_or_bytes, filename="attendance.csv", **kwargs):
    raw = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
    return import_attendance(raw=raw, filename=filename, **kwargs)


def errors_of(result) -> list[tuple]:
    return [(e.row, e.column) for e in result.errors]


# --- happy paths ---------------------------------------------------------------------


def _assert_template_imported(result, events, contractor_member, contractor_org):
    assert result.ok, [str(e) for e in result.errors]
    assert result.written
    assert (result.rows, result.created_users, result.created_organisations) == (4, 2, 1)
    assert (result.created_registrations, result.updated_registrations) == (3, 1)
    assert result.created_memberships == 1

    sato = User.objects.get(email="sato.hanako@example.org")
    assert sato.full_name == "佐藤 花子" and sato.full_name_kana == "さとう はなこ"
    assert sato.is_contact
    ebetsu = Organisation.objects.get(name="江別市 生活支援課")
    assert ebetsu.kind == Organisation.Kind.MUNICIPALITY
    assert ebetsu.municipality.code == "012173"
    assert ebetsu.region == ebetsu.municipality.region
    assert Membership.objects.filter(user=sato, organisation=ebetsu).count() == 1

    first = Registration.objects.get(event=events[0], user=sato)
    assert first.status == Registration.Status.CONFIRMED
    assert (first.attended, first.mode, first.social) == (True, "venue", "confirmed")
    assert first.organisation == ebetsu
    assert first.attended_at == events[0].starts_at
    second = Registration.objects.get(event=events[1], user=sato)
    assert (second.attended, second.mode, second.social) == (True, "venue", "none")

    # The member's waitlisted registration became a confirmed, attended one.
    member = Registration.objects.get(event=events[0], user=contractor_member)
    assert member.status == Registration.Status.CONFIRMED
    assert (member.attended, member.mode) == (True, "online")
    assert Registration.objects.filter(event=events[0], user=contractor_member).count() == 1
    assert Membership.objects.filter(user=contractor_member).count() == 1

    kojin = Registration.objects.get(event=events[0], user__email="kojin@example.org")
    assert kojin.organisation is None
    assert (kojin.attended, kojin.mode) == (False, "online")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_import_csv_encodings_write_every_row(
    encoding, csv_text, events, waitlisted, contractor_member, contractor_org
):
    result = run(csv_text.encode(encoding))
    _assert_template_imported(result, events, contractor_member, contractor_org)


def test_import_xlsx_writes_every_row(
    csv_text, events, waitlisted, contractor_member, contractor_org
):
    rows = csv_rows(csv_text)
    # Spreadsheet cells come typed: numbers for ids and codes (leading zero lost),
    # booleans, empty cells as None.
    for row in rows[1:]:
        row[0] = int(row[0])
        row[6] = int(row[6]) if row[6] else None
    result = run(xlsx_bytes(rows), filename="名簿.xlsx")
    _assert_template_imported(result, events, contractor_member, contractor_org)


def test_import_same_file_twice_updates_instead_of_duplicating(csv_text, events, waitlisted):
    assert run(csv_text).written
    before = counts()
    again = run(csv_text)
    assert again.written
    assert (again.created_registrations, again.updated_registrations) == (0, 4)
    assert (again.created_users, again.created_organisations, again.created_memberships) == (
        0,
        0,
        0,
    )
    assert counts() == before


def test_import_dry_run_writes_nothing_but_counts(csv_text, events, waitlisted):
    before = counts()
    result = run(csv_text, dry_run=True)
    assert result.ok and not result.written
    assert (result.created_registrations, result.updated_registrations) == (3, 1)
    assert [p.row for p in result.preview] == [2, 3, 4, 5]
    assert counts() == before


def test_import_existing_user_keeps_their_name(events, contractor_member):
    text = f"{HEADER}\n{events[0].pk},{contractor_member.email},別の 名前,べつの なまえ,,,,,,1\n"
    assert run(text).written
    contractor_member.refresh_from_db()
    assert contractor_member.full_name == "受託 花子"


def test_import_mode_defaults_to_the_event_format(events):
    text = (
        f"{HEADER}\n{events[0].pk},a@example.org,甲,,,,,,,1\n"
        f"{events[1].pk},a@example.org,甲,,,,,,,1\n"
    )
    assert run(text).written
    modes = dict(Registration.objects.values_list("event_id", "mode"))
    assert modes == {events[0].pk: "venue", events[1].pk: "online"}


def test_import_ignores_blank_lines_and_extra_columns(events):
    text = f"メモ,{HEADER}\n\nx,{events[0].pk},a@example.org,甲,,,,,,,1\n,,,,,,,,,,\n"
    result = run(text)
    assert result.written and result.rows == 1


def test_import_reads_and_writes_in_bulk(events):
    """No per-row queries: the query count does not grow with the rows. How
    many rows a second it imports is measured by `make bench` (import rows/s,
    docs/benchmarks.md), not timed here."""

    def file_with(n):
        lines = [HEADER] + [
            f"{events[0].pk},p{i}@example.org,参加 {i},,団体{i % 40},受託団体,011002,,,1"
            for i in range(n)
        ]
        return "\n".join(lines)

    with CaptureQueriesContext(connection) as small:
        assert run(file_with(10), dry_run=True).ok
    with CaptureQueriesContext(connection) as large:
        assert run(file_with(400), dry_run=True).ok  # one IN (...) chunk
    assert len(small.captured_queries) == len(large.captured_queries)

    text = file_with(3000)
    # Every row here creates a person, a membership and a registration.
    with CaptureQueriesContext(connection) as written:
        result = run(text)
    assert result.written and result.created_registrations == 3000
    assert Registration.objects.count() == 3000
    # Written in batches, not row by row: far fewer statements than rows.
    inserts = [q for q in written.captured_queries if q["sql"].startswith("INSERT")]
    assert 0 < len(inserts) < 100

    # Importing the same file again changes nothing and writes nothing.
    with CaptureQueriesContext(connection) as again:
        assert run(text).updated_registrations == 3000
    assert not [q for q in again.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))]


# --- malformed files write nothing ---------------------------------------------------


def test_import_wrong_encoding_writes_nothing(csv_text, events):
    before = counts()
    result = run(csv_text.encode("utf-16"))
    assert not result.written
    assert errors_of(result) == [(None, None)]
    assert "文字コード" in result.errors[0].message
    assert counts() == before


def test_import_missing_column_names_it(events):
    before = counts()
    header = HEADER.replace(",municipality_code", "")
    result = run(f"{header}\n{events[0].pk},a@example.org,甲,,,,,,1\n")
    assert errors_of(result) == [(1, "municipality_code")]
    assert "municipality_code" in str(result.errors[0])
    assert counts() == before


def test_import_unknown_event_names_row_and_column(csv_text, events):
    before = counts()
    text = csv_text + "999999,x@example.org,甲,,,,,,,1\n"
    result = run(text)
    assert errors_of(result) == [(6, "event_id")]
    assert "999999" in result.errors[0].message
    assert counts() == before


@pytest.mark.parametrize(
    ("code", "message"),
    [("123", "6桁"), ("01100", "6桁"), ("019999", "見つかりません"), ("札幌", "6桁")],
)
def test_import_bad_municipality_code_names_row_and_column(events, code, message):
    before = counts()
    text = f"{HEADER}\n{events[0].pk},a@example.org,甲,,新しい団体,受託団体,{code},,,1\n"
    result = run(text)
    assert errors_of(result) == [(2, "municipality_code")]
    assert message in result.errors[0].message
    assert str(result.errors[0]).startswith("行 2・列 municipality_code: ")
    assert counts() == before


def test_import_bad_kind_names_row_and_column(csv_text, events):
    before = counts()
    text = csv_text.replace(",自治体,", ",NPO法人,")
    result = run(text)
    assert errors_of(result) == [(2, "organisation_kind")]
    assert "NPO法人" in result.errors[0].message
    assert counts() == before


def test_import_new_organisation_needs_a_kind(events):
    text = f"{HEADER}\n{events[0].pk},a@example.org,甲,,新しい団体,,011002,,,1\n"
    result = run(text)
    assert errors_of(result) == [(2, "organisation_kind")]
    assert not Organisation.objects.filter(name="新しい団体").exists()


def test_import_new_person_needs_a_name(events):
    result = run(f"{HEADER}\n{events[0].pk},nobody@example.org,,,,,,,,1\n")
    assert errors_of(result) == [(2, "full_name")]
    assert not User.objects.filter(email="nobody@example.org").exists()


def test_import_duplicate_rows_error_on_the_second(csv_text, events):
    before = counts()
    lines = csv_text.splitlines()
    text = "\n".join([*lines, lines[1].replace("Sato.Hanako", "SATO.HANAKO")]) + "\n"
    result = run(text)
    assert errors_of(result) == [(6, "email")]
    assert "2 行目" in result.errors[0].message
    assert counts() == before


def test_import_every_bad_cell_is_reported_in_one_pass(events):
    before = counts()
    text = (
        f"{HEADER}\n"
        f"{events[0].pk},good@example.org,良 一,,,,,,,1\n"
        f"abc,not-an-email,甲,,,,,徒歩,たぶん,1\n"
        f"{events[0].pk},b@example.org,乙,,団体,受託団体,011002,,,2\n"
    )
    result = run(text)
    assert errors_of(result) == [
        (3, "event_id"),
        (3, "email"),
        (3, "mode"),
        (3, "social"),
        (4, "attended"),
    ]
    assert counts() == before
    assert not User.objects.filter(email="good@example.org").exists()


def test_import_xlsx_that_is_a_text_file_writes_nothing(csv_text, events):
    before = counts()
    result = run(csv_text, filename="attendance.xlsx")
    assert errors_of(result) == [(None, None)]
    assert "Excel" in result.errors[0].message
    assert counts() == before


def test_import_old_xls_is_refused_clearly(events):
    result = run(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, filename="old.xls")
    assert ".xls" in result.errors[0].message


@pytest.mark.parametrize("content", [b"", b"\n\n", HEADER.encode() + b"\n", b"\xef\xbb\xbf"])
def test_import_empty_file_writes_nothing(events, content):
    before = counts()
    result = run(content)
    assert len(result.errors) == 1 and not result.written
    assert counts() == before


def test_import_empty_xlsx_writes_nothing(events):
    result = run(xlsx_bytes([]), filename="empty.xlsx")
    assert len(result.errors) == 1 and not result.written


# --- the command ---------------------------------------------------------------------


def write(tmp_path, text, name="attendance.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_command_writes_and_summarises(tmp_path, csv_text, events, waitlisted):
    out = io.StringIO()
    call_command("import_attendance", write(tmp_path, csv_text), stdout=out)
    assert "参加記録 新規 3 件・更新 1 件" in out.getvalue()
    assert "取り込みました" in out.getvalue()
    assert Registration.objects.filter(attended=True).count() == 3


def test_import_command_dry_run_exits_zero_and_writes_nothing(tmp_path, csv_text, events):
    before = counts()
    out = io.StringIO()
    call_command("import_attendance", write(tmp_path, csv_text), "--dry-run", stdout=out)
    assert "何も保存していません" in out.getvalue()
    assert counts() == before


def test_import_command_errors_exit_one_with_rows_and_columns(tmp_path, csv_text, events):
    before = counts()
    text = csv_text.replace(",自治体,", ",NPO法人,") + "999999,x@example.org,甲,,,,,,,1\n"
    err = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_attendance", write(tmp_path, text), stderr=err)
    assert excinfo.value.returncode == 1
    assert "何も保存していません" in str(excinfo.value)
    assert "行 2・列 organisation_kind:" in err.getvalue()
    assert "行 6・列 event_id:" in err.getvalue()
    assert counts() == before


def test_import_command_missing_file_exits_one(tmp_path):
    with pytest.raises(CommandError) as excinfo:
        call_command("import_attendance", str(tmp_path / "nope.csv"))
    assert excinfo.value.returncode == 1


# --- the pages ------------------------------------------------------------------------


def upload(client, content: bytes, name="attendance.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("events:import"), {"file": SimpleUploadedFile(name, content)})


def test_import_page_previews_then_confirms(client_for, secretariat, csv_text, events, waitlisted):
    client = client_for(secretariat)
    page = client.get(reverse("events:import"))
    assert page.status_code == 200
    assert 'data-busy="処理中…"' in page.content.decode()

    before = counts()
    preview = upload(client, csv_text.encode("cp932"))
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "取り込みを確定する" in html
    assert "佐藤 花子" in html and "江別市 生活支援課" in html and "新しい組織" in html
    assert counts() == before  # the preview is a dry run
    pending = client.session[SESSION_KEY]
    assert default_storage.exists(pending["path"])

    done = client.post(reverse("events:import_confirm"), {"token": pending["token"]})
    assert done.status_code == 302 and done.url == reverse("events:import")
    assert Registration.objects.filter(event=events[0], attended=True).count() == 2
    assert User.objects.filter(email="sato.hanako@example.org").exists()
    assert SESSION_KEY not in client.session
    assert not default_storage.exists(pending["path"])
    follow = client.get(done.url)
    assert "参加記録 新規 3 件・更新 1 件" in follow.content.decode()


def test_import_page_shows_errors_and_offers_no_confirm(client_for, secretariat, csv_text, events):
    client = client_for(secretariat)
    before = counts()
    response = upload(client, (csv_text + "999999,x@example.org,甲,,,,,,,1\n").encode())
    html = response.content.decode()
    assert response.status_code == 200
    assert "何も保存していません" in html
    assert "<code>event_id</code>" in html and "999999" in html
    assert "取り込みを確定する" not in html
    assert SESSION_KEY not in client.session
    assert counts() == before


def test_import_page_rejects_other_extensions(client_for, secretariat, events):
    response = upload(client_for(secretariat), b"x", name="list.pdf")
    assert response.status_code == 200
    assert "CSV（.csv）か Excel（.xlsx）" in response.content.decode()


def test_import_confirm_with_expired_file_redirects_without_writing(
    client_for, secretariat, csv_text, events
):
    client = client_for(secretariat)
    upload(client, csv_text.encode())
    pending = client.session[SESSION_KEY]
    default_storage.delete(pending["path"])
    before = counts()
    response = client.post(
        reverse("events:import_confirm"), {"token": pending["token"]}, follow=True
    )
    assert response.status_code == 200
    assert "もう一度アップロードしてください" in response.content.decode()
    assert counts() == before


def test_import_confirm_without_upload_or_with_a_wrong_token(client_for, secretariat, events):
    client = client_for(secretariat)
    before = counts()
    for data in ({}, {"token": "ｘ偽"}, {"token": "abc"}):
        response = client.post(reverse("events:import_confirm"), data)
        assert response.status_code == 302
    assert client.get(reverse("events:import_confirm")).status_code == 405
    assert counts() == before


def test_import_confirm_revalidates(client_for, secretariat, csv_text, events):
    """Data changed between preview and confirm: nothing is written."""
    client = client_for(secretariat)
    upload(client, csv_text.encode())
    token = client.session[SESSION_KEY]["token"]
    events[1].delete()
    before = counts()
    response = client.post(reverse("events:import_confirm"), {"token": token})
    assert response.status_code == 200
    assert "確認のあとでデータが変わったため" in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize(
    "actor", ["contractor_member", "municipal_member", "org_admin", "committee"]
)
def test_import_pages_are_404_for_everyone_but_the_secretariat(
    actor, actors, client_for, csv_text, events
):
    client = client_for(actors[actor])
    before = counts()
    assert client.get(reverse("events:import")).status_code == 404
    assert upload(client, csv_text.encode()).status_code == 404
    assert client.post(reverse("events:import_confirm"), {"token": "x"}).status_code == 404
    assert counts() == before


def test_import_pages_send_anonymous_visitors_to_login(client, events):
    response = client.get(reverse("events:import"))
    assert response.status_code == 302 and "/accounts/login/" in response.url
