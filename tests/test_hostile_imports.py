"""Every malformed file of tests/hostile_files.py through every importer (issue #15).

Each file goes in through the entry points a person uses — the web upload
logged in as the secretariat (the attendance page, the admin's organisation
and membership imports, the navi's import) and the management commands —
and each must be refused: no 500 and no traceback, a Japanese message that
says what is wrong (the text is asserted), nothing written (registrations,
users, organisations, memberships, the directory's rows, the outbox, and no
upload kept for a confirmation), and for the big files a bounded peak of
memory (tracemalloc, a generous literal bound; no wall-time assertions).

Formula injection is not a refusal: a cell starting with = + - @ is stored as
the text it is and quoted on export (core.importing.defuse), see the end of
this file and docs/imports.md.
"""

from __future__ import annotations

import csv
import html
import io
import tracemalloc

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.models import OutboxMessage
from directory.models import Location, Phone, Provider, Schedule, Service, ServiceAtLocation
from events.models import Registration
from network.models import Membership, Organisation, User
from tests import hostile_files as hostile
from tests.event_factories import held_meeting
from tests.factories import OrganisationFactory
from tests.test_security_admin import make_admin_secretariat

pytestmark = pytest.mark.django_db

ORGANISATION_NAME = "札幌生活サポートセンター"
MB = 1024 * 1024


# --- the importers ---------------------------------------------------------------------


def attendance_spec(event_id: int) -> hostile.Spec:
    return hostile.Spec(
        name="attendance",
        header=("イベントID", "メールアドレス", "氏名", "ふりがな", "所属", "組織種別")
        + ("市町村コード", "参加方法", "懇親会", "出席"),
        good=(str(event_id), "hostile@example.org", "敵対 花子", "てきたい はなこ")
        + ("敵対ファイル相談室", "受託団体", "011002", "会場", "", "○"),
        wrong_types=("第3回", "not-an-email", "敵対 花子", "", "", "会社")
        + ("札幌", "徒歩", "たぶん", "出席した"),
        required=1,
        alias="event_id",
    )


ORGANISATIONS = hostile.Spec(
    name="organisations",
    header=("組織名", "種別", "市町村コード", "有効"),
    good=("敵対ファイル相談室", "受託団体", "011002", "1"),
    wrong_types=("敵対ファイル相談室", "会社", "札幌", "たぶん"),
    required=1,
    alias="name",
)
MEMBERSHIPS = hostile.Spec(
    name="memberships",
    header=("メールアドレス", "氏名", "組織ID", "職種"),
    good=("hostile@example.org", "敵対 花子", ORGANISATION_NAME, "相談支援員"),
    wrong_types=("not-an-email", "敵対 花子", "組織999999", "社長"),
    required=2,
    alias="email",
)
DIRECTORY = hostile.Spec(
    name="directory",
    header=("municipality_code", "id", "name", "latitude", "phones"),
    good=("011002", "H1", "敵対ファイル窓口", "43.06", "011-222-3333"),
    wrong_types=("札幌", "H1", "敵対ファイル窓口", "北緯43度", "011-222-3333"),
    required=2,
)


def _context_errors(response) -> list[str]:
    """The messages a page shows: its form's errors and its result's."""
    found = []
    form = response.context.get("form") if response.context else None
    if form is not None:
        for errors in form.errors.values():
            found.extend(str(e) for e in errors)
    result = response.context.get("result") if response.context else None
    if result is not None:
        if hasattr(result, "errors") and isinstance(result.errors, list):
            found.extend(str(e) for e in result.errors)
        else:  # import-export's Result: the admin shows every row's errors
            from core.importing import import_errors

            found.extend(
                f"{e.row}行目・{e.field}: {e.message}" if e.row else e.message
                for e in import_errors(result)
            )
    return found


def _check_page(response) -> tuple[str, bool]:
    assert response.status_code == 200, response.status_code
    body = html.unescape(response.content.decode())
    assert "Traceback" not in body
    assert "Internal Server Error" not in body
    errors = _context_errors(response)
    confirmable = bool(
        response.context.get("confirm_form") is not None or response.context.get("token")
    )
    return "\n".join(errors), confirmable


class Importer:
    name = ""
    spec: hostile.Spec

    def __init__(self, spec, tmp_path, client):
        self.spec, self.tmp_path, self.client = spec, tmp_path, client


class AttendanceWeb(Importer):
    name = "attendance-web"

    def run(self, filename, raw):
        response = self.client.post(
            reverse("events:import"), {"file": SimpleUploadedFile(filename, raw)}
        )
        return _check_page(response)


class AdminImport(Importer):
    model = ""

    def run(self, filename, raw):
        response = self.client.post(
            reverse(f"admin:network_{self.model}_import"),
            {"format": "", "resource": "0", "import_file": SimpleUploadedFile(filename, raw)},
        )
        return _check_page(response)


class OrganisationsAdmin(AdminImport):
    name, model = "organisations-admin", "organisation"


class MembershipsAdmin(AdminImport):
    name, model = "memberships-admin", "membership"


class DirectoryWeb(Importer):
    name = "directory-web"

    def run(self, filename, raw):
        response = self.client.post(
            reverse("directory:import"), {"file": SimpleUploadedFile(filename, raw)}
        )
        return _check_page(response)


class Command(Importer):
    command = ""

    def run(self, filename, raw):
        path = self.tmp_path / filename
        path.write_bytes(raw)
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError) as raised:
            call_command(self.command, str(path), stdout=out, stderr=err)
        text = err.getvalue() + "\n" + str(raised.value)
        assert "Traceback" not in text
        return text, False


class AttendanceCommand(Command):
    name, command = "attendance-cli", "import_attendance"


class DirectoryCommand(Command):
    name, command = "directory-cli", "import_directory"


IMPORTERS = {
    cls.name: cls
    for cls in (
        AttendanceWeb,
        AttendanceCommand,
        OrganisationsAdmin,
        MembershipsAdmin,
        DirectoryWeb,
        DirectoryCommand,
    )
}


def counts() -> dict[str, int]:
    return {
        "registrations": Registration.objects.count(),
        "users": User.objects.count(),
        "organisations": Organisation.objects.count(),
        "memberships": Membership.objects.count(),
        "providers": Provider.objects.count(),
        "services": Service.objects.count(),
        "locations": Location.objects.count(),
        "windows": ServiceAtLocation.objects.count(),
        "phones": Phone.objects.count(),
        "schedules": Schedule.objects.count(),
        "outbox": OutboxMessage.objects.count(),
        "mails": len(mail.outbox),
    }


def stored_uploads() -> list[str]:
    try:
        dirs, files = default_storage.listdir("imports")
    except FileNotFoundError:
        return []
    nested = []
    for sub in dirs:
        try:
            nested += default_storage.listdir(f"imports/{sub}")[1]
        except FileNotFoundError:
            pass
    return files + nested


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def held_event():
    return held_meeting()


@pytest.fixture
def importer(request, secretariat, held_event, tmp_path, client):
    OrganisationFactory(name=ORGANISATION_NAME, kind=Organisation.Kind.CONTRACTOR)
    client.force_login(make_admin_secretariat(secretariat))
    spec = {
        "attendance": attendance_spec(held_event.pk),
        "organisations": ORGANISATIONS,
        "memberships": MEMBERSHIPS,
        "directory": DIRECTORY,
    }[request.param.split("-")[0]]
    return IMPORTERS[request.param](spec, tmp_path, client)


# --- what each importer answers ----------------------------------------------------------

WEB = ("attendance-web", "organisations-admin", "memberships-admin", "directory-web")
ADMIN = ("organisations-admin", "memberships-admin")
ATTENDANCE = ("attendance-web", "attendance-cli")
DIRECTORY_ = ("directory-web", "directory-cli")

ENCODING = "ファイルの文字コードを判別できません。CSVは UTF-8（BOM付き可）または Shift_JIS（CP932）で保存してください。"
UTF16 = "ファイルの文字コードを判別できません（UTF-16、Excel の「Unicode テキスト」で保存されたファイルです）。"
EUC_JP = "ファイルの文字コードが EUC-JP のようです。"
TRUNCATED = "ファイルが途中で切れています（最後の文字が欠けています）。"
XLSX_UNREADABLE = "Excel ファイル（.xlsx）として読み込めません。ファイルが壊れているか、"
CSV_ONLY = "CSV（.csv）のファイルを選んでください。"
XLS = "古い Excel 形式（.xls）には対応していません。"
EMPTY_UPLOAD = "入力されたファイルは空です。"
ATTENDANCE_EMPTY = "ファイルが空です。1行目に列名、2行目から参加者を書いてください。"
ADMIN_EMPTY = "ファイルが空です。1行目に列名、2行目からデータを書いてください。"
DIRECTORY_EMPTY = (
    "ファイルにデータの行がありません。1行目に列名、2行目から1施設1行で書いてください。"
)
ATTENDANCE_NO_ROWS = "参加者の行がありません。2行目から1人1行で書いてください。"
ADMIN_NO_ROWS = "1行目（列名）の下にデータの行がありません。2行目から1件1行で書いてください。"
UNKNOWN_LAYOUT = "1行目: どの形式のファイルか分かりません。"
ROWS_WEB = "行が多すぎます（上限 50000 行）。ファイルを分けて取り込んでください。"
ROWS_CLI = "行が多すぎます（上限 200000 行）。"
TOO_BIG = "ファイルが大きすぎます（上限 10 MB）。分けて取り込んでください。"
CELLS_CLI = "セルが多すぎます（上限 4000000 セル）。"
UNPACKED = "Excel ファイルの中身が大きすぎます（展開後の上限 64 MB）。"
WIDE_ROW_XLSX = "2行目の列が多すぎます（上限 100 列）。"
HUGE_CELL = "2行目に長すぎるセルがあります（1つのセルは 131072 文字まで）。"
CONTROL = "2行目・%sに制御文字（U+0000）が含まれています。"


def by(default=None, **answers):
    """The answer of each importer: `default`, or a group's or one's own."""
    table = dict.fromkeys(IMPORTERS, default)
    for key, answer in answers.items():
        names = {
            "web": WEB,
            "admin": ADMIN,
            "attendance": ATTENDANCE,
            "directory": DIRECTORY_,
            "cli": ("attendance-cli", "directory-cli"),
        }.get(key, (key.replace("_", "-"),))
        for name in names:
            table[name] = answer
    return table


ATTENDANCE_COLUMNS = "イベントID、メールアドレス、氏名、ふりがな、所属、組織種別、市町村コード、参加方法、懇親会、出席"
WIDER = '2行目の列が見出し（1行目）より多くなっています（%s列、見出しは%s列）。値の中のカンマは "" で囲んでください。'

EXPECTED = {
    "empty": by(EMPTY_UPLOAD, attendance_cli=ATTENDANCE_EMPTY, directory_cli=DIRECTORY_EMPTY),
    "blank_lines": by(ADMIN_EMPTY, attendance=ATTENDANCE_EMPTY, directory=DIRECTORY_EMPTY),
    "bom_only": by(ADMIN_EMPTY, attendance=ATTENDANCE_EMPTY, directory=DIRECTORY_EMPTY),
    "header_only": by(ADMIN_NO_ROWS, attendance=ATTENDANCE_NO_ROWS, directory=DIRECTORY_EMPTY),
    "header_only_xlsx": by(ADMIN_NO_ROWS, attendance=ATTENDANCE_NO_ROWS, directory=CSV_ONLY),
    "empty_xlsx": by(ADMIN_EMPTY, attendance=ATTENDANCE_EMPTY, directory=CSV_ONLY),
    "utf16": by(UTF16),
    "utf16_without_bom": by(ENCODING),
    "euc_jp": by(EUC_JP),
    "euc_jp_kana": by(EUC_JP),
    "truncated_utf8": by(TRUNCATED),
    "truncated_row": by(
        attendance="行 3・列 メールアドレス: 「hos」はメールアドレスとして正しくありません。",
        organisations_admin="3行目・種別: 「受託団」は使えません。",
        memberships_admin="3行目・組織ID: このフィールドには NULL を指定できません。",
        directory="3行目・列「name」: 名称が空です。",
    ),
    "truncated_xlsx": by(XLSX_UNREADABLE, directory=CSV_ONLY),
    "missing_column": by(
        attendance="行 1・列 メールアドレス: 必須の列「メールアドレス」がありません。1行目に列名 "
        + ATTENDANCE_COLUMNS
        + " が必要です。",
        organisations_admin="必須の列がありません: 種別（1行目に列名が必要です。必須の列: 組織名、種別、市町村コード）",
        memberships_admin="必須の列がありません: 組織ID（1行目に列名が必要です。必須の列: メールアドレス、組織ID）",
        directory=UNKNOWN_LAYOUT,
    ),
    "duplicated_column": by(
        attendance="1行目の列名「イベントID」が2回あります（1列目と11列目）。同じ列は1つにしてください。",
        organisations_admin="1行目の列名「組織名」が2回あります（1列目と5列目）。",
        memberships_admin="1行目の列名「メールアドレス」が2回あります（1列目と5列目）。",
        directory="1行目の列名「municipality_code」が2回あります（1列目と6列目）。",
    ),
    "same_column_two_names": by(
        attendance="1行目の列名「イベントID」（1列目）と「event_id」（11列目）は同じ列です。どちらか1つにしてください。",
        organisations_admin="1行目の列名「組織名」（1列目）と「name」（5列目）は同じ列です。",
        memberships_admin="1行目の列名「メールアドレス」（1列目）と「email」（5列目）は同じ列です。",
    ),
    "duplicated_key": by(
        attendance="行 3・列 メールアドレス: 2 行目と同じイベント（ID {event}）・同じメールアドレスの行です。",
        admin="2行目と同じデータです。同じファイルに同じ行を2回書かないでください。",
        directory="3行目・列「id」: 2行目と同じIDです。IDは1施設に1つにしてください。",
    ),
    "wrong_types": by(
        attendance="行 2・列 イベントID: イベントID「第3回」は正しくありません",
        organisations_admin="2行目・種別: 「会社」は使えません。次のどれかを入力してください: 自治体（municipality）",
        memberships_admin="2行目・職種: 「社長」は使えません。",
        directory="2行目・列「latitude」: 「北緯43度」は緯度として読めません。-90〜90 の数値にしてください。",
    ),
    "wrong_types_xlsx": by(
        attendance="行 2・列 出席: 「出席した」は読めません。1・0・はい・いいえ・○ または空欄で入力してください。",
        organisations_admin="2行目・有効: 「たぶん」は真偽値として読めません。",
        memberships_admin="2行目・メールアドレス: 「not-an-email」はメールアドレスとして正しくありません。",
        directory=CSV_ONLY,
    ),
    "control_character": by(
        attendance=CONTROL % "10列目（出席）",
        organisations_admin=CONTROL % "4列目（有効）",
        memberships_admin=CONTROL % "4列目（職種）",
        directory=CONTROL % "5列目（phones）",
    ),
    "row_wider_than_header": by(
        WIDER % (5, 4), attendance=WIDER % (11, 10), directory=WIDER % (6, 5)
    ),
    "too_many_columns": by(
        "1行目の列が多すぎます（上限 100 列）。余分な列を消してから取り込んでください。"
    ),
    "semicolons": by(
        attendance="行 1・列 イベントID: 必須の列「イベントID」がありません。",
        organisations_admin="必須の列がありません: 組織名、種別、市町村コード",
        memberships_admin="必須の列がありません: メールアドレス、組織ID",
        directory=UNKNOWN_LAYOUT,
    ),
    "huge_cell": by(HUGE_CELL),
    "binary_garbage": by(ENCODING),
    "binary_garbage_xlsx": by(XLSX_UNREADABLE, directory=CSV_ONLY),
    "nul_bytes": by(ENCODING),
    "pdf_as_csv": by(ENCODING),
    "old_xls": by(
        "ファイル名から形式が分かりません。CSV か Excel（.xlsx）を選んでください。",
        attendance_web="CSV（.csv）か Excel（.xlsx）のファイルを選んでください。",
        attendance_cli=XLS,
        directory=CSV_ONLY,
    ),
    "xls_renamed_xlsx": by(XLSX_UNREADABLE, attendance=XLS, directory=CSV_ONLY),
    "csv_renamed_xlsx": by(XLSX_UNREADABLE, directory=CSV_ONLY),
    "zip_not_workbook": by(XLSX_UNREADABLE, directory=CSV_ONLY),
    "doctype_xlsx": by(XLSX_UNREADABLE, directory=CSV_ONLY),
    "dimension_bomb": by(ROWS_WEB, attendance_cli=ROWS_CLI, directory=CSV_ONLY),
    "fifty_mb": by(TOO_BIG, cli=CELLS_CLI),
    "zip_bomb": by(UNPACKED, attendance_cli=WIDE_ROW_XLSX, directory=CSV_ONLY),
    "million_rows": by(ROWS_WEB, attendance_cli=ROWS_CLI, directory=CSV_ONLY),
}
# How to raise the command's limits, after a refusal for rows or cells.
HOW_TO_RAISE = "上限（いま 200,000 行・100 MB）は --max-rows と --max-bytes で引き上げられます"
# Peak of memory (tracemalloc) of one refusal of a big file; generous bounds,
# well under what reading the file would take (a million rows in openpyxl is
# gigabytes). The 50 MB file is read whole by the commands (bytes and text).
MEMORY = {"fifty_mb": 300 * MB, "zip_bomb": 20 * MB, "million_rows": 20 * MB}
WEB_MEMORY = {"fifty_mb": 400 * MB}  # the test client builds the 50 MB request in memory


def test_the_corpus_has_at_least_30_files_for_every_importer():
    assert len(hostile.CORPUS) >= 30
    assert set(EXPECTED) == {make.__name__ for make in hostile.CORPUS}
    for name in IMPORTERS:
        answered = [file for file, answers in EXPECTED.items() if answers[name]]
        assert len(answered) >= 30, name


def test_big_files_are_small_to_build():
    spec = ORGANISATIONS
    assert len(hostile.fifty_mb(spec)[1]) >= 50 * MB
    assert len(hostile.zip_bomb(spec)[1]) < 300_000
    assert len(hostile.million_rows(spec)[1]) < 200_000


CASES = [
    pytest.param(name, make, id=f"{name}:{make.__name__}")
    for name in IMPORTERS
    for make in hostile.CORPUS
    if EXPECTED[make.__name__][name]
]


@pytest.mark.parametrize(("importer", "make"), CASES, indirect=["importer"])
def test_hostile_file_is_refused(importer, make, held_event):
    filename, raw = make(importer.spec)
    expected = EXPECTED[make.__name__][importer.name].format(event=held_event.pk)
    before = counts()
    big = make in hostile.BIG
    if big:
        tracemalloc.start()
    try:
        answer, confirmable = importer.run(filename, raw)
        if big:
            _current, peak = tracemalloc.get_traced_memory()
    finally:
        if big:
            tracemalloc.stop()

    assert expected in answer, answer
    assert not confirmable  # no 「取り込む」 step offered
    assert counts() == before
    assert stored_uploads() == []
    if big:
        bound = (WEB_MEMORY if importer.name in WEB else MEMORY).get(
            make.__name__, MEMORY[make.__name__]
        )
        assert peak < bound, f"peak {peak / MB:.1f} MB"
    if importer.name == "attendance-cli" and expected in (ROWS_CLI, CELLS_CLI):
        assert HOW_TO_RAISE in answer


# --- formula injection: stored as text, quoted on export ---------------------------------

FORMULAE = ['=HYPERLINK("http://x.jp")', "+81-11-222-3333", "@SUM(A1)", "-2+3"]


def test_formula_cells_are_stored_as_text_and_quoted_on_export():
    """A cell starting with = + - @ is not refused (a phone number starts with
    +): the organisation import stores the text as it is, the export quotes
    it so that a spreadsheet shows it instead of running it, and the quoted
    file imports back to the same text."""
    from core.importing import CSV, import_errors
    from network.resources import OrganisationResource

    rows = [("組織名", "種別", "市町村コード", "電話番号")]
    rows += [(f"数式{n}{value}", "受託団体", "011002", value) for n, value in enumerate(FORMULAE)]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    raw = out.getvalue().encode()

    result = OrganisationResource().import_data(CSV().create_dataset(raw), dry_run=False)

    assert not result.has_errors() and not result.has_validation_errors(), import_errors(result)
    stored = dict(Organisation.objects.filter(name__startswith="数式").values_list("name", "phone"))
    assert sorted(stored.values()) == sorted(FORMULAE)
    exported = CSV().export_data(OrganisationResource().export()).decode("utf-8-sig")
    for value in FORMULAE:
        assert ("'" + value).replace('"', '""') in exported
    again = OrganisationResource().import_data(
        CSV().create_dataset(exported.encode()), dry_run=False
    )

    assert not again.has_errors() and not again.has_validation_errors(), import_errors(again)
    assert (
        dict(Organisation.objects.filter(name__startswith="数式").values_list("name", "phone"))
        == stored
    )


def test_formula_cells_in_an_attendance_list_are_stored_as_text_and_quoted_on_export(
    held_event,
):
    from events.importing import import_attendance
    from events.resources import export_attendees

    spec = attendance_spec(held_event.pk)
    row = list(spec.good)
    row[2] = "=cmd|' /C calc'!A0"  # 氏名
    row[4] = "@所属"  # 所属 (created)
    raw = hostile.csv_text([spec.header, row]).encode()

    result = import_attendance(raw=raw, filename="formula.csv")

    assert result.written, result.errors
    person = User.objects.get(email="hostile@example.org")
    assert person.full_name == "=cmd|' /C calc'!A0"
    assert Organisation.objects.filter(name="@所属").exists()
    content, _type, _name = export_attendees(held_event, "csv")
    text = content.decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text and "'@所属" in text
    assert ",=cmd" not in text and ",@所属" not in text
