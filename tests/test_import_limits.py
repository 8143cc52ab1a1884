"""Import limits and unreadable files on every import path (issue 8, defects 6 and 11).

Every import — the admin's organisation and membership imports and the
attendance import — checks the same limits of core.importing before a parser
sees the file: upload size, rows, columns, cells, and an XLSX's unpacked size
and sheet shape. Each bomb here is small on disk (an XLSX bomb is a few KB of
compressed repetitive XML) and the tests show it is rejected before parsing:
the parser is replaced by one that fails the test if it is ever called.

Defect 11's import items: a missing column, a header-only file, control
characters and a duplicated column are Japanese messages that say what is
wrong (and where), never a traceback or an English text.
"""

import functools
import io
import tracemalloc
import zipfile

import openpyxl
import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core import importing
from core.importing import CSV, XLSX, ImportFileError
from events.importing import COLUMNS, import_attendance
from events.models import Registration
from network.models import Membership, Organisation, User
from network.resources import OrganisationResource
from tests import hostile_files
from tests.event_factories import EventFactory

ORG_HEADER = "name,kind,municipality"
ATTENDANCE_HEADER = ",".join(COLUMNS)


def never(*args, **kwargs):
    raise AssertionError("the parser was called for a file the limits should have refused")


def counts():
    return (
        Organisation.objects.count(),
        Membership.objects.count(),
        User.objects.count(),
        Registration.objects.count(),
    )


def admin_upload(client, content, filename, fmt, model="organisation"):
    return client.post(
        reverse(f"admin:network_{model}_import"),
        {"format": fmt, "resource": "0", "import_file": SimpleUploadedFile(filename, content)},
    )


def form_error(response) -> str:
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    return " ".join(response.context["form"].errors.get("import_file", []))


# --- XLSX files built by hand -----------------------------------------------------


def xlsx_with_sheet(chunks, dimension=None) -> bytes:
    """A workbook whose one sheet is `chunks` (str pieces of <sheetData>),
    written compressed piece by piece (tests/hostile_files.xlsx)."""
    return hostile_files.xlsx(chunks, dimension=dimension or "")


def cell(ref, text):
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def row(number, values):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    cells = "".join(cell(f"{letters[i]}{number}", v) for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


@functools.cache
def zip_bomb() -> bytes:
    """One row whose XML unpacks to ~70 MB (over the 64 MB limit) from ~70 KB."""
    filler = cell("A2", "x" * 1000) * 1000  # ~1 MB per chunk, highly repetitive
    return xlsx_with_sheet(
        [row(1, ["name", "kind", "municipality"]), "<row r='2'>", *[filler] * 70, "</row>"]
    )


def wide_row() -> bytes:
    cells = "".join(
        f'<c t="inlineStr"><is><t>{i}</t></is></c>' for i in range(importing.MAX_COLUMNS + 1)
    )
    return xlsx_with_sheet([row(1, ["name", "kind", "municipality"]), f'<row r="2">{cells}</row>'])


def padded_by_dimension() -> bytes:
    """Tiny, but openpyxl would pad it to 1,048,576 rows × 16,384 columns."""
    return xlsx_with_sheet([row(1, ["name", "kind", "municipality"])], dimension="A1:XFD1048576")


def far_row() -> bytes:
    """Tiny, but openpyxl would fill the gap up to row 1,000,000 with empty rows."""
    return xlsx_with_sheet(
        [row(1, ["name", "kind", "municipality"]), row(1_000_000, ["a", "b", "c"])]
    )


XLSX_BOMBS = {
    "zip-bomb": (zip_bomb, "展開後の上限 64 MB"),
    "wide-row": (wide_row, "2行目の列が多すぎます（上限 100 列）"),
    "dimension": (padded_by_dimension, "行が多すぎます（上限 50000 行）"),
    "far-row": (far_row, "行が多すぎます（上限 50000 行）"),
}


def test_hand_built_xlsx_is_read_normally():
    """The builder makes files the reader accepts: the bombs below are
    refused for their size, not for being malformed."""
    raw = xlsx_with_sheet(
        [row(1, ["name", "kind", "municipality"]), row(2, ["甲", "support", "011002"])]
    )

    dataset = XLSX().create_dataset(raw)

    assert (dataset.headers, list(dataset)) == (
        ["name", "kind", "municipality"],
        [("甲", "support", "011002")],
    )


@pytest.mark.parametrize("bomb", list(XLSX_BOMBS))
@pytest.mark.django_db
def test_admin_xlsx_bomb_is_refused_before_parsing(client_for, superuser, monkeypatch, bomb):
    make, message = XLSX_BOMBS[bomb]
    raw = make()
    assert len(raw) < 200_000  # small on disk
    monkeypatch.setattr(openpyxl, "load_workbook", never)
    before = counts()

    response = admin_upload(client_for(superuser), raw, "bomb.xlsx", "1")

    assert message in form_error(response)
    assert counts() == before


@pytest.mark.parametrize("bomb", list(XLSX_BOMBS))
@pytest.mark.django_db
def test_attendance_xlsx_bomb_is_refused_before_parsing(monkeypatch, bomb):
    make, message = XLSX_BOMBS[bomb]
    monkeypatch.setattr(openpyxl, "load_workbook", never)
    before = counts()

    result = import_attendance(raw=make(), filename="bomb.xlsx")

    assert not result.written
    assert [(e.row, e.column) for e in result.errors] == [(None, None)]
    assert message in result.errors[0].message
    assert counts() == before


def test_xlsx_bomb_check_uses_little_memory():
    raw = zip_bomb()
    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError, match="展開後の上限"):
            importing.check_xlsx(raw)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 5 * 1024 * 1024


def test_xlsx_scan_stops_at_the_cell_limit(monkeypatch):
    """Many rows, each within the column limit, past the cell limit: the scan
    stops there (the limit lowered so that the file stays small)."""
    monkeypatch.setattr(importing, "MAX_CELLS", 300)
    raw = xlsx_with_sheet(row(n, ["a", "b", "c"]) for n in range(1, 102))
    monkeypatch.setattr(openpyxl, "load_workbook", never)

    with pytest.raises(ImportFileError, match="セルが多すぎます（上限 300 セル）"):
        XLSX().create_dataset(raw)


def test_xlsx_with_a_doctype_is_refused():
    raw = xlsx_with_sheet([row(1, ["a"])])
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    parts["xl/workbook.xml"] = b'<!DOCTYPE lol [<!ENTITY a "aaaaaaaa">]>' + parts["xl/workbook.xml"]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)

    with pytest.raises(ImportFileError, match="Excel ファイル（.xlsx）として読み込めません"):
        importing.check_xlsx(out.getvalue())


# --- CSV bombs --------------------------------------------------------------------


def oversize_csv() -> bytes:
    line = "甲,support,011002\n".encode()
    return ORG_HEADER.encode() + b"\n" + line * (importing.MAX_BYTES // len(line) + 1)


def too_many_rows_csv() -> bytes:
    return (ORG_HEADER + "\n" + "甲,support,011002\n" * (importing.MAX_ROWS + 1)).encode()


def too_many_columns_csv() -> bytes:
    header = ",".join([ORG_HEADER] + [f"extra{i}" for i in range(importing.MAX_COLUMNS)])
    return (header + "\n").encode()


def too_many_cells_csv() -> bytes:
    # One line of a million commas: 1 MB that would be a million cells.
    return (ORG_HEADER + "\n" + "," * importing.MAX_CELLS + "\n").encode()


CSV_BOMBS = {
    "too-many-rows": (too_many_rows_csv, "行が多すぎます（上限 50000 行）"),
    "too-many-columns": (too_many_columns_csv, "1行目の列が多すぎます（上限 100 列）"),
    "too-many-cells": (too_many_cells_csv, "セルが多すぎます（上限 1000000 セル）"),
}


@pytest.mark.django_db
def test_admin_oversize_csv_is_refused_from_its_size(client_for, superuser, monkeypatch):
    monkeypatch.setattr(CSV, "create_dataset", never)
    before = counts()

    response = admin_upload(client_for(superuser), oversize_csv(), "big.csv", "0")

    assert "ファイルが大きすぎます（上限 10 MB）" in form_error(response)
    assert counts() == before


def test_oversize_file_is_refused_by_the_formats_too():
    # The confirm step reads the stored upload through the format again.
    raw = b"x" * (importing.MAX_BYTES + 1)
    for fmt in (CSV, XLSX):
        with pytest.raises(ImportFileError, match="ファイルが大きすぎます"):
            fmt().create_dataset(raw)


@pytest.mark.django_db
def test_attendance_oversize_file_is_refused(monkeypatch):
    monkeypatch.setattr(importing, "decode_upload", never)
    before = counts()

    result = import_attendance(raw=oversize_csv(), filename="big.csv")

    assert [e.message for e in result.errors] == [
        "ファイルが大きすぎます（上限 10 MB）。分けて取り込んでください。"
    ]
    assert counts() == before


@pytest.mark.parametrize("bomb", list(CSV_BOMBS))
@pytest.mark.django_db
def test_admin_csv_bomb_is_refused_before_parsing(client_for, superuser, monkeypatch, bomb):
    make, message = CSV_BOMBS[bomb]
    monkeypatch.setattr(tablib, "import_set", never)
    monkeypatch.setattr(OrganisationResource, "import_data", never)
    before = counts()

    response = admin_upload(client_for(superuser), make(), "bomb.csv", "0")

    assert message in form_error(response)
    assert counts() == before


@pytest.mark.parametrize("bomb", list(CSV_BOMBS))
@pytest.mark.django_db
def test_attendance_csv_bomb_is_refused(bomb):
    make, message = CSV_BOMBS[bomb]
    text = make().decode().replace(ORG_HEADER, ATTENDANCE_HEADER, 1)
    before = counts()

    result = import_attendance(raw=text.encode(), filename="bomb.csv")

    assert not result.written
    assert [(e.row, e.column) for e in result.errors] == [(None, None)]
    assert message in result.errors[0].message
    assert counts() == before


def test_csv_row_limit_stops_reading_at_the_limit():
    """The reader stops at the first row past the limit instead of reading on."""
    read = []

    def rows():
        for n in range(importing.MAX_ROWS + 10):
            read.append(n)
            yield ["a"]

    with pytest.raises(ImportFileError, match="行が多すぎます"):
        list(importing.checked_rows(rows()))

    assert len(read) == importing.MAX_ROWS + 2


# --- defect 11: messages that say what is wrong ----------------------------------------


@pytest.mark.django_db
def test_admin_import_missing_column_is_a_japanese_message_without_traceback(client_for, superuser):
    client = client_for(superuser)

    response = admin_upload(client, "name,kind\n甲,support\n".encode(), "x.csv", "0")

    body = response.content.decode()
    assert "必須の列がありません: municipality" in body
    assert "Traceback" not in body
    assert ".py" not in body
    assert response.context.get("confirm_form") is None
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_admin_import_unexpected_error_is_a_japanese_message_without_traceback(
    client_for, superuser, monkeypatch
):
    def broken(self, dataset, **kwargs):
        raise RuntimeError("/srv/secret/path.py exploded")

    monkeypatch.setattr(OrganisationResource, "before_import", broken)

    response = admin_upload(
        client_for(superuser), "name,kind,municipality\n甲,support,011002\n".encode(), "x.csv", "0"
    )

    body = response.content.decode()
    assert "取り込み中に予期しないエラーが起きました。何も保存されていません。" in body
    assert "/srv/secret" not in body and "Traceback" not in body
    assert Organisation.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "filename", "fmt"),
    [
        (b"name,kind,municipality\n", "header.csv", "0"),
        (b"name,kind,municipality\r\n\r\n", "header.csv", "0"),
        ("__xlsx__", "header.xlsx", "1"),
    ],
    ids=["csv", "csv-blank-line", "xlsx"],
)
@pytest.mark.django_db
def test_admin_import_header_only_file_is_a_japanese_message(
    client_for, superuser, content, filename, fmt
):
    if content == "__xlsx__":
        content = xlsx_with_sheet([row(1, ["name", "kind", "municipality"])])

    response = admin_upload(client_for(superuser), content, filename, fmt)

    assert form_error(response) == (
        "1行目（列名）の下にデータの行がありません。2行目から1件1行で書いてください。"
    )
    assert "No valid data" not in response.content.decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Django's own upload check answers first for a 0-byte file.
        (b"", "入力されたファイルは空です。"),
        (b"\n\n", "ファイルが空です。1行目に列名、2行目からデータを書いてください。"),
    ],
    ids=["0-bytes", "blank-lines"],
)
@pytest.mark.django_db
def test_admin_import_empty_file_is_a_japanese_message(client_for, superuser, content, message):
    response = admin_upload(client_for(superuser), content, "empty.csv", "0")

    assert form_error(response) == message
    assert "No valid data" not in response.content.decode()


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f"])
@pytest.mark.django_db
def test_admin_import_control_character_is_reported_where_it_is(client_for, superuser, character):
    content = f"name,kind,municipality\n甲,support,011002\n乙{character}団体,support,011002\n"

    response = admin_upload(client_for(superuser), content.encode(), "x.csv", "0")

    error = form_error(response)
    assert error == (
        f"3行目・1列目（name）に制御文字（U+{ord(character):04X}）が含まれています。"
        "見えない文字なので、そのセルを入力し直してください。"
    )
    assert "文字コード" not in error
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_attendance_import_control_character_is_reported_where_it_is():
    event = EventFactory()
    text = f"{ATTENDANCE_HEADER}\n{event.pk},a@example.org,甲\x00乙,,,,,,,1\n"
    before = counts()

    result = import_attendance(raw=text.encode(), filename="a.csv")

    assert [e.message for e in result.errors] == [
        "2行目・3列目（full_name）に制御文字（U+0000）が含まれています。"
        "見えない文字なので、そのセルを入力し直してください。"
    ]
    assert counts() == before


def test_text_mostly_of_control_characters_is_still_an_encoding_problem():
    with pytest.raises(ImportFileError, match="文字コードを判別できません"):
        CSV().create_dataset("name,kind\nabc,def\n".encode("utf-16-le"))


@pytest.mark.parametrize(
    ("header", "name"),
    [("name,kind,municipality,name", "name"), ("name,kind,municipality, Kind ", "Kind")],
)
@pytest.mark.django_db
def test_admin_import_duplicated_column_is_refused(client_for, superuser, header, name):
    content = f"{header}\n甲,support,011002,乙\n".encode()

    response = admin_upload(client_for(superuser), content, "x.csv", "0")

    assert name in form_error(response)
    assert form_error(response).startswith(f"1行目の列名「{name}」が2回あります")
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_admin_import_duplicated_column_in_xlsx_is_refused(client_for, superuser):
    raw = xlsx_with_sheet(
        [
            row(1, ["email", "organisation", "email"]),
            row(2, ["a@example.org", "甲", "b@example.org"]),
        ]
    )

    response = admin_upload(client_for(superuser), raw, "m.xlsx", "1", model="membership")

    assert form_error(response) == (
        "1行目の列名「email」が2回あります（1列目と3列目）。同じ列は1つにしてください。"
    )
    assert counts() == (0, 0, 1, 0)  # the superuser only


@pytest.mark.django_db
def test_attendance_import_duplicated_column_is_refused():
    event = EventFactory()
    text = f"{ATTENDANCE_HEADER},email\n{event.pk},a@example.org,甲,,,,,,,1,b@example.org\n"
    before = counts()

    result = import_attendance(raw=text.encode(), filename="a.csv")

    assert [e.message for e in result.errors] == [
        "1行目の列名「email」が2回あります（2列目と11列目）。同じ列は1つにしてください。"
    ]
    assert counts() == before


def test_unnamed_columns_are_not_duplicates():
    dataset = CSV().create_dataset(b"name,kind,municipality,,\n\xe7\x94\xb2,support,011002,,\n")

    assert dataset.headers == ["name", "kind", "municipality", "", ""]
