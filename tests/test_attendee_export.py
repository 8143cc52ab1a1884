"""Attendee export (events:export): CSV with BOM and XLSX, secretariat only."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from events.models import Registration

from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

# The attendance import's columns (events/importing.py), then those for reading.
HEADERS = [
    "イベントID",
    "メールアドレス",
    "氏名",
    "ふりがな",
    "所属",
    "組織種別",
    "市町村コード",
    "参加方法",
    "懇親会",
    "出席",
    "状態",
    "申込ID",
    "分科会",
    "事前質問",
    "申込日時",
]
ATTACK = '=HYPERLINK("http://evil.example/","詳細")'


@pytest.fixture
def event(db):
    return EventFactory(title="第3回 情報交換会", has_social=True)


@pytest.fixture
def registration(event, contractor_member, contractor_org):
    session = SessionFactory(event=event, title="家計改善支援")
    return RegistrationFactory(
        event=event,
        user=contractor_member,
        organisation=contractor_org,
        mode=Registration.Mode.ONLINE,
        session=session,
        social=Registration.SocialStatus.CONFIRMED,
        attended=True,
        question=ATTACK,
    )


def export(client, event, fmt):
    return client.get(reverse("events:export", args=[event.pk, fmt]))


def test_export_csv_has_bom_headers_and_rows(client_for, secretariat, event, registration):
    guest = RegistrationFactory(
        event=event,
        user=UserFactory(email="guest@example.org", full_name="一般 参加"),
        organisation_name="個人",
        status=Registration.Status.WAITLISTED,
    )
    RegistrationFactory(user=UserFactory(email="elsewhere@example.org"))  # another event

    response = export(client_for(secretariat), event, "csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        f'attachment; filename="event-{event.pk}-attendees.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    assert len(rows) == 3
    member = dict(zip(HEADERS, rows[1], strict=True))
    assert member["申込ID"] == str(registration.pk)
    assert member["氏名"] == "受託 花子"
    assert member["イベントID"] == str(event.pk)
    assert member["メールアドレス"] == "npo@example.org"
    assert member["所属"] == "札幌生活サポートセンター"
    assert member["組織種別"] == "受託団体"
    assert member["市町村コード"] == "011002"
    assert member["参加方法"] == "オンライン"
    assert member["分科会"] == "家計改善支援"
    assert member["懇親会"] == "参加確定"
    assert member["状態"] == "参加確定"
    assert member["出席"] == "○"
    assert member["申込日時"][:4].isdigit()
    other = dict(zip(HEADERS, rows[2], strict=True))
    assert other["申込ID"] == str(guest.pk)
    assert (other["所属"], other["組織種別"], other["市町村コード"]) == ("個人", "", "")
    assert (other["状態"], other["出席"], other["懇親会"], other["分科会"]) == (
        "キャンセル待ち",
        "",
        "",
        "",
    )
    assert "elsewhere@example.org" not in response.content.decode("utf-8-sig")


def test_export_csv_escapes_formulae(client_for, secretariat, event, registration):
    RegistrationFactory(
        event=event,
        user=UserFactory(full_name="+81 太郎"),
        organisation_name="@SUM(1+1)",
        question="-2+3",
    )
    response = export(client_for(secretariat), event, "csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    question = rows[1][HEADERS.index("事前質問")]
    assert not question.startswith("=")
    assert question == "'" + ATTACK  # the text is kept, only defused
    second = dict(zip(HEADERS, rows[2], strict=True))
    assert (second["氏名"], second["所属"], second["事前質問"]) == (
        "'+81 太郎",
        "'@SUM(1+1)",
        "'-2+3",
    )
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_export_xlsx_opens_with_openpyxl(client_for, secretariat, event, registration):
    response = export(client_for(secretariat), event, "xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert f"event-{event.pk}-attendees.xlsx" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == HEADERS
    assert rows[1][HEADERS.index("氏名")] == "受託 花子"
    question = sheet.cell(row=2, column=HEADERS.index("事前質問") + 1)
    assert question.data_type != "f" and not str(question.value).startswith("=")


def test_export_empty_event_has_only_headers(client_for, secretariat, event):
    response = export(client_for(secretariat), event, "csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [HEADERS]


@pytest.mark.parametrize("fmt", ["json", "xls", "tsv", "CSV"])
def test_export_other_formats_are_404(client_for, secretariat, event, fmt):
    assert export(client_for(secretariat), event, fmt).status_code == 404


def test_export_unknown_event_is_404(client_for, secretariat):
    response = client_for(secretariat).get(reverse("events:export", args=[999999, "csv"]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "actor", ["outsider", "contractor_member", "municipal_member", "org_admin", "committee"]
)
def test_export_is_404_for_everyone_but_the_secretariat(actor, actors, client_for, registration):
    client = client_for(actors[actor])
    for fmt in ("csv", "xlsx"):
        assert export(client, registration.event, fmt).status_code == 404


def test_export_sends_anonymous_visitors_to_login(client, registration):
    response = export(client, registration.event, "csv")
    assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.parametrize("rows", [1, 50])
def test_export_query_count_does_not_grow(
    rows, client_for, secretariat, event, django_assert_num_queries
):
    session = SessionFactory(event=event)
    for i in range(rows):
        RegistrationFactory(
            event=event,
            organisation=OrganisationFactory(),
            session=session if i % 2 else None,
        )
    client = client_for(secretariat)
    # session, user, roles (2), event, registrations with their relations
    with django_assert_num_queries(6):
        response = export(client, event, "csv")
    assert response.content.decode("utf-8-sig").count("\n") == rows + 1
