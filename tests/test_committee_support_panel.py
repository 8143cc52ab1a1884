"""The dashboard's 「後方支援メニュー（Ⅲ）」 (support.stats): per menu, what
was applied for and what came of it, its cost in hours, the time to start
and the follow-up survey's results, and who applied — the follow-up figures
and the breakdowns of who applied suppressed below three for the committee,
exact for the secretariat."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.dates import current_fiscal_year
from network.models import Organisation
from support import services, stats
from surveys.models import Answer, Response, Survey

from . import support_factories as sf
from .factories import MembershipFactory, OrganisationFactory, municipality

pytestmark = pytest.mark.django_db
FY = current_fiscal_year()
OTARU = "012033"  # 後志総合振興局


def _section(html: str) -> str:
    start = html.index('id="support"')
    return html[start : html.index("</section>", start)]


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def member(kind=Organisation.Kind.CONTRACTOR, code="011002"):
    org = OrganisationFactory(kind=kind, municipality=municipality(code))
    return MembershipFactory(organisation=org).user


def answer_follow_up(engagement, *, useful: int, solved: str, closed=True):
    """The applying organisation answers its follow-up survey (and it closes)."""
    survey = engagement.follow_up_survey
    response = Response.objects.create(
        survey=survey,
        organisation=engagement.application.organisation,
        submitted_at=timezone.now(),
    )
    questions = {q.key: q for q in survey.questions.all()}
    Answer.objects.create(response=response, question=questions["useful"], number=useful)
    Answer.objects.create(response=response, question=questions["solved"], choice=solved)
    if closed:
        Survey.objects.filter(pk=survey.pk).update(
            closes_at=timezone.now() - datetime.timedelta(minutes=1)
        )


def completed(menu, applicant, *, days_to_start=0, links=2, hours="2", coordination="0.5"):
    app = sf.application(menu, applicant, submitted_days_ago=days_to_start)
    engagement = sf.engagement(app)
    partner = sf.partner_member(menu)
    sf.session(engagement, partner, hours=hours, coordination=coordination)
    return services.complete_engagement(
        engagement=engagement,
        by=partner,
        outcome_answers={"links_made": links},
        outcome_text="窓口とフードバンクの連絡会が始まった。",
    )


def test_stats_count_applications_outcomes_hours_and_days_per_menu(secretariat):
    food = sf.menu(number=7, name="フードバンク連携")
    sf.menu(number=1, name="NPOのデジタル化")
    first = completed(food, member(), days_to_start=10, links=2, hours="3", coordination="1")
    completed(food, member(), days_to_start=4, links=5, hours="1.5", coordination="0.5")
    open_app = sf.application(food, member(), submitted_days_ago=2)
    sf.session(sf.engagement(open_app), sf.partner_member(food), hours="2", coordination="0")
    declined = sf.application(food, member())
    services.decline_application(application=declined, by=secretariat, reason="枠が埋まりました")
    sf.application(food, member())  # still waiting
    answer_follow_up(first, useful=5, solved="解決した")

    summary = stats.summary(FY, suppress=False)

    assert [f.menu.number for f in summary.menus] == [1, 7]
    empty, figures = summary.menus
    assert (empty.applications, empty.sessions, empty.hours_per_engagement) == (0, 0, None)
    assert (
        figures.applications,
        figures.accepted,
        figures.completed,
        figures.declined,
        figures.pending,
    ) == (5, 3, 2, 1, 1)
    assert [(o.key, o.total) for o in figures.outcomes] == [("links_made", Decimal("7"))]
    assert (figures.partner_hours, figures.secretariat_hours) == (Decimal("6.5"), Decimal("1.5"))
    assert (figures.sessions, figures.engagements_recorded) == (3, 3)
    assert figures.hours_per_engagement == Decimal("2.7")  # 8 hours / 3
    assert (figures.started, figures.median_days_to_start) == (3, Decimal("4.0"))
    follow = figures.follow_up
    assert (follow.responses.display, follow.useful_display) == ("1", "5.0")
    assert (follow.solved.n, follow.solved.base, follow.solved.pct_display) == (1, 1, "100.0%")
    assert summary.applications == 5


def test_committee_sees_follow_up_results_only_from_three_closed_answers(
    client_for, committee_member, secretariat
):
    food = sf.menu(number=7, name="フードバンク連携")
    engagements = [completed(food, member()) for _ in range(4)]
    answer_follow_up(engagements[0], useful=5, solved="解決した")
    answer_follow_up(engagements[1], useful=4, solved="一部解決した")
    url = reverse("dashboard:home") + f"?fy={FY}"

    committee = _text(_section(client_for(committee_member).get(url).content.decode()))
    assert "3未満の区分を「—」と表示" in committee
    # ⑦'s row in the counts table, then in the cost table.
    counts, cost = committee.split("⑦ フードバンク連携")[1:3]
    assert counts.startswith(" 4 4 4 0 0 連携を始めた窓口の数 8 ")
    assert cost.startswith(" 8時間 2時間 2.5時間 4回 0日 — — —")

    office = _text(_section(client_for(secretariat).get(url).content.decode()))
    assert "3未満" not in office
    assert office.split("⑦ フードバンク連携")[2].startswith(
        " 8時間 2時間 2.5時間 4回 0日 2 4.5 100.0%"
    )

    # A third answer: the committee reads the figures, with the solved share
    # (2 of 3; the one who did not solve is fewer than three) still hidden.
    answer_follow_up(engagements[2], useful=3, solved="解決しなかった")
    committee = _text(_section(client_for(committee_member).get(url).content.decode()))
    assert committee.split("⑦ フードバンク連携")[2].startswith(
        " 8時間 2時間 2.5時間 4回 0日 3 4.0 —"
    )
    # A fourth answer to a survey still open: the committee does not count it yet.
    answer_follow_up(engagements[3], useful=1, solved="解決しなかった", closed=False)
    committee = _text(_section(client_for(committee_member).get(url).content.decode()))
    assert " 0日 3 4.0 —" in committee
    office = _text(_section(client_for(secretariat).get(url).content.decode()))
    assert " 0日 4 3.3 50.0%" in office


def test_who_applied_is_suppressed_below_three_for_the_committee(
    client_for, committee_member, secretariat
):
    food = sf.menu(number=7, name="フードバンク連携")
    for _ in range(4):
        sf.application(food, member())  # 石狩, 受託団体
    sf.application(food, member(code=OTARU))  # 後志: one
    sf.application(food, member(kind=Organisation.Kind.MUNICIPALITY))  # 自治体: one
    url = reverse("dashboard:home") + f"?fy={FY}"

    committee = stats.summary(FY, suppress=True)
    regions = {b.label: b.cell.display for b in committee.by_region if b.cell.n}
    # 後志 (1) is small; 石狩 (5) is hidden too, or the total (6) would give 後志 back.
    assert regions == {"石狩振興局": "—", "後志総合振興局": "—"}
    kinds = {b.label: b.cell.display for b in committee.by_kind}
    assert kinds == {
        "自治体": "—",
        "受託団体": "—",
        "支援団体": "0",
        "国・関係行政": "0",
        "その他": "0",
    }
    office = stats.summary(FY, suppress=False)
    assert {b.label: b.cell.display for b in office.by_region if b.cell.n} == {
        "石狩振興局": "5",
        "後志総合振興局": "1",
    }
    assert {b.label: b.cell.display for b in office.by_kind}["受託団体"] == "5"

    page = _text(_section(client_for(committee_member).get(url).content.decode()))
    assert "後志総合振興局 —" in page and "石狩振興局 —" in page and "合計 6" in page
    page = _text(_section(client_for(secretariat).get(url).content.decode()))
    assert "後志総合振興局 1" in page and "石狩振興局 5" in page


def test_a_lone_small_cell_is_hidden_with_a_zero_when_nothing_else_counts(committee_member):
    food = sf.menu(number=7)
    sf.application(food, member())
    sf.application(food, member())  # both from 石狩, both 受託団体
    summary = stats.summary(FY, suppress=True)
    hidden = [b.label for b in summary.by_region if b.cell.suppressed]
    # 石狩 (2) is small; with every other 振興局 at 0 the total (2) would give it
    # back, so the first zero is hidden too.
    assert hidden == ["空知総合振興局", "石狩振興局"]
    assert [b.label for b in summary.by_kind if b.cell.suppressed] == ["自治体", "受託団体"]


def test_the_section_says_so_when_there_is_no_menu_or_no_application(client_for, committee_member):
    client = client_for(committee_member)
    url = reverse("dashboard:home") + f"?fy={FY}"
    html = client.get(url).content.decode()
    assert 'href="#support"' in html
    assert "後方支援メニューはまだ登録されていません。" in _section(html)
    sf.menu(number=7)
    sf.application(sf.menu(number=3), member(), submitted_days_ago=0)
    last_year = client.get(reverse("dashboard:home") + f"?fy={FY - 1}").content.decode()
    assert "の後方支援メニューの申込はまだありません。" in _section(last_year)


def _menus_with_applications(count: int) -> None:
    secretariat = sf.secretariat_user()
    for _ in range(count):
        menu = sf.menu()
        app = completed(menu, member())
        answer_follow_up(app, useful=4, solved="解決した")
        sf.application(menu, member(code=OTARU))
        declined = sf.application(menu, member())
        services.decline_application(application=declined, by=secretariat, reason="見送り")


@pytest.mark.parametrize("count", [1, 6])
def test_stats_query_count_is_fixed(count, django_assert_num_queries):
    _menus_with_applications(count)
    with django_assert_num_queries(8):
        summary = stats.summary(FY, suppress=True)
    assert len(summary.menus) == count
    assert summary.applications == 3 * count


def _menu_rows(html: str) -> int:
    table = _section(html).split('class="stack dash-stack support-table"')[1]
    return table.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")


def test_dashboard_with_the_section_costs_the_same_at_two_sizes(client_for, committee_member):
    """The whole page, cold (nothing cached), with one menu and with six."""
    client = client_for(committee_member)
    url = reverse("dashboard:home") + f"?fy={FY}"
    counts = []
    for added in (1, 5):
        _menus_with_applications(added)
        cache.clear()
        with CaptureQueriesContext(connection) as cold:
            html = client.get(url).content.decode()
        counts.append((_menu_rows(html), len(cold)))
    assert [rows for rows, _ in counts] == [1, 6]
    assert counts[0][1] == counts[1][1]


def test_the_cached_section_follows_every_change_it_shows(client_for, secretariat):
    """The section is a cached fragment (support.stats.data_version): each
    step a person takes shows on the next look, with no cache cleared."""
    client = client_for(secretariat)
    url = reverse("dashboard:home") + f"?fy={FY}"

    def row() -> str:
        page = _text(_section(client.get(url).content.decode()))
        counts, cost = page.split("⑦ フードバンク連携")[1:3]
        return counts[:40], cost[:40]

    food = sf.menu(number=7, name="フードバンク連携")
    assert "の後方支援メニューの申込はまだありません。" in _section(
        client.get(url).content.decode()
    )
    app = sf.application(food, member())
    assert row()[0].startswith(" 1 0 0 0 1 ")
    engagement = sf.engagement(app)
    assert row()[0].startswith(" 1 1 0 0 0 ")
    partner = sf.partner_member(food)
    sf.session(engagement, partner, hours="3", coordination="1")
    assert row()[1].startswith(" 3時間 1時間 4.0時間 1回 0日 0 ")
    engagement = services.complete_engagement(
        engagement=engagement, by=partner, outcome_answers={"links_made": 4}, outcome_text=""
    )
    assert row()[0].startswith(" 1 1 1 0 0 連携を始めた窓口の数 4 ")
    answer_follow_up(engagement, useful=4, solved="解決した")
    assert row()[1].startswith(" 3時間 1時間 4.0時間 1回 0日 1 4.0 100.0%")
    # Who applied: the organisation moves to 後志, and the breakdown follows.
    organisation = app.organisation
    organisation.municipality = municipality(OTARU)
    organisation.region = organisation.municipality.region
    organisation.save()
    assert "後志総合振興局 1" in _text(_section(client.get(url).content.decode()))
