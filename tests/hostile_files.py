"""A corpus of malformed and hostile import files (issue #15), built in code.

Each function takes the `Spec` of one importer (its header, a valid row, a row
of wrong types) and returns (file name, bytes). Nothing here is committed as a
binary file: the big ones (50 MB, a zip bomb, a million-row workbook) are
built in well under a second each, the XLSX ones by streaming highly
compressible sheet XML through zipfile instead of building rows with
openpyxl. tests/test_hostile_imports.py runs every file through every
importer; docs/imports.md lists what each importer answers.
"""

from __future__ import annotations

import functools
import io
import random
import zipfile
from dataclasses import dataclass

MB = 1024 * 1024
BOM = "\ufeff"


@dataclass(frozen=True)
class Spec:
    """What an importer's files look like."""

    name: str
    header: tuple[str, ...]
    good: tuple[str, ...]  # a valid row
    wrong_types: tuple[str, ...]  # the same row with unreadable values
    required: int  # the position of a column the importer cannot do without
    # Another name of the header's first column ("email" for メールアドレス),
    # or "" when the importer has no second name for it.
    alias: str = ""


def csv_text(rows) -> str:
    return "".join(",".join(row) + "\r\n" for row in rows)


def good_csv(spec: Spec, *rows) -> str:
    return csv_text([spec.header, spec.good, *rows])


# --- XLSX built by hand -------------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/worksheet"/></Relationships>'
)
_SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_cell(value: str) -> str:
    return f'<c t="inlineStr"><is><t>{_escape(value)}</t></is></c>'


def xml_row(values) -> str:
    return "<row>" + "".join(xml_cell(v) for v in values) + "</row>"


def xlsx(chunks, *, prolog: str = "", dimension: str = "") -> bytes:
    """A minimal workbook whose one sheet is `chunks` (str pieces of
    <sheetData>), deflated as it is written: tens of MB of repetitive XML
    stay a few KB, and are never held in memory whole."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write((prolog + _SHEET_OPEN).encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for chunk in chunks:
                sheet.write(chunk.encode())
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def xlsx_rows(rows) -> bytes:
    return xlsx(xml_row(r) for r in rows)


# --- the corpus -----------------------------------------------------------------------


def empty(spec: Spec):
    return "empty.csv", b""


def blank_lines(spec: Spec):
    return "blank-lines.csv", b"\r\n\r\n\r\n"


def bom_only(spec: Spec):
    return "bom-only.csv", BOM.encode()


def header_only(spec: Spec):
    return "header-only.csv", csv_text([spec.header]).encode()


def header_only_xlsx(spec: Spec):
    return "header-only.xlsx", xlsx_rows([spec.header])


def empty_xlsx(spec: Spec):
    return "empty-sheet.xlsx", xlsx([])


def utf16(spec: Spec):
    """What Excel's 「Unicode テキスト」 saves: UTF-16 with a BOM."""
    return "utf16.csv", good_csv(spec).encode("utf-16")


def utf16_without_bom(spec: Spec):
    return "utf16-be.csv", good_csv(spec).encode("utf-16-be")


def euc_jp(spec: Spec):
    """An old Unix export: EUC-JP, which CP932 decodes as half-width kana."""
    return "euc-jp.csv", good_csv(spec).encode("euc-jp")


def truncated_utf8(spec: Spec):
    """A download cut off inside a multi-byte character."""
    raw = good_csv(spec).rstrip("\r\n").encode()
    last = max(i for i, b in enumerate(raw) if b >= 0xC0)  # a lead byte
    return "truncated-utf8.csv", raw[: last + 1]


def euc_jp_kana(spec: Spec):
    """EUC-JP kana that CP932 reads without an error, as half-width katakana."""
    row = [spec.good[0], *("てきたい はなこ" for _ in spec.good[1:])]
    return "euc-jp-kana.csv", csv_text([spec.header, row]).encode("euc-jp")


def truncated_row(spec: Spec):
    """A download cut off in the middle of the second data row."""
    cut = spec.good[0] + "," + spec.good[1][:3]
    return "truncated-row.csv", (good_csv(spec) + cut).encode()


def truncated_xlsx(spec: Spec):
    raw = xlsx_rows([spec.header, spec.good])
    return "truncated.xlsx", raw[: len(raw) * 2 // 3]


def missing_column(spec: Spec):
    at = spec.required
    header = spec.header[:at] + spec.header[at + 1 :]
    row = spec.good[:at] + spec.good[at + 1 :]
    return "missing-column.csv", csv_text([header, row]).encode()


def duplicated_column(spec: Spec):
    return "duplicated-column.csv", csv_text(
        [(*spec.header, spec.header[0]), (*spec.good, spec.good[0])]
    ).encode()


def same_column_two_names(spec: Spec):
    return "same-column-two-names.csv", csv_text(
        [(*spec.header, spec.alias), (*spec.good, spec.good[0])]
    ).encode()


def duplicated_key(spec: Spec):
    return "duplicated-key.csv", good_csv(spec, spec.good).encode()


def wrong_types(spec: Spec):
    return "wrong-types.csv", csv_text([spec.header, spec.wrong_types]).encode()


def wrong_types_xlsx(spec: Spec):
    return "wrong-types.xlsx", xlsx_rows([spec.header, spec.wrong_types])


def control_character(spec: Spec):
    row = list(spec.good)
    row[-1] += "\x00"
    return "control-character.csv", csv_text([spec.header, row]).encode()


def row_wider_than_header(spec: Spec):
    """An unquoted comma in a value: the row has a cell more than the header."""
    return "row-wider-than-header.csv", csv_text([spec.header, (*spec.good, "余分")]).encode()


def too_many_columns(spec: Spec):
    header = (*spec.header, *(f"列{n}" for n in range(150)))
    return "too-many-columns.csv", csv_text([header, spec.good]).encode()


def semicolons(spec: Spec):
    """A CSV saved with a European list separator."""
    return "semicolons.csv", (";".join(spec.header) + "\r\n" + ";".join(spec.good)).encode()


def huge_cell(spec: Spec):
    """One cell of 200,000 characters (the csv module stops at 131,072)."""
    row = list(spec.good)
    row[-1] = "長" * 200_000
    return "huge-cell.csv", csv_text([spec.header, row]).encode()


def binary_garbage(spec: Spec):
    return "garbage.csv", random.Random(15).randbytes(64 * 1024)


def binary_garbage_xlsx(spec: Spec):
    return "garbage.xlsx", random.Random(16).randbytes(64 * 1024)


def nul_bytes(spec: Spec):
    return "nul.csv", b"\x00" * 4096


def pdf_as_csv(spec: Spec):
    return "report.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + random.Random(17).randbytes(8192)


def old_xls(spec: Spec):
    """The old binary Excel format (an OLE compound file)."""
    return "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)


def xls_renamed_xlsx(spec: Spec):
    return "renamed.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)


def csv_renamed_xlsx(spec: Spec):
    return "csv-renamed.xlsx", good_csv(spec).encode()


def zip_not_workbook(spec: Spec):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("readme.txt", "これは Excel ではありません")
    return "not-a-workbook.xlsx", out.getvalue()


def doctype_xlsx(spec: Spec):
    """Entity expansion ("billion laughs") in the sheet."""
    prolog = '<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    return "doctype.xlsx", xlsx([xml_row(spec.header)], prolog=prolog)


def dimension_bomb(spec: Spec):
    """Tiny, but declares 1,048,576 rows × 16,384 columns (openpyxl pads to it)."""
    return "dimension.xlsx", xlsx([xml_row(spec.header)], dimension="A1:XFD1048576")


@functools.cache
def _fifty_mb(header: tuple[str, ...], good: tuple[str, ...]) -> bytes:
    head = csv_text([header]).encode()
    line = csv_text([good]).encode()
    return head + line * ((50 * MB - len(head)) // len(line) + 1)


def fifty_mb(spec: Spec):
    """50 MB of valid-looking rows (over the web's 10 MB; the commands' 100 MB
    take the size, and the cells stop it)."""
    return "50mb.csv", _fifty_mb(spec.header, spec.good)


@functools.cache
def _zip_bomb(header: tuple[str, ...]) -> bytes:
    filler = xml_cell("x" * 1000) * 1000  # ~1 MB of one repeated cell
    return xlsx([xml_row(header), "<row>", *[filler] * 70, "</row>"])


def zip_bomb(spec: Spec):
    """~100 KB that unpacks to ~70 MB (over the web's 64 MB)."""
    return "zip-bomb.xlsx", _zip_bomb(spec.header)


@functools.cache
def _million_rows(header: tuple[str, ...]) -> bytes:
    rows = "<row><c><v>1</v></c></row>" * 10_000
    return xlsx([xml_row(header), *[rows] * 100])


def million_rows(spec: Spec):
    """A header and 1,000,000 one-cell rows: 26 MB of XML in ~60 KB."""
    return "million-rows.xlsx", _million_rows(spec.header)


CORPUS = [
    empty,
    blank_lines,
    bom_only,
    header_only,
    header_only_xlsx,
    empty_xlsx,
    utf16,
    utf16_without_bom,
    euc_jp,
    euc_jp_kana,
    truncated_utf8,
    truncated_row,
    truncated_xlsx,
    missing_column,
    duplicated_column,
    same_column_two_names,
    duplicated_key,
    wrong_types,
    wrong_types_xlsx,
    control_character,
    row_wider_than_header,
    too_many_columns,
    semicolons,
    huge_cell,
    binary_garbage,
    binary_garbage_xlsx,
    nul_bytes,
    pdf_as_csv,
    old_xls,
    xls_renamed_xlsx,
    csv_renamed_xlsx,
    zip_not_workbook,
    doctype_xlsx,
    dimension_bomb,
    fifty_mb,
    zip_bomb,
    million_rows,
]
BIG = {fifty_mb, zip_bomb, million_rows}
