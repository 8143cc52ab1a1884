"""Import of past attendance lists (出席者名簿) from CSV or Excel.

One row = one person at one event. The columns are those the attendee export
writes (events/resources.py), so an exported list can be edited and imported
back; each is found by its Japanese name or its key (core.importing.column_positions):

    イベントID event_id, メールアドレス email, 氏名 full_name, ふりがな full_name_kana,
    所属 organisation, 組織種別 organisation_kind, 市町村コード municipality_code,
    参加方法 mode, 懇親会 social, 出席 attended, and the optional 状態 status

A row whose 状態 is anything but 参加確定 (blank counts as 参加確定) is kept in
the file for reading and skipped: a cancelled or waiting registration in an
export stays as it is when the file comes back. The export's other columns
(申込ID, 分科会, 事前質問, 申込日時) are for reading and ignored.

The import is ALL-OR-NOTHING: every row is validated first and every problem is
reported as (row, column, Japanese message), the header counting as row 1 as in
the spreadsheet the secretariat has open. Only a file without a single error is
written, in one transaction.

What a row writes:
* the organisation, matched by (name, municipality) or created with the given
  kind (the kind is required only when it has to be created);
* the person, matched by e-mail (case-insensitive) or created as a *contact*
  (no usable password; they can claim the account by password reset). Existing
  people's names are never changed: people keep their own profile;
* a membership person × organisation when missing;
* the registration: created, or the person's active one updated, as confirmed
  with the attended flag. Capacity is deliberately not checked: this is history,
  not a booking.

Lookups are read in bulk into dicts before the rows are checked (a handful of
queries per file, not per row) and the writes use bulk_create/bulk_update,
which keeps large files well above 2,000 rows per second.

Plain service module (no django-import-export): the rows write four models at
once, which does not fit a one-model Resource.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import secrets
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import audit, bulk
from core import importing as limits
from core.importing import (
    ImportFileError,
    checked_rows,
    column_names,
    column_positions,
    csv_rows,
    decode_upload,
    normalize_text,
    speaks_keys,
    undefuse,
)
from network.enums import OrganisationKind
from network.models import Membership, Municipality, Organisation, User

from . import tallies
from .enums import RegistrationMode, RegistrationStatus, SocialStatus
from .models import Event, Registration, RegistrationSearchKey
from .querysets import insert_search_keys, search_keys

COLUMNS = (
    "event_id",
    "email",
    "full_name",
    "full_name_kana",
    "organisation",
    "organisation_kind",
    "municipality_code",
    "mode",
    "social",
    "attended",
)
# Columns a file may leave out.
OPTIONAL_COLUMNS = ("status",)
# The Japanese name of each column: what the export writes, what errors say.
COLUMN_NAMES = {
    "event_id": _("イベントID"),
    "email": _("メールアドレス"),
    "full_name": _("氏名"),
    "full_name_kana": _("ふりがな"),
    "organisation": _("所属"),
    "organisation_kind": _("組織種別"),
    "municipality_code": _("市町村コード"),
    "mode": _("参加方法"),
    "social": _("懇親会"),
    "attended": _("出席"),
    "status": _("状態"),
}
# The limits every import path shares (core.importing), checked by the reader:
# the web upload keeps them; `manage.py import_attendance` runs in its own
# process and takes more (CLI_LIMITS, raised further with --max-rows /
# --max-bytes).
MAX_ROWS = limits.MAX_ROWS
MAX_BYTES = limits.MAX_BYTES
MB = 1024 * 1024
Limits = limits.Limits
# What the web upload reads with (within=None: the shared limits as they stand).
WEB_LIMITS = Limits()
# 100,000 rows of the attendee export are about 15 MB (Japanese names and
# organisations): twice that, with room.
CLI_LIMITS = Limits(max_rows=200_000, max_bytes=100 * MB)


PREVIEW_ROWS = 50
# Keeps every IN (...) list below SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500

_TRUE = {"1", "true", "yes", "y", "はい", "○", "〇", "◯"}
_FALSE = {"", "0", "false", "no", "n", "いいえ", "×", "✕"}
_MODES = {
    "venue": RegistrationMode.VENUE,
    "会場": RegistrationMode.VENUE,
    "online": RegistrationMode.ONLINE,
    "オンライン": RegistrationMode.ONLINE,
}
_SIX_DIGITS = re.compile(r"^\d{6}$")
# Event ids are ASCII digits within a signed 64-bit integer (the widest
# primary key of both databases); 19 digits at most keeps int() cheap.
_EVENT_ID = re.compile(r"[0-9]{1,19}")
_MAX_ID = 2**63 - 1
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls


def _kinds() -> dict[str, str]:
    """Organisation kind by code or Japanese label (自治体 → municipality)."""
    kinds = {}
    for code, label in OrganisationKind.choices:
        kinds[code] = code
        kinds[normalize_text(label).lower()] = code
    return kinds


@dataclass(frozen=True)
class RowError:
    """One problem. `row` counts the header as row 1 (None: the file as a
    whole); `column` is the column name as written in the header."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        if self.column is None:
            return _("行 %(row)s: %(message)s") % {"row": self.row, "message": self.message}
        return _("行 %(row)s・列 %(column)s: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass(slots=True)  # one per row of a file of up to 200,000 rows
class PlannedRow:
    """A valid row and what writing it will do (shown in the preview)."""

    row: int
    event: Event
    email: str
    full_name: str
    full_name_kana: str
    user: User | None  # None: created as a contact
    organisation_name: str
    organisation: Organisation | None  # None with a name: created
    organisation_kind: str
    municipality: Municipality | None
    mode: str
    social: str  # Registration.SocialStatus
    attended: bool
    registration: Registration | None  # the active one that will be updated
    needs_membership: bool = False

    @property
    def creates_user(self) -> bool:
        return self.user is None

    @property
    def creates_organisation(self) -> bool:
        return bool(self.organisation_name) and self.organisation is None

    @property
    def org_key(self) -> tuple[str, int | None] | None:
        if not self.organisation_name:
            return None
        return (self.organisation_name, self.municipality.pk if self.municipality else None)

    @property
    def kind_label(self) -> str:
        return str(dict(OrganisationKind.choices).get(self.organisation_kind, ""))

    @property
    def mode_label(self) -> str:
        return str(RegistrationMode(self.mode).label)

    @property
    def social_label(self) -> str:
        if self.social == SocialStatus.NONE:
            return ""
        return str(SocialStatus(self.social).label)


@dataclass
class AttendanceImportResult:
    """Counts are what was written, or for a dry run what would be written."""

    dry_run: bool = False
    written: bool = False
    rows: int = 0
    created_users: int = 0
    created_organisations: int = 0
    created_memberships: int = 0
    created_registrations: int = 0
    updated_registrations: int = 0
    skipped: int = 0  # rows whose 状態 is not 参加確定: left as they are
    over_limit: bool = False  # the file was refused for its size, rows or cells
    errors: list[RowError] = field(default_factory=list)
    planned: list[PlannedRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def preview(self) -> list[PlannedRow]:
        return self.planned[:PREVIEW_ROWS]

    def error(self, row: int | None, column: str | None, message: str) -> None:
        self.errors.append(RowError(row, column, message))

    def summary(self) -> str:
        return _(
            "%(rows)s 行：参加記録 新規 %(created)s 件・更新 %(updated)s 件、"
            "連絡先（ユーザー）新規 %(users)s 人、組織 新規 %(orgs)s 件、所属 新規 %(members)s 件、"
            "状態が参加確定でないため取り込まなかった行 %(skipped)s 行"
        ) % {
            "skipped": self.skipped,
            "rows": self.rows,
            "created": self.created_registrations,
            "updated": self.updated_registrations,
            "users": self.created_users,
            "orgs": self.created_organisations,
            "members": self.created_memberships,
        }


# --- reading the file --------------------------------------------------------


def _cell_text(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return normalize_text(value) if not isinstance(value, str) else value.strip()


def _read_xlsx(raw: bytes) -> list[list[str]]:
    import openpyxl

    message = _(
        "Excel ファイル（.xlsx）として読み込めません。ファイルが壊れているか、"
        "拡張子だけが .xlsx の別の形式のファイルです。Excel で開いて"
        "「Excel ブック（.xlsx）」か「CSV UTF-8（コンマ区切り）」で保存し直してください。"
    )
    # Unpacked size, rows, columns and cells, before openpyxl unpacks anything.
    limits.check_xlsx(raw)
    rows: list[list[str]] = []
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:
        # Untrusted bytes into a parser that raises many kinds of errors
        # (BadZipFile, KeyError, InvalidFileException, XML errors…): every
        # one of them means the same thing to the person uploading.
        raise ImportFileError(message) from exc
    try:
        if not book.worksheets:
            return rows
        # read_only parses the sheet lazily, so a broken sheet fails here.
        values = book.worksheets[0].iter_rows(values_only=True)
        for row in checked_rows(values):
            rows.append(["" if v is None else _cell_text(v) for v in row])
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(message) from exc
    finally:
        book.close()
    return rows


def _read_csv(raw: bytes) -> list[list[str]]:
    text = decode_upload(raw)
    limits.check_csv_text(text)
    return [[v.strip() for v in values] for values in csv_rows(text)]


def read_table(raw: bytes, filename: str, *, within: Limits | None = None) -> list[list[str]]:
    """The file as rows of stripped text cells, header first.

    The format is decided by the content where it can be (a zip is a
    spreadsheet, whatever its name) and by the name otherwise, so that a CSV
    renamed to .xlsx gets the spreadsheet error instead of being read. The
    shared limits (size, rows, columns, cells, an XLSX's unpacked size), a
    header naming a column twice and control characters in a cell are
    rejected here with a Japanese message (core.importing); `within` are the
    limits (the web's unless the command raised them)."""
    with limits.in_force(within):
        return _read_table(raw, filename)


def _read_table(raw: bytes, filename: str) -> list[list[str]]:
    name = (filename or "").lower()
    limits.check_upload_size(len(raw))
    if raw.startswith(_OLE_MAGIC) or name.endswith(".xls"):
        raise ImportFileError(
            _(
                "古い Excel 形式（.xls）には対応していません。Excel で「Excel ブック（.xlsx）」"
                "か「CSV UTF-8（コンマ区切り）」で保存し直してください。"
            )
        )
    if name.endswith((".xlsx", ".xlsm")) or raw.startswith(_ZIP_MAGIC):
        return _read_xlsx(raw)
    if name and not name.endswith((".csv", ".txt")):
        raise ImportFileError(_("CSV（.csv）か Excel（.xlsx）のファイルを選んでください。"))
    return _read_csv(raw)


# --- validation --------------------------------------------------------------


@dataclass(slots=True)  # one per row of a file of up to 200,000 rows
class _Parsed:
    """A row after the checks that need no database."""

    row: int
    event_id: int | None = None
    email: str = ""
    full_name: str = ""
    full_name_kana: str = ""
    organisation_name: str = ""
    organisation_kind: str = ""
    municipality_code: str = ""
    mode: str = ""
    social: str = SocialStatus.NONE
    attended: bool = False
    recorded: bool = True  # False: 状態 says the registration is not a participation
    failed: set = field(default_factory=set)  # columns with an error already
    result: AttendanceImportResult | None = field(default=None, repr=False)

    def fail(self, column: str, message: str) -> None:
        self.result.error(self.row, column, message)
        self.failed.add(column)


def _parse_bool(value: str) -> bool | None:
    text = normalize_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _municipality_code(value: str) -> str:
    code = normalize_text(value)
    # Excel drops the leading zero of a numeric cell (011002 → 11002); every
    # Hokkaido code starts with 01, so a 5-digit code starting with 1 lost it.
    if len(code) == 5 and code.isdigit() and code.startswith("1"):
        code = "0" + code
    return code


def _parse_row(number: int, cells: dict[str, str], result, kinds) -> _Parsed:
    """The checks of one row that need no database, column by column; each
    problem is recorded in `result` and its column in `parsed.failed`."""
    parsed = _Parsed(row=number, result=result)
    _parse_event_id(parsed, cells["event_id"])
    _parse_email(parsed, cells["email"])
    _parse_names(parsed, cells)
    _parse_organisation_kind(parsed, cells["organisation_kind"], kinds)
    _parse_municipality_code(parsed, cells["municipality_code"])
    _parse_mode(parsed, cells["mode"])
    _parse_flags(parsed, cells["social"], cells["attended"])
    _parse_status(parsed, cells.get("status", ""))
    return parsed


def _parse_event_id(parsed: _Parsed, value: str) -> None:
    event_text = normalize_text(value)
    if not event_text:
        parsed.fail("event_id", _("イベントIDが空です。"))
    elif not _EVENT_ID.fullmatch(event_text) or not 0 < int(event_text) <= _MAX_ID:
        # str.isdigit() also takes digits int() cannot read, and a number past
        # 64 bits makes SQLite refuse the whole lookup: both are this row's error.
        parsed.fail(
            "event_id",
            _(
                "イベントID「%(value)s」は正しくありません"
                "（1 以上の数字で、画面に表示されているイベントIDを入力してください）。"
            )
            % {"value": event_text[:40]},
        )
    else:
        parsed.event_id = int(event_text)


def _parse_email(parsed: _Parsed, value: str) -> None:
    email = User.objects.normalize_email(normalize_text(value))
    if not email:
        parsed.fail("email", _("メールアドレスが空です。"))
        return
    try:
        validate_email(email)
    except ValidationError:
        parsed.fail(
            "email", _("「%(value)s」はメールアドレスとして正しくありません。") % {"value": email}
        )
    parsed.email = email


def _parse_names(parsed: _Parsed, cells: dict[str, str]) -> None:
    parsed.full_name = cells["full_name"].strip()
    parsed.full_name_kana = cells["full_name_kana"].strip()
    if len(parsed.full_name) > 80:
        parsed.fail("full_name", _("氏名が長すぎます（80文字まで）。"))
    if len(parsed.full_name_kana) > 120:
        parsed.fail("full_name_kana", _("ふりがなが長すぎます（120文字まで）。"))
    parsed.organisation_name = cells["organisation"].strip()
    if len(parsed.organisation_name) > 120:
        parsed.fail("organisation", _("組織名が長すぎます（120文字まで）。"))


def _parse_organisation_kind(parsed: _Parsed, value: str, kinds: dict[str, str]) -> None:
    kind_text = normalize_text(value).lower()
    if not kind_text:
        return
    if kind_text in kinds:
        parsed.organisation_kind = kinds[kind_text]
        return
    parsed.fail(
        "organisation_kind",
        _(
            "組織種別「%(value)s」は使えません。自治体・受託団体・支援団体・国・関係行政・"
            "その他（または municipality / contractor / support / government / other）"
            "のどれかを入力してください。"
        )
        % {"value": value.strip()},
    )


def _parse_municipality_code(parsed: _Parsed, value: str) -> None:
    code = _municipality_code(value)
    if code and not _SIX_DIGITS.match(code):
        parsed.fail(
            "municipality_code",
            _(
                "市町村コード「%(value)s」は6桁の全国地方公共団体コード（検査数字を含む。"
                "例: 札幌市 011002）ではありません。"
            )
            % {"value": code},
        )
    parsed.municipality_code = code


def _parse_mode(parsed: _Parsed, value: str) -> None:
    mode_text = normalize_text(value).lower()
    if not mode_text:
        return
    if mode_text in _MODES:
        parsed.mode = _MODES[mode_text]
        return
    parsed.fail(
        "mode",
        _("参加方法「%(value)s」は使えません。会場（venue）かオンライン（online）です。")
        % {"value": value.strip()},
    )


def _parse_flags(parsed: _Parsed, social_value: str, attended_value: str) -> None:
    social = _social_status(social_value)
    if social is None:
        parsed.fail("social", _unreadable_flag_message(social_value))
    else:
        parsed.social = social
    attended = _parse_bool(attended_value)
    if attended is None:
        parsed.fail("attended", _unreadable_flag_message(attended_value))
    else:
        parsed.attended = attended


def _parse_status(parsed: _Parsed, value: str) -> None:
    status_text = normalize_text(value).lower()
    if not status_text:
        return
    status = _STATUSES.get(status_text)
    if status is None:
        parsed.fail(
            "status",
            _(
                "状態「%(value)s」は使えません。参加確定・キャンセル待ち・キャンセル・"
                "メール確認待ち または空欄（参加確定）で入力してください。"
            )
            % {"value": value.strip()},
        )
    else:
        parsed.recorded = status == RegistrationStatus.CONFIRMED


def _unreadable_flag_message(value: str) -> str:
    return _("「%(value)s」は読めません。1・0・はい・いいえ・○ または空欄で入力してください。") % {
        "value": value.strip()
    }


# 状態 by code or label; only 参加確定 rows are recorded (see the module docstring).
_STATUSES = {
    **{code: code for code in RegistrationStatus.values},
    **{normalize_text(label).lower(): code for code, label in RegistrationStatus.choices},
}


@functools.lru_cache(maxsize=8)
def _social_codes(language: str | None) -> dict[str, str]:
    """懇親会 by code or label, the labels translated once per language
    instead of once per row (a 100,000-row file asked gettext 300,000 times)."""
    codes = {}
    for code, label in SocialStatus.choices:
        codes[normalize_text(label).lower()] = code
        codes[code] = code
    return codes


def _social_status(value: str) -> str | None:
    """懇親会 as the export writes it (参加確定, キャンセル待ち, blank) or as a
    yes/no flag (1, ○, はい: confirmed)."""
    text = normalize_text(value).lower()
    code = _social_codes(translation.get_language()).get(text)
    if code is not None:
        return code
    flag = _parse_bool(value)
    if flag is None:
        return None
    return SocialStatus.CONFIRMED if flag else SocialStatus.NONE


def _not_held_message(event: Event) -> str:
    """Why a row may not record attendance at this event."""
    if event.is_draft:
        reason = _("イベントID %(id)s は下書きのイベントです。")
    elif event.is_cancelled:
        reason = _("イベントID %(id)s は中止になったイベントです。")
    else:
        reason = _("イベントID %(id)s のイベントはまだ開催されていません。")
    return (reason % {"id": event.pk}) + _("参加記録は開催済みのイベントにだけ取り込めます。")


def _header_map(header: list[str], result) -> tuple[dict[str, int] | None, dict[str, str]]:
    """(position of each column by key, or None when one is missing; the
    name errors give each column: as the header writes it, and a missing
    one in the header's language)."""
    try:
        positions = column_positions(header, COLUMN_NAMES)
    except ImportFileError as exc:
        result.error(1, None, str(exc))
        return None, {}
    by_key = speaks_keys(header, COLUMN_NAMES)
    names = {key: key if by_key else str(label) for key, label in COLUMN_NAMES.items()}
    names.update({key: normalize_text(header[index]) for key, index in positions.items()})
    missing = [c for c in COLUMNS if c not in positions]
    for column in missing:
        result.error(
            1,
            column,
            _("必須の列「%(column)s」がありません。1行目に列名 %(columns)s が必要です。")
            % {
                "column": names[column],
                "columns": column_names(COLUMNS, COLUMN_NAMES, by_key=by_key),
            },
        )
    return (None if missing else positions), names


def _validate(table: list[list[str]], events, result: AttendanceImportResult) -> None:
    """Fill result.errors, or result.planned and the counts. Errors name
    each column as the file's header does."""
    if not table or all(not any(cell for cell in r) for r in table):
        result.error(
            None, None, _("ファイルが空です。1行目に列名、2行目から参加者を書いてください。")
        )
        return
    positions, names = _header_map(table[0], result)
    if positions is not None:
        _validate_rows(table, positions, events, result)
    result.errors = [
        RowError(e.row, names.get(e.column, e.column) if e.column else None, e.message)
        for e in result.errors
    ]


def _validate_rows(table, positions, events, result: AttendanceImportResult) -> None:
    """Parse every row, read what the rows refer to, then check and plan
    each row (filling result.errors or result.planned and the counts). The
    number of rows was bounded by the reader (read_table, with the limits in
    force)."""
    parsed_rows = _parse_rows(table, positions, result)
    result.rows = len(parsed_rows)
    if not parsed_rows:
        result.error(None, None, _("参加者の行がありません。2行目から1人1行で書いてください。"))
        return
    plan = _Plan(_Lookups.read(parsed_rows, events), result)
    for parsed in parsed_rows:
        plan.add(parsed)
    plan.finish()


def _parse_rows(table, positions, result: AttendanceImportResult) -> list[_Parsed]:
    kinds = _kinds()
    parsed_rows: list[_Parsed] = []
    for number, values in enumerate(table[1:], start=2):
        if not any(values):
            continue  # blank lines (an Excel habit) are not rows
        # A text cell the export quoted against formula injection reads back
        # as it was (core.importing.undefuse).
        cells = {column: "" for column in OPTIONAL_COLUMNS}
        cells.update(
            (column, undefuse(values[index]) if index < len(values) else "")
            for column, index in positions.items()
        )
        parsed_rows.append(_parse_row(number, cells, result, kinds))
    return parsed_rows


@dataclass
class _Lookups:
    """Everything the rows refer to, read in a few queries (not per row)."""

    events: dict[int, Event]
    municipalities: dict[str, Municipality]
    users: dict[str, User]  # by lower-cased e-mail
    organisations: dict[tuple[str, int | None], Organisation]  # by (name, 市町村)
    active: dict[tuple[int, int], Registration]  # (event, user) -> active registration
    memberships: set[tuple[int, int]]  # (user, organisation)

    @classmethod
    def read(cls, parsed_rows: list[_Parsed], events) -> _Lookups:
        event_ids = {p.event_id for p in parsed_rows if p.event_id is not None}
        found_events: dict[int, Event] = {}
        for chunk in bulk.chunks(event_ids):
            found_events.update((e.pk, e) for e in events.filter(pk__in=chunk))
        codes = {
            p.municipality_code
            for p in parsed_rows
            if p.municipality_code and "municipality_code" not in p.failed
        }
        municipalities = {
            m.code: m for m in Municipality.objects.filter(code__in=codes).select_related("region")
        }
        users = _read_users({p.email for p in parsed_rows if p.email and "email" not in p.failed})
        organisations = _read_organisations(
            {p.organisation_name for p in parsed_rows if p.organisation_name}
        )
        active, memberships = _read_registrations(event_ids, {u.pk for u in users.values()})
        return cls(found_events, municipalities, users, organisations, active, memberships)


def _read_users(emails: set[str]) -> dict[str, User]:
    users: dict[str, User] = {}
    for chunk in bulk.chunks(emails):
        for user in (
            User.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=chunk)
            .order_by("pk")
        ):
            users.setdefault(user.email_lower, user)
    return users


def _read_organisations(names: set[str]) -> dict[tuple[str, int | None], Organisation]:
    organisations: dict[tuple[str, int | None], Organisation] = {}
    for chunk in bulk.chunks(names):
        for org in Organisation.objects.filter(name__in=chunk).order_by("pk"):
            organisations.setdefault((org.name, org.municipality_id), org)
    return organisations


def _read_registrations(event_ids: set[int], user_ids: set[int]):
    """The people's active registrations for these events, and their memberships."""
    active: dict[tuple[int, int], Registration] = {}
    memberships: set[tuple[int, int]] = set()
    for chunk in bulk.chunks(user_ids):
        for registration in Registration.objects.filter(
            event_id__in=event_ids, user_id__in=chunk
        ).active():
            active[(registration.event_id, registration.user_id)] = registration
        memberships.update(
            Membership.objects.filter(user_id__in=chunk).values_list("user_id", "organisation_id")
        )
    return active, memberships


class _Plan:
    """The row checks that need the database, and what the valid rows write.

    Each check runs when the cells it needs were readable, so one pass
    reports every problem of a row; once the file has an error nothing is
    written, so planning stops (the checks go on)."""

    def __init__(self, lookups: _Lookups, result: AttendanceImportResult):
        self.lookups = lookups
        self.result = result
        self.now = timezone.now()
        self.seen: dict[tuple[int, str], int] = {}  # (event, e-mail) -> first row
        self.new_orgs: dict[tuple[str, int | None], str] = {}  # key -> kind of the first row
        self.new_users: set[str] = set()
        self.new_memberships: set[tuple] = set()

    def add(self, p: _Parsed) -> None:
        if not p.recorded:
            self.result.skipped += 1  # a cancelled or waiting registration: left as it is
            return
        event, event_ok = self._event(p)
        municipality, municipality_ok = self._municipality(p)
        email_ok = bool(p.email) and "email" not in p.failed
        unique = self._unique(p, email_ok)
        user, user_ok = self._user(p, email_ok)
        organisation, organisation_ok = self._organisation(p, municipality, municipality_ok)
        row_ok = not p.failed and all((event_ok, municipality_ok, unique, user_ok, organisation_ok))
        if row_ok and not self.result.errors:
            self.result.planned.append(self._planned(p, event, municipality, user, organisation))

    def _event(self, p: _Parsed) -> tuple[Event | None, bool]:
        if p.event_id is None:
            return None, True
        event = self.lookups.events.get(p.event_id)
        if event is None:
            self.result.error(
                p.row,
                "event_id",
                _("イベントID %(id)s のイベントはありません。") % {"id": p.event_id},
            )
            return None, False
        if not event.takes_attendance_records(self.now):
            self.result.error(p.row, "event_id", _not_held_message(event))
            return event, False
        return event, True

    def _municipality(self, p: _Parsed) -> tuple[Municipality | None, bool]:
        if "municipality_code" in p.failed:
            return None, False
        if not p.municipality_code:
            return None, True
        municipality = self.lookups.municipalities.get(p.municipality_code)
        if municipality is None:
            self.result.error(
                p.row,
                "municipality_code",
                _("市町村コード「%(code)s」の北海道の市町村が見つかりません。")
                % {"code": p.municipality_code},
            )
            return None, False
        return municipality, True

    def _unique(self, p: _Parsed, email_ok: bool) -> bool:
        """One row per person and event."""
        if p.event_id is None or not email_ok:
            return True
        key = (p.event_id, p.email)
        if key not in self.seen:
            self.seen[key] = p.row
            return True
        self.result.error(
            p.row,
            "email",
            _(
                "%(first)s 行目と同じイベント（ID %(event)s）・同じメールアドレスの行です。"
                "1人1イベントにつき1行にしてください。"
            )
            % {"first": self.seen[key], "event": p.event_id},
        )
        return False

    def _user(self, p: _Parsed, email_ok: bool) -> tuple[User | None, bool]:
        user = self.lookups.users.get(p.email) if email_ok else None
        if not email_ok or user is not None or p.email in self.new_users:
            return user, True
        if p.full_name or {"full_name", "full_name_kana"} & p.failed:
            self.new_users.add(p.email)  # the first row naming a new person creates them
            return None, True
        self.result.error(
            p.row,
            "full_name",
            _("未登録の人（%(email)s）です。連絡先として登録するため氏名を入力してください。")
            % {"email": p.email},
        )
        return None, False

    def _organisation(
        self, p: _Parsed, municipality: Municipality | None, municipality_ok: bool
    ) -> tuple[Organisation | None, bool]:
        if not (p.organisation_name and municipality_ok and "organisation" not in p.failed):
            return None, True
        org_key = (p.organisation_name, municipality.pk if municipality else None)
        organisation = self.lookups.organisations.get(org_key)
        if organisation is not None or org_key in self.new_orgs:
            return organisation, True
        if p.organisation_kind or "organisation_kind" in p.failed:
            # Created with the first row's kind. A row whose kind is
            # unreadable already has its error; the later rows of the same
            # organisation should not repeat it.
            self.new_orgs[org_key] = p.organisation_kind
            return None, True
        self.result.error(
            p.row,
            "organisation_kind",
            _(
                "組織「%(name)s」は未登録です。新しく登録するため組織種別"
                "（自治体・受託団体・支援団体・国・関係行政・その他）を入力してください。"
            )
            % {"name": p.organisation_name},
        )
        return None, False

    def _planned(self, p: _Parsed, event, municipality, user, organisation) -> PlannedRow:
        planned = PlannedRow(
            row=p.row,
            event=event,
            email=p.email,
            full_name=user.full_name if user else p.full_name,
            full_name_kana=user.full_name_kana if user else p.full_name_kana,
            user=user,
            organisation_name=p.organisation_name,
            organisation=organisation,
            organisation_kind=organisation.kind if organisation else p.organisation_kind,
            municipality=municipality,
            mode=p.mode or event.default_mode(),
            social=p.social,
            attended=p.attended,
            registration=self.lookups.active.get((event.pk, user.pk)) if user else None,
        )
        if planned.creates_organisation:
            planned.organisation_kind = self.new_orgs[planned.org_key]
        if planned.org_key and not (
            user and organisation and (user.pk, organisation.pk) in self.lookups.memberships
        ):
            planned.needs_membership = True
            self.new_memberships.add(
                (user.pk if user else p.email, organisation.pk if organisation else planned.org_key)
            )
        return planned

    def finish(self) -> None:
        result = self.result
        if result.errors:
            result.planned = []
            return
        result.created_users = len(self.new_users)
        result.created_organisations = len(self.new_orgs)
        result.created_memberships = len(self.new_memberships)
        result.updated_registrations = sum(1 for p in result.planned if p.registration)
        result.created_registrations = len(result.planned) - result.updated_registrations


# --- writing -----------------------------------------------------------------


# SQLite's page cache for the import's transaction (its default is 2 MB): a
# large file inserts into the registrations' and the search keys' indexes all
# over, and with the default cache most of those inserts read pages from
# disk again (a 100,000-row file took twice as long). Pages are taken only
# as they are used; the connection's own size is restored afterwards.
_SQLITE_IMPORT_CACHE_KB = 128 * 1024


@contextlib.contextmanager
def _page_cache():
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{_SQLITE_IMPORT_CACHE_KB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def _write(result: AttendanceImportResult) -> int:
    """Write the planned rows: organisations, contacts, memberships, then the
    registrations (new ones inserted, changed ones updated). Returns how many
    registrations were inserted or changed."""
    planned = result.planned
    new_orgs = _create_organisations(planned)
    user_ids = _create_contacts(planned)

    memberships: dict[tuple[int, int], dict] = {}
    registrations_new: list[dict] = []
    # New values -> pks of the existing registrations that get them.
    updates: dict[tuple, list[int]] = defaultdict(list)
    # Whose check-in search keys are written: the new registrations, by
    # (event, person), and the existing ones whose organisation changes, by pk.
    new_keys: dict[tuple[int, int], tuple[PlannedRow, Organisation | None]] = {}
    changed_keys: dict[int, tuple[PlannedRow, Organisation | None]] = {}
    for p in planned:
        user_id = user_ids[p.email]
        organisation = p.organisation or (new_orgs[p.org_key] if p.org_key else None)
        if p.needs_membership:
            memberships.setdefault(
                (user_id, organisation.pk),
                {"user_id": user_id, "organisation_id": organisation.pk},
            )
        values = _registration_values(p, organisation)
        current = p.registration
        if current is None:
            registrations_new.append({"event_id": p.event.pk, "user_id": user_id, **values})
            new_keys[(p.event.pk, user_id)] = (p, organisation)
        elif any(getattr(current, name) != value for name, value in values.items()):
            updates[tuple(values.items())].append(current.pk)
            if (current.organisation_id, current.organisation_name) != (
                values["organisation_id"],
                values["organisation_name"],
            ):
                changed_keys[current.pk] = (p, organisation)

    bulk.insert_rows(Membership, list(memberships.values()))
    bulk.insert_rows(Registration, registrations_new)
    # One UPDATE per distinct set of values (usually a handful per file):
    # bulk_update's CASE per row is much slower for thousands of rows, and a
    # re-imported file whose rows did not change writes nothing at all.
    now = timezone.now()
    for items, pks in updates.items():
        for chunk in bulk.chunks(pks):
            Registration.objects.filter(pk__in=chunk).update(**dict(items), updated_at=now)
    _write_search_keys(new_keys, changed_keys)
    return len(registrations_new) + sum(len(pks) for pks in updates.values())


def _search_keys(p: PlannedRow, organisation: Organisation | None) -> set[str]:
    """The registration's check-in search keys, from the row (the person's
    stored name when they exist, PlannedRow.full_name) and the organisation."""
    return search_keys(
        full_name=p.full_name,
        full_name_kana=p.full_name_kana,
        email=p.email,
        organisation=organisation.name if organisation else "",
        organisation_kana=organisation.kana if organisation else "",
    )


def _write_search_keys(
    new_keys: dict[tuple[int, int], tuple[PlannedRow, Organisation | None]],
    changed_keys: dict[int, tuple[PlannedRow, Organisation | None]],
) -> None:
    """The keys of the new registrations and of the changed ones, with
    executemany, made while they are inserted (a dozen per row: a list of
    them all was the import's peak of memory)."""
    for chunk in bulk.chunks(changed_keys):
        RegistrationSearchKey.objects.filter(registration_id__in=chunk).delete()
    insert_search_keys(_key_rows(new_keys, changed_keys))


def _key_rows(new_keys, changed_keys) -> Iterator[tuple[int, int, str]]:
    """(registration id, event id, key); the new registrations' ids are read
    back by event and person (the active one of each pair is the new one)."""
    by_event: dict[int, list[int]] = defaultdict(list)
    for event_id, user_id in new_keys:
        by_event[event_id].append(user_id)
    for event_id, people in by_event.items():
        for chunk in bulk.chunks(people):
            found = list(
                Registration.objects.filter(event_id=event_id, user_id__in=chunk)
                .active()
                .values_list("user_id", "pk")
            )
            for user_id, pk in found:
                for key in sorted(_search_keys(*new_keys[(event_id, user_id)])):
                    yield pk, event_id, key
    for pk, (p, organisation) in changed_keys.items():
        for key in sorted(_search_keys(p, organisation)):
            yield pk, p.event.pk, key


def _create_organisations(planned: list[PlannedRow]) -> dict[tuple, Organisation]:
    """The organisations the rows name that do not exist yet, by (name, 市町村)."""
    new_orgs: dict[tuple, Organisation] = {}
    for p in planned:
        if p.creates_organisation and p.org_key not in new_orgs:
            new_orgs[p.org_key] = Organisation(
                name=p.organisation_name,
                kind=p.organisation_kind,
                municipality=p.municipality,
                region=p.municipality.region if p.municipality else None,
            )
    # Few per file: the ORM is fine here.
    Organisation.objects.bulk_create(new_orgs.values(), batch_size=_CHUNK)
    return new_orgs


def _create_contacts(planned: list[PlannedRow]) -> dict[str, int]:
    """Create the people who have no account as contacts; returns every
    row's user id by e-mail."""
    new_users: dict[str, dict] = {}
    for p in planned:
        if p.creates_user and p.email not in new_users:
            # A contact, as User.objects.create_contact makes it. The unusable
            # password is what make_password(None) returns, without its 40
            # random.choice() calls per person.
            new_users[p.email] = {
                "email": p.email,
                "full_name": p.full_name,
                "full_name_kana": p.full_name_kana,
                "password": UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20),
            }
    bulk.insert_rows(User, list(new_users.values()))
    user_ids = {p.email: p.user.pk for p in planned if p.user}
    for chunk in bulk.chunks(new_users):
        user_ids.update(User.objects.filter(email__in=chunk).values_list("email", "pk"))
    return user_ids


def _registration_values(p: PlannedRow, organisation: Organisation | None) -> dict:
    """What the row records: a confirmed participation, attended or not."""
    current = p.registration
    if p.attended:
        # Keep the check-in time of a person who was checked in on the day.
        attended_at = (current.attended_at if current else None) or p.event.starts_at
    else:
        attended_at = None
    return {
        "organisation_id": organisation.pk if organisation else None,
        "organisation_name": "",
        "mode": p.mode,
        "social": p.social,
        "status": RegistrationStatus.CONFIRMED,
        "attended": p.attended,
        "attended_at": attended_at,
    }


def import_attendance(
    *,
    raw: bytes,
    filename: str,
    dry_run: bool = False,
    events=None,
    within: Limits | None = None,
) -> AttendanceImportResult:
    """Validate the whole file; write it only if no row has an error.

    `events` is the queryset rows may refer to (the views pass the events the
    user may manage); by default every event. `within`: the file limits
    (the web upload's by default; the command passes larger ones)."""
    result = AttendanceImportResult(dry_run=dry_run)
    events = Event.objects.all() if events is None else events
    try:
        table = read_table(raw, filename, within=within)
    except ImportFileError as exc:
        result.error(None, None, str(exc))
        result.over_limit = exc.code == limits.LIMIT
        return result
    try:
        # Validation runs inside the writing transaction so that what was
        # checked is what gets written (SQLite takes the write lock up front).
        with transaction.atomic(), _page_cache():
            _validate(table, events, result)
            del table  # the planned rows hold what is written
            if result.errors or dry_run:
                return result
            changed = _write(result)
            # The dashboard's figures of these meetings, in the same transaction.
            tallies.refresh({p.event.pk for p in result.planned})
            result.written = True
            if changed or result.created_users or result.created_organisations:
                # A file that changed nothing is no change to log.
                audit.record_import(
                    Registration,
                    label=filename,
                    details={
                        "rows": result.rows,
                        "created": result.created_registrations,
                        "changed": changed,
                        "users": result.created_users,
                    },
                )
    except IntegrityError:
        # Someone registered one of these people or created one of these
        # organisations between our reads and writes (PostgreSQL): all rolled back.
        result.written = False
        result.error(
            None,
            None,
            _(
                "保存中に同時に行われた別の変更とぶつかりました。何も保存していません。もう一度実行してください。"
            ),
        )
    return result
