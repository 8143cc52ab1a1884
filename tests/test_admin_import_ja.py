"""The admin's import/export in Japanese, and files that go out and come back.

- The import and export pages, their format choices, the preview, the confirm
  step and the messages are Japanese (import-export's own translation is
  partial and English shows through).
- An invalid row shows each message in that row, under the column it is about.
- Exports carry Japanese column names and choice labels (受託団体, 主任相談支援員);
  the import accepts those and the keys, so an export comes back unchanged.
- Rows are numbered as the spreadsheet shows them (the header is row 1), in
  the admin and in the attendance import alike.
- The attendee export has the attendance import's columns: marked in Excel
  and imported back through the two-step page, only that change is written.
"""

import csv
import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.importing import CSV, import_errors
from events.importing import import_attendance
from events.models import Event, Registration
from events.views.manage_import import SESSION_KEY
from network.models import Membership, Organisation
from network.resources import MembershipResource, OrganisationResource

from .event_factories import EventFactory, RegistrationFactory
from .factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

ORG_EXPORT_HEADER = [
    "ID",
    "組織名",
    "かな",
    "種別",
    "市町村コード",
    "市町村名",
    "振興局",
    "実施事業",
    "代表メール",
    "電話番号",
    "ウェブサイト",
    "住所",
    "サンプル",
    "有効",
]
# Words of import-export's English pages that must not show through.
ENGLISH = [
    "Submit",
    "This importer will import",
    "This exporter will export",
    "File to import",
    "Confirm import",
    "Below is a preview",
    "Some rows failed to validate",
    "Line number",
    "Non field specific",
    "Select all",
    "Import finished",
    ">---<",
    ">csv<",
    ">xlsx<",
]


def upload(client, content: bytes, filename="orgs.csv", fmt="", model="organisation"):
    return client.post(
        reverse(f"admin:network_{model}_import"),
        {"format": fmt, "resource": "0", "import_file": SimpleUploadedFile(filename, content)},
    )


def visible_text(html: str) -> str:
    main = html[html.index('id="content"') :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def english_in(html: str) -> list[str]:
    return [word for word in ENGLISH if word in html]


def export_rows(client, model, resource):
    data = {"format": "0", "resource": "0"}
    for field in resource().get_export_order():
        data[f"{resource.__name__.lower()}_{field}"] = "on"
    response = client.post(reverse(f"admin:network_{model}_export"), data)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


# --- the pages in Japanese ---------------------------------------------------------


def test_admin_import_page_is_japanese(client_for, superuser):
    response = client_for(superuser).get(reverse("admin:network_organisation_import"))

    html = response.content.decode()
    text = visible_text(html)
    assert english_in(html) == []
    for words in ("取り込むファイル", "形式", "次の列を読み込みます", "組織名"):
        assert words in text
    assert 'value="内容を確認する"' in html
    choices = [str(label) for _v, label in response.context["form"].fields["format"].choices]
    assert choices == [
        "ファイル名から判断する（.csv / .xlsx）",
        "CSV（UTF-8・BOM付きUTF-8・Shift_JIS）",
        "Excel（.xlsx）",
    ]


def test_admin_export_page_is_japanese(client_for, superuser):
    response = client_for(superuser).get(reverse("admin:network_membership_export"))

    html = response.content.decode()
    assert english_in(html) == []
    assert 'value="書き出す"' in html
    form = response.context["form"]
    labels = [str(f.label) for name, f in form.fields.items() if name.startswith("membership")]
    assert labels == [
        "メールアドレス",
        "氏名",
        "ふりがな",
        "組織ID",
        "組織名",
        "職種",
        "経験年数",
        "組織管理者",
    ]
    assert [str(label) for _v, label in form.fields["format"].choices][0] == "形式を選んでください"


def test_admin_import_preview_confirm_and_message_are_japanese(client_for, superuser):
    client = client_for(superuser)
    content = "組織名,種別,市町村コード\n函館くらしサポート,受託団体,012025\n".encode("cp932")

    preview = upload(client, content)

    html = preview.content.decode()
    assert english_in(html) == []
    assert "取り込む内容" in visible_text(html) and "新規" in visible_text(html)
    assert 'value="取り込みを確定する"' in html
    assert Organisation.objects.count() == 0
    confirm = preview.context["confirm_form"]

    done = client.post(
        reverse("admin:network_organisation_process_import"), dict(confirm.initial), follow=True
    )

    assert [str(m) for m in done.context["messages"]] == [
        "組織を取り込みました: 新規 1 件・更新 0 件・変更なし 0 件。"
    ]
    assert list(Organisation.objects.values_list("name", "kind")) == [
        ("函館くらしサポート", "contractor")
    ]


def test_admin_import_format_follows_the_file_name(client_for, superuser):
    response = upload(client_for(superuser), b"name,kind,municipality\n", "list.pdf")

    assert response.context["form"].errors["format"] == [
        "ファイル名から形式が分かりません。CSV か Excel（.xlsx）を選んでください。"
    ]
    assert Organisation.objects.count() == 0


# --- errors in their row -----------------------------------------------------------


def _row_of(html: str, label: str) -> str:
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    [row] = [r for r in rows if re.search(rf">\s*{label}\s*(<|$)", r)]
    return row


def _cells(row_html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row_html, flags=re.S)
    ]


def test_admin_import_error_is_shown_in_its_row_and_column(client_for, superuser):
    content = (
        "組織名,種別,市町村コード\n函館くらしサポート,受託団体,012025\n架空の団体,NPO,019999\n"
    ).encode("cp932")

    response = upload(client_for(superuser), content)

    html = response.content.decode()
    assert response.context.get("confirm_form") is None
    assert "hover" not in html and "validation-error-count" not in html
    cells = _cells(_row_of(html, "3行目"))
    by_column = dict(zip(ORG_EXPORT_HEADER, cells, strict=True))
    assert by_column["組織名"] == "架空の団体"
    assert by_column["種別"].startswith(
        "NPO 「NPO」は使えません。次のどれかを入力してください: 自治体"
    )
    assert by_column["市町村コード"] == (
        "019999 全国地方公共団体コード「019999」の北海道の市町村が見つかりません。"
    )
    assert by_column["ID"] == "" and by_column["かな"] == ""
    assert Organisation.objects.count() == 0


# --- Japanese headers and labels, out and back ----------------------------------------


def test_admin_organisation_export_has_japanese_headers_and_labels(client_for, superuser):
    OrganisationFactory(name="石狩くらしネット", kana="いしかり", kind="contractor")

    header, row = export_rows(client_for(superuser), "organisation", OrganisationResource)

    assert header == ORG_EXPORT_HEADER
    values = dict(zip(header, row, strict=True))
    assert (values["組織名"], values["種別"], values["市町村コード"], values["市町村名"]) == (
        "石狩くらしネット",
        "受託団体",
        "011002",
        "札幌市",
    )


def test_admin_membership_export_has_labels_that_import_back(client_for, superuser):
    membership = MembershipFactory(staff_role="shunin_sodan", experience="5to10")
    client = client_for(superuser)

    header, row = export_rows(client, "membership", MembershipResource)
    values = dict(zip(header, row, strict=True))
    assert (values["職種"], values["経験年数"]) == ("主任相談支援員", "5〜10年")

    membership.staff_role, membership.experience = "sodan", "lt1"
    membership.save()
    content = "\n".join(",".join(r) for r in (header, row)).encode("utf-8-sig")
    preview = upload(client, content, "m.csv", model="membership")
    confirm = preview.context["confirm_form"]
    assert confirm is not None, visible_text(preview.content.decode())[:2000]
    client.post(reverse("admin:network_membership_process_import"), dict(confirm.initial))

    membership.refresh_from_db()
    assert (membership.staff_role, membership.experience) == ("shunin_sodan", "5to10")
    assert Membership.objects.count() == 1


def test_organisation_export_imports_back_unchanged():
    org = OrganisationFactory(name="=SUM(1)", kind="municipality", phone="+81-11-000-0000")
    before = list(Organisation.objects.values())

    raw = CSV().export_data(OrganisationResource().export())
    result = OrganisationResource().import_data(CSV().create_dataset(raw), dry_run=False)

    assert import_errors(result) == []
    assert result.totals["skip"] == 1
    assert list(Organisation.objects.values()) == before
    assert org.kind == "municipality"


@pytest.mark.parametrize(
    "header",
    ["name,kind,municipality", "組織名,種別,市町村コード", "組織名,kind,市町村コード"],
    ids=["keys", "japanese", "mixed"],
)
def test_organisation_import_accepts_keys_and_japanese_headers(header):
    raw = f"{header}\n旭川市福祉保険部,自治体,012041\n".encode()

    result = OrganisationResource().import_data(CSV().create_dataset(raw), dry_run=False)

    assert import_errors(result) == []
    assert list(Organisation.objects.values_list("name", "kind", "municipality__code")) == [
        ("旭川市福祉保険部", "municipality", "012041")
    ]


def test_admin_import_key_and_japanese_name_of_one_column_is_refused(client_for, superuser):
    content = "name,組織名,kind,municipality\n甲,乙,support,011002\n".encode()

    response = upload(client_for(superuser), content)

    assert (
        visible_text(response.content.decode()).count(
            "1行目の列名「name」（1列目）と「組織名」（2列目）は同じ列です。どちらか1つにしてください。"
        )
        == 1
    )
    assert Organisation.objects.count() == 0


def test_organisation_import_missing_column_is_named_in_the_files_language():
    raw = "組織名,種別\n甲,support\n".encode()

    result = OrganisationResource().import_data(CSV().create_dataset(raw), dry_run=True)

    assert [e.message for e in import_errors(result)] == [
        "必須の列がありません: 市町村コード（1行目に列名が必要です。必須の列: 組織名、種別、市町村コード）"
    ]


# --- one row numbering -----------------------------------------------------------------


def test_admin_and_attendance_imports_number_rows_alike(client_for, superuser):
    """The same layout through both imports: the bad row is the 4th row in
    Excel (header 1, a good row, a blank line, the bad row) in both."""
    admin_file = "組織名,種別,市町村コード\n甲,support,011002\n\n乙,support,019999\n"
    held = timezone.now() - datetime.timedelta(days=10)
    event = EventFactory(status=Event.Status.FINISHED, starts_at=held, ends_at=held)
    attendance_file = (
        "イベントID,メールアドレス,氏名,ふりがな,所属,組織種別,市町村コード,参加方法,懇親会,出席\n"
        f"{event.pk},a@example.org,甲,,,,,,,1\n\n{event.pk},b@example.org,乙,,,,019999,,,1\n"
    )

    admin = upload(client_for(superuser), admin_file.encode())
    attendance = import_attendance(raw=attendance_file.encode(), filename="a.csv", dry_run=True)

    assert _cells(_row_of(admin.content.decode(), "4行目"))[4].startswith("019999 ")
    assert [(e.row, e.column) for e in attendance.errors] == [(4, "市町村コード")]


# --- the attendee export comes back ----------------------------------------------------


def test_attendee_export_edited_imports_back_through_the_page(client_for, secretariat):
    held = timezone.now() - datetime.timedelta(days=7)
    event = EventFactory(status=Event.Status.FINISHED, starts_at=held, ends_at=held)
    people = []
    for name, attended, status, social in (
        ("出席 一子", True, Registration.Status.CONFIRMED, Registration.SocialStatus.CONFIRMED),
        ("欠席 二郎", False, Registration.Status.CONFIRMED, Registration.SocialStatus.NONE),
        ("待機 三子", False, Registration.Status.WAITLISTED, Registration.SocialStatus.NONE),
        ("取消 四郎", False, Registration.Status.CANCELLED, Registration.SocialStatus.NONE),
    ):
        membership = MembershipFactory(user=UserFactory(full_name=name))
        people.append(
            RegistrationFactory(
                event=event,
                user=membership.user,
                organisation=membership.organisation,
                attended=attended,
                attended_at=held if attended else None,
                status=status,
                social=social,
                question="=cmd()" if attended else "",
            )
        )
    absent = people[1]
    client = client_for(secretariat)

    export = client.get(reverse("events:export", args=[event.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:11] == [
        "イベントID",
        "メールアドレス",
        "氏名",
        "ふりがな",
        "所属",
        "組織種別",
        "市町村コード",
        "参加方法",
        "懇親会",
        "出席",
        "状態",
    ]
    before = sorted(Registration.objects.values_list("pk", "status", "attended", "mode", "social"))
    counts = (Organisation.objects.count(), Membership.objects.count())
    # Marked in Excel: the absent person came after all.
    for row in rows[1:]:
        if row[header.index("氏名")] == "欠席 二郎":
            row[header.index("出席")] = "○"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    raw = out.getvalue().encode("cp932")

    preview = client.post(reverse("events:import"), {"file": SimpleUploadedFile("event.csv", raw)})
    assert "取り込みを確定する" in preview.content.decode(), visible_text(preview.content.decode())[
        :3000
    ]
    token = client.session[SESSION_KEY]["token"]
    done = client.post(reverse("events:import_confirm"), {"token": token}, follow=True)

    assert "状態が参加確定でないため取り込まなかった行 2 行" in done.content.decode()
    after = sorted(Registration.objects.values_list("pk", "status", "attended", "mode", "social"))
    changed = [b for b, a in zip(before, after, strict=True) if a != b]
    assert changed == [(absent.pk, "confirmed", False, absent.mode, "none")]
    assert [a for a in after if a[0] == absent.pk] == [
        (absent.pk, "confirmed", True, absent.mode, "none")
    ]
    assert (Organisation.objects.count(), Membership.objects.count()) == counts
    assert Registration.objects.get(pk=people[0].pk).question == "=cmd()"
