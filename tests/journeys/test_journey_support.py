"""A back-up menu from application to the committee's figures, in the browser.

A 受託団体 member applies for ⑦ フードバンク窓口連携支援事業; the secretariat
accepts it and assigns the partner; the partner's staff record two sessions and
complete it with the outcome; the applying organisation answers the follow-up
survey from its invitation mail; the committee sees the menu's figures and cost
on the dashboard (the survey's figures hidden below three answers), the
secretariat the exact ones.
"""

from __future__ import annotations

import re

from django.core import mail
from django.utils import timezone

from core.dates import current_fiscal_year
from network.models import Organisation
from support.demo import seed_menus
from support.enums import ApplicationStatus
from support.models import Application, EngagementSession
from surveys.models import Response

from ..factories import MembershipFactory, OrganisationFactory
from .helpers import link_in

JOURNEY = "support"
NEED = "相談窓口に来た方へ、その日のうちに食料を渡せる仕組みをつくりたい。"


def _record(partner, *, minutes, mode, done, hours):
    page = partner.page
    partner.submit(page.get_by_role("link", name="記録を追加"))
    page.get_by_label("所要時間（分）").fill(str(minutes))
    page.get_by_label(mode, exact=True).check()
    page.get_by_label("実施内容").fill(done)
    page.get_by_label("協力団体の従事時間（時間）").fill(hours)
    partner.submit(partner.button("記録する"))


def test_journey_support_from_application_to_the_committees_figures(
    open_as, contractor_member, contractor_org, secretariat, committee_member
):
    menus = {m.number: m for m in seed_menus()}
    food = menus[7]
    bank = OrganisationFactory(name="フードバンク連絡会（テスト）", kind=Organisation.Kind.SUPPORT)
    food.partners.set([bank])
    partner_user = MembershipFactory(
        organisation=bank, user__email="partner@example.org", user__full_name="協力 さくら"
    ).user

    # The member finds ⑦ in the catalogue and applies for their organisation.
    member = open_as(contractor_member)
    page = member.page
    member.goto("/support/")
    member.shot("catalogue")
    member.submit(page.get_by_role("link", name="⑦ フードバンク窓口連携支援事業"))
    member.submit(page.get_by_role("link", name="申込む"))
    page.get_by_label("困っていること・希望する支援").fill(NEED)
    page.get_by_label("食料支援が必要になる見込み（月あたり世帯数）").fill("12")
    member.shot("apply")
    member.submit(member.button("申込む"))

    application = Application.objects.get()
    assert (application.organisation, application.status) == (
        contractor_org,
        ApplicationStatus.SUBMITTED,
    )
    assert application.answers == {"households": 12}
    assert NEED in member.main_text()
    assert "受付" in member.main_text()

    # The secretariat accepts it from the list, with the partner and itself as coordinator.
    staff = open_as(secretariat)
    staff.goto("/support/manage/")
    staff.submit(staff.page.get_by_role("link", name=contractor_org.name))
    staff.page.get_by_label("担当する協力団体").select_option(label=bank.name)
    staff.shot("triage")
    staff.submit(staff.button("受理する"))

    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACCEPTED
    assert application.engagement.partner == bank
    assert application.engagement.coordinator == secretariat

    # The applicant's page says who delivers it.
    member.goto(application.get_absolute_url())
    assert "実施中" in member.main_text() and bank.name in member.main_text()

    # The partner records two sessions and completes it with the outcome.
    partner = open_as(partner_user)
    page = partner.page
    partner.goto("/support/engagements/")
    partner.submit(page.get_by_role("link", name="⑦ フードバンク窓口連携支援事業"))
    _record(partner, minutes=90, mode="訪問", done="窓口の流れを一緒に確認した。", hours="3")
    _record(
        partner, minutes=60, mode="オンライン", done="フードバンクとの連絡会を始めた。", hours="1.5"
    )
    assert EngagementSession.objects.filter(engagement__application=application).count() == 2
    text = partner.main_text()
    assert "窓口の流れを一緒に確認した。" in text and "フードバンクとの連絡会を始めた。" in text
    partner.shot("records")
    partner.submit(page.get_by_role("link", name="完了にする"))
    page.get_by_label("連携を始めたフードバンク・窓口の数").fill("2")
    page.get_by_label("つないだ食料支援の件数").fill("9")
    page.get_by_label("成果と今後").fill("窓口で当日に食料を渡せるようになった。")
    partner.shot("complete")
    partner.submit(partner.button("完了にして事後アンケートを送る"))

    application.refresh_from_db()
    assert application.status == ApplicationStatus.COMPLETED
    assert application.engagement.outcome_answers == {"links_made": 2, "deliveries": 9}
    survey = application.engagement.follow_up_survey

    # The applying organisation answers the follow-up survey from its mail.
    (invitation_mail,) = [m for m in mail.outbox if survey.title in m.subject]
    member.goto(link_in(invitation_mail.body, "/surveys/"))
    # 5 is labelled with its meaning (とても役に立った).
    member.page.get_by_role("radio", name=re.compile(r"^5")).check()
    member.page.get_by_label("解決した", exact=True).check()
    member.submit(member.button("送信する"))
    member.submit(member.button("この内容で送信する"))
    assert Response.objects.get(invitation__survey=survey).submitted_at is not None

    # Once the survey has closed, the committee reads the menu's figures and cost.
    survey.closes_at = timezone.now() - timezone.timedelta(minutes=1)
    survey.save(update_fields=["closes_at"])
    committee = open_as(committee_member)
    committee.goto(f"/dashboard/?fy={current_fiscal_year()}#support")
    row = committee.page.locator("#support .support-table tbody tr", has_text="⑦")
    cells = row.locator("td").all_inner_texts()
    assert cells[:5] == ["1", "1", "1", "0", "0"]
    assert "連携を始めたフードバンク・窓口の数 2" in cells[5]
    cost = committee.page.locator("#support .support-cost tbody tr", has_text="⑦")
    cells = cost.locator("td").all_inner_texts()
    assert cells[:2] == ["4.5時間", "0時間"]
    # One organisation answered: its answers are not shown to the committee.
    assert cells[4:7] == ["—", "—", "—"]
    committee.shot("dashboard")

    staff.goto(f"/dashboard/?fy={current_fiscal_year()}#support")
    cost = staff.page.locator("#support .support-cost tbody tr", has_text="⑦")
    assert cost.locator("td").all_inner_texts()[4:7] == ["1", "5.0", "100.0%"]
