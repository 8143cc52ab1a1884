"""The secretariat's other answers to a back-up menu application, in the browser.

The existing support journey accepts an application. This one presses the
other buttons of the triage and of the applicant's page:

- the secretariat puts one application on hold (保留) and declines (見送り)
  another, each with the reason the applicant is told;
- a member of the applying organisation reads the reasons on the
  application's page, and withdraws (取り下げ) a third application through
  its confirmation (the 「取り下げる」 disclosure, then 「申込を取り下げる」);
- a hold or a decline without a reason is refused with the Japanese message
  next to the reason field, and nothing is written or mailed.

Each status change is one ApplicationUpdate row and one status mail in the
outbox (the contact address is the applicant's, so there is one recipient).
"""

from __future__ import annotations

from django.urls import reverse

from core.models import OutboxMessage
from support.enums import ApplicationStatus
from support.models import Application, ApplicationUpdate

from .. import support_factories as sf

JOURNEY = "support-decisions"
HOLD_REASON = "協力団体の今月の受入れ状況を確認しています。来週中にお知らせします。"
DECLINE_FIRST = "今年度の受入枠は別の地域の申込で埋まる見込みです。"
DECLINE_SECOND = "④ の研修メニューもあわせてご検討ください。"
REASON_REQUIRED = "申込組織に伝える理由を入力してください。"
CONFIRM_DECLINE = (
    "この申込を見送りにします。理由が申込組織にメールで伝わり、取り消せません。よろしいですか？"
)


def _manage_url(app: Application) -> str:
    return reverse("support:manage_application", args=[app.pk])


def _status_mails(app: Application) -> list[OutboxMessage]:
    """The status mails queued for the application's updates, oldest first."""
    keys = [f"support:status:{pk}:" for pk in app.updates.values_list("pk", flat=True)]
    return sorted(
        (
            m
            for m in OutboxMessage.objects.filter(key__startswith="support:status:")
            if any(m.key.startswith(k) for k in keys)
        ),
        key=lambda m: m.pk,
    )


def _history(app: Application) -> list[tuple[str, str, str]]:
    return list(
        ApplicationUpdate.objects.filter(application=app)
        .order_by("pk")
        .values_list("old_status", "new_status", "note")
    )


def _form(actor, action: str):
    """The triage form that posts to …/<action>/ (hold, decline, accept)."""
    return actor.page.locator(f"main form[action$='/{action}/']")


def _badge(actor, where: str) -> str:
    return actor.page.locator(f"main {where} .badge").first.inner_text().strip()


def _messages(actor) -> str:
    return " ".join(actor.page.locator(".messages .message").all_inner_texts())


def test_journey_support_hold_decline_and_withdraw(
    open_as, contractor_member, contractor_org, secretariat
):
    menu = sf.menu(number=3, name="食のつなぎ支援", slots=2)
    held = sf.application(menu, contractor_member, need="夜間の相談で食料を渡したい。")
    declined = sf.application(menu, contractor_member, need="子ども食堂と窓口をつなぎたい。")
    withdrawn = sf.application(menu, contractor_member, need="冬の間だけ配送を頼みたい。")
    for app in (held, declined, withdrawn):
        # The submission is the first update and has its mail.
        assert _history(app) == [("", ApplicationStatus.SUBMITTED, "")]
        assert len(_status_mails(app)) == 1

    # --- the secretariat puts the first on hold, from the list -----------------------
    staff = open_as(secretariat)
    page = staff.page
    staff.goto("/support/manage/")
    staff.submit(page.locator(f"main a[href='{_manage_url(held)}']").first)
    assert staff.path() == _manage_url(held)
    assert _badge(staff, ".support-app-badges") == "受付"
    hold = _form(staff, "hold")
    hold.get_by_label("理由").fill(HOLD_REASON)
    staff.submit(hold.get_by_role("button", name="保留にする", exact=True))

    assert staff.path() == _manage_url(held)
    assert "保留にしました。申込組織に理由をメールでお知らせします。" in _messages(staff)
    assert _badge(staff, ".support-app-badges") == "保留"
    decision = page.locator("main .support-decision")
    assert "保留の理由（申込組織に表示）" in decision.inner_text()
    assert HOLD_REASON in decision.inner_text()
    assert HOLD_REASON in page.locator("main .need-history").inner_text()
    # On hold it can no longer be held again, but can still be declined or accepted.
    assert _form(staff, "hold").count() == 0
    assert _form(staff, "decline").count() == 1 and _form(staff, "accept").count() == 1

    held.refresh_from_db()
    assert (held.status, held.status_reason, held.decided_at) == (
        ApplicationStatus.ON_HOLD,
        HOLD_REASON,
        None,
    )
    assert _history(held)[1:] == [
        (ApplicationStatus.SUBMITTED, ApplicationStatus.ON_HOLD, HOLD_REASON)
    ]
    assert held.updates.order_by("pk").last().author == secretariat
    mails = _status_mails(held)
    assert len(mails) == 2
    assert mails[-1].to_email == contractor_member.email
    assert "保留" in mails[-1].subject and HOLD_REASON in mails[-1].body
    # The others were not touched.
    assert len(_status_mails(declined)) == len(_status_mails(withdrawn)) == 1

    # --- … and declines the second ------------------------------------------------------
    staff.goto(_manage_url(declined))
    decline = _form(staff, "decline")
    assert "見送りは取り消せません" in decline.inner_text()
    decline.get_by_label("理由").fill(f"{DECLINE_FIRST}\n{DECLINE_SECOND}")
    # The button asks first (data-confirm): dismissed, nothing is sent.
    asked = []

    def answer(accept):
        def on_dialog(dialog):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return on_dialog

    page.once("dialog", answer(False))
    decline.get_by_role("button", name="見送りにする", exact=True).click()
    assert asked == [CONFIRM_DECLINE]
    assert staff.path() == _manage_url(declined)
    declined.refresh_from_db()
    assert declined.status == ApplicationStatus.SUBMITTED
    # Asked again and accepted: declined.
    page.once("dialog", answer(True))
    staff.submit(decline.get_by_role("button", name="見送りにする", exact=True))
    assert asked == [CONFIRM_DECLINE, CONFIRM_DECLINE]

    assert staff.path() == _manage_url(declined)
    assert "見送りにしました。申込組織に理由をメールでお知らせします。" in _messages(staff)
    assert _badge(staff, ".support-app-badges") == "見送り"
    decision = page.locator("main .support-decision").inner_text()
    assert "見送りの理由（申込組織に表示）" in decision
    assert DECLINE_FIRST in decision and DECLINE_SECOND in decision
    # A declined application has nothing left to triage.
    assert page.locator("main .support-triage form").count() == 0
    assert "決定日" in staff.main_text()

    declined.refresh_from_db()
    assert declined.status == ApplicationStatus.DECLINED
    # The browser sends the textarea's line break as CRLF, and it is kept as sent.
    assert declined.status_reason.splitlines() == [DECLINE_FIRST, DECLINE_SECOND]
    assert declined.decided_at is not None
    assert _history(declined)[1:] == [
        (ApplicationStatus.SUBMITTED, ApplicationStatus.DECLINED, declined.status_reason)
    ]
    mails = _status_mails(declined)
    assert len(mails) == 2
    assert mails[-1].to_email == contractor_member.email
    assert "見送り" in mails[-1].subject
    assert DECLINE_FIRST in mails[-1].body and DECLINE_SECOND in mails[-1].body
    assert len(_status_mails(held)) == 2 and len(_status_mails(withdrawn)) == 1

    # The list (「未対応」 by default) keeps the held one and drops the declined one.
    staff.goto("/support/manage/")
    assert page.locator(f"main a[href='{_manage_url(held)}']").count() > 0
    assert page.locator(f"main a[href='{_manage_url(withdrawn)}']").count() > 0
    assert page.locator(f"main a[href='{_manage_url(declined)}']").count() == 0

    # --- the applicant reads the reasons -------------------------------------------------
    member = open_as(contractor_member)
    page = member.page
    member.goto(declined.get_absolute_url())
    assert _badge(member, ".support-badges") == "見送り"
    reason = page.locator("main .support-reason")
    assert reason.get_by_role("heading", name="見送りの理由").count() == 1
    assert DECLINE_FIRST in reason.inner_text() and DECLINE_SECOND in reason.inner_text()
    assert "見送り" in page.locator("main table.support-table").inner_text()
    # A decided application cannot be withdrawn.
    assert page.locator("main summary", has_text="取り下げる").count() == 0

    member.goto(held.get_absolute_url())
    assert _badge(member, ".support-badges") == "保留"
    reason = page.locator("main .support-reason")
    assert reason.get_by_role("heading", name="保留の理由").count() == 1
    assert HOLD_REASON in reason.inner_text()

    # --- … and withdraws the third, through its confirmation ----------------------------
    member.goto(withdrawn.get_absolute_url())
    assert _badge(member, ".support-badges") == "受付"
    assert page.locator("main .support-reason").count() == 0
    confirm = member.button("申込を取り下げる")
    # The button is behind the disclosure: one press does not withdraw.
    assert not confirm.is_visible()
    page.locator("main summary", has_text="取り下げる").click()
    assert confirm.is_visible()
    assert "取り下げた申込は元に戻せません" in page.locator("main .confirm-box").inner_text()
    withdrawn.refresh_from_db()
    assert withdrawn.status == ApplicationStatus.SUBMITTED
    member.submit(confirm)

    assert member.path() == withdrawn.get_absolute_url()
    assert "申込を取り下げました。" in _messages(member)
    assert _badge(member, ".support-badges") == "取り下げ"
    assert page.locator("main summary", has_text="取り下げる").count() == 0
    assert "取り下げ" in page.locator("main table.support-table").inner_text()

    withdrawn.refresh_from_db()
    assert withdrawn.status == ApplicationStatus.WITHDRAWN
    assert withdrawn.status_reason == ""
    assert _history(withdrawn)[1:] == [
        (ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN, "")
    ]
    assert withdrawn.updates.order_by("pk").last().author == contractor_member
    mails = _status_mails(withdrawn)
    assert len(mails) == 2
    assert mails[-1].to_email == contractor_member.email and "取り下げ" in mails[-1].subject
    # Nothing else changed on the way.
    held.refresh_from_db()
    assert held.status == ApplicationStatus.ON_HOLD
    assert OutboxMessage.objects.filter(key__startswith="support:status:").count() == 6


def _assert_refused(staff, action: str, field_id: str) -> None:
    """The form that posts to …/<action>/ came back with the reason's error
    next to its field, and only there."""
    form = _form(staff, action)
    assert form.count() == 1
    field = form.locator(".form-field.field-error")
    assert field.count() == 1
    assert field.locator(f"#{field_id}").count() == 1
    assert REASON_REQUIRED in field.inner_text()
    assert "入力内容を確認してください。" in form.locator(".form-errors").inner_text()
    assert staff.page.locator(f"#{field_id}").get_attribute("aria-invalid") == "true"
    # The other forms on the page are not marked.
    assert staff.page.locator("main .field-error").count() == 1


def test_journey_support_hold_or_decline_without_a_reason(
    open_as, contractor_member, contractor_org, secretariat
):
    menu = sf.menu(number=3, name="食のつなぎ支援", slots=2)
    app = sf.application(menu, contractor_member)
    before = OutboxMessage.objects.count()

    staff = open_as(secretariat)
    page = staff.page
    staff.goto(_manage_url(app))

    # Hold with nothing in the reason.
    staff.submit(_form(staff, "hold").get_by_role("button", name="保留にする", exact=True))
    _assert_refused(staff, "hold", "hold_reason")
    assert _badge(staff, ".support-app-badges") == "受付"
    assert page.locator(".messages .message").count() == 0

    # Decline with only spaces and line breaks in the reason.
    decline = _form(staff, "decline")
    decline.get_by_label("理由").fill("　 \n  ")
    page.once("dialog", lambda dialog: dialog.accept())
    staff.submit(decline.get_by_role("button", name="見送りにする", exact=True))
    _assert_refused(staff, "decline", "decline_reason")
    assert _badge(staff, ".support-app-badges") == "受付"
    assert page.locator(".messages .message").count() == 0
    # The page still offers every answer, and the secretariat can go on.
    assert _form(staff, "accept").count() == 1 and _form(staff, "hold").count() == 1

    app.refresh_from_db()
    assert (app.status, app.status_reason, app.decided_at) == (
        ApplicationStatus.SUBMITTED,
        "",
        None,
    )
    assert _history(app) == [("", ApplicationStatus.SUBMITTED, "")]
    assert OutboxMessage.objects.count() == before
    assert len(_status_mails(app)) == 1
