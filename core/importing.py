"""Shared building blocks for spreadsheet imports and exports.

Every importer in the project (organisations and memberships now; attendees,
survey answers and directory entries later) has the same promises to keep:

* A file from Excel on Japanese Windows must work: CSV arrives as UTF-8,
  UTF-8 with BOM or CP932 (Shift_JIS), and CSV exports carry a BOM so that
  Excel opens them as UTF-8 instead of mojibake.
* Imports are all-or-nothing. One bad row means nothing is written, and every
  bad row is reported with its row number, the column and a Japanese message.
* A file that cannot be read at all gives a clear Japanese error, never a 500.
* A file can never stall the site: every import path (the admin's formats
  below and the attendance import) checks the same limits — upload size,
  rows, columns, cells and an XLSX's unpacked size and sheet shape — before
  anything parses the file (`check_upload_size`, `check_xlsx`,
  `check_csv_text`, `checked_rows`).

`decode_upload` is the plain helper for importers that do not use
django-import-export; the rest plugs into django-import-export 4.x.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from xml.parsers import expat

import tablib
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
    ValidationError,
)
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import widgets
from import_export.formats import base_formats

logger = logging.getLogger(__name__)

# Control characters (C0 and C1) other than tab, LF and CR never occur in a
# real spreadsheet. A text made largely of them means the encoding was
# guessed wrong (UTF-16, a binary file); a few of them are bad cells, reported
# where they are by `checked_rows`.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MOSTLY_CONTROLS = 0.1


class ImportFileError(ValueError):
    """The uploaded file as a whole cannot be read (encoding, format, limits).

    The message is Japanese and safe to show to the person who uploaded it;
    `code` is LIMIT when the file was refused for its size, rows or cells
    (limits that a command may raise, see in_force)."""

    def __init__(self, message, code: str = ""):
        super().__init__(message)
        self.code = code


LIMIT = "limit"


def _looks_like_text(text: str) -> bool:
    return len(_CONTROL.findall(text)) <= len(text) * _MOSTLY_CONTROLS


def decode_upload(raw: bytes) -> str:
    """Decode an uploaded text file: UTF-8 (with or without BOM), else CP932.

    UTF-8 is tried strictly first because valid UTF-8 of any length is almost
    never valid CP932 by accident, while the reverse is common. Raises
    `ImportFileError` (a ValueError) with a Japanese message otherwise."""
    if isinstance(raw, str):
        text = raw.removeprefix("\ufeff")
        if _looks_like_text(text):
            return text
        raise ImportFileError(_undecodable_message())
    if raw.startswith(_SPREADSHEET_MAGIC):
        raise ImportFileError(_not_csv_message())
    if raw.startswith(_UTF16_BOMS):
        raise ImportFileError(_utf16_message())
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.end == len(raw):
            # Valid UTF-8 up to a character cut in half: a download or a
            # copy that stopped early, not a CP932 file.
            raise ImportFileError(_truncated_message()) from None
    else:
        if _looks_like_text(text):
            return text
        raise ImportFileError(_undecodable_message())
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError:
        text = ""
    if _looks_like_euc_jp(raw, text):
        raise ImportFileError(_euc_jp_message())
    if not text:
        raise ImportFileError(_undecodable_message())
    if _looks_like_text(text):
        return text
    raise ImportFileError(_undecodable_message())


# A zip (.xlsx, .docx …) or an OLE file (the old .xls) is not text.
_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
# Excel's 「Unicode テキスト」 is UTF-16 with a BOM; UTF-32 is rarer.
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# What EUC-JP text turns into when it is read as CP932: half-width katakana
# and the user-defined area.
_EUC_AS_CP932 = re.compile("[\uff61-\uff9f\ue000-\uf8ff]")


def _looks_like_euc_jp(raw: bytes, cp932_text: str) -> bool:
    """Bytes that are valid EUC-JP with Japanese in them, and that CP932
    cannot read or reads as half-width katakana or user-defined characters
    (a real CP932 file's kana and kanji are almost never valid EUC-JP)."""
    try:
        euc = raw.decode("euc_jp")
    except UnicodeDecodeError:
        return False
    if euc.isascii():
        return False
    return not cp932_text or bool(_EUC_AS_CP932.search(cp932_text))


def _not_csv_message() -> str:
    return _(
        "CSV ではなく、Excel（.xlsx・.xls）などの別の形式のファイルです。"
        "Excel で開いて「CSV UTF-8（コンマ区切り）」で保存し直してください。"
    )


def _utf16_message() -> str:
    return _(
        "ファイルの文字コードを判別できません（UTF-16、Excel の「Unicode テキスト」で"
        "保存されたファイルです）。"
        "CSVは UTF-8（BOM付き可）または Shift_JIS（CP932）で保存してください。"
        "Excel では「CSV UTF-8（コンマ区切り）」で保存すると確実です。"
    )


def _truncated_message() -> str:
    return _(
        "ファイルが途中で切れています（最後の文字が欠けています）。"
        "元のファイルをもう一度保存するか、ダウンロードし直してください。"
    )


def _euc_jp_message() -> str:
    return _(
        "ファイルの文字コードが EUC-JP のようです。CSVは UTF-8（BOM付き可）または "
        "Shift_JIS（CP932）で保存してください。Excel では「CSV UTF-8（コンマ区切り）」"
        "で保存すると確実です。"
    )


def _undecodable_message() -> str:
    return _(
        "ファイルの文字コードを判別できません。CSVは UTF-8（BOM付き可）または "
        "Shift_JIS（CP932）で保存してください。Excel では「CSV UTF-8（コンマ区切り）」"
        "で保存すると確実です。"
    )


# --- limits: the same for every import path ---------------------------------------
#
# Checked before a parser sees the file, so a hostile or mistaken upload is
# rejected in milliseconds instead of holding a worker (and SQLite's write
# lock) for minutes. No importer of the project has more than 20 columns.

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000  # data rows, the header not counted
MAX_COLUMNS = 100
MAX_CELLS = 1_000_000
# An XLSX is a zip: the sum of its parts' unpacked sizes as the archive
# declares them (Python's zipfile never unpacks more than declared).
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_ZIP_PARTS = 1_000
_MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How large a file an import takes. The shared limits above bound what
    one web request may hold a worker and the write lock for; a management
    command runs in its own process and may take more (in_force). Cells and
    an XLSX's unpacked size grow in proportion to the rows and the bytes, so
    a file of the same shape as a small one is read."""

    max_rows: int = MAX_ROWS
    max_bytes: int = MAX_BYTES

    @property
    def max_cells(self) -> int:
        return max(MAX_CELLS, math.ceil(MAX_CELLS * self.max_rows / MAX_ROWS))

    @property
    def max_unpacked_bytes(self) -> int:
        return max(MAX_UNPACKED_BYTES, math.ceil(MAX_UNPACKED_BYTES * self.max_bytes / MAX_BYTES))

    @property
    def mb(self) -> int:
        return math.ceil(self.max_bytes / _MB)


# Set by in_force for the reads of one context (thread or task); None: the
# shared limits, read when they are checked.
_raised: ContextVar[Limits | None] = ContextVar("import_limits", default=None)


def limits() -> Limits:
    """The limits every check of this module applies now."""
    return _raised.get() or Limits(max_rows=MAX_ROWS, max_bytes=MAX_BYTES)


@contextlib.contextmanager
def in_force(chosen: Limits | None):
    """Read with `chosen` instead of the shared limits (None: the shared
    ones), in this context only: another request of the same process keeps
    the shared limits."""
    token = _raised.set(chosen)
    try:
        yield
    finally:
        _raised.reset(token)


_SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]+)")


def _too_big_message() -> str:
    return _("ファイルが大きすぎます（上限 %(mb)s MB）。分けて取り込んでください。") % {
        "mb": limits().max_bytes // _MB
    }


def _too_many_rows_message() -> str:
    return _("行が多すぎます（上限 %(max)s 行）。ファイルを分けて取り込んでください。") % {
        "max": limits().max_rows
    }


def _too_many_columns_message(row: int) -> str:
    return _(
        "%(row)s行目の列が多すぎます（上限 %(max)s 列）。余分な列を消してから取り込んでください。"
    ) % {"row": row, "max": MAX_COLUMNS}


def _too_many_cells_message() -> str:
    return _(
        "セルが多すぎます（上限 %(max)s セル）。ファイルを分けるか、余分な列を消してください。"
    ) % {"max": limits().max_cells}


def check_upload_size(size: int) -> None:
    """Raise ImportFileError when an upload of `size` bytes is over the limit."""
    if size > limits().max_bytes:
        raise ImportFileError(_too_big_message(), LIMIT)


def check_csv_text(text: str) -> None:
    """Bound the cells of a decoded CSV before any row is built: a record has
    at most one cell more than its commas, so commas plus line breaks bound
    the whole file (a 10 MB line of commas would otherwise become millions of
    cells in one row)."""
    if text.count(",") + text.count("\n") + 1 > limits().max_cells:
        raise ImportFileError(_too_many_cells_message(), LIMIT)


class _Refused(Exception):
    def __init__(self, message, code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


class _SheetScanner:
    """Counts a sheet's rows and cells from its XML without building anything.

    openpyxl pads every row to the sheet's declared width (`<dimension>`) and
    fills the gaps between row numbers with empty rows, so the declared
    dimension and each row's and cell's position are checked too, not only
    the elements present."""

    def __init__(self, sheet: bool):
        self.sheet = sheet
        self.limits = limits()
        self.rows = 0
        self.cells = 0
        self.row_cells = 0

    def check_ref(self, ref: str, row_fallback: int) -> None:
        match = _CELL_REF.fullmatch(ref or "")
        if match is None:
            return
        column, row = _column_number(match.group(1)), int(match.group(2))
        if row > self.limits.max_rows + 1:
            raise _Refused(_too_many_rows_message(), LIMIT)
        if column > MAX_COLUMNS:
            raise _Refused(_too_many_columns_message(row or row_fallback))

    def start(self, name: str, attrs: dict) -> None:
        if not self.sheet:
            return  # other parts are only checked for a DTD
        local = name.rpartition(" ")[2]  # "namespace local", whatever the prefix
        if local == "c":
            self.row_cells += 1
            self.cells += 1
            if self.row_cells > MAX_COLUMNS:
                raise _Refused(_too_many_columns_message(self.rows))
            if self.cells > self.limits.max_cells:
                raise _Refused(_too_many_cells_message(), LIMIT)
            self.check_ref(attrs.get("r"), self.rows)
        elif local == "row":
            self.rows += 1
            self.row_cells = 0
            if self.rows > self.limits.max_rows + 1:
                raise _Refused(_too_many_rows_message(), LIMIT)
            number = attrs.get("r", "")
            if number.isdigit() and int(number) > self.limits.max_rows + 1:
                raise _Refused(_too_many_rows_message(), LIMIT)
        elif local == "dimension":
            for ref in (attrs.get("ref") or "").split(":"):
                self.check_ref(ref, 1)


def _doctype(*args) -> None:
    # No part of a real XLSX has a DTD; refusing one rules out entity tricks.
    raise _Refused(_unreadable_xlsx_message())


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    scanner = _SheetScanner(sheet=bool(_SHEET_PART.fullmatch(info.filename)))
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = scanner.start
    parser.StartDoctypeDeclHandler = _doctype
    with archive.open(info) as part:
        while chunk := part.read(64 * 1024):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)


def check_xlsx(raw: bytes) -> None:
    """Reject an XLSX that would unpack or expand too far, before openpyxl.

    A zip bomb (a small file whose sheet unpacks to hundreds of MB), a sheet
    with more rows, columns or cells than the limits, or one that declares a
    huge dimension raise ImportFileError. A file that is not a zip at all is
    left to the parser, which reports it in its own words."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    with archive:
        parts = archive.infolist()
        unpacked = limits().max_unpacked_bytes
        if len(parts) > MAX_ZIP_PARTS or sum(p.file_size for p in parts) > unpacked:
            raise ImportFileError(
                _(
                    "Excel ファイルの中身が大きすぎます（展開後の上限 %(mb)s MB）。"
                    "ファイルを分けるか、CSV で保存して取り込んでください。"
                )
                % {"mb": unpacked // _MB},
                LIMIT,
            )
        for part in parts:
            if not part.filename.endswith((".xml", ".rels")):
                continue
            try:
                _scan_part(archive, part)
            except _Refused as exc:
                raise ImportFileError(exc.message, exc.code) from None
            except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise ImportFileError(_unreadable_xlsx_message()) from exc


def _unreadable_xlsx_message() -> str:
    return _(
        "Excel ファイル（.xlsx）として読み込めません。ファイルが壊れているか、"
        "別の形式のファイルです。CSV の場合は形式に CSV を選んでください。"
    )


def _cell_label(row: int, column: int, header: list) -> str:
    name = normalize_text(header[column - 1]) if column <= len(header) else ""
    if name:
        return _("%(row)s行目・%(column)s列目（%(name)s）") % {
            "row": row,
            "column": column,
            "name": name,
        }
    return _("%(row)s行目・%(column)s列目") % {"row": row, "column": column}


def _header_key(value) -> str:
    return normalize_text(value).lstrip("\ufeff").lower()


def _check_header(header: list) -> None:
    seen: dict[str, int] = {}
    for column, value in enumerate(header, start=1):
        key = _header_key(value)
        if not key:
            continue  # unnamed columns (an Excel habit) are ignored, not duplicates
        if key in seen:
            raise ImportFileError(
                _(
                    "1行目の列名「%(name)s」が2回あります（%(first)s列目と%(second)s列目）。"
                    "同じ列は1つにしてください。"
                )
                % {"name": normalize_text(value), "first": seen[key], "second": column}
            )
        seen[key] = column


def _same_column_message(first: str, first_at: int, second: str, second_at: int) -> str:
    return _(
        "1行目の列名「%(first)s」（%(first_at)s列目）と「%(second)s」（%(second_at)s列目）は"
        "同じ列です。どちらか1つにしてください。"
    ) % {"first": first, "first_at": first_at, "second": second, "second_at": second_at}


def column_positions(header: list, columns: dict[str, str]) -> dict[str, int]:
    """Where each known column is in a header row, by key.

    `columns` maps a column's key (`municipality`, what the code and older
    files use) to its Japanese name (市町村コード, what exports write): a
    header cell naming either finds the column (width and case folded).
    Cells naming no column are ignored; two cells naming the same column
    (「name」 and 「組織名」) are an ImportFileError."""
    lookup: dict[str, str] = {}
    for key, label in columns.items():
        lookup[_header_key(key)] = key
        lookup[_header_key(label)] = key
    positions: dict[str, int] = {}
    for index, value in enumerate(header or []):
        key = lookup.get(_header_key(value))
        if key is None:
            continue
        if key in positions:
            first = positions[key]
            raise ImportFileError(
                _same_column_message(
                    normalize_text(header[first]), first + 1, normalize_text(value), index + 1
                )
            )
        positions[key] = index
    return positions


def speaks_keys(header: list, columns: dict[str, str]) -> bool:
    """Whether a header names its columns by key rather than by Japanese name
    (a missing column is then named the way the rest of the file names them)."""
    written = {_header_key(value) for value in header or []}
    keys = sum(_header_key(key) in written for key in columns)
    labels = sum(_header_key(label) in written for label in columns.values())
    return keys > labels


def column_names(keys: Iterable[str], columns: dict[str, str], *, by_key: bool) -> str:
    """「、」-joined names of columns, by key or by Japanese name."""
    return "、".join(key if by_key else columns[key] for key in keys)


def checked_rows(rows: Iterable) -> Iterator[list]:
    """The rows of a table (header first), checked while they are read.

    Stops with an ImportFileError at the first row past the row limit, a row
    wider than MAX_COLUMNS or the cell past the cell limit (limits()), so that reading stops
    as soon as a limit is passed; rejects a header naming a column twice and
    control characters (NUL and the like) in a cell, naming row (the header
    is row 1, as in the spreadsheet) and column."""
    header: list = []
    cells = 0
    bound = limits()
    for number, row in enumerate(rows, start=1):
        row = list(row)
        if number > bound.max_rows + 1:
            raise ImportFileError(_too_many_rows_message(), LIMIT)
        if len(row) > MAX_COLUMNS:
            raise ImportFileError(_too_many_columns_message(number))
        cells += len(row)
        if cells > bound.max_cells:
            raise ImportFileError(_too_many_cells_message(), LIMIT)
        if number == 1:
            header = row
            _check_header(header)
        elif (
            len(row) > len(header)
            and any(_filled(v) for v in header)
            and _filled_beyond(row, len(header))
        ):
            # An unquoted comma in a value shifts every cell after it: the
            # row is refused instead of being read into the wrong columns.
            raise ImportFileError(_too_wide_row_message(number, len(row), len(header)))
        for column, value in enumerate(row, start=1):
            if isinstance(value, str) and (found := _CONTROL.search(value)):
                character = found.group()
                raise ImportFileError(
                    _(
                        "%(cell)sに制御文字（U+%(code)04X）が含まれています。"
                        "見えない文字なので、そのセルを入力し直してください。"
                    )
                    % {"cell": _cell_label(number, column, header), "code": ord(character)}
                )
        yield row


def _filled(value) -> bool:
    return value is not None and str(value).strip() != ""


def _filled_beyond(row: list, width: int) -> bool:
    return any(_filled(v) for v in row[width:])


def _too_wide_row_message(row: int, cells: int, width: int) -> str:
    return _(
        "%(row)s行目の列が見出し（1行目）より多くなっています（%(cells)s列、見出しは"
        '%(width)s列）。値の中のカンマは "" で囲んでください。'
    ) % {"row": row, "cells": cells, "width": width}


def csv_rows(text: str) -> Iterator[list]:
    """The records of a decoded CSV, header first, through checked_rows; an
    error of the csv module is a Japanese message naming the row (the
    module's own text is English)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    read = 0
    try:
        for row in checked_rows(reader):
            read += 1
            yield row
    except csv.Error as exc:
        number = read + 1  # the record being read
        if "field limit" in str(exc):
            raise ImportFileError(
                _(
                    "%(row)s行目に長すぎるセルがあります（1つのセルは %(limit)s 文字まで）。"
                    'セルの中の「"」が閉じていないと、そこから先が1つのセルになります。'
                )
                % {"row": number, "limit": csv.field_size_limit()}
            ) from None
        raise ImportFileError(
            _("%(row)s行目を CSV として読み込めません。") % {"row": number}
        ) from None


def _no_data_message(has_header: bool) -> str:
    if has_header:
        return _("1行目（列名）の下にデータの行がありません。2行目から1件1行で書いてください。")
    return _("ファイルが空です。1行目に列名、2行目からデータを書いてください。")


# --- django-import-export formats -----------------------------------------


class _DefusedExport:
    """Every cell of an export goes through `defuse` (formula injection),
    whatever IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT says: import-export's own
    escaping strips only a leading "=" and turns every cell into text."""

    def _escape_formulae(self, dataset):
        pass  # replaced by defuse_dataset in export_data

    def export_data(self, dataset, **kwargs):
        defuse_dataset(dataset)
        return super().export_data(dataset, **kwargs)


def _with_data(dataset: tablib.Dataset) -> tablib.Dataset:
    if not len(dataset):
        raise ImportFileError(_no_data_message(bool(dataset.headers)))
    return dataset


class CSV(_DefusedExport, base_formats.CSV):
    """CSV that reads UTF-8, UTF-8-BOM and CP932, and writes UTF-8 with BOM.

    Declared binary so that the admin hands us the raw bytes (read mode "rb",
    no `from_encoding` decoding in the temporary storage): the encoding is
    detected here instead of being fixed per admin class. The limits are
    checked on the text before tablib builds the dataset."""

    CONTENT_TYPE = "text/csv; charset=utf-8"
    label = gettext_lazy("CSV（UTF-8・BOM付きUTF-8・Shift_JIS）")
    extensions = (".csv", ".txt")

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        check_upload_size(len(in_stream))
        text = decode_upload(in_stream)
        check_csv_text(text)
        try:
            # The spreadsheet row of each data row (the header is row 1): the
            # CSV reader drops blank lines, which Excel shows as rows.
            numbers = [
                number for number, row in enumerate(csv_rows(text), start=1) if number > 1 and row
            ]
            dataset = _with_data(super().create_dataset(text, **kwargs))
            dataset.sheet_rows = numbers
            return dataset
        except tablib.InvalidDimensions as exc:
            raise ImportFileError(_too_wide_message(text)) from exc
        except (csv.Error, UnicodeError, IndexError) as exc:
            raise ImportFileError(_("CSVファイルとして読み込めません。")) from exc

    def export_data(self, dataset, **kwargs):
        text = super().export_data(dataset, **kwargs)
        return ("\ufeff" + text).encode("utf-8")


def _too_wide_message(text: str) -> str:
    rows = csv.reader(io.StringIO(text))
    width = len(next(rows, []))
    for number, row in enumerate(rows, 2):
        if len(row) > width:
            return _too_wide_row_message(number, len(row), width)
    return _("CSVの列の数が見出しと合いません。")


class XLSX(_DefusedExport, base_formats.XLSX):
    """XLSX whose limits are checked before openpyxl unpacks anything, and
    whose read failures become a clear Japanese error."""

    label = gettext_lazy("Excel（.xlsx）")
    extensions = (".xlsx",)

    def create_dataset(self, in_stream):
        if isinstance(in_stream, str):
            in_stream = in_stream.encode("utf-8", "surrogateescape")
        check_upload_size(len(in_stream))
        check_xlsx(in_stream)
        try:
            dataset = super().create_dataset(in_stream)
        except StopIteration:
            raise ImportFileError(_no_data_message(False)) from None  # not even a header
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise ImportFileError(_unreadable_xlsx_message()) from exc
        for _row in checked_rows([dataset.headers or [], *dataset]):
            pass
        return _with_data(dataset)


#: Formats offered by every import/export admin of the project.
FORMATS = [CSV, XLSX]


# --- widgets --------------------------------------------------------------


def normalize_text(value) -> str:
    """Cell value as a stripped string, full-width digits/letters folded (NFKC)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


# CP932 round-trips the wave dash 〜 (U+301C) as the full-width tilde ～
# (U+FF5E), which NFKC folds to "~": compare labels in this folded form.
_TILDES = str.maketrans({"\u301c": "~", "\uff5e": "~"})


def fold_label(value) -> str:
    return normalize_text(value).translate(_TILDES).replace(" ", "")


class TextWidget(widgets.CharWidget):
    """Free text; a value this project's export escaped against formula
    injection ("'+81-11-222-3333") is read back without the quote."""

    def clean(self, value, row=None, **kwargs):
        return undefuse(super().clean(value, row, **kwargs))


class ChoiceWidget(widgets.Widget):
    """A `TextChoices` column that accepts the code (`contractor`) or the
    Japanese label (受託団体). Exports the label, which reads back as the code.

    `blank` is what an empty cell means: None (leave the field alone, so the
    model default or the current value stays) or a value such as ""."""

    def __init__(self, choices, *, blank=None, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices
        self.blank = blank

    def clean(self, value, row=None, **kwargs):
        text = normalize_text(value)
        if not text:
            return self.blank
        folded = fold_label(text)
        for code, label in self.choices.choices:
            if text == code or text.lower() == code or folded == fold_label(label):
                return code
        allowed = "、".join(f"{label}（{code}）" for code, label in self.choices.choices)
        raise ValueError(
            _("「%(value)s」は使えません。次のどれかを入力してください: %(allowed)s")
            % {"value": text, "allowed": allowed}
        )

    def render(self, value, obj=None, **kwargs):
        if value in (None, ""):
            return ""
        return str(dict(self.choices.choices).get(value, value))


class BooleanWidget(widgets.BooleanWidget):
    """Booleans as Japanese offices write them; anything else is an error
    (the stock widget silently reads unknown text as False)."""

    TRUE_TEXT = {"1", "true", "yes", "y", "はい", "○", "〇", "有", "有効", "対象"}
    FALSE_TEXT = {"0", "false", "no", "n", "いいえ", "×", "無", "無効", "-"}

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, bool):
            return value
        text = normalize_text(value).lower()
        if text in ("", "none", "null"):
            return None
        if text in self.TRUE_TEXT:
            return True
        if text in self.FALSE_TEXT:
            return False
        raise ValueError(
            _(
                "「%(value)s」は真偽値として読めません。1 または 0（はい／いいえ）で入力してください。"
            )
            % {"value": value}
        )


class LookupWidget(widgets.ForeignKeyWidget):
    """ForeignKeyWidget with Japanese errors and a per-import cache.

    The stock widget raises DoesNotExist, which import-export reports as a
    crash of the row instead of an error on the column."""

    def __init__(self, model, field="pk", **kwargs):
        super().__init__(model, field=field, **kwargs)
        self._cache: dict = {}

    def reset(self):
        self._cache = {}

    def normalize(self, value):
        return normalize_text(value)

    def not_found_message(self, value) -> str:
        return _("「%(value)s」に当たる%(model)sが見つかりません。") % {
            "value": value,
            "model": self.model._meta.verbose_name,
        }

    def lookup(self, value):
        return self.get_queryset(value, None).get(**{self.field: value})

    def clean(self, value, row=None, **kwargs):
        key = self.normalize(value)
        if key in ("", None):
            return None
        if key not in self._cache:
            try:
                self._cache[key] = self.lookup(key)
            except ObjectDoesNotExist:
                self._cache[key] = None
            except MultipleObjectsReturned:
                raise ValueError(
                    _("「%(value)s」に当たる%(model)sが複数あります。IDで指定してください。")
                    % {"value": key, "model": self.model._meta.verbose_name}
                ) from None
        obj = self._cache[key]
        if obj is None:
            raise ValueError(self.not_found_message(key))
        return obj


class KeyListWidget(widgets.ManyToManyWidget):
    """Many-to-many by a key column, `|`-separated, unknown keys are an error
    (the stock widget silently drops them)."""

    def __init__(self, model, field="pk", separator="|", **kwargs):
        super().__init__(model, separator=separator, field=field, **kwargs)
        self._by_key: dict | None = None

    def reset(self):
        self._by_key = None

    def clean(self, value, row=None, **kwargs):
        text = normalize_text(value)
        if not text:
            return []
        if self._by_key is None:
            self._by_key = {str(getattr(o, self.field)): o for o in self.model.objects.all()}
        keys = [k.strip() for k in text.split(self.separator) if k.strip()]
        unknown = [k for k in keys if k not in self._by_key]
        if unknown:
            raise ValueError(
                _("不明な%(model)sのキー: %(unknown)s（使えるキー: %(allowed)s）")
                % {
                    "model": self.model._meta.verbose_name,
                    "unknown": "、".join(unknown),
                    "allowed": " | ".join(self._by_key),
                }
            )
        # A list, not a queryset: saving and comparing it costs no query.
        return [self._by_key[k] for k in dict.fromkeys(keys)]


# --- resources ------------------------------------------------------------


class AllOrNothingResourceMixin:
    """Mix into a ModelResource to get the project's import contract.

    * Always inside a transaction, rolled back when any row has an error or a
      validation error (import-export's default keeps the valid rows).
    * `required_columns`: checked before any row is read; a missing column is
      one file-level error and no row is processed.
    * Errors are reported per column name (what the user sees in the file),
      never as a crash of the row: failed lookups in `get_instance` fall
      through to the per-field validation.
    * `duplicate_keys(instance, row)`: rows that name the same record twice in
      one file are errors (otherwise the second silently overwrites the first).
    * Trailing blank lines (an Excel habit) are dropped; headers are stripped.
    * A column is found by its key (`municipality`) or its Japanese name
      (市町村コード, the field's `column_name`, what exports write): see
      `column_positions`. Errors name the column as the file names it.
    * Rows are numbered as the spreadsheet shows them: the header is row 1,
      the first data row row 2 (the attendance import counts the same way).
      An invalid row carries `cells` (value and errors of each column, in the
      order of `diff_headers`) and `other_errors`, so that the admin shows
      each message in the row and column it is about.
    """

    required_columns: tuple[str, ...] = ()

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        kwargs["use_transactions"] = True
        kwargs["rollback_on_validation_errors"] = True
        self._sheet_rows = list(getattr(dataset, "sheet_rows", None) or [])
        self._written: dict[str, str] = {}
        result = super().import_data(dataset, dry_run=dry_run, raise_errors=raise_errors, **kwargs)
        for row in (*result.invalid_rows, *result.error_rows):
            row.number = self.sheet_row(row.number)
        for invalid in result.invalid_rows:
            self._place_errors(invalid, result.diff_headers)
        for error in result.base_errors:
            # import-export shows a file-level error with its traceback (server
            # paths, code): the person uploading sees only a Japanese message.
            if not isinstance(error.error, ImportFileError):
                logger.error("import failed", exc_info=error.error)
                error.error = ImportFileError(
                    _(
                        "取り込み中に予期しないエラーが起きました。何も保存されていません。"
                        "ファイルの内容を確かめてから、もう一度お試しください。"
                    )
                )
            error.traceback = ""
        return result

    def sheet_row(self, number: int) -> int:
        """The spreadsheet row of import-export's data row `number` (1-based)."""
        rows = getattr(self, "_sheet_rows", None) or []
        return rows[number - 1] if 0 < number <= len(rows) else number + 1

    def import_row(self, row, instance_loader, **kwargs):
        if kwargs.get("row_number") is not None:
            kwargs["row_number"] = self.sheet_row(kwargs["row_number"])
        return super().import_row(row, instance_loader, **kwargs)

    def column_map(self) -> dict[str, str]:
        """Key -> Japanese column name of every field."""
        return {name: field.column_name for name, field in self.fields.items()}

    def cell(self, row, key: str):
        """The value of column `key` in a row (whichever name the file used)."""
        return row.get(self.fields[key].column_name)

    def before_import(self, dataset, **kwargs):
        self._seen_keys = {}
        for field in self.fields.values():
            reset = getattr(field.widget, "reset", None)
            if reset:
                reset()
        columns = self.column_map()
        written = [normalize_text(h) for h in dataset.headers or []]
        positions = column_positions(written, columns)
        headers = list(written)
        for key, index in positions.items():
            headers[index] = columns[key]
            self._written[columns[key]] = written[index]
        if dataset.headers:
            dataset.headers = headers
        while len(dataset) and all(normalize_text(v) == "" for v in dataset[-1]):
            del dataset[-1]
        missing = [key for key in self.required_columns if key not in positions]
        if missing:
            # Nothing row-level is worth reporting when the header is wrong.
            while len(dataset):
                del dataset[-1]
            by_key = speaks_keys(written, columns)
            raise ImportFileError(
                _(
                    "必須の列がありません: %(missing)s（1行目に列名が必要です。必須の列: %(required)s）"
                )
                % {
                    "missing": column_names(missing, columns, by_key=by_key),
                    "required": column_names(self.required_columns, columns, by_key=by_key),
                }
            )
        super().before_import(dataset, **kwargs)

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except (ValueError, ValidationError, ObjectDoesNotExist, MultipleObjectsReturned):
            # Reported by the field's own validation in import_instance().
            return None

    def duplicate_keys(self, instance, row):
        """Yield (key, column) pairs identifying the record a row writes."""
        return ()

    def check_row(self, instance, row, add_error, **kwargs):
        """Resource-specific checks; call add_error(column_or_attribute, message)."""

    def import_instance(self, instance, row, **kwargs):
        errors: dict = {}

        def add_error(key, message):
            errors.setdefault(key, []).append(ValidationError(message))

        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        # import-export only cleans many-to-many columns when saving, after
        # validation; clean them now so their errors are per-column too.
        for field in self.get_import_fields():
            if (
                isinstance(field.widget, widgets.ManyToManyWidget)
                and not field.readonly
                and field.column_name in row
            ):
                try:
                    field.clean(row, **kwargs)
                except ValueError as exc:
                    add_error(field.attribute, str(exc))
        self.check_row(instance, row, add_error, **kwargs)
        row_number = kwargs.get("row_number")
        for key, column in self.duplicate_keys(instance, row):
            first = self._seen_keys.setdefault(key, row_number)
            if first != row_number:
                add_error(
                    column,
                    _(
                        "%(first)s行目と同じデータです。同じファイルに同じ行を2回書かないでください。"
                    )
                    % {"first": first},
                )
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """Model.full_clean(), per column, minus needless queries.

        A foreign key a LookupWidget has just fetched exists: Django's
        ForeignKey.validate() would query it again for every row. Such keys
        are left out of field validation; constraints (which involve them,
        e.g. unique name per municipality) are still checked."""
        errors = dict(import_validation_errors or {})
        if self._meta.clean_model_instances:
            fetched = {
                f.attribute
                for f in self.fields.values()
                if isinstance(f.widget, LookupWidget)
                and f.attribute
                and "__" not in f.attribute
                and getattr(instance, f.attribute, None) is not None
            }
            try:
                instance.full_clean(
                    exclude=set(errors) | fetched,
                    validate_unique=validate_unique,
                    validate_constraints=False,
                )
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
            try:
                instance.validate_constraints(exclude={k for k in errors if k != NON_FIELD_ERRORS})
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(self._errors_by_column(ValidationError(errors)))

    def _errors_by_column(self, exc: ValidationError) -> dict:
        """Errors keyed by the column as the file names it."""
        columns = {f.attribute: f.column_name for f in self.fields.values() if f.attribute}
        columns.update(self.column_map())
        written = getattr(self, "_written", {})
        by_column: dict = {}
        for key, messages in exc.error_dict.items():
            column = columns.get(key, key)
            by_column.setdefault(written.get(column, column), []).extend(messages)
        return by_column

    def _place_errors(self, invalid, headers) -> None:
        """Put each message of an invalid row under the column it is about."""
        written = getattr(self, "_written", {})
        index = {written.get(h, h): i for i, h in enumerate(headers)}
        # A column the file does not have shows empty (import-export writes "---").
        cells = [
            {"value": value if header in written else "", "errors": []}
            for header, value in zip(headers, invalid.values, strict=False)
        ]
        other = []
        for column, messages in invalid.error_dict.items():
            at = index.get(column)
            if at is None:
                other.extend(
                    m if column == NON_FIELD_ERRORS else f"{column}: {m}" for m in messages
                )
            else:
                cells[at]["errors"].extend(messages)
        invalid.cells = cells
        invalid.other_errors = other


@dataclass(frozen=True)
class RowError:
    """One problem of an import: `row` is the row as the spreadsheet shows it
    (the header is row 1; None for the file as a whole), `field` the column
    as the file names it."""

    row: int | None
    field: str | None
    message: str


def import_errors(result) -> list[RowError]:
    """Every error of an import_export Result, flattened for display and tests."""
    errors = [RowError(None, None, str(e.error)) for e in result.base_errors]
    for error_row in result.error_rows:
        errors.extend(RowError(error_row.number, None, str(e.error)) for e in error_row.errors)
    for invalid in result.invalid_rows:
        for field, messages in invalid.error_dict.items():
            column = None if field == NON_FIELD_ERRORS else field
            errors.extend(RowError(invalid.number, column, str(m)) for m in messages)
    return sorted(errors, key=lambda e: (e.row or 0, e.field or ""))


# --- exports: formula injection ------------------------------------------------------

_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def defuse(value) -> str:
    """A cell a spreadsheet would run as a formula (starting with = + - @, tab
    or CR), made plain text with a leading quote. import-export's own escaping
    strips only "=", so free text in every export goes through this. A plain
    negative number such as "-3" is left as it is."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def defuse_dataset(dataset: tablib.Dataset) -> None:
    """`defuse` every text cell of a dataset in place (numbers, dates and
    empty cells are left as they are: none of them can start a formula).
    Both export formats call this, so every export path goes through it."""
    rows = [[defuse(v) if isinstance(v, str) else v for v in row] for row in dataset]
    del dataset[:]
    dataset.extend(rows)


def undefuse(value) -> str:
    """The text `defuse` escaped, for a file exported here and imported back:
    "'+81-11-222-3333" reads as "+81-11-222-3333". A quote in front of
    anything else is kept (it is part of the value)."""
    text = "" if value is None else str(value)
    if text.startswith("'") and text[1:].startswith(_FORMULA_TRIGGERS):
        return text[1:]
    return text
