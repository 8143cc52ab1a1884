"""Spreadsheet import/export of organisations and memberships.

Most tests drive the resources directly from file bytes through the project's
formats (core.importing.CSV / XLSX), which is exactly what the admin does; a
few go through the admin's two-step import (upload -> confirm) and export.
"""

import csv
import io
from pathlib import Path

import pytest
import tablib
from django.urls import reverse

from core.importing import CSV, XLSX, ImportFileError, decode_upload, import_errors
from network.models import Membership, Organisation, User
from network.resources import MembershipResource, OrganisationResource
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory, program

DATA = Path(__file__).parent / "data"

ORG_HEADER = "name,kana,kind,municipality,programs,email,phone,website,address,is_sample,is_active"
MEMBER_HEADER = "email,full_name,full_name_kana,organisation,staff_role,experience,is_org_admin"


def csv_dataset(text: str, encoding: str = "utf-8") -> tablib.Dataset:
    return CSV().create_dataset(text.encode(encoding))


def import_orgs(dataset, dry_run=False):
    return OrganisationResource().import_data(dataset, dry_run=dry_run, raise_errors=False)


def import_members(dataset, dry_run=False):
    return MembershipResource().import_data(dataset, dry_run=dry_run, raise_errors=False)


def errors_of(result):
    return [(e.row, e.field, e.message) for e in import_errors(result)]


# --- decoding -----------------------------------------------------------------


def test_decode_upload_accepts_utf8_bom_and_cp932():
    text = "名称,種別\n札幌市,自治体\n"
    assert decode_upload(text.encode("utf-8")) == text
    assert decode_upload(text.encode("utf-8-sig")) == text
    assert decode_upload(text.encode("cp932")) == text


@pytest.mark.parametrize(
    "raw",
    [
        "名称,種別\n札幌市,自治体\n".encode("utf-16"),
        "name,kind\nabc,def\n".encode("utf-16-le"),  # no BOM: NULs everywhere
        bytes(range(256)) * 4,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    ],
    ids=["utf16", "utf16-no-bom", "random-bytes", "png"],
)
def test_decode_upload_rejects_other_encodings_in_japanese(raw):
    with pytest.raises(ValueError, match="文字コードを判別できません"):
        decode_upload(raw)


# --- organisations: successful imports -------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filename",
    ["organisations_utf8.csv", "organisations_utf8_bom.csv", "organisations_cp932.csv"],
)
def test_organisation_import_csv_accepts_each_encoding(filename):
    dataset = CSV().create_dataset((DATA / filename).read_bytes())

    result = import_orgs(dataset)

    assert errors_of(result) == []
    hakodate = Organisation.objects.get(name="函館くらしサポート")
    assert hakodate.kana == "はこだてくらしさぽーと"
    assert hakodate.kind == Organisation.Kind.CONTRACTOR  # from the label 受託団体
    assert hakodate.municipality.code == "012025"
    assert hakodate.region.name == "渡島総合振興局"  # derived from the municipality
    assert sorted(hakodate.programs.values_list("key", flat=True)) == [
        "jiritsu_sodan",
        "kakei_kaizen",
    ]
    assert hakodate.website == "https://hakodate-kurashi.example.org/"
    assert hakodate.is_sample is True
    asahikawa = Organisation.objects.get(name="旭川市福祉保険部")
    assert asahikawa.kind == Organisation.Kind.MUNICIPALITY  # from the code
    assert asahikawa.is_sample is False
    kushiro = Organisation.objects.get(name="釧路ささえあいネット")
    assert kushiro.is_sample is True  # はい
    assert kushiro.is_active is True  # blank keeps the default
    assert Organisation.objects.count() == 3


@pytest.mark.django_db
def test_organisation_import_twice_changes_nothing():
    raw = (DATA / "organisations_utf8.csv").read_bytes()
    import_orgs(CSV().create_dataset(raw))

    result = import_orgs(CSV().create_dataset(raw))

    assert errors_of(result) == []
    assert Organisation.objects.count() == 3
    assert [r.import_type for r in result.rows] == ["skip", "skip", "skip"]


@pytest.mark.django_db
def test_organisation_import_by_natural_key_updates_existing():
    existing = OrganisationFactory(name="札幌生活支援センター", kana="", kind="contractor")
    dataset = csv_dataset(
        f"{ORG_HEADER}\n札幌生活支援センター,さっぽろせいかつしえんせんたー,受託団体,011002,,,,,,0,1\n"
    )

    result = import_orgs(dataset)

    assert errors_of(result) == []
    existing.refresh_from_db()
    assert existing.kana == "さっぽろせいかつしえんせんたー"
    assert Organisation.objects.count() == 1


@pytest.mark.django_db
def test_organisation_export_edit_import_round_trip_renames_by_id():
    org = OrganisationFactory(name="旧名称センター", kind="support")
    org.programs.add(program("jiritsu_sodan"))
    exported = OrganisationResource().export()
    assert exported.dict[0]["市町村コード"] == "011002"
    assert exported.dict[0]["実施事業"] == "jiritsu_sodan"
    assert exported.dict[0]["種別"] == "支援団体"
    exported[0] = tuple("新名称センター" if v == "旧名称センター" else v for v in exported[0])
    raw = CSV().export_data(exported)

    result = import_orgs(CSV().create_dataset(raw))

    assert errors_of(result) == []
    org.refresh_from_db()
    assert org.name == "新名称センター"
    assert list(org.programs.values_list("key", flat=True)) == ["jiritsu_sodan"]
    assert Organisation.objects.count() == 1


@pytest.mark.django_db
def test_organisation_import_xlsx_with_numeric_code_cell():
    sheet = tablib.Dataset(headers=["name", "kind", "municipality"])
    sheet.append(["小樽くらし相談所", "受託団体", 12033])  # Excel dropped the leading 0
    raw = sheet.export("xlsx")

    result = import_orgs(XLSX().create_dataset(raw))

    assert errors_of(result) == []
    assert Organisation.objects.get(name="小樽くらし相談所").municipality.name == "小樽市"


@pytest.mark.django_db
def test_organisation_import_without_municipality_takes_region_by_name():
    dataset = csv_dataset("name,kind,municipality,region\n石狩振興局社会福祉課,自治体,,石狩\n")

    result = import_orgs(dataset)

    assert errors_of(result) == []
    unit = Organisation.objects.get(name="石狩振興局社会福祉課")
    assert unit.municipality is None
    assert unit.region.name == "石狩振興局"


@pytest.mark.django_db
def test_organisation_dry_run_writes_nothing():
    result = import_orgs(CSV().create_dataset((DATA / "organisations_utf8.csv").read_bytes()), True)

    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 3
    assert Organisation.objects.count() == 0


# --- organisations: malformed files write nothing -------------------------------


@pytest.mark.parametrize("filename", ["organisations_utf16.csv"])
def test_organisation_csv_in_utf16_is_a_clear_error(filename):
    with pytest.raises(ImportFileError, match="UTF-8"):
        CSV().create_dataset((DATA / filename).read_bytes())


def test_random_bytes_as_csv_is_a_clear_error():
    with pytest.raises(ImportFileError, match="文字コード"):
        CSV().create_dataset(bytes(range(128, 256)) * 8)


def test_csv_row_wider_than_its_header_is_a_clear_error():
    raw = "name,kind,municipality\n正しい団体,support,011002\n札幌,北区,support,011002\n".encode()

    with pytest.raises(ImportFileError, match="3行目の列が見出し（1行目）より多く"):
        CSV().create_dataset(raw)


def test_xlsx_that_is_a_text_file_is_a_clear_error():
    with pytest.raises(ImportFileError, match="Excel ファイル（.xlsx）として読み込めません"):
        XLSX().create_dataset((DATA / "not_really.xlsx").read_bytes())


@pytest.mark.django_db
def test_organisation_import_missing_required_column_writes_nothing():
    dataset = csv_dataset("name,kana,municipality\n函館くらしサポート,はこだて,012025\n")

    result = import_orgs(dataset)

    assert result.has_errors()
    [(row, field, message)] = errors_of(result)
    assert row is None and field is None
    assert "必須の列がありません: kind" in message
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_organisation_import_reports_every_bad_row_and_writes_nothing():
    dataset = csv_dataset(
        f"{ORG_HEADER}\n"
        "正しい団体,,受託団体,011002,,,,,,0,1\n"
        "不明コード団体,,受託団体,019999,,,,,,0,1\n"
        "五桁コード団体,,受託団体,01100,,,,,,0,1\n"
        "種別違い団体,,NPO,011002,,,,,,0,1\n"
        "事業違い団体,,support,011002,jiritsu_sodan|no_such,,,,,0,1\n"
        "メール違い団体,,support,011002,,not-an-email,,,,maybe,1\n"
    )

    result = import_orgs(dataset)

    errors = errors_of(result)
    fields_by_row = {(row, field) for row, field, _message in errors}
    assert fields_by_row == {
        (3, "municipality"),
        (4, "municipality"),
        (5, "kind"),
        (6, "programs"),
        (7, "email"),
        (7, "is_sample"),
    }
    messages = {(row, field): message for row, field, message in errors}
    assert "「019999」の北海道の市町村が見つかりません" in messages[(3, "municipality")]
    assert "6桁ではありません" in messages[(4, "municipality")]
    assert "「NPO」は使えません" in messages[(5, "kind")]
    assert "受託団体（contractor）" in messages[(5, "kind")]
    assert "no_such" in messages[(6, "programs")]
    assert "メールアドレス" in messages[(7, "email")]
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_organisation_import_duplicate_rows_in_one_file_write_nothing():
    dataset = csv_dataset(
        f"{ORG_HEADER}\n"
        "函館くらしサポート,,受託団体,012025,,,,,,0,1\n"
        "旭川市福祉保険部,,自治体,012041,,,,,,0,1\n"
        "函館くらしサポート,,受託団体,012025,,,,,,0,1\n"
    )

    result = import_orgs(dataset)

    assert errors_of(result) == [
        (4, "name", "2行目と同じデータです。同じファイルに同じ行を2回書かないでください。")
    ]
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_organisation_import_unknown_id_is_an_error():
    dataset = csv_dataset("id,name,kind,municipality\n999999,幻の団体,受託団体,011002\n")

    result = import_orgs(dataset)

    [(row, field, message)] = errors_of(result)
    assert (row, field) == (2, "id")
    assert "ID 999999 の組織はありません" in message
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_organisation_import_failure_rolls_back_updates_of_good_rows():
    org = OrganisationFactory(name="既存団体", kana="きぞん", kind="support")
    dataset = csv_dataset(
        "name,kana,kind,municipality\n既存団体,かきかえ,support,011002\n壊れた行,,support,000000\n"
    )

    result = import_orgs(dataset)

    assert [(r, f) for r, f, _m in errors_of(result)] == [(3, "municipality")]
    org.refresh_from_db()
    assert org.kana == "きぞん"


# --- organisations: export ---------------------------------------------------------


@pytest.mark.django_db
def test_organisation_export_csv_has_bom_and_escapes_formulae():
    OrganisationFactory(name='=HYPERLINK("http://evil.example","click")', kana="わな")

    raw = CSV().export_data(OrganisationResource().export())

    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("ID,組織名,かな,種別,市町村コード")
    # Escaped with a leading quote (core.importing.defuse), not stripped.
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["組織名"] == '\'=HYPERLINK("http://evil.example","click")'


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 50])
def test_organisation_export_query_count_does_not_grow(django_assert_num_queries, rows):
    for org in OrganisationFactory.create_batch(rows):
        org.programs.add(program("jiritsu_sodan"))
    # count (pagination over the prefetching queryset), the page, its programs.
    with django_assert_num_queries(3):
        dataset = OrganisationResource().export()
    assert len(dataset) == rows


# --- memberships -------------------------------------------------------------------


@pytest.mark.django_db
def test_membership_import_creates_contacts_and_matches_existing_users(contractor_org):
    existing = UserFactory(email="known@example.org", full_name="既存 利用者")
    dataset = csv_dataset(
        f"{MEMBER_HEADER}\n"
        f"New.Person@Example.org,新規 さくら,しんき さくら,{contractor_org.name},相談支援員,1〜3年,0\n"
        f"KNOWN@example.org,別の名前,,{contractor_org.pk},shunin_sodan,,1\n",
        "cp932",
    )

    result = import_members(dataset)

    assert errors_of(result) == []
    contact = User.objects.get(email="new.person@example.org")
    assert contact.full_name == "新規 さくら"
    assert contact.full_name_kana == "しんき さくら"
    assert not contact.has_usable_password()
    first = Membership.objects.get(user=contact)
    assert first.organisation == contractor_org
    assert first.staff_role == Membership.StaffRole.SODAN
    assert first.experience == Membership.Experience.Y1_3
    assert first.is_org_admin is False
    second = Membership.objects.get(user=existing)
    assert second.staff_role == Membership.StaffRole.SHUNIN_SODAN
    assert second.is_org_admin is True
    existing.refresh_from_db()
    assert existing.full_name == "既存 利用者"  # an import never renames people
    assert existing.has_usable_password()


@pytest.mark.django_db
def test_membership_import_fixture_file(contractor_org):
    text = (DATA / "memberships_utf8.csv").read_text("utf-8")
    dataset = csv_dataset(text.replace("函館くらしサポート", contractor_org.name))

    result = import_members(dataset)

    assert errors_of(result) == []
    assert Membership.objects.filter(user__email="new.person@example.org").count() == 1


@pytest.mark.django_db
def test_membership_import_errors_write_nothing_not_even_contacts(contractor_org):
    MembershipFactory(organisation=contractor_org, user__email="twice@example.org")
    before_users = User.objects.count()
    dataset = csv_dataset(
        f"{MEMBER_HEADER}\n"
        f"ok.person@example.org,正常 一郎,,{contractor_org.name},sodan,,0\n"
        f"broken-address,壊れ 二郎,,{contractor_org.name},sodan,,0\n"
        f"nobody@example.org,,,{contractor_org.name},sodan,,0\n"
        f"third@example.org,三番 三郎,,存在しない団体,sodan,,0\n"
        f"fourth@example.org,四番 四郎,,{contractor_org.name},部長,20年,0\n"
        f"dup@example.org,重複 五郎,,{contractor_org.name},sodan,,0\n"
        f"dup@example.org,重複 五郎,,{contractor_org.pk},sodan,,0\n"
    )

    result = import_members(dataset)

    fields_by_row = sorted((row, field) for row, field, _message in errors_of(result))
    assert fields_by_row == [
        (3, "email"),
        (4, "email"),
        (5, "organisation"),
        (6, "experience"),
        (6, "staff_role"),
        (8, "email"),
    ]
    messages = {(row, field): message for row, field, message in errors_of(result)}
    assert "メールアドレスとして正しくありません" in messages[(3, "email")]
    assert "氏名（full_name）の列に氏名を入力してください" in messages[(4, "email")]
    assert "組織「存在しない団体」が見つかりません" in messages[(5, "organisation")]
    assert "7行目と同じデータです" in messages[(8, "email")]
    assert User.objects.count() == before_users
    assert Membership.objects.count() == 1


@pytest.mark.django_db
def test_membership_export_csv(contractor_member, contractor_org):
    raw = CSV().export_data(MembershipResource().export())

    text = raw.decode("utf-8-sig")
    header, row = text.splitlines()
    assert header == "メールアドレス,氏名,ふりがな,組織ID,組織名,職種,経験年数,組織管理者"
    assert row.startswith("npo@example.org,受託 花子,")
    assert f",{contractor_org.pk},{contractor_org.name},相談支援員,1〜3年,0" in row


# --- through the admin -----------------------------------------------------------


def _upload(client, url, filename, content, fmt):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        url,
        {"format": fmt, "resource": "0", "import_file": SimpleUploadedFile(filename, content)},
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "storage",
    ["import_export.tmp_storages.TempFolderStorage", "import_export.tmp_storages.CacheStorage"],
    ids=["tempfolder", "cache"],
)
def test_admin_import_cp932_csv_two_steps(client_for, superuser, settings, storage):
    settings.IMPORT_EXPORT_TMP_STORAGE_CLASS = storage
    client = client_for(superuser)
    url = reverse("admin:network_organisation_import")

    preview = _upload(client, url, "orgs.csv", (DATA / "organisations_cp932.csv").read_bytes(), "0")

    assert preview.status_code == 200
    confirm = preview.context["confirm_form"]
    assert confirm is not None
    assert "函館くらしサポート" in preview.content.decode()
    assert Organisation.objects.count() == 0  # the preview is a dry run

    done = client.post(
        reverse("admin:network_organisation_process_import"),
        {key: confirm.initial[key] for key in confirm.initial},
    )

    assert done.status_code == 302
    assert Organisation.objects.count() == 3
    assert Organisation.objects.get(name="旭川市福祉保険部").municipality.code == "012041"


@pytest.mark.django_db
def test_admin_import_shows_row_errors_and_offers_no_confirm(client_for, superuser):
    client = client_for(superuser)
    content = (
        f"{ORG_HEADER}\n函館くらしサポート,,受託団体,012025,,,,,,0,1\n不明,,受託団体,019999,,,,,,0,1\n"
    ).encode()

    response = _upload(client, reverse("admin:network_organisation_import"), "x.csv", content, "0")

    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    body = response.content.decode()
    assert "「019999」の北海道の市町村が見つかりません" in body
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filename", "fmt", "message"),
    [
        ("not_really.xlsx", "1", "Excel ファイル（.xlsx）として読み込めません"),
        ("organisations_utf16.csv", "0", "文字コードを判別できません"),
    ],
)
def test_admin_import_unreadable_file_is_a_form_error(
    client_for, superuser, filename, fmt, message
):
    client = client_for(superuser)

    response = _upload(
        client,
        reverse("admin:network_organisation_import"),
        filename,
        (DATA / filename).read_bytes(),
        fmt,
    )

    assert response.status_code == 200
    assert message in str(response.context["form"].errors["import_file"])
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_admin_confirm_step_reports_a_rolled_back_import(client_for, superuser):
    client = client_for(superuser)
    doomed = OrganisationFactory(name="閉鎖予定センター")
    content = f"{MEMBER_HEADER}\nlate@example.org,遅刻 太郎,,{doomed.pk},sodan,,0\n".encode()
    preview = _upload(client, reverse("admin:network_membership_import"), "m.csv", content, "0")
    confirm = preview.context["confirm_form"]
    assert confirm is not None
    # Between preview and confirm the organisation disappears.
    doomed_pk = doomed.pk
    doomed.delete()

    done = client.post(
        reverse("admin:network_membership_process_import"), dict(confirm.initial), follow=True
    )

    assert done.redirect_chain[-1][0] == reverse("admin:network_membership_import")
    body = done.content.decode()
    assert "取り込みを中止しました。何も保存されていません" in body
    assert f"組織「{doomed_pk}」が見つかりません" in body
    assert not User.objects.filter(email="late@example.org").exists()
    assert Membership.objects.count() == 0


@pytest.mark.django_db
def test_admin_export_csv_has_bom(client_for, superuser):
    OrganisationFactory(name="=1+1", kana="しき")
    client = client_for(superuser)
    data = {"format": "0", "resource": "0"}
    for field in OrganisationResource().get_export_order():
        data[f"organisationresource_{field}"] = "on"

    response = client.post(reverse("admin:network_organisation_export"), data)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    [row] = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert row["組織名"] == "'=1+1"
