"""The navi's manage pages in the browser.

- The secretariat uploads a real open-data file (市川市's 介護サービス事業所一覧),
  sees the dry-run preview with the layout and the counts, presses 「取り込む」
  and sees the result; the windows exist.
- An org admin opens the list of their organisation's entries waiting for a
  confirmation and confirms one as it is (the browser asks first); another
  organisation's stale entry is not on the list.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from directory.models import Service, ServiceAtLocation
from network.models import Municipality

from ..directory_factories import window
from ..factories import region

JOURNEY = "directory-manage"
CARE = Path(__file__).resolve().parent.parent / "data" / "opendata" / "122033_109_care_service.csv"
LONG_AGO = datetime.date(2020, 4, 1)


@pytest.fixture
def outside_hokkaido():
    """市川市 (the sample is not from Hokkaido), registered so its code is known."""
    Municipality.objects.create(
        code="122033", name="市川市", kana="いちかわし", kind="市", region=region()
    )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_journey_secretariat_imports_an_open_data_file(
    open_as, secretariat, outside_hokkaido, media
):
    staff = open_as(secretariat)
    page = staff.page
    staff.goto("/navi/manage/import/")
    page.get_by_label("取り込むCSVファイル").set_input_files(
        files=[{"name": CARE.name, "mimeType": "text/csv", "buffer": CARE.read_bytes()}]
    )
    staff.shot("upload")
    staff.submit(staff.button("内容を確認する"))

    assert staff.path() == "/navi/manage/import/"
    assert page.locator(".import-layout").inner_text() == "介護サービス事業所一覧"
    assert page.locator("[data-count=rows]").inner_text() == "53"
    assert page.locator("[data-count=created]").inner_text() == "53"
    assert page.locator("[data-count=updated]").inner_text() == "0"
    assert ServiceAtLocation.objects.count() == 0  # the preview writes nothing
    staff.shot("preview")
    staff.submit(staff.button("取り込む"))

    assert "取り込みました。介護サービス事業所一覧 53 行：窓口 新規 53 件" in staff.main_text()
    staff.shot("done")
    assert ServiceAtLocation.objects.count() == 53
    assert Service.objects.filter(name="中山デイサービスセンター").count() == 1


def test_journey_org_admin_confirms_a_stale_entry(open_as, org_admin, contractor_org, other_org):
    mine = window("札幌くらし相談窓口").service
    theirs = window("函館くらし相談窓口").service
    for service, organisation in ((mine, contractor_org), (theirs, other_org)):
        service.provider.organisation = organisation
        service.provider.save(update_fields=["organisation"])
        Service.objects.filter(pk=service.pk).update(verified_on=LONG_AGO)

    admin = open_as(org_admin)
    page = admin.page
    admin.goto("/navi/manage/freshness/")
    text = admin.main_text()
    assert "札幌くらし相談窓口" in text
    assert "函館くらし相談窓口" not in text
    assert "2020年4月1日(水)" in text
    admin.shot("freshness")

    # The button asks before it confirms (static/js/site.js, data-confirm).
    asked = []

    def accept(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    admin.submit(admin.button("このまま確認済みにする"))
    assert asked == ["掲載内容が今も正しいことを確かめましたか？確認日が今日になります。"]
    text = admin.main_text()
    assert "「札幌くらし相談窓口」を確認済みにしました" in text
    assert "確認を待っている窓口はありません。" in text
    admin.shot("confirmed")

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.verified_on, mine.verified_by_id) == (timezone.localdate(), org_admin.pk)
    assert (theirs.verified_on, theirs.verified_by_id) == (LONG_AGO, None)
