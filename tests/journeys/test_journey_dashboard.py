"""J5: the committee reads the dashboard and takes a 事前質問 to 提言済.

The committee opens the dashboard, changes the 年度 with the select alone (the
page follows it: no 表示 button with JavaScript on) and reads that year's
figures; goes to the needs register, raises a need from a meeting's 事前質問
(「課題にする」) and walks it through 整理中 and 対応中 to 提言済. The need and
its history are in the database as walked.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from committee.models import Need
from core.dates import fiscal_year_of
from events.models import Event
from network.models import Organisation

from ..event_factories import EventFactory, RegistrationFactory
from ..factories import OrganisationFactory

JOURNEY = "dashboard"
QUESTION = "ケース会議に福祉事務所が来てくれません。他の地域ではどう声をかけていますか。"


def _meeting(fiscal_year: int, month: int, number: int) -> Event:
    starts = timezone.make_aware(datetime.datetime(fiscal_year, month, 10, 13, 30))
    return EventFactory(
        number=number,
        title=f"第{number}回 情報交換会",
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=3),
        status=Event.Status.FINISHED,
    )


def _two_years():
    """Two 年度 before the current one, with different figures: the older has
    two meetings (4 people from 2 organisations), the later one meeting
    (2 people from 1 organisation). The 事前質問 is on the older one."""
    current = fiscal_year_of(timezone.now())
    older, later = current - 2, current - 1
    first, second = _meeting(older, 6, 1), _meeting(older, 10, 2)
    third = _meeting(later, 7, 3)
    npo = OrganisationFactory(name="江別くらし相談センター", kind=Organisation.Kind.CONTRACTOR)
    city = OrganisationFactory(name="北見市 生活支援課", kind=Organisation.Kind.MUNICIPALITY)
    other = OrganisationFactory(name="釧路サポートネット", kind=Organisation.Kind.CONTRACTOR)
    RegistrationFactory.create_batch(2, event=first, organisation=npo)
    asked = RegistrationFactory(event=first, organisation=city, question=QUESTION)
    RegistrationFactory(event=second, organisation=npo)
    RegistrationFactory.create_batch(2, event=third, organisation=other)
    return older, later, asked


def _figures(page) -> list[str]:
    """The first three summary figures: meetings, people (延べ), organisations."""
    return [t.strip() for t in page.locator(".dashboard-stats .stat").all_inner_texts()[:3]]


def test_journey_committee_follows_the_year_and_takes_a_question_to_proposed(
    open_as, committee_member
):
    older, later, asked = _two_years()
    committee = open_as(committee_member)
    page = committee.page

    committee.submit(page.locator("main").get_by_role("link", name="ダッシュボード"))
    # Without ?fy= the latest 年度 with a meeting is shown.
    assert page.locator("#fy").input_value() == str(later)
    assert _figures(page) == ["1回", "2名", "1"]
    # With JavaScript on the select alone changes the year.
    assert not committee.button("表示").is_visible()
    committee.shot("year-later")

    with page.expect_navigation():
        page.get_by_label("年度", exact=True).select_option(str(older))
    assert committee.path() == f"/dashboard/?fy={older}"
    assert page.locator("#fy").input_value() == str(older)
    assert _figures(page) == ["2回", "4名", "2"]
    meetings = page.locator(".participation-table tbody th").all_inner_texts()
    assert [m.split("\n")[0] for m in meetings] == ["第1回 6月10日", "第2回 10月10日"]
    # The second meeting has a returning organisation; the totals row sums no 継続.
    returning = page.locator(".participation-table td[data-label='継続']").all_inner_texts()
    assert [r.split("\n")[0] for r in returning] == ["0", "1", "—"]
    committee.shot("year-older")

    committee.submit(page.get_by_role("link", name="課題の登録簿"))
    committee.submit(page.locator("main .page-head").get_by_role("link", name="事前質問から登録"))
    # The candidates list follows its own 年度 select the same way.
    with page.expect_navigation():
        page.locator("#candidate-fy").select_option(str(older))
    candidates = page.locator(".candidate-list li")
    assert candidates.count() == 1
    assert QUESTION in candidates.first.inner_text()
    committee.shot("candidates")
    committee.submit(candidates.first.get_by_role("button", name="課題にする"))

    assert "課題として登録しました" in committee.main_text()
    need = Need.objects.get()
    assert (need.source, need.source_registration, need.text) == (
        Need.Source.REGISTRATION,
        asked,
        QUESTION,
    )
    assert (need.status, need.fiscal_year, need.raised_by) == (
        Need.Status.NEW,
        older,
        committee_member,
    )

    for status, function, note in [
        ("整理中", None, "各地域の声かけの例を集める"),
        ("対応中", "3 論点整理・政策提言", ""),
        ("提言済", None, "道へ提言書を提出"),
    ]:
        page.get_by_label("状態").select_option(label=status)
        if function:
            page.get_by_label("機能").select_option(label=function)
        if note:
            page.get_by_label("経過のメモ").fill(note)
        committee.submit(committee.button("保存する"))
        assert "課題を更新しました。" in committee.main_text()
    badges = page.locator(".need-badges").inner_text()
    assert "提言済" in badges and "3 論点整理・政策提言" in badges
    assert "道へ提言書を提出" in page.locator(".need-history").inner_text()
    committee.shot("proposed")

    need.refresh_from_db()
    assert (need.status, need.function) == (Need.Status.PROPOSED, Need.Function.POLICY)
    history = list(
        need.updates.order_by("pk").values_list(
            "old_status", "new_status", "function", "note", "author"
        )
    )
    me = committee_member.pk
    assert history == [
        ("", "new", None, "", me),
        ("new", "sorting", None, "各地域の声かけの例を集める", me),
        ("sorting", "in_progress", 3, "", me),
        ("in_progress", "proposed", None, "道へ提言書を提出", me),
    ]
