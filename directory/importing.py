"""Import of the directory from open-data CSV (自治体標準オープンデータセット)
and from the native CSV (docs/directory.md lists the layouts and columns).

One row = one facility = one Provider (shared by name within a municipality),
Service, Location and ServiceAtLocation (the navi's window), with its Phone
and Schedule rows. The layout is detected from the header.

ALL-OR-NOTHING, like every import of the project (core.importing): every row
is checked first and every problem is reported as (row, column, Japanese
message), the header counting as row 1; only a file without errors is
written, in one transaction. A dry run validates and counts, then rolls back.

Every record carries a stable source_key — municipality code, layout and the
row's ID, or a hash of name and address when the ID is empty — so importing
the same file again updates the records instead of duplicating them. The
writes are batched (bulk_create / bulk_update, unchanged rows not written).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import time

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core import audit, bulk
from core import importing as limits
from core.importing import ImportFileError, csv_rows, decode_upload, normalize_text
from network.models import Municipality

from . import indexing
from .enums import ImportLayout, ServiceStatus, Weekday
from .models import (
    Category,
    CategoryRule,
    Location,
    Phone,
    Provider,
    Schedule,
    Service,
    ServiceAtLocation,
)

MB = 1024 * 1024
Limits = limits.Limits
# The command runs in its own process: larger files than a web upload.
CLI_LIMITS = Limits(max_rows=200_000, max_bytes=100 * MB)
_CHUNK = 500
_BATCH = 1000

# --- layouts: canonical key -> the column names that hold it ----------------
#
# The first name found in the header wins. 利用可能時間特記事項 (the old and
# some new files) and 利用可能日時特記事項 (the 正式版 spec) are the same column.

_HOURS_NOTE = ("利用可能日時特記事項", "利用可能時間特記事項")
_COMMON = {
    "code": ("全国地方公共団体コード",),
    "id": ("ID",),
    "name": ("名称",),
    "kana": ("名称_カナ",),
    "address": ("所在地_連結表記",),
    "building": ("建物名等(方書)",),
    "latitude": ("緯度",),
    "longitude": ("経度",),
    "phone": ("電話番号",),
    "extension": ("内線番号",),
    "email": ("連絡先メールアドレス",),
    "postal_code": ("郵便番号",),
    "provider": ("団体名",),
    "days": ("利用可能曜日",),
    "opens": ("開始時間",),
    "closes": ("終了時間",),
    "hours_note": _HOURS_NOTE,
    "description": ("説明",),
    "url": ("URL",),
    "remarks": ("備考",),
}
_PUBLIC_ACCESSIBILITY = (
    "車椅子可",
    "車椅子貸出",
    "ツエ貸出",
    "バリアフリートイレ",
    "スロープ、エレベータ、エスカレータ",
    "点字ブロック等の移動支援",
    "点字や読上による支援",
    "盲導犬・介助犬、聴導犬同伴",
    "字幕",
    "筆談対応",
    "優先駐車場",
    "オストメイト対応トイレ",
    "授乳室",
    "おむつ替えコーナー",
    "ベビーカー貸出",
    "ベビーカー利用",
)
LAYOUTS: dict[str, dict[str, tuple[str, ...]]] = {
    ImportLayout.PUBLIC_FACILITY: dict(_COMMON),
    ImportLayout.PUBLIC_FACILITY_OLD: {
        **_COMMON,
        "code": ("都道府県コード又は市区町村コード",),
        "id": ("NO",),
        "address": ("住所",),
        "building": ("方書",),
        "accessibility": ("バリアフリー情報",),
    },
    ImportLayout.CARE_SERVICE: {
        **_COMMON,
        "name": ("介護サービス事業所名称",),
        "kana": ("介護サービス事業所名称_カナ",),
        "provider": ("法人の名称",),
        "description": ("実施サービス",),
        "hours_note": ("利用可能曜日特記事項", *_HOURS_NOTE),
    },
    ImportLayout.PRESCHOOL: {
        **_COMMON,
        "description": ("種別",),
        "eligibility": ("受入年齢",),
        "fees": ("子供預かり料金",),
        "access": ("アクセス方法",),
    },
}
# Accessibility of the 正式版 layouts: one column per feature, "列名: 値".
ACCESSIBILITY_COLUMNS = {
    ImportLayout.PUBLIC_FACILITY: _PUBLIC_ACCESSIBILITY,
    ImportLayout.PRESCHOOL: ("授乳室", "おむつ替えコーナー", "ベビーカー貸出", "ベビーカー利用"),
}

# The native CSV: the model's own fields, headed by key (docs/directory.md).
NATIVE_COLUMNS = (
    "municipality_code",
    "id",
    "provider",
    "provider_kana",
    "name",
    "kana",
    "description",
    "eligibility",
    "fees",
    "application_process",
    "required_documents",
    "languages",
    "status",
    "categories",
    "service_area",
    "url",
    "email",
    "location_name",
    "address",
    "postal_code",
    "latitude",
    "longitude",
    "accessibility",
    "hours_note",
    "phones",
    "days",
    "opens",
    "closes",
)
LAYOUTS[ImportLayout.NATIVE] = {key: (key,) for key in NATIVE_COLUMNS} | {
    "code": ("municipality_code",),
    "phone": ("phones",),
}
REQUIRED = ("code", "name")


def detect_layout(header: list[str]) -> str | None:
    """The layout a header row is written in (None: none we know)."""
    names = {normalize_text(h).lstrip("\ufeff") for h in header}
    if "municipality_code" in names and "name" in names:
        return ImportLayout.NATIVE
    if "介護サービス事業所名称" in names:
        return ImportLayout.CARE_SERVICE
    if "都道府県コード又は市区町村コード" in names:
        return ImportLayout.PUBLIC_FACILITY_OLD
    if "受入年齢" in names or "収容定員" in names:
        return ImportLayout.PRESCHOOL
    if "全国地方公共団体コード" in names and "名称" in names:
        return ImportLayout.PUBLIC_FACILITY
    return None


# --- results -------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem; `row` counts the header as row 1 (None: the whole file),
    `column` is the column as the file names it."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        if self.column is None:
            return _("%(row)s行目: %(message)s") % {"row": self.row, "message": self.message}
        return _("%(row)s行目・列「%(column)s」: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class DirectoryImportResult:
    """Counts are what was written, or for a dry run what would be written."""

    dry_run: bool = False
    written: bool = False
    layout: str = ""
    rows: int = 0
    created: int = 0  # services (= windows) new
    updated: int = 0  # services whose fields changed
    unchanged: int = 0
    repeated: int = 0  # rows without an ID repeating an earlier row's name and address
    providers_created: int = 0
    phones: int = 0
    schedules: int = 0
    over_limit: bool = False
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, row: int | None, column: str | None, message: str) -> None:
        self.errors.append(RowError(row, column, message))

    def summary(self) -> str:
        return _(
            "%(layout)s %(rows)s 行：窓口 新規 %(created)s 件・更新 %(updated)s 件・"
            "変更なし %(unchanged)s 件、同じ施設の重複行 %(repeated)s 行、運営者 新規 %(providers)s 件、"
            "電話番号 %(phones)s 件、受付時間 %(schedules)s 件"
        ) % {
            "layout": ImportLayout(self.layout).label if self.layout else "",
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "repeated": self.repeated,
            "providers": self.providers_created,
            "phones": self.phones,
            "schedules": self.schedules,
        }


# --- reading -------------------------------------------------------------------


UPLOAD_EXTENSIONS = (".csv", ".txt")


def read_rows(raw: bytes, *, within: Limits | None = None, filename: str = "") -> list[list[str]]:
    """The CSV as rows of cells (header first): UTF-8, UTF-8-BOM or CP932,
    quoted multi-line fields, the shared limits (core.importing). A file
    named other than .csv / .txt (`filename`, when known) is refused, as the
    upload form does; an Excel file by any name is refused by its content."""
    with limits.in_force(within):
        if filename and not filename.lower().endswith(UPLOAD_EXTENSIONS):
            raise ImportFileError(_("CSV（.csv）のファイルを選んでください。"))
        limits.check_upload_size(len(raw))
        text = decode_upload(raw)
        limits.check_csv_text(text)
        return list(csv_rows(text))


# --- parsing cells -------------------------------------------------------------

_DAY_CHARS = {
    "月": Weekday.MON,
    "火": Weekday.TUE,
    "水": Weekday.WED,
    "木": Weekday.THU,
    "金": Weekday.FRI,
    "土": Weekday.SAT,
    "日": Weekday.SUN,
}
_DAY_ORDER = list(_DAY_CHARS.values())
_DAY_KEYS = {d.value: d for d in Weekday}
_TIME = re.compile(r"^(\d{1,2})(?::|時)(\d{2})?分?(?::\d{2})?$")
_PHONE_SPLIT = re.compile(r"[／/、,;；]|\s{2,}")
_CODE = re.compile(r"^\d{5,6}$")
_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(five: str) -> str:
    """The check digit of a 5-digit 全国地方公共団体コード (JIS X 0402)."""
    remainder = sum(int(d) * w for d, w in zip(five, _WEIGHTS, strict=True)) % 11
    return str((11 - remainder) % 10)


def municipality_code(value: str) -> str | None:
    """The 6-digit code of a cell holding 5 or 6 digits (a 6-digit code must
    have the right check digit); None when it cannot be one."""
    code = normalize_text(value)
    if not _CODE.match(code):
        return None
    if len(code) == 5:
        return code + check_digit(code)
    return code if check_digit(code[:5]) == code[5] else None


def parse_days(value: str) -> list[str] | None:
    """Weekdays of 「月火水木金」「月～金」「月・水・金」「mon|tue」; None when
    the cell is something else (祝日, 第2土曜…: left to the note)."""
    text = normalize_text(value).replace("曜日", "").replace("曜", "")
    if not text:
        return []
    if re.fullmatch(r"[a-z|, ]+", text):
        days = [_DAY_KEYS.get(t.strip()) for t in re.split(r"[|, ]+", text) if t.strip()]
        return None if None in days else list(dict.fromkeys(days))
    text = re.sub(r"[・,、/\s]", "", text)
    days: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char not in _DAY_CHARS:
            return None
        if i + 2 < len(text) and text[i + 1] in "~-〜" and text[i + 2] in _DAY_CHARS:
            start, end = (
                _DAY_ORDER.index(_DAY_CHARS[char]),
                _DAY_ORDER.index(_DAY_CHARS[text[i + 2]]),
            )
            if end < start:
                return None
            days.extend(_DAY_ORDER[start : end + 1])
            i += 3
            continue
        days.append(_DAY_CHARS[char])
        i += 1
    return list(dict.fromkeys(days))


def parse_time(value: str) -> time | None:
    match = _TIME.match(normalize_text(value).replace(" ", ""))
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_phones(value: str) -> list[str]:
    numbers = []
    for part in _PHONE_SPLIT.split(normalize_text(value)):
        number = part.strip()
        # (047)325-4758 → 047-325-4758
        number = re.sub(r"^\((\d+)\)\s*", r"\1-", number)
        if number:
            numbers.append(number)
    return numbers


def coordinate(text: str | None, low: float, high: float) -> float | None:
    """A latitude or longitude from text, or None when it is no number in
    [low, high] (the import's cells, the navi's ?lat=&lon=)."""
    try:
        number = float(text or "")
    except ValueError:
        return None
    return number if low <= number <= high else None


# --- validation --------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    """A valid row, as it will be written."""

    row: int
    key: str
    provider_key: str
    provider_name: str
    provider_kana: str
    municipality: Municipality
    service: dict
    location: dict
    phones: list[str]
    days: list[str]
    opens: time | None
    closes: time | None
    categories: set[int]
    service_area: list[Municipality]


def _hash(*parts: str) -> str:
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


class _Validator:
    def __init__(self, table: list[list[str]], layout: str, result: DirectoryImportResult):
        self.table = table
        self.layout = layout
        self.result = result
        header = [normalize_text(h).lstrip("\ufeff") for h in table[0]]
        self.header = header
        self.positions: dict[str, int] = {}
        self.names: dict[str, str] = {}
        for key, candidates in LAYOUTS[layout].items():
            for name in candidates:
                if name in header:
                    self.positions[key] = header.index(name)
                    self.names[key] = name
                    break
        self.extra = {
            name: header.index(name)
            for name in ACCESSIBILITY_COLUMNS.get(layout, ())
            if name in header
        }
        self.municipalities = {m.code: m for m in Municipality.objects.all()}
        self.categories = {c.key: c.pk for c in Category.objects.all()}
        self.rules = [r for r in CategoryRule.objects.all() if not r.layout or r.layout == layout]
        self.rule_columns = {
            r.column: header.index(r.column) for r in self.rules if r.column in header
        }
        self.seen: dict[str, int] = {}

    def missing_columns(self) -> list[str]:
        return [LAYOUTS[self.layout][key][0] for key in REQUIRED if key not in self.positions]

    def rows(self) -> Iterator[_Row]:
        for number, values in enumerate(self.table[1:], start=2):
            if not any(v.strip() for v in values):
                continue
            self.result.rows += 1
            row = self.row(number, values)
            if row is not None:
                yield row

    def cell(self, values: list[str], key: str) -> str:
        index = self.positions.get(key)
        if index is None or index >= len(values):
            return ""
        return values[index].strip()

    def fail(self, number: int, key: str, message: str) -> None:
        self.result.error(number, self.names.get(key, key), message)

    def row(self, number: int, values: list[str]) -> _Row | None:  # noqa: C901 (one column each)
        ok = True
        cell = self.cell
        raw_code = cell(values, "code")
        code = municipality_code(raw_code)
        municipality = self.municipalities.get(code) if code else None
        if not raw_code:
            self.fail(number, "code", _("市町村コードが空です。"))
            ok = False
        elif code is None:
            self.fail(
                number,
                "code",
                _(
                    "「%(value)s」は全国地方公共団体コードとして読めません（5桁または検査数字付き6桁）。"
                )
                % {"value": raw_code},
            )
            ok = False
        elif municipality is None:
            self.fail(
                number,
                "code",
                _("市町村コード「%(code)s」の市町村が登録されていません。") % {"code": code},
            )
            ok = False
        name = normalize_text(cell(values, "name"))
        if not name:
            self.fail(number, "name", _("名称が空です。"))
            ok = False
        coordinates = {}
        for key, low, high, what in (
            ("latitude", -90, 90, _("緯度")),
            ("longitude", -180, 180, _("経度")),
        ):
            text = normalize_text(cell(values, key))
            coordinates[key] = None
            if text:
                coordinates[key] = coordinate(text, low, high)
                if coordinates[key] is None:
                    self.fail(
                        number,
                        key,
                        _(
                            "「%(value)s」は%(what)sとして読めません。%(low)s〜%(high)s の数値にしてください。"
                        )
                        % {"value": text, "what": what, "low": low, "high": high},
                    )
                    ok = False
        status = ServiceStatus.ACTIVE
        if self.layout == ImportLayout.NATIVE:
            status_text = normalize_text(cell(values, "status"))
            status = _status(status_text)
            if status is None:
                self.fail(
                    number,
                    "status",
                    _("「%(value)s」は状態として使えません: %(allowed)s")
                    % {
                        "value": status_text,
                        "allowed": "、".join(f"{s.value}（{s.label}）" for s in ServiceStatus),
                    },
                )
                ok = False
        address = normalize_text(cell(values, "address"))
        building = normalize_text(cell(values, "building"))
        if building and building not in address:
            address = f"{address} {building}".strip()
        ident = normalize_text(cell(values, "id"))
        key = f"{code}:{self.layout}:{ident or 'h' + _hash(name, address)}"
        if ok:
            first = self.seen.setdefault(key, number)
            if first != number and ident:
                self.fail(
                    number,
                    "id",
                    _("%(first)s行目と同じIDです。IDは1施設に1つにしてください。")
                    % {"first": first},
                )
                ok = False
            elif first != number:
                # Without an ID a facility is its name and address: real files
                # list some twice (市川市's 塩浜学園); the first row is kept.
                self.result.repeated += 1
                return None
        url = _web_address(normalize_text(cell(values, "url")))
        if url and not _is_web_address(url):
            # Shown as a link on the window's public page: http(s) only.
            self.fail(
                number,
                "url",
                _(
                    "「%(value)s」はホームページのURLとして読めません（http:// か https:// で始まるURL）。"
                )
                % {"value": url[:80]},
            )
            ok = False
        categories, area = set(), [municipality] if municipality else []
        if self.layout == ImportLayout.NATIVE:
            categories, area, native_ok = self.native_lists(number, values, area)
            ok = ok and native_ok
        if not ok:
            return None
        categories |= self.matching_categories(values, name)
        provider_name = normalize_text(cell(values, "provider")) or municipality.name
        hours_note = cell(values, "hours_note")
        raw_hours = [normalize_text(cell(values, k)) for k in ("days", "opens", "closes")]
        days = parse_days(raw_hours[0])
        opens, closes = parse_time(raw_hours[1]), parse_time(raw_hours[2])
        unread = (raw_hours[0] and not days) or any(
            text and parsed is None
            for text, parsed in zip(raw_hours[1:], (opens, closes), strict=True)
        )
        if not days or opens is None or closes is None:
            # Days without readable hours are still the days it is open.
            opens = closes = None
        days = days or []
        note_parts = [hours_note] if hours_note else []
        if unread:
            # What could not become Schedule rows is kept for people to read.
            note_parts.insert(0, " ".join(t for t in raw_hours if t))
        extension = normalize_text(cell(values, "extension"))
        phones = parse_phones(cell(values, "phone"))
        if extension and phones:
            phones[0] = f"{phones[0]}（内線 {extension}）"
        service = {
            "name": name,
            "kana": normalize_text(cell(values, "kana")),
            "description": "\n".join(
                t for t in (cell(values, "description"), cell(values, "remarks")) if t
            ),
            "eligibility": cell(values, "eligibility"),
            "fees": cell(values, "fees"),
            "application_process": cell(values, "application_process"),
            "required_documents": cell(values, "required_documents"),
            "languages": normalize_text(cell(values, "languages")),
            "status": status,
            "url": url[:500],
            "email": normalize_text(cell(values, "email")),
        }
        accessibility = cell(values, "accessibility")
        features = [
            f"{column}: {values[index].strip()}"
            for column, index in self.extra.items()
            if index < len(values) and values[index].strip()
        ]
        location = {
            "name": normalize_text(cell(values, "location_name")) or name,
            "kana": service["kana"],
            "address": address[:300],
            "municipality_id": municipality.pk,
            "postal_code": normalize_text(cell(values, "postal_code"))[:10],
            "latitude": coordinates["latitude"],
            "longitude": coordinates["longitude"],
            "accessibility": "\n".join([accessibility, *features]).strip(),
            "hours_note": "\n".join(note_parts),
        }
        return _Row(
            row=number,
            key=key,
            provider_key=f"{code}:provider:{_hash(provider_name)}",
            provider_name=provider_name,
            provider_kana=normalize_text(cell(values, "provider_kana")),
            municipality=municipality,
            service=service,
            location=location,
            phones=phones,
            days=days,
            opens=opens,
            closes=closes,
            categories=categories,
            service_area=area,
        )

    def native_lists(self, number, values, area):
        ok = True
        categories: set[int] = set()
        keys = _split(self.cell(values, "categories"))
        unknown = [k for k in keys if k not in self.categories]
        if unknown:
            self.fail(
                number,
                "categories",
                _("不明な困りごとのキー: %(unknown)s（使えるキー: %(allowed)s）")
                % {"unknown": "、".join(unknown), "allowed": " | ".join(self.categories)},
            )
            ok = False
        categories = {self.categories[k] for k in keys if k in self.categories}
        codes = _split(self.cell(values, "service_area"))
        if codes:
            area = []
            for raw in codes:
                code = municipality_code(raw)
                if code not in self.municipalities:
                    self.fail(
                        number,
                        "service_area",
                        _("対象地域の市町村コード「%(code)s」の市町村が登録されていません。")
                        % {"code": raw},
                    )
                    ok = False
                else:
                    area.append(self.municipalities[code])
        return categories, area, ok

    def matching_categories(self, values: list[str], name: str) -> set[int]:
        found = set()
        for rule in self.rules:
            if rule.column:
                index = self.rule_columns.get(rule.column)
                if index is None:
                    continue
                text = values[index] if index < len(values) else ""
            else:
                text = name
            if not rule.pattern or rule.pattern in text:
                found.add(rule.category_id)
        return found


_WEB_ADDRESS = URLValidator(schemes=["http", "https"])
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _web_address(value: str) -> str:
    """「www.city.ichikawa.lg.jp/…」 (市川市's file writes some without a
    scheme) is read as https://…; one with a scheme stays as written."""
    if value and not _SCHEME.match(value):
        return f"https://{value}"
    return value


def _is_web_address(value: str) -> bool:
    try:
        _WEB_ADDRESS(value)
    except ValidationError:
        return False
    return True


def _split(value: str) -> list[str]:
    return [p.strip() for p in normalize_text(value).split("|") if p.strip()]


def _status(text: str) -> str | None:
    if not text:
        return ServiceStatus.ACTIVE
    for status in ServiceStatus:
        if text.lower() == status.value or text == status.label:
            return status
    return None


# --- writing -------------------------------------------------------------------


def _existing(model, keys: Iterable[str]) -> dict:
    found = {}
    for chunk in bulk.chunks(keys):
        found.update((o.source_key, o) for o in model.objects.filter(source_key__in=chunk))
    return found


def _ids(model, keys: Iterable[str]) -> dict[str, int]:
    found = {}
    for chunk in bulk.chunks(keys):
        found.update(model.objects.filter(source_key__in=chunk).values_list("source_key", "pk"))
    return found


def _upsert(model, wanted: dict[str, dict]) -> tuple[dict[str, int], set[str], set[str]]:
    """Create or update the records `wanted` by source_key; returns (pk by
    key, keys created, keys whose fields changed). Unchanged ones are not written."""
    objects = _existing(model, wanted)
    new, changed, changed_fields = [], [], set()
    for key, values in wanted.items():
        current = objects.get(key)
        if current is None:
            new.append({"source_key": key, **values})
            continue
        differs = [name for name, value in values.items() if getattr(current, name) != value]
        if differs:
            for name in differs:
                setattr(current, name, values[name])
            changed_fields.update(differs)
            changed.append(current)
    bulk.insert_rows(model, new)
    if changed:
        fields = sorted(changed_fields)
        if any(f.name == "updated_at" for f in model._meta.fields):
            fields.append("updated_at")
        model.objects.bulk_update(changed, fields, batch_size=_BATCH)
    created = {row["source_key"] for row in new}
    ids = {key: obj.pk for key, obj in objects.items()}
    ids.update(_ids(model, created))
    return ids, created, {o.source_key for o in changed}


def _write(rows: list[_Row], result: DirectoryImportResult) -> None:
    providers = {}
    for r in rows:
        providers.setdefault(r.provider_key, {"name": r.provider_name, "kana": r.provider_kana})
    provider_objects, providers_new, _changed = _upsert(Provider, providers)
    result.providers_created = len(providers_new)

    services = {r.key: {**r.service, "provider_id": provider_objects[r.provider_key]} for r in rows}
    service_objects, services_new, services_changed = _upsert(Service, services)
    locations = {r.key: r.location for r in rows}
    location_objects, _new, locations_changed = _upsert(Location, locations)
    result.created = len(services_new)
    changed = services_changed | (locations_changed - services_new)
    result.updated = len(changed)
    result.unchanged = len(rows) - result.created - result.updated

    # The windows: one per row, found again by (service, location).
    pairs = {(service_objects[r.key], location_objects[r.key]): r for r in rows}
    windows: dict[tuple[int, int], int] = {}
    for chunk in bulk.chunks({s for s, _l in pairs}):
        windows.update(
            ((s, loc), pk)
            for s, loc, pk in ServiceAtLocation.objects.filter(service_id__in=chunk).values_list(
                "service_id", "location_id", "pk"
            )
        )
    fresh = [{"service_id": s, "location_id": loc} for s, loc in pairs if (s, loc) not in windows]
    bulk.insert_rows(ServiceAtLocation, fresh)
    for chunk in bulk.chunks({row["service_id"] for row in fresh}):
        windows.update(
            ((s, loc), pk)
            for s, loc, pk in ServiceAtLocation.objects.filter(service_id__in=chunk).values_list(
                "service_id", "location_id", "pk"
            )
        )

    # Phones and hours are the file's: replaced for the windows it holds.
    window_ids = list(windows[pair] for pair in pairs)
    for chunk in bulk.chunks(window_ids):
        Phone.objects.filter(service_at_location_id__in=chunk).delete()
        Schedule.objects.filter(service_at_location_id__in=chunk).delete()
    phones, schedules = [], []
    area_links, category_links = [], []
    for pair, r in pairs.items():
        window = windows[pair]
        phones.extend(
            {"service_at_location_id": window, "number": n[:40], "order": i}
            for i, n in enumerate(r.phones)
        )
        schedules.extend(
            {
                "service_at_location_id": window,
                "weekday": d,
                "opens_at": r.opens,
                "closes_at": r.closes,
            }
            for d in r.days
        )
        service_id = pair[0]
        area_links.extend((service_id, m.pk) for m in r.service_area)
        category_links.extend((service_id, c) for c in r.categories)
    bulk.insert_rows(Phone, phones)
    bulk.insert_rows(Schedule, schedules)
    result.phones, result.schedules = len(phones), len(schedules)
    # Links are added, never removed: categories the secretariat set by hand stay.
    bulk.insert_rows(
        Service.service_area.through,
        [{"service_id": s, "municipality_id": m} for s, m in area_links],
        ignore_conflicts=True,
    )
    bulk.insert_rows(
        Service.categories.through,
        [{"service_id": s, "category_id": c} for s, c in category_links],
        ignore_conflicts=True,
    )
    # The navi lists and finds what this file holds, in the same transaction.
    indexing.refresh(window_ids)


class _DryRun(Exception):
    pass


def import_directory(
    *, raw: bytes, dry_run: bool = False, within: Limits | None = None, filename: str = ""
) -> DirectoryImportResult:
    """Validate the whole file; write it only if no row has an error.
    `filename`: the file's name when known (the command), see read_rows."""
    result = DirectoryImportResult(dry_run=dry_run)
    try:
        table = read_rows(raw, within=within, filename=filename)
    except ImportFileError as exc:
        result.error(None, None, str(exc))
        result.over_limit = exc.code == limits.LIMIT
        return result
    if not table or not any(any(c.strip() for c in r) for r in table[1:]):
        result.error(
            None,
            None,
            _("ファイルにデータの行がありません。1行目に列名、2行目から1施設1行で書いてください。"),
        )
        return result
    layout = detect_layout(table[0])
    if layout is None:
        result.error(
            1,
            None,
            _(
                "どの形式のファイルか分かりません。公共施設一覧・介護サービス事業所一覧・"
                "子育て施設一覧（自治体標準オープンデータセット）か、ネイティブCSVの列名にしてください。"
            ),
        )
        return result
    result.layout = layout
    try:
        with transaction.atomic():
            validator = _Validator(table, layout, result)
            missing = validator.missing_columns()
            if missing:
                result.error(
                    1,
                    None,
                    _("必須の列がありません: %(missing)s（%(layout)s）")
                    % {"missing": "、".join(missing), "layout": ImportLayout(layout).label},
                )
                return result
            rows = list(validator.rows())
            if result.errors:
                return result
            _write(rows, result)
            if dry_run:
                raise _DryRun
            result.written = True
            if result.created or result.updated:
                # A file that changed nothing is no change to log.
                audit.record_import(
                    Service,
                    label=filename or str(_("ナビの窓口の取り込み")),
                    details={
                        "rows": result.rows,
                        "created": result.created,
                        "updated": result.updated,
                        "unchanged": result.unchanged,
                    },
                )
    except _DryRun:
        pass
    except IntegrityError:
        # Someone else wrote one of these records between our reads and
        # writes: everything was rolled back.
        result.written = False
        result.error(
            None,
            None,
            _(
                "保存中に同時に行われた別の変更とぶつかりました。何も保存していません。"
                "もう一度実行してください。"
            ),
        )
    return result
