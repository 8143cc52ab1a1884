"""The directory's exports (directory/exporting.py, /navi/export/…): HSDS 3.0
JSON checked against the official schemas, pages that cover every window
once at a flat query count, and the 公共施設一覧 CSV read back by the import."""

import csv
import io
import json
import uuid
from datetime import date, time
from pathlib import Path

import pytest
from django.urls import reverse
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from directory import exporting
from directory.enums import ServiceStatus, Weekday
from directory.importing import import_directory
from directory.models import (
    Category,
    Location,
    Phone,
    Provider,
    Schedule,
    Service,
    ServiceAtLocation,
)
from network.models import Municipality

from .directory_factories import window
from .factories import municipality, program, region
from .queries import assert_flat_query_count

DATA = Path(__file__).parent / "data"
SCHEMAS = DATA / "hsds-3.0"
PUBLIC_FILE = DATA / "opendata" / "122033_101_public_facility.csv"
HSDS_URL = reverse("directory:export_hsds")
# What each array of a page holds.
KINDS = {
    "organizations": "organization.json",
    "services": "service.json",
    "locations": "location.json",
    "service_at_locations": "service_at_location.json",
    "phones": "phone.json",
    "schedules": "schedule.json",
    "service_areas": "service_area.json",
}
# The count, the windows, then phones, schedules, service areas, categories
# and programs. Programs are the seventh: an M2M like the categories, so one
# more prefetch per page (the languages are a column of the service: none).
HSDS_QUERIES = 7
# The municipality, the windows, then phones and schedules.
CSV_QUERIES = 4


def csv_url(code: str) -> str:
    return reverse("directory:export_csv", kwargs={"code": code})


@pytest.fixture(scope="module")
def registry() -> Registry:
    """The schema files by name: their $refs are bare file names."""
    resources = [
        (
            path.name,
            Resource.from_contents(
                json.loads(path.read_text(encoding="utf-8")), default_specification=DRAFT202012
            ),
        )
        for path in SCHEMAS.glob("*.json")
    ]
    return Registry().with_resources(resources)


def validator(registry, schema) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def full_window(name: str, *, status=ServiceStatus.ACTIVE, code="011002") -> ServiceAtLocation:
    """A window with every field the exports write filled in."""
    at = window(name, code=code)
    service = at.service
    service.status = status
    service.kana = "くらしさぽーと"
    service.description = "暮らしの困りごとの相談"
    service.eligibility = "市内に住む人"
    service.fees = "無料"
    service.application_process = "電話で予約"
    service.required_documents = "本人確認書類"
    service.url = "https://example.org/kurashi"
    service.email = "soudan@example.org"
    service.verified_on = date(2026, 4, 1)
    service.languages = "日本語、英語"
    service.save()
    service.service_area.add(municipality(code), municipality("012025"))
    service.programs.add(program("jiritsu_sodan"), program("kakei_kaizen"))
    provider = service.provider
    provider.kana = "うんえいしゃ"
    provider.website = "https://example.org/"
    provider.email = "office@example.org"
    provider.description = "相談支援の法人"
    provider.save()
    place = at.location
    place.kana = "くらしさぽーと"
    place.postal_code = "060-0001"
    place.latitude, place.longitude = 43.0621, 141.3544
    place.accessibility = "車椅子可: 可\n授乳室: 有"
    place.hours_note = "祝日は休み"
    place.save()
    Phone.objects.create(service_at_location=at, number="011-000-0001", order=1)
    for day in (Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI):
        Schedule.objects.create(
            service_at_location=at, weekday=day, opens_at=time(9), closes_at=time(17)
        )
    Schedule.objects.create(
        service_at_location=at, weekday=Weekday.SAT, opens_at=time(10), closes_at=time(12)
    )
    return at


def with_status(name: str, status: str, *, code="011002") -> ServiceAtLocation:
    at = window(name, code=code)
    Service.objects.filter(pk=at.service_id).update(status=status)
    return at


def pages(client) -> list[dict]:
    """Every page of the HSDS export, following the next links."""
    found, url = [], HSDS_URL
    while url:
        response = client.get(url)
        assert response.status_code == 200
        found.append(response.json())
        url = found[-1]["next"]
    return found


def sal_id(at: ServiceAtLocation) -> str:
    return exporting.hsds_id("service_at_location", at.pk)


def rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body, newline="")))


# --- HSDS ---------------------------------------------------------------------------


def test_hsds_export_objects_validate_against_the_official_schemas(db, client, registry):
    Category.objects.create(key="sub", name="下位の分類", parent=Category.objects.first())
    at = full_window("くらしサポートセンター")
    at.service.categories.add(Category.objects.get(key="sub"))
    with_status("休止中の窓口", ServiceStatus.INACTIVE)

    page = client.get(HSDS_URL).json()

    openapi = json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8"))
    validator(registry, openapi["components"]["schemas"]["Page"]).validate(page)
    checked = 0
    for kind, schema in KINDS.items():
        assert page[kind], kind
        check = validator(registry, {"$ref": schema})
        for record in page[kind]:
            check.validate(record)
            checked += 1
    # The nested languages and 困りごと / 事業 terms, each against its own schema
    # too (service.json reaches them through its $refs as well).
    nested = {
        "language.json": [lang for s in page["services"] for lang in s.get("languages", [])],
        "attribute.json": [a for s in page["services"] for a in s["attributes"]],
        "taxonomy_term.json": [
            a["taxonomy_term"] for s in page["services"] for a in s["attributes"]
        ],
    }
    for schema, records in nested.items():
        check = validator(registry, {"$ref": schema})
        for record in records:
            check.validate(record)
    assert {k: len(v) for k, v in nested.items()} == {
        # 日本語、英語 of the full window; the other window has none.
        "language.json": 2,
        # Each window's 困りごと (window() takes the first by order: here the
        # sub-category, order 0) and the full window's 2 事業.
        "attribute.json": 4,
        "taxonomy_term.json": 4,
    }
    assert {k: len(page[k]) for k in KINDS} == {
        "organizations": 2,
        "services": 2,
        "locations": 2,
        "service_at_locations": 2,
        "phones": 3,
        # 月 9–17 with its note, 火〜金 9–17, 土 10–12; the other window's 月.
        "schedules": 4,
        "service_areas": 2,
    }
    assert checked == 17


def test_hsds_export_writes_the_window_as_linked_hsds_records(db, client):
    at = full_window("くらしサポートセンター")

    page = client.get(HSDS_URL).json()

    service_id = exporting.hsds_id("service", at.service_id)
    assert str(uuid.UUID(service_id)) == service_id
    [service] = page["services"]
    assert service["id"] == service_id
    assert service["organization_id"] == page["organizations"][0]["id"]
    assert (service["name"], service["status"], service["eligibility_description"]) == (
        "くらしサポートセンター",
        "active",
        "市内に住む人",
    )
    assert service["attributes"][0]["taxonomy_term"]["code"] == "seikatsu"
    assert page["service_at_locations"] == [
        {
            "id": sal_id(at),
            "service_id": service_id,
            "location_id": exporting.hsds_id("location", at.location_id),
            "description": "祝日は休み",
        }
    ]
    [place] = page["locations"]
    assert place["addresses"][0]["state_province"] == "北海道"
    assert place["addresses"][0]["city"] == "札幌市"
    assert (place["latitude"], place["longitude"]) == (43.0621, 141.3544)
    assert [(s["byday"], s.get("opens_at"), s.get("closes_at")) for s in page["schedules"]] == [
        ("MO", "09:00+09:00", "17:00+09:00"),
        ("TU,WE,TH,FR", "09:00+09:00", "17:00+09:00"),
        ("SA", "10:00+09:00", "12:00+09:00"),
    ]
    assert page["schedules"][0]["notes"] == "受付は16時半まで"
    assert [p["number"] for p in page["phones"]] == ["011-000-0000", "011-000-0001"]
    assert sorted(a["name"] for a in page["service_areas"]) == ["函館市", "札幌市"]
    # The same record keeps its ids from one export to the next.
    assert client.get(HSDS_URL).json() == page


def test_hsds_export_nests_the_services_languages_with_iso_codes(db, client, registry):
    at = full_window("くらしサポートセンター")
    bare = window("言語の書かれていない窓口")

    page = client.get(HSDS_URL).json()

    service_id = exporting.hsds_id("service", at.service_id)
    by_id = {s["id"]: s for s in page["services"]}
    assert by_id[service_id]["languages"] == [
        {
            "id": exporting.hsds_id("language", at.service_id, "日本語"),
            "service_id": service_id,
            "name": "日本語",
            "code": "ja",
        },
        {
            "id": exporting.hsds_id("language", at.service_id, "英語"),
            "service_id": service_id,
            "name": "英語",
            "code": "en",
        },
    ]
    # No languages written: no languages array (HSDS never has null or []).
    assert "languages" not in by_id[exporting.hsds_id("service", bare.service_id)]
    check = validator(registry, {"$ref": "language.json"})
    for record in by_id[service_id]["languages"]:
        check.validate(record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("日本語、英語", [("日本語", "ja", ""), ("英語", "en", "")]),
        ("日本語,英語", [("日本語", "ja", ""), ("英語", "en", "")]),
        (
            "中国語（簡体字・繁体字）・韓国・朝鮮語／ベトナム語",
            [
                ("中国語", "zh", "簡体字・繁体字"),
                ("韓国・朝鮮語", "ko", ""),
                ("ベトナム語", "vi", ""),
            ],
        ),
        (
            "ポルトガル語；英語(電話のみ)\nやさしい日本語、英語",
            [("ポルトガル語", "pt", ""), ("英語", "en", "電話のみ"), ("やさしい日本語", "ja", "")],
        ),
        # Not ISO 639-1: アイヌ語 has the ISO 639-3 code; unknown names none.
        (
            "アイヌ語、手話、ｽﾜﾋﾘ語",
            [("アイヌ語", "ain", ""), ("手話", None, ""), ("スワヒリ語", None, "")],
        ),
        ("", []),
    ],
)
def test_hsds_languages_are_split_and_coded(db, registry, text, expected):
    service = Service(pk=1, name="窓口", languages=text)

    exported = exporting.languages(service)

    assert [(lang["name"], lang.get("code"), lang.get("note", "")) for lang in exported] == (
        expected
    )
    assert len({lang["id"] for lang in exported}) == len(exported)
    check = validator(registry, {"$ref": "language.json"})
    for record in exported:
        check.validate(record)


def test_hsds_export_writes_the_services_programs_as_taxonomy_terms(db, client, registry):
    at = full_window("くらしサポートセンター")

    page = client.get(HSDS_URL).json()

    [service] = page["services"]
    service_id = exporting.hsds_id("service", at.service_id)
    programs = [a for a in service["attributes"] if a["link_type"] == "program"]
    jiritsu, kakei = program("jiritsu_sodan"), program("kakei_kaizen")
    assert programs == [
        {
            "id": exporting.hsds_id("attribute", "program", at.service_id, p.pk),
            "link_id": service_id,
            "link_type": "program",
            "link_entity": "service",
            "taxonomy_term_id": exporting.hsds_id("program", p.pk),
            "taxonomy_term": {
                "id": exporting.hsds_id("program", p.pk),
                "code": key,
                "name": name,
                "description": common,
                "taxonomy": "tsunagari:jigyo",
                "language": "ja",
            },
        }
        for p, key, name, common in (
            (jiritsu, "jiritsu_sodan", "生活困窮者自立相談支援事業", "自立相談支援事業"),
            (kakei, "kakei_kaizen", "生活困窮者家計改善支援事業", "家計改善支援事業"),
        )
    ]
    # The 事業 are the Act's reference list, not one provider's program: no
    # HSDS program (one per service, owned by an organization) is invented.
    assert "program" not in service and "program_id" not in service
    # A 事業 term keeps its id in every service that has it.
    other = window("家計の窓口")
    other.service.programs.add(kakei)
    terms = {
        a["taxonomy_term"]["code"]: a["taxonomy_term_id"]
        for s in client.get(HSDS_URL).json()["services"]
        for a in s["attributes"]
        if a["link_type"] == "program"
    }
    assert terms == {
        "jiritsu_sodan": exporting.hsds_id("program", jiritsu.pk),
        "kakei_kaizen": exporting.hsds_id("program", kakei.pk),
    }
    check = validator(registry, {"$ref": "attribute.json"})
    for record in programs:
        check.validate(record)


def test_hsds_export_has_active_and_inactive_windows_never_defunct(db, client):
    active = window("受付中の窓口")
    paused = with_status("休止中の窓口", ServiceStatus.INACTIVE)
    with_status("終了した窓口", ServiceStatus.DEFUNCT)

    response = client.get(HSDS_URL)

    page = response.json()
    assert [s["id"] for s in page["service_at_locations"]] == [sal_id(active), sal_id(paused)]
    assert {s["name"]: s["status"] for s in page["services"]} == {
        "受付中の窓口": "active",
        "休止中の窓口": "inactive",
    }
    assert page["total_items"] == 2
    assert "終了した窓口" not in response.content.decode()


@pytest.mark.parametrize("size", [2, 3])
def test_hsds_export_pages_cover_every_window_exactly_once(db, client, monkeypatch, size):
    monkeypatch.setattr(exporting, "HSDS_PAGE_SIZE", size)
    windows = [window(f"窓口{i}") for i in range(7)]
    with_status("終了した窓口", ServiceStatus.DEFUNCT)

    found = pages(client)

    listed = [s["id"] for page in found for s in page["service_at_locations"]]
    assert listed == [sal_id(w) for w in windows]
    assert len(found) == -(-7 // size)
    assert [p["page_number"] for p in found] == list(range(1, len(found) + 1))
    assert (found[0]["first_page"], found[-1]["last_page"], found[-1]["next"]) == (
        True,
        True,
        None,
    )
    assert {p["total_items"] for p in found} == {7}
    # Every page has the records its windows name, and no others.
    for page in found:
        services = {s["id"] for s in page["services"]}
        assert {s["service_id"] for s in page["service_at_locations"]} == services


def test_hsds_export_page_query_count_does_not_grow(db, client, django_assert_num_queries):
    made = []

    def add(n):
        made.extend(full_window(f"窓口{len(made) + i}") for i in range(n))

    assert_flat_query_count(
        django_assert_num_queries,
        client,
        HSDS_URL,
        add,
        HSDS_QUERIES,
        lambda response: len(response.json()["service_at_locations"]),
        large=12,
    )


def test_hsds_export_page_query_count_is_flat_across_pages(
    db, client, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(exporting, "HSDS_PAGE_SIZE", 5)
    for i in range(12):
        full_window(f"窓口{i}")
    for number in (1, 3):
        with django_assert_num_queries(HSDS_QUERIES):
            response = client.get(HSDS_URL, {"page": number})
        assert len(response.json()["service_at_locations"]) == {1: 5, 3: 2}[number]


@pytest.mark.parametrize("page", ["0", "3", "abc"])
def test_hsds_export_unknown_page_is_404(db, client, page):
    window()

    assert client.get(HSDS_URL, {"page": page}).status_code == 404


def test_hsds_export_of_an_empty_directory_is_one_empty_page(db, client):
    page = client.get(HSDS_URL).json()

    assert (page["total_items"], page["empty"], page["service_at_locations"]) == (0, True, [])


# --- CSV ------------------------------------------------------------------------------


def test_csv_export_writes_the_public_facility_header_with_bom_and_crlf(db, client):
    window("くらしサポートセンター")

    response = client.get(csv_url("011002"))

    body = b"".join(response.streaming_content)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body.startswith("\ufeff".encode())
    expected = PUBLIC_FILE.read_bytes().decode("cp932").split("\r\n")[0]
    lines = body.decode("utf-8-sig").split("\r\n")
    assert lines[0] == expected
    assert len(lines) == 3 and lines[2] == ""
    assert "\n" not in body.decode().replace("\r\n", "")


def test_csv_export_row_holds_the_window(db, client):
    at = full_window("くらしサポートセンター")

    header, row = rows(client.get(csv_url("011002")))

    cells = dict(zip(header, row, strict=True))
    filled = {k: v for k, v in cells.items() if v}
    assert filled == {
        "全国地方公共団体コード": "011002",
        "ID": f"navi-{at.pk}",
        "地方公共団体名": "札幌市",
        "名称": "くらしサポートセンター",
        "名称_カナ": "くらしさぽーと",
        "所在地_全国地方公共団体コード": "011002",
        "所在地_連結表記": "札幌市中央区北1条西2丁目",
        "所在地_都道府県": "北海道",
        "緯度": "43.0621",
        "経度": "141.3544",
        "電話番号": "011-000-0000、011-000-0001",
        "連絡先メールアドレス": "soudan@example.org",
        "郵便番号": "060-0001",
        "団体名": "くらしサポートセンターの運営者",
        # The most days with the same hours; the rest goes to the note.
        "利用可能曜日": "月火水木金",
        "開始時間": "09:00",
        "終了時間": "17:00",
        "利用可能時間特記事項": "祝日は休み\n土 10:00〜12:00\n受付は16時半まで",
        "説明": "暮らしの困りごとの相談",
        "車椅子可": "可",
        "授乳室": "有",
        "URL": "https://example.org/kurashi",
    }


def test_csv_export_has_only_the_municipalitys_public_windows(db, client):
    shown = window("受付中の窓口")
    with_status("休止中の窓口", ServiceStatus.INACTIVE)
    with_status("終了した窓口", ServiceStatus.DEFUNCT)
    window("函館の窓口", code="012025")

    header, *data = rows(client.get(csv_url("011002")))

    assert [(r[header.index("ID")], r[header.index("名称")]) for r in data] == [
        (f"navi-{shown.pk}", "受付中の窓口")
    ]


def test_csv_export_query_count_does_not_grow(db, client, django_assert_num_queries):
    made = []

    def add(n):
        made.extend(full_window(f"窓口{len(made) + i}") for i in range(n))

    def count(response):
        return len(rows(response)) - 1

    url = csv_url("011002")
    add(1)
    with django_assert_num_queries(CSV_QUERIES):
        assert count(client.get(url)) == 1
    add(11)
    with django_assert_num_queries(CSV_QUERIES):
        assert count(client.get(url)) == 12


def test_csv_export_defuses_formula_characters(db, client):
    at = window('=HYPERLINK("https://evil.example")')
    Service.objects.filter(pk=at.service_id).update(description="+cmd|' /C calc'!A0")
    Provider.objects.filter(pk=at.service.provider_id).update(name="@SUM(1+1)")

    header, row = rows(client.get(csv_url("011002")))

    cells = dict(zip(header, row, strict=True))
    assert (cells["名称"], cells["説明"], cells["団体名"]) == (
        '\'=HYPERLINK("https://evil.example")',
        "'+cmd|' /C calc'!A0",
        "'@SUM(1+1)",
    )
    assert cells["経度"] == ""


def snapshot() -> list[tuple]:
    """What a window of the navi is made of, as the 公共施設一覧 carries it."""
    return sorted(
        (
            w.service.name,
            w.service.kana,
            w.service.description,
            w.service.url,
            w.service.email,
            w.service.status,
            w.service.provider.name,
            w.location.address,
            w.location.municipality.code,
            w.location.postal_code,
            w.location.latitude,
            w.location.longitude,
            w.location.accessibility,
            tuple(p.number for p in w.phones.order_by("order", "pk")),
            tuple(
                sorted(
                    (s.weekday, s.opens_at, s.closes_at)
                    for s in w.schedules.all()
                    if (s.opens_at, s.closes_at) == (time(9), time(17))
                )
            ),
        )
        for w in ServiceAtLocation.objects.public()
        .filter(location__municipality__code="011002")
        .select_related("service__provider", "location__municipality")
    )


def test_csv_export_round_trips_through_the_import(db, client):
    full_window("くらしサポートセンター")
    window("就労支援の窓口")
    window("函館の窓口", code="012025")
    with_status("休止中の窓口", ServiceStatus.INACTIVE)
    before = snapshot()
    raw = b"".join(client.get(csv_url("011002")).streaming_content)

    checked = import_directory(raw=raw, dry_run=True)

    assert checked.errors == []
    assert (checked.layout, checked.rows, checked.created, checked.phones) == (
        "public_facility",
        2,
        2,
        3,
    )
    # Into a directory without them: the same windows come back.
    ServiceAtLocation.objects.filter(location__municipality__code="011002").delete()
    Service.objects.filter(windows=None).delete()
    Location.objects.filter(windows=None).delete()
    assert snapshot() == []
    written = import_directory(raw=raw)
    assert written.errors == []
    assert snapshot() == before


@pytest.fixture
def ichikawa(db):
    """市川市 (the real file's, outside Hokkaido), registered."""
    return Municipality.objects.create(
        code="122033", name="市川市", kana="いちかわし", kind="市", region=region()
    )


def test_csv_export_of_an_imported_file_imports_back_unchanged(db, client, ichikawa):
    imported = import_directory(raw=PUBLIC_FILE.read_bytes())
    assert imported.written

    raw = b"".join(client.get(csv_url("122033")).streaming_content)
    again = import_directory(raw=raw, dry_run=True)

    assert again.errors == []
    assert (again.rows, again.created, again.updated, again.providers_created) == (
        imported.created,
        0,
        0,
        0,
    )
    assert again.unchanged == imported.created


@pytest.mark.parametrize("code", ["999999", "011003", "abc"])
def test_csv_export_unknown_municipality_is_404(db, client, code):
    window()

    assert client.get(csv_url(code)).status_code == 404


def test_csv_export_of_a_municipality_without_windows_is_the_header_only(db, client):
    window()

    assert [len(r) for r in rows(client.get(csv_url("012025")))] == [56]


@pytest.mark.parametrize("url", [HSDS_URL, csv_url("011002")])
def test_exports_refuse_post_and_change_nothing(db, client, url):
    window()

    response = client.post(url)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert ServiceAtLocation.objects.count() == 1
