"""削除 (erasure): on a person's request the secretariat opens the people list,
presses the person's 「この人のデータを削除（匿名化）」, reads on the confirm page
what will be deleted, anonymised and kept, and confirms by typing the person's
address. A wrong address is refused next to the field and changes nothing; the
right one leaves an anonymous stub whose registrations are still counted."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from events import tallies
from events.models import Registration
from network.models import Membership

from ..event_factories import EventFactory, RegistrationFactory
from ..note_factories import TopicFactory

JOURNEY = "erasure"


def _history(person, organisation):
    """A finished meeting the person came to (counted), and a board topic."""
    start = timezone.now() - datetime.timedelta(days=7)
    meeting = EventFactory(
        title="第4回 情報交換会",
        status="finished",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
    )
    RegistrationFactory(
        event=meeting,
        user=person,
        organisation=organisation,
        attended=True,
        question="花子からの事前質問",
    )
    tallies.refresh([meeting.pk])
    TopicFactory(author=person, author_org=organisation, title="相談したいこと")
    return meeting


def test_journey_secretariat_erases_a_person(
    open_as, contractor_member, contractor_org, secretariat
):
    person = contractor_member
    meeting = _history(person, contractor_org)
    counted = set(Registration.objects.counted_as_present(meeting).values_list("pk", flat=True))
    assert len(counted) == 1
    User = get_user_model()

    office = open_as(secretariat)
    office.goto("/network/manage/people/")
    erase = office.page.get_by_role(
        "link", name=f"この人のデータを削除（匿名化）：{person.full_name}", exact=True
    )
    office.submit(erase)
    assert office.path() == f"/network/manage/people/{person.pk}/erase/"

    # The confirm page: whom, and what goes, what is anonymised, what stays.
    shown = office.main_text()
    assert f"{person.full_name} さん（{person.email}）のデータを削除し" in shown
    headings = office.page.locator("main h2").all_inner_texts()
    assert headings == ["削除するもの", "匿名化するもの", "残すもの"]
    lists = [
        office.page.locator("main h2 + ul").nth(i).locator("li").all_inner_texts() for i in range(3)
    ]
    assert "所属（組織の職員一覧から外れます）：1件" in lists[0]
    assert "イベントへの申込（事前質問を消します。申込と出席は集計のため残ります）：1件" in lists[1]
    assert "掲示板の相談と返信（「削除された会員」と表示されます）：1件" in lists[1]
    assert any("ダッシュボードやアンケート結果の数字は変わりません" in item for item in lists[2])
    office.shot("confirm")

    # A wrong address: the error next to the field, nothing changed.
    field = office.page.get_by_label("確認のため、この人のメールアドレスを入力してください")
    field.fill("someone-else@example.org")
    office.submit(office.button("削除（匿名化）する"))
    assert office.path() == f"/network/manage/people/{person.pk}/erase/"
    wrong = office.page.locator(".form-field.field-error")
    assert wrong.count() == 1
    assert "メールアドレスが一致しません。この人のメールアドレスを正確に入力してください。" in (
        wrong.inner_text()
    )
    assert wrong.locator("input[name=email]").count() == 1
    wrong.scroll_into_view_if_needed()
    office.shot("wrong-address")
    kept = User.objects.get(pk=person.pk)
    assert (kept.email, kept.full_name, kept.is_active) == (person.email, person.full_name, True)
    assert Membership.objects.filter(user=person).count() == 1
    assert Registration.objects.get(user=person).question == "花子からの事前質問"

    # The right address (as the person wrote it, in other capitals).
    field = office.page.get_by_label("確認のため、この人のメールアドレスを入力してください")
    field.fill(person.email.upper())
    office.submit(office.button("削除（匿名化）する"))
    assert office.path() == "/network/manage/people/"
    assert f"番号 {person.pk} の人のデータを削除（匿名化）しました。" in office.main_text()
    office.shot("done")

    stub = User.objects.get(pk=person.pk)
    assert (stub.email, stub.full_name, stub.full_name_kana) == (
        f"erased-{person.pk}@erased.invalid",
        "削除された会員",
        "",
    )
    assert not stub.is_active and not stub.has_usable_password()
    assert not Membership.objects.filter(user=stub).exists()
    # Still counted: the same registration, present, with its question gone.
    assert (
        set(Registration.objects.counted_as_present(meeting).values_list("pk", flat=True))
        == counted
    )
    registration = Registration.objects.get(user=stub)
    assert (registration.attended, registration.question) == (True, "")
    assert tallies.stored() == tallies.computed()
    # The list shows the stub under its new name.
    row = office.page.locator("tbody tr", has_text=f"erased-{person.pk}@erased.invalid")
    # Shown as erased: not as a deactivated account or a contact, and not offered again.
    text = row.inner_text()
    assert "削除された会員" in text and "削除（匿名化）済み" in text
    assert "無効なアカウント" not in text and "未登録（連絡先のみ）" not in text
    assert "この人のデータを削除（匿名化）" not in text
