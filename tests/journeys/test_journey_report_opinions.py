"""J: the secretariat chooses the opinions 令和8年度's annual report quotes
(issue 16).

From the report she follows 「載せる意見を選ぶ」, finds the 年度's free texts
(the one naming a person offers no box), ticks one by its label, saves, and
finds it quoted under Ⅰ; the database holds the choice. A committee member
then reads it there, without who wrote it.
"""

from __future__ import annotations

from committee.models import ReportOpinion

from ..test_annual_report_opinions import FLAGGED, LONGER, USEFUL, WRITER, year_with_texts

JOURNEY = "report-opinions"


def test_journey_secretariat_chooses_an_opinion(open_as, secretariat, committee_member):
    fiscal_year, ids = year_with_texts()
    actor = open_as(secretariat)
    page = actor.page

    actor.goto(f"/dashboard/report/?fy={fiscal_year}")
    actor.submit(page.locator("main .page-tools").get_by_role("link", name="載せる意見を選ぶ"))
    assert actor.path() == f"/dashboard/report/opinions/?fy={fiscal_year}"
    flagged = page.locator(".opinion", has_text=FLAGGED.split("（")[0])
    assert "載せられません" in flagged.inner_text()
    assert flagged.get_by_role("checkbox").count() == 0
    actor.shot("candidates")

    page.locator(".opinion", has_text=USEFUL).get_by_text("報告書に載せる").click()
    assert page.locator(".opinion", has_text=USEFUL).get_by_role("checkbox").is_checked()
    actor.submit(actor.button("このページの選択を保存する"))
    assert "このページで 1 件を報告書に載せる意見にしました。" in actor.main_text()
    assert list(ReportOpinion.objects.values_list("answer_id", flat=True)) == [ids[USEFUL]]

    actor.submit(page.get_by_role("link", name="報告書に戻る"))
    quoted = page.locator("#meetings .report-opinions li").all_inner_texts()
    assert quoted == [USEFUL]
    actor.shot("report")

    reader = open_as(committee_member)
    reader.goto(f"/dashboard/report/?fy={fiscal_year}")
    text = reader.main_text()
    assert USEFUL in text
    assert LONGER not in text and WRITER not in text
