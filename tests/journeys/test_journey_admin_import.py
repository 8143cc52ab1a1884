"""J7: the admin imports organisations from a CP932 CSV with one bad row.

A superuser uploads a Shift_JIS file saved from Excel (Japanese column names)
on /admin/network/organisation/import/. The bad row's cell shows the Japanese
message in that row, and nothing is written. The corrected file previews,
is confirmed, and the organisations exist with the values of the file.
"""

from __future__ import annotations

from network.models import Organisation

JOURNEY = "admin-import"
IMPORT_URL = "/admin/network/organisation/import/"
HEADER = "組織名,かな,種別,市町村コード,電話番号"
GOOD_ROWS = [
    "函館くらしサポート,はこだてくらしさぽーと,受託団体,012025,0138-00-0000",
    "旭川市福祉保険部,あさひかわしふくしほけんぶ,自治体,012041,",
]
BAD_ROW = "釧路ひだまりネット,くしろひだまりねっと,受託団体,019999,"
FIXED_ROW = "釧路ひだまりネット,くしろひだまりねっと,受託団体,012068,"


# Django's admin is not ours. Its changelist toolbar has a serious axe
# violation caused by Django's own CSS on a phone: the 「全件表示」 link of the
# search bar is told apart from its text by colour alone (link-in-text-block).
# axe skips that toolbar (Django's search_form.html) on admin pages; everything
# else, including Django's chrome around our import templates, is checked.
DJANGO_ADMIN_EXCLUDED = ("#toolbar",)


def admin_scope(raw_page):
    if "/admin/" not in raw_page.url:
        return None
    present = [[s] for s in DJANGO_ADMIN_EXCLUDED if raw_page.locator(s).count()]
    return {"exclude": present} if present else None


def _csv(*rows: str) -> bytes:
    # As Excel on Japanese Windows saves "CSV (comma separated)": CP932, CRLF.
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp932")


def _upload(admin, filename: str, content: bytes) -> None:
    page = admin.page
    page.get_by_label("取り込むファイル").set_input_files(
        files=[{"name": filename, "mimeType": "text/csv", "buffer": content}]
    )
    admin.submit(admin.button("内容を確認する"))


def test_journey_admin_imports_organisations_from_a_cp932_file(open_as, superuser):
    admin = open_as(superuser)
    admin.axe_scope = admin_scope
    page = admin.page
    admin.goto("/admin/network/organisation/")
    admin.submit(page.get_by_role("link", name="インポート"))
    assert admin.path() == IMPORT_URL
    assert page.get_by_label("形式").locator("option:checked").inner_text() == (
        "ファイル名から判断する（.csv / .xlsx）"
    )

    # The file with a municipality code that does not exist on the third row.
    _upload(admin, "組織一覧.csv", _csv(*GOOD_ROWS, BAD_ROW))
    admin.shot("error-in-row")
    row = page.locator("table.import-errors tbody tr")
    assert row.count() == 1
    assert row.locator("th").inner_text().strip() == "4行目"
    bad_cell = row.locator("td.import-cell-error")
    assert bad_cell.count() == 1
    assert bad_cell.inner_text().split("\n") == [
        "019999",
        "全国地方公共団体コード「019999」の北海道の市町村が見つかりません。",
    ]
    assert bad_cell.is_visible()
    assert page.get_by_role("button", name="取り込みを確定する").count() == 0
    assert Organisation.objects.count() == 0

    # The corrected file: preview, then confirm.
    _upload(admin, "組織一覧.csv", _csv(*GOOD_ROWS, FIXED_ROW))
    assert page.locator("table.import-errors").count() == 0
    preview = page.locator("table.import-preview tbody tr")
    assert preview.count() == 3
    assert [preview.nth(i).locator("td").first.inner_text().strip() for i in range(3)] == [
        "新規"
    ] * 3
    assert Organisation.objects.count() == 0  # the preview writes nothing
    admin.shot("preview")
    admin.submit(admin.button("取り込みを確定する"))

    assert (
        "組織を取り込みました: 新規 3 件・更新 0 件・変更なし 0 件。"
        in page.locator("ul.messagelist").inner_text()
    )
    admin.shot("done")
    assert sorted(
        Organisation.objects.values_list("name", "kana", "kind", "municipality__code", "phone")
    ) == sorted(
        [
            (
                "函館くらしサポート",
                "はこだてくらしさぽーと",
                "contractor",
                "012025",
                "0138-00-0000",
            ),
            ("旭川市福祉保険部", "あさひかわしふくしほけんぶ", "municipality", "012041", ""),
            ("釧路ひだまりネット", "くしろひだまりねっと", "contractor", "012068", ""),
        ]
    )
    kushiro = Organisation.objects.get(name="釧路ひだまりネット")
    assert kushiro.region == kushiro.municipality.region
