"""操作の記録: the secretariat opens the audit log from its desk, narrows it to
what one org admin did, and reads the change; JavaScript on, both sizes."""

from __future__ import annotations

from django.urls import reverse

from network.models import Membership

JOURNEY = "audit"


def test_journey_audit_log_filtered_by_who(
    open_as, secretariat, org_admin, contractor_member, contractor_org
):
    membership = Membership.objects.get(user=contractor_member, organisation=contractor_org)
    admin = open_as(org_admin)
    admin.goto(reverse("network:membership_edit", args=[contractor_org.pk, membership.pk]))
    admin.page.get_by_label("組織管理者").check()
    admin.submit(admin.page.locator("main form button[type=submit]").first)

    office = open_as(secretariat)
    office.goto(reverse("network:manage_home"))
    office.submit(office.page.get_by_role("link", name="操作の記録"))
    assert office.path() == reverse("audit_log")
    office.page.get_by_text("条件で絞り込む").click()
    office.page.get_by_label("操作した人").fill(org_admin.full_name)
    office.submit(office.button("絞り込む"))

    text = office.main_text()
    assert org_admin.full_name in text
    assert "組織管理者" in text and "いいえ → はい" in text
    assert "1 件中 1〜1 件" in text
    office.shot("filtered")
