"""The directory's exports, the mirror image of directory/importing.py
(docs/directory.md, "Export"):

* HSDS 3.0 JSON of the navi's windows, one page of windows at a time
  (`hsds_page`), each page holding the organizations, services, locations,
  service_at_locations, phones, schedules and service_areas those windows
  need, as flat arrays of HSDS objects linked by id (the shape of the HSDS
  tabular model). A service nests its languages (`languages`, parsed from
  the free text) and its 困りごと and 事業 (`attributes` with a
  `taxonomy_term` each). Pages, not one streamed document: every page is a bounded
  number of queries and objects whatever the directory's size, a client can
  resume at any page, and the envelope is HSDS's own API `Page`.
* One municipality's windows as CSV in the 自治体標準オープンデータセット
  公共施設一覧（正式版） layout (`municipality_csv`), streamed in chunks,
  which `import_directory` reads back as the same windows.

Which windows: the HSDS export has active and inactive (一時休止) services,
each with its HSDS status, so that a consumer learns that a window is
paused rather than gone; defunct (終了) ones are never exported. The CSV has
only the windows the public navi shows (`public()`): the open-data layout
has no status column, so every row in it reads as open.

Ids are UUIDs derived from the primary keys (uuid5 over a fixed namespace),
so the same record keeps its id from one export to the next.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator

from django.core.paginator import Paginator

from core.importing import defuse

from .enums import ImportLayout, ServiceStatus, Weekday
from .importing import ACCESSIBILITY_COLUMNS
from .models import Location, Provider, Schedule, Service, ServiceAtLocation

# Never change: every id of every export is derived from it.
NAMESPACE = uuid.UUID("b3f0d7a2-6c1e-5f4b-9a8d-2e7c1b5a9f30")
HSDS_PAGE_SIZE = 1000
CSV_CHUNK = 2000
# Hours in Japan: HSDS schedules carry the UTC offset.
UTC_OFFSET = 9
TAXONOMY = "tsunagari:komarigoto"
# The programs of the 生活困窮者自立支援法 (network.Program) are a reference
# list, not one provider's programs: they are exported as a second taxonomy.
PROGRAM_TAXONOMY = "tsunagari:jigyo"

# The ISO 639-1 code of the language names a window writes (after NFKC,
# lower-cased for the English ones). A name not listed keeps its name and has
# no code. アイヌ語 and 日本手話 have no ISO 639-1 code: theirs are ISO 639-3,
# which HSDS's language.code accepts too.
LANGUAGE_CODES = {
    "日本語": "ja",
    "やさしい日本語": "ja",
    "japanese": "ja",
    "英語": "en",
    "english": "en",
    "中国語": "zh",
    "chinese": "zh",
    "韓国語": "ko",
    "朝鮮語": "ko",
    "韓国・朝鮮語": "ko",
    "korean": "ko",
    "ベトナム語": "vi",
    "ポルトガル語": "pt",
    "スペイン語": "es",
    "タガログ語": "tl",
    "ネパール語": "ne",
    "インドネシア語": "id",
    "タイ語": "th",
    "ロシア語": "ru",
    "ウクライナ語": "uk",
    "フランス語": "fr",
    "ドイツ語": "de",
    "イタリア語": "it",
    "モンゴル語": "mn",
    "ミャンマー語": "my",
    "ビルマ語": "my",
    "クメール語": "km",
    "カンボジア語": "km",
    "ラオス語": "lo",
    "マレー語": "ms",
    "ヒンディー語": "hi",
    "ベンガル語": "bn",
    "ウルドゥー語": "ur",
    "シンハラ語": "si",
    "アラビア語": "ar",
    "ペルシャ語": "fa",
    "トルコ語": "tr",
    "アイヌ語": "ain",
    "日本手話": "jsl",
}
# What separates the languages of Service.languages (after NFKC, which folds
# "，" "／" "；" "（）" to their ASCII forms): 「、」, commas, 「・」, slashes,
# semicolons and line breaks — never inside parentheses.
_LANGUAGE_SEPARATORS = frozenset("、,・/;\n")
# 「英語（電話のみ）」: the name, and a note in parentheses at its end.
_LANGUAGE_NOTE = re.compile(r"(.+?)\s*\((.+)\)")

# JIS X 0401: the prefecture of a 全国地方公共団体コード is its first two digits.
PREFECTURES = (
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)

_WEEKDAYS = list(Weekday)
_BYDAY = dict(zip(_WEEKDAYS, ("MO", "TU", "WE", "TH", "FR", "SA", "SU"), strict=True))
# The file's day names are data, not interface text: never translated.
_DAY_CHARS = dict(zip(_WEEKDAYS, "月火水木金土日", strict=True))


def hsds_id(kind: str, *parts) -> str:
    """The stable HSDS id of a record: uuid5 of "kind:part:part"."""
    return str(uuid.uuid5(NAMESPACE, ":".join([kind, *(str(p) for p in parts)])))


def prefecture(code: str) -> str:
    number = int(code[:2]) if code[:2].isdigit() else 0
    return PREFECTURES[number - 1] if 1 <= number <= len(PREFECTURES) else ""


def _present(record: dict) -> dict:
    """The record without empty fields: HSDS types them as strings, numbers or
    arrays, never null, and an empty email or URL is not one."""
    return {k: v for k, v in record.items() if v is not None and v != "" and v != []}


# --- HSDS 3.0 ------------------------------------------------------------------------


def exported_windows():
    """The windows of the HSDS export: active and inactive, never defunct."""
    return ServiceAtLocation.objects.exclude(service__status=ServiceStatus.DEFUNCT)


def organization(provider: Provider) -> dict:
    return {
        **_present(
            {
                "id": hsds_id("provider", provider.pk),
                "name": provider.name,
                "alternate_name": provider.kana,
                "email": provider.email,
                "website": provider.website,
            }
        ),
        # Required by HSDS even when empty.
        "description": provider.description,
    }


def _taxonomy_term(category) -> dict:
    return _present(
        {
            "id": hsds_id("category", category.pk),
            "code": category.key,
            "name": category.name,
            "description": category.name,
            "parent_id": hsds_id("category", category.parent_id) if category.parent_id else None,
            "taxonomy": TAXONOMY,
            "language": "ja",
        }
    )


def language_names(text: str) -> list[tuple[str, str]]:
    """The (name, note) of each language of a Service.languages text, in its
    order, once each: 「日本語、英語（電話のみ）」 → [("日本語", ""), ("英語", "電話のみ")]."""
    pieces, current, depth = [], [], 0
    for char in unicodedata.normalize("NFKC", text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char in _LANGUAGE_SEPARATORS and depth <= 0:
            pieces.append(("".join(current).strip(), char))
            current, depth = [], 0
        else:
            current.append(char)
    pieces.append(("".join(current).strip(), ""))
    # 「韓国・朝鮮語」 is one name, not 韓国 and 朝鮮語.
    merged: list[str] = []
    glue = ""
    for piece, separator in pieces:
        if merged and glue == "・" and f"{merged[-1]}・{piece}".lower() in LANGUAGE_CODES:
            merged[-1] = f"{merged[-1]}・{piece}"
        else:
            merged.append(piece)
        glue = separator
    found: dict[str, str] = {}
    for piece in merged:
        match = _LANGUAGE_NOTE.fullmatch(piece)
        name, note = (match[1].strip(), match[2].strip()) if match else (piece, "")
        if name and name not in found:
            found[name] = note
    return list(found.items())


def languages(service: Service) -> list[dict]:
    """HSDS language objects of the service: the id is derived from the name,
    so a language keeps its id when others are added or reordered."""
    service_id = hsds_id("service", service.pk)
    return [
        _present(
            {
                "id": hsds_id("language", service.pk, name),
                "service_id": service_id,
                "name": name,
                "code": LANGUAGE_CODES.get(name.lower()),
                "note": note,
            }
        )
        for name, note in language_names(service.languages)
    ]


def _program_term(program) -> dict:
    return {
        "id": hsds_id("program", program.pk),
        "code": program.key,
        "name": program.name,
        "description": program.common_name,
        "taxonomy": PROGRAM_TAXONOMY,
        "language": "ja",
    }


def service(service: Service) -> dict:
    service_id = hsds_id("service", service.pk)
    documents = []
    if service.required_documents:
        documents = [
            {
                "id": hsds_id("required_document", service.pk),
                "service_id": service_id,
                "document": service.required_documents,
            }
        ]
    attributes = [
        {
            "id": hsds_id("attribute", service.pk, category.pk),
            "link_id": service_id,
            "link_type": "category",
            "link_entity": "service",
            "taxonomy_term_id": hsds_id("category", category.pk),
            "taxonomy_term": _taxonomy_term(category),
        }
        for category in service.categories.all()
    ]
    attributes += [
        {
            "id": hsds_id("attribute", "program", service.pk, program.pk),
            "link_id": service_id,
            "link_type": "program",
            "link_entity": "service",
            "taxonomy_term_id": hsds_id("program", program.pk),
            "taxonomy_term": _program_term(program),
        }
        for program in service.programs.all()
    ]
    return _present(
        {
            "id": service_id,
            "organization_id": hsds_id("provider", service.provider_id),
            "name": service.name,
            "alternate_name": service.kana,
            "description": service.description,
            "url": service.url,
            "email": service.email,
            "status": service.status,
            "application_process": service.application_process,
            "fees_description": service.fees,
            "eligibility_description": service.eligibility,
            "assured_date": service.verified_on.isoformat() if service.verified_on else None,
            "last_modified": service.updated_at.isoformat() if service.updated_at else None,
            "required_documents": documents,
            "languages": languages(service),
            "attributes": attributes,
        }
    )


def location(location: Location) -> dict:
    location_id = hsds_id("location", location.pk)
    municipality = location.municipality
    addresses = []
    if location.address:
        addresses = [
            {
                "id": hsds_id("address", location.pk),
                "location_id": location_id,
                "address_1": location.address,
                "city": municipality.name if municipality else "",
                "state_province": prefecture(municipality.code) if municipality else "",
                "postal_code": location.postal_code,
                "country": "JP",
                "address_type": "physical",
            }
        ]
    accessibility = []
    if location.accessibility:
        accessibility = [
            {
                "id": hsds_id("accessibility", location.pk),
                "location_id": location_id,
                "description": location.accessibility,
            }
        ]
    return _present(
        {
            "id": location_id,
            "location_type": "physical",
            "name": location.name,
            "alternate_name": location.kana,
            "latitude": location.latitude,
            "longitude": location.longitude,
            "addresses": addresses,
            "accessibility": accessibility,
        }
    )


def service_at_location(window: ServiceAtLocation) -> dict:
    return _present(
        {
            "id": hsds_id("service_at_location", window.pk),
            "service_id": hsds_id("service", window.service_id),
            "location_id": hsds_id("location", window.location_id),
            "description": window.location.hours_note,
        }
    )


def phones(window: ServiceAtLocation) -> list[dict]:
    return [
        _present(
            {
                "id": hsds_id("phone", phone.pk),
                "service_at_location_id": hsds_id("service_at_location", window.pk),
                "number": phone.number,
                "description": phone.description,
            }
        )
        for phone in window.phones.all()
    ]


def hours_groups(rows: Iterable[Schedule], *, by_note: bool = True) -> list[list[Schedule]]:
    """A window's schedule rows grouped by their hours (and note, unless
    by_note is False), each group's days in weekday order, the groups in the
    order of their first day."""
    groups: dict[tuple, list[Schedule]] = {}
    order = {day: i for i, day in enumerate(_WEEKDAYS)}
    for row in sorted(rows, key=lambda r: (order.get(r.weekday, 7), r.pk)):
        key = (row.opens_at, row.closes_at, row.note if by_note else "")
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def _hsds_time(value) -> str | None:
    return f"{value:%H:%M}+09:00" if value is not None else None


def schedules(window: ServiceAtLocation) -> list[dict]:
    """One HSDS schedule per group of days with the same hours ("MO,TU,WE")."""
    return [
        _present(
            {
                "id": hsds_id("schedule", window.pk, group[0].pk),
                "service_at_location_id": hsds_id("service_at_location", window.pk),
                "timezone": UTC_OFFSET,
                "freq": "WEEKLY",
                "interval": 1,
                "byday": ",".join(dict.fromkeys(_BYDAY[Weekday(r.weekday)] for r in group)),
                "opens_at": _hsds_time(group[0].opens_at),
                "closes_at": _hsds_time(group[0].closes_at),
                "notes": group[0].note,
            }
        )
        for group in hours_groups(window.schedules.all())
    ]


def service_areas(service: Service) -> list[dict]:
    return [
        {
            "id": hsds_id("service_area", service.pk, municipality.pk),
            "service_id": hsds_id("service", service.pk),
            "name": municipality.name,
        }
        for municipality in service.service_area.all()
    ]


def hsds_queryset():
    """Exported windows in a stable order, with everything a page needs:
    one query for the windows and one per prefetched relation."""
    return (
        exported_windows()
        .select_related("service__provider", "location__municipality")
        .prefetch_related(
            "phones",
            "schedules",
            "service__service_area",
            "service__categories",
            "service__programs",
        )
        .order_by("pk")
    )


def hsds_page(number, *, page_url: Callable[[int], str], size: int | None = None) -> dict:
    """One page of the HSDS export: HSDS's `Page` envelope (total_items,
    total_pages, page_number, size, first_page, last_page, empty) with links
    to the next and previous pages, and the page's records by kind. An
    organization, service or location is listed once per page, on every page
    that has one of its windows: consumers upsert by id.

    Raises django.core.paginator.InvalidPage for a page that does not exist."""
    paginator = Paginator(hsds_queryset(), size or HSDS_PAGE_SIZE, allow_empty_first_page=True)
    page = paginator.page(number)
    providers, services, locations = {}, {}, {}
    body = {
        "service_at_locations": [],
        "phones": [],
        "schedules": [],
    }
    areas = []
    for window in page.object_list:
        if window.service_id not in services:
            services[window.service_id] = service(window.service)
            areas.extend(service_areas(window.service))
        providers.setdefault(window.service.provider_id, window.service.provider)
        if window.location_id not in locations:
            locations[window.location_id] = location(window.location)
        body["service_at_locations"].append(service_at_location(window))
        body["phones"].extend(phones(window))
        body["schedules"].extend(schedules(window))
    return {
        "total_items": paginator.count,
        "total_pages": paginator.num_pages,
        "page_number": page.number,
        "size": len(page.object_list),
        "first_page": not page.has_previous(),
        "last_page": not page.has_next(),
        "empty": paginator.count == 0,
        "next": page_url(page.next_page_number()) if page.has_next() else None,
        "previous": page_url(page.previous_page_number()) if page.has_previous() else None,
        "organizations": [organization(p) for p in providers.values()],
        "services": list(services.values()),
        "locations": list(locations.values()),
        **body,
        "service_areas": areas,
    }


# --- CSV: 公共施設一覧（正式版） --------------------------------------------------------

# The header of the 正式版 (56 columns) exactly as the real file
# tests/data/opendata/122033_101_public_facility.csv writes it.
PUBLIC_FACILITY_HEADER = (
    "全国地方公共団体コード",
    "ID",
    "地方公共団体名",
    "名称",
    "名称_カナ",
    "名称_英字",
    "名称_通称",
    "POIコード",
    "外部識別子",
    "外部識別子の値",
    "所在地_全国地方公共団体コード",
    "町字ID",
    "所在地_連結表記",
    "所在地_都道府県",
    "所在地_市区町村",
    "所在地_町字",
    "所在地_番地以下",
    "建物名等(方書)",
    "緯度",
    "経度",
    "高度の種別",
    "高度の値",
    "電話番号",
    "内線番号",
    "連絡先メールアドレス",
    "連絡先FormURL",
    "連絡先備考（その他、SNSなど）",
    "郵便番号",
    "法人番号",
    "団体名",
    "利用可能曜日",
    "開始時間",
    "終了時間",
    "利用可能時間特記事項",
    "説明",
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
    "飲食可否",
    "ベビーカー貸出",
    "ベビーカー利用",
    "URL",
    "画像",
    "画像_ライセンス",
    "備考",
)
# The import writes these columns into the location's accessibility as
# "列名: 値" lines; the export puts such lines back into their columns.
_FEATURES = ACCESSIBILITY_COLUMNS[ImportLayout.PUBLIC_FACILITY]
# What the import keys a row without ID by ("h" + a hash of name and address).
_HASHED = re.compile(r"h[0-9a-f]{16}")


def csv_queryset(municipality):
    """The public windows located in a municipality, in the navi's order."""
    return (
        ServiceAtLocation.objects.public()
        .filter(location__municipality=municipality)
        .select_related("service__provider", "location")
        .prefetch_related("phones", "schedules")
        .order_by("service__kana", "service__name", "pk")
    )


def _file_id(window: ServiceAtLocation, code: str) -> str:
    """The ID column. A window imported from a 公共施設一覧 file of this
    municipality gets its ID back (blank when the file had none: the import
    then matches it by name and address again), so that importing this
    export updates those windows in place; any other window is `navi-<pk>`."""
    key = window.service.source_key or ""
    prefix = f"{code}:{ImportLayout.PUBLIC_FACILITY}:"
    if key.startswith(prefix) and window.location.source_key == key:
        ident = key[len(prefix) :]
        return "" if _HASHED.fullmatch(ident) else ident
    return f"navi-{window.pk}"


def _days(group: list[Schedule]) -> str:
    return "".join(dict.fromkeys(_DAY_CHARS[Weekday(r.weekday)] for r in group))


def _clock(value) -> str:
    return f"{value:%H:%M}" if value is not None else ""


def _hours(window: ServiceAtLocation) -> tuple[str, str, str, str]:
    """(曜日, 開始, 終了, 特記事項). The file has one set of hours per row: the
    group with the most days; other groups and the rows' notes go to the note."""
    # The rows' notes go to the note column anyway: grouped by hours only.
    groups = hours_groups(window.schedules.all(), by_note=False)
    note = [window.location.hours_note] if window.location.hours_note else []
    if not groups:
        return "", "", "", "\n".join(note)
    main = max(groups, key=len)
    for group in groups:
        if group is not main:
            times = "〜".join(t for t in (_clock(group[0].opens_at), _clock(group[0].closes_at)))
            note.append(f"{_days(group)} {times}".strip())
    note.extend(dict.fromkeys(r.note for r in window.schedules.all() if r.note))
    return _days(main), _clock(main[0].opens_at), _clock(main[0].closes_at), "\n".join(note)


def _accessibility(text: str) -> tuple[dict[str, str], str]:
    """The feature columns of a location's accessibility, and the rest."""
    features, rest = {}, []
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep and name in _FEATURES and name not in features:
            features[name] = value
        elif line.strip():
            rest.append(line)
    return features, "\n".join(rest)


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def public_facility_row(window: ServiceAtLocation, municipality) -> list[str]:
    service, place = window.service, window.location
    days, opens, closes, note = _hours(window)
    features, other_accessibility = _accessibility(place.accessibility)
    remarks = ""
    # Cell text, like the header, is the dataset's Japanese whatever the
    # request's language: not gettext.
    if other_accessibility:
        remarks = f"バリアフリー情報: {other_accessibility}"
    cells = {
        "全国地方公共団体コード": municipality.code,
        "ID": _file_id(window, municipality.code),
        "地方公共団体名": municipality.name,
        "名称": service.name,
        "名称_カナ": service.kana,
        "所在地_全国地方公共団体コード": municipality.code,
        "所在地_連結表記": place.address,
        "所在地_都道府県": prefecture(municipality.code),
        "緯度": _number(place.latitude),
        "経度": _number(place.longitude),
        # The import splits on "、" again.
        "電話番号": "、".join(p.number for p in window.phones.all()),
        "連絡先メールアドレス": service.email,
        "郵便番号": place.postal_code,
        "団体名": service.provider.name,
        "利用可能曜日": days,
        "開始時間": opens,
        "終了時間": closes,
        "利用可能時間特記事項": note,
        "説明": service.description,
        **features,
        "URL": service.url,
        "備考": remarks,
    }
    return [defuse(cells.get(column, "")) for column in PUBLIC_FACILITY_HEADER]


def municipality_csv(municipality) -> Iterator[str]:
    """The file, piece by piece: a BOM and the header, then CRLF lines,
    read from the database CSV_CHUNK windows (and their prefetches) at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(PUBLIC_FACILITY_HEADER)
    yield "\ufeff" + flush()
    for i, window in enumerate(csv_queryset(municipality).iterator(chunk_size=CSV_CHUNK), start=1):
        writer.writerow(public_facility_row(window, municipality))
        if i % 200 == 0:
            yield flush()
    yield flush()
