"""The directory import (directory.importing, manage.py import_directory):
the four real open-data files, the native CSV, re-import, malformed files."""

from datetime import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from directory.enums import ImportLayout, ServiceStatus, Weekday
from directory.importing import import_directory, municipality_code
from directory.models import Location, Phone, Provider, Schedule, Service, ServiceAtLocation
from network.models import Municipality

from .factories import region

DATA = Path(__file__).parent / "data" / "opendata"
PRESCHOOL = DATA / "112038_preschool.csv"
PUBLIC = DATA / "122033_101_public_facility.csv"
CARE = DATA / "122033_109_care_service.csv"
PUBLIC_OLD = DATA / "202142_public_facility.csv"

NATIVE_HEADER = (
    "municipality_code,id,provider,name,kana,description,status,categories,"
    "service_area,address,latitude,longitude,phones,days,opens,closes\r\n"
)


@pytest.fixture
def outside_hokkaido(db):
    """The samples' municipalities (none is in Hokkaido: network/data has only
    Hokkaido's 179), registered so that their codes are known."""
    for code, name, kana in (
        ("122033", "市川市", "いちかわし"),
        ("112038", "川口市", "かわぐちし"),
        ("202142", "茅野市", "ちのし"),
    ):
        Municipality.objects.create(code=code, name=name, kana=kana, kind="市", region=region())


def counts():
    return {
        "providers": Provider.objects.count(),
        "services": Service.objects.count(),
        "locations": Location.objects.count(),
        "windows": ServiceAtLocation.objects.count(),
        "phones": Phone.objects.count(),
        "schedules": Schedule.objects.count(),
    }


EMPTY = dict.fromkeys(["providers", "services", "locations", "windows", "phones", "schedules"], 0)


def native(*lines: str) -> bytes:
    return (NATIVE_HEADER + "".join(line + "\r\n" for line in lines)).encode("utf-8")


def window(name: str) -> ServiceAtLocation:
    return ServiceAtLocation.objects.select_related(
        "service__provider", "location__municipality"
    ).get(service__name=name)


def schedule_of(w: ServiceAtLocation) -> list[tuple]:
    return [(s.weekday, s.opens_at, s.closes_at) for s in w.schedules.order_by("pk")]


def test_municipality_code_adds_and_checks_the_check_digit():
    assert municipality_code("01100") == "011002"
    assert municipality_code("０１１００２") == "011002"
    assert municipality_code("12203") == "122033"
    assert municipality_code("011003") is None
    assert municipality_code("札幌") is None


def test_import_preschool_file_reads_utf8_bom_and_multiline_fields(outside_hokkaido):
    result = import_directory(raw=PRESCHOOL.read_bytes())

    assert result.errors == []
    assert (result.layout, result.rows, result.created, result.written) == (
        ImportLayout.PRESCHOOL,
        302,
        302,
        True,
    )
    assert counts() == {
        "providers": 145,
        "services": 302,
        "locations": 302,
        "windows": 302,
        "phones": 302,
        "schedules": 1772,
    }
    w = window("川口市立栄町保育所")
    assert w.service.source_key == "112038:preschool:k130000001"
    assert w.location.municipality.code == "112038"
    assert w.location.address == "埼玉県川口市栄町1-2-19"
    assert (w.location.latitude, w.location.longitude) == (35.80447743, 139.7269241)
    assert [p.number for p in w.phones.all()] == ["048-252-4384"]
    assert w.service.eligibility == "1歳から5歳"
    assert schedule_of(w) == [
        (day, time(7, 0), time(19, 0))
        for day in (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI, Weekday.SAT)
    ]
    assert w.location.hours_note.startswith("土曜日の開所時間は07：00から18：00")
    assert [c.name for c in w.service.categories.all()] == ["子ども・学習"]
    assert [m.code for m in w.service.service_area.all()] == ["112038"]


def test_import_public_facility_file_reads_cp932_and_empty_ids(outside_hokkaido):
    result = import_directory(raw=PUBLIC.read_bytes())

    assert result.errors == []
    assert (result.layout, result.rows, result.created, result.repeated) == (
        ImportLayout.PUBLIC_FACILITY,
        342,
        340,
        2,  # 塩浜学園 and 鬼高小学校放課後保育クラブ are listed twice
    )
    assert counts()["windows"] == 340
    assert counts()["phones"] == 264
    w = window("市川小学校")
    assert w.service.source_key.startswith("122033:public_facility:h")
    assert w.service.provider.name == "市川市"
    assert w.location.municipality.name == "市川市"
    assert [p.number for p in w.phones.all()] == ["047-325-4758"]
    assert w.service.url == "https://ichikawa-school.ed.jp/ichikawa-sho"


def test_import_care_service_file_uses_its_own_name_column(outside_hokkaido):
    result = import_directory(raw=CARE.read_bytes())

    assert result.errors == []
    assert (result.layout, result.rows, result.created) == (ImportLayout.CARE_SERVICE, 53, 53)
    assert counts()["phones"] == 53
    w = window("中山デイサービスセンター")
    assert w.service.provider.name == "社会福祉法人 市川朝日会"
    assert w.service.description == "通所介護"
    assert w.location.hours_note == "祝日除く"
    # Days without hours: the days the window is open, hours unknown.
    assert schedule_of(w) == [
        (day, None, None)
        for day in (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
    ]
    assert [c.name for c in w.service.categories.all()] == ["障がい・介護"]


def test_import_old_public_facility_file_reads_the_24_column_layout(outside_hokkaido):
    result = import_directory(raw=PUBLIC_OLD.read_bytes())

    assert result.errors == []
    assert (result.layout, result.rows, result.created) == (
        ImportLayout.PUBLIC_FACILITY_OLD,
        93,
        93,
    )
    assert counts()["phones"] == 78
    w = window("茅野市立永明小学校")
    assert w.service.source_key == "202142:public_facility_old:1200180001"
    assert w.service.provider.name == "茅野市"
    assert w.location.municipality.code == "202142"
    assert w.location.accessibility == "多目的トイレ有り;スロープ有り"
    assert [p.number for p in w.phones.all()] == ["0266-72-2207"]


def test_import_same_file_again_updates_instead_of_duplicating(outside_hokkaido):
    import_directory(raw=PRESCHOOL.read_bytes())
    before = counts()
    Service.objects.filter(name="川口市立栄町保育所").update(name="古い名前", eligibility="")

    result = import_directory(raw=PRESCHOOL.read_bytes())

    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (0, 1, 301)
    assert counts() == before
    assert Service.objects.get(source_key="112038:preschool:k130000001").name == (
        "川口市立栄町保育所"
    )


def test_import_dry_run_writes_nothing_and_counts(outside_hokkaido):
    result = import_directory(raw=CARE.read_bytes(), dry_run=True)

    assert result.errors == []
    assert (result.created, result.phones, result.written) == (53, 53, False)
    assert counts() == EMPTY


def test_import_native_csv_writes_every_field(db):
    raw = native(
        "011002,S-1,札幌市社会福祉協議会,くらしの相談窓口,くらしのそうだん,家計と仕事の相談,"
        "active,kakei|shigoto,011002|012025,札幌市中央区大通西19丁目,43.05,141.33,"
        "011-222-3333/011-222-4444,月～金,9:00,17:00"
    )

    result = import_directory(raw=raw)

    assert result.errors == []
    assert result.layout == ImportLayout.NATIVE
    w = window("くらしの相談窓口")
    assert w.service.source_key == "011002:native:S-1"
    assert w.service.status == ServiceStatus.ACTIVE
    assert w.service.provider.name == "札幌市社会福祉協議会"
    # The file's categories; the default 社会福祉協議会 rule reads the name
    # column (the window's name here), not the provider.
    assert sorted(c.key for c in w.service.categories.all()) == ["kakei", "shigoto"]
    assert sorted(m.code for m in w.service.service_area.all()) == ["011002", "012025"]
    assert [p.number for p in w.phones.all()] == ["011-222-3333", "011-222-4444"]
    assert len(schedule_of(w)) == 5
    assert schedule_of(w)[0] == (Weekday.MON, time(9, 0), time(17, 0))


GOOD = "011002,A,運営,窓口A,,,,,,,43.0,141.3,,,,"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "011002,B,運営,窓口B,,,,,,,abc,141.3,,,,",
            "3行目・列「latitude」: 「abc」は緯度として読めません。-90〜90 の数値にしてください。",
        ),
        (
            "011002,B,運営,窓口B,,,,,,,43.0,200,,,,",
            "3行目・列「longitude」: 「200」は経度として読めません。-180〜180 の数値にしてください。",
        ),
        (
            "131016,B,運営,窓口B,,,,,,,,,,,,",
            "3行目・列「municipality_code」: 市町村コード「131016」の市町村が登録されていません。",
        ),
        (
            "011003,B,運営,窓口B,,,,,,,,,,,,",
            "3行目・列「municipality_code」: 「011003」は全国地方公共団体コードとして読めません"
            "（5桁または検査数字付き6桁）。",
        ),
        ("011002,B,運営,,,,,,,,,,,,,", "3行目・列「name」: 名称が空です。"),
        (
            "011002,A,運営,窓口A2,,,,,,,,,,,,",
            "3行目・列「id」: 2行目と同じIDです。IDは1施設に1つにしてください。",
        ),
        (
            "011002,B,運営,窓口B,,,closed,,,,,,,,,",
            "3行目・列「status」: 「closed」は状態として使えません: "
            "active（受付中の事業）、inactive（一時休止）、defunct（終了）",
        ),
        (
            "011002,B,運営,窓口B,,,,nayami,,,,,,,,",
            "3行目・列「categories」: 不明な困りごとのキー: nayami（使えるキー: seikatsu | shigoto"
            " | kakei | kazoku | sumai | tabemono | kokoro | kodomo | boryoku | shogai_kaigo）",
        ),
    ],
)
def test_import_malformed_row_writes_nothing_and_names_row_and_column(db, line, message):
    result = import_directory(raw=native(GOOD, line))

    assert [str(e) for e in result.errors] == [message]
    assert result.written is False
    assert counts() == EMPTY


def test_import_bad_coordinate_in_open_data_file_names_the_japanese_column(outside_hokkaido):
    raw = PUBLIC_OLD.read_bytes().replace(b"35.997666", b"35.99.7666")

    result = import_directory(raw=raw)

    assert [str(e) for e in result.errors] == [
        "2行目・列「緯度」: 「35.99.7666」は緯度として読めません。-90〜90 の数値にしてください。"
    ]
    assert counts() == EMPTY


def test_import_missing_required_column_is_one_file_error(db):
    raw = "都道府県コード又は市区町村コード,NO,住所\r\n011002,1,札幌市\r\n".encode()

    result = import_directory(raw=raw)

    assert [str(e) for e in result.errors] == [
        "1行目: 必須の列がありません: 名称（公共施設一覧（旧24列））"
    ]
    assert counts() == EMPTY


def test_import_wrong_encoding_is_refused(db):
    raw = native(GOOD).decode().encode("utf-16")

    result = import_directory(raw=raw)

    assert [str(e) for e in result.errors] == [
        "ファイルの文字コードを判別できません（UTF-16、Excel の「Unicode テキスト」で"
        "保存されたファイルです）。CSVは UTF-8（BOM付き可）または "
        "Shift_JIS（CP932）で保存してください。Excel では「CSV UTF-8（コンマ区切り）」"
        "で保存すると確実です。"
    ]
    assert counts() == EMPTY


def test_import_unknown_layout_is_refused(db):
    result = import_directory(raw="氏名,住所\r\n山田,札幌\r\n".encode())

    assert [str(e) for e in result.errors] == [
        "1行目: どの形式のファイルか分かりません。公共施設一覧・介護サービス事業所一覧・"
        "子育て施設一覧（自治体標準オープンデータセット）か、ネイティブCSVの列名にしてください。"
    ]


def test_import_directory_command_prints_the_summary(outside_hokkaido):
    out = StringIO()

    call_command("import_directory", str(CARE), stdout=out)

    assert out.getvalue().splitlines() == [
        "介護サービス事業所一覧 53 行：窓口 新規 53 件・更新 0 件・変更なし 0 件、"
        "同じ施設の重複行 0 行、運営者 新規 22 件、電話番号 53 件、受付時間 28 件",
        "取り込みました。",
    ]
    assert counts()["windows"] == 53


def test_import_directory_command_dry_run_says_nothing_was_saved(outside_hokkaido):
    out = StringIO()

    call_command("import_directory", str(CARE), "--dry-run", stdout=out)

    assert out.getvalue().splitlines()[1] == (
        "確認のみ（--dry-run）のため何も保存していません。--dry-run を外すと保存します。"
    )
    assert counts() == EMPTY


def test_import_directory_command_lists_errors_and_fails(db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(native(GOOD, "011003,B,運営,窓口B,,,,,,,,,,,,"))
    err = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("import_directory", str(path), stderr=err)

    assert str(raised.value) == "エラーが 1 件あります。何も保存していません。"
    assert err.getvalue().splitlines() == [
        "3行目・列「municipality_code」: 「011003」は全国地方公共団体コードとして読めません"
        "（5桁または検査数字付き6桁）。"
    ]
    assert counts() == EMPTY


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/a", "https://"])
def test_import_refuses_a_url_that_is_no_web_address(db, url):
    """The window's public page links it: only http(s) addresses are taken."""
    result = import_directory(raw=f"municipality_code,name,url\r\n011002,窓口U,{url}\r\n".encode())

    assert [str(e) for e in result.errors] == [
        f"2行目・列「url」: 「{url}」はホームページのURLとして読めません"
        "（http:// か https:// で始まるURL）。"
    ]
    assert counts() == EMPTY


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://example.org/soudan", "https://example.org/soudan"),
        ("http://example.org/", "http://example.org/"),
        # 市川市's file writes some addresses without a scheme.
        ("www.city.ichikawa.lg.jp/higashiyama/", "https://www.city.ichikawa.lg.jp/higashiyama/"),
    ],
)
def test_import_takes_a_web_address(db, url, stored):
    raw = f"municipality_code,name,url\r\n011002,窓口U,{url}\r\n".encode()
    assert import_directory(raw=raw).errors == []
    assert window("窓口U").service.url == stored
