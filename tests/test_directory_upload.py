"""The web import of the navi (/navi/manage/import/): upload → dry-run preview
→ 「取り込む»; all or nothing, the secretariat's only."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core import importing as limits
from directory.models import Location, Phone, Provider, Schedule, Service, ServiceAtLocation
from directory.views.manage import SESSION_KEY
from network.models import Municipality

from .factories import region

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "opendata"
PRESCHOOL = DATA / "112038_preschool.csv"
PUBLIC = DATA / "122033_101_public_facility.csv"

NATIVE_HEADER = "municipality_code,id,name,latitude,phones\r\n"


@pytest.fixture
def outside_hokkaido(db):
    """The samples' municipalities (none is in Hokkaido), registered so that
    their codes are known (as in tests/test_directory_import.py)."""
    for code, name, kana in (
        ("122033", "市川市", "いちかわし"),
        ("112038", "川口市", "かわぐちし"),
        ("202142", "茅野市", "ちのし"),
    ):
        Municipality.objects.create(code=code, name=name, kana=kana, kind="市", region=region())


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


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


def upload(client, content: bytes, name="facilities.csv"):
    return client.post(reverse("directory:import"), {"file": SimpleUploadedFile(name, content)})


def test_upload_page_shows_the_form(client_for, secretariat):
    html = client_for(secretariat).get(reverse("directory:import")).content.decode()
    assert 'type="file"' in html and 'name="file"' in html
    assert "内容を確認する" in html
    assert "municipality_code" in html


def test_upload_preview_writes_nothing_then_confirm_imports(
    client_for, secretariat, outside_hokkaido
):
    client = client_for(secretariat)
    preview = upload(client, PRESCHOOL.read_bytes(), name="112038_preschool.csv")
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "子育て施設一覧" in html
    assert "取り込む" in html
    assert 'data-count="rows">302<' in html
    assert 'data-count="created">302<' in html
    assert 'data-count="updated">0<' in html
    assert counts() == EMPTY  # the preview is a dry run
    pending = client.session[SESSION_KEY]
    assert default_storage.exists(pending["path"])

    done = client.post(reverse("directory:import_confirm"), {"token": pending["token"]})
    assert done.status_code == 302 and done.url == reverse("directory:import")
    assert Service.objects.count() == 302
    assert ServiceAtLocation.objects.count() == 302
    assert SESSION_KEY not in client.session
    assert not default_storage.exists(pending["path"])
    follow = client.get(done.url).content.decode()
    assert "取り込みました。" in follow and "窓口 新規 302 件" in follow

    # The same file again: a preview of updates only (nothing new).
    again = upload(client, PRESCHOOL.read_bytes()).content.decode()
    assert 'data-count="created">0<' in again
    assert 'data-count="updated">0<' in again


def test_upload_confirm_with_a_wrong_token_writes_nothing(
    client_for, secretariat, outside_hokkaido
):
    client = client_for(secretariat)
    upload(client, PRESCHOOL.read_bytes())
    response = client.post(reverse("directory:import_confirm"), {"token": "guess"}, follow=True)
    assert "確認中のファイルが見つかりません" in response.content.decode()
    assert counts() == EMPTY


def test_upload_malformed_file_lists_row_and_column_errors_and_writes_nothing(
    client_for, secretariat
):
    raw = (
        NATIVE_HEADER
        + "011002,a1,札幌の窓口,43.06,011-000-0000\r\n"
        + "011002,a2,緯度が変な窓口,北緯,\r\n"
        + "019999,a3,市町村が変な窓口,,\r\n"
    ).encode("utf-8")
    client = client_for(secretariat)
    response = upload(client, raw)
    html = response.content.decode()
    assert response.status_code == 200
    assert "何も保存していません" in html
    assert "3行目・列「latitude」" in html
    assert "4行目・列「municipality_code」" in html
    assert "取り込む</button>" not in html
    assert SESSION_KEY not in client.session
    assert counts() == EMPTY


def test_upload_cp932_file_with_the_japanese_layout_previews(
    client_for, secretariat, outside_hokkaido
):
    html = upload(client_for(secretariat), PUBLIC.read_bytes()).content.decode()
    assert "公共施設一覧（正式版）" in html
    assert "何も保存していません" not in html
    assert counts() == EMPTY


def test_upload_outside_hokkaido_without_the_municipalities_is_refused(client_for, secretariat):
    """On a real database the samples' codes are unknown: every row refused."""
    html = upload(client_for(secretariat), PRESCHOOL.read_bytes()).content.decode()
    assert "何も保存していません" in html
    assert "列「全国地方公共団体コード」" in html
    assert counts() == EMPTY


def test_upload_too_large_file_is_refused_next_to_the_field(client_for, secretariat, settings):
    raw = NATIVE_HEADER.encode() + b"x" * (limits.MAX_BYTES + 1)
    response = upload(client_for(secretariat), raw)
    html = response.content.decode()
    field = html.split('<div class="form-field field-error">', 1)[1].split("</div>", 1)[0]
    assert "ファイルが大きすぎます（上限 10 MB）" in field
    assert counts() == EMPTY


def test_upload_too_many_rows_is_refused_next_to_the_field(client_for, secretariat, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 2)
    raw = (NATIVE_HEADER + "011002,a1,一,,\r\n011002,a2,二,,\r\n011002,a3,三,,\r\n").encode()
    html = upload(client_for(secretariat), raw).content.decode()
    field = html.split('<div class="form-field field-error">', 1)[1].split("</div>", 1)[0]
    assert 'for="id_file"' in field
    assert "行が多すぎます（上限 2 行）。" in field
    assert counts() == EMPTY


def test_upload_undecodable_or_wrong_kind_of_file_is_refused_next_to_the_field(
    client_for, secretariat
):
    client = client_for(secretariat)
    html = upload(client, "名前\r\n".encode("utf-16")).content.decode()
    assert "ファイルの文字コードを判別できません" in html
    html = upload(client, b"x", name="facilities.xlsx").content.decode()
    assert "CSV（.csv）のファイルを選んでください。" in html
    assert counts() == EMPTY


def test_upload_pages_are_404_for_everyone_but_the_secretariat(
    client_for, org_admin, contractor_member, committee_member, outside_hokkaido
):
    for user in (org_admin, contractor_member, committee_member):
        client = client_for(user)
        assert client.get(reverse("directory:import")).status_code == 404
        assert upload(client, PRESCHOOL.read_bytes()).status_code == 404
        assert client.post(reverse("directory:import_confirm"), {"token": "x"}).status_code == 404
    assert counts() == EMPTY


def test_upload_anonymous_goes_to_login(client):
    response = client.get(reverse("directory:import"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
