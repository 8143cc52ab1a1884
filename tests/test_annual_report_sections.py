"""The annual report's sections over the later apps (issue 16): Ⅱ the navi,
Ⅲ the back-up menus, the needs register and the seven functions, on data
made here (no demo data: tests/test_annual_report.py holds the seed's), on
the page, in Word and in the PDF; and left out when their app recorded
nothing in the 年度.
"""

import datetime
import re

import pytest
from django.utils import timezone

from .factories import MembershipFactory, OrganisationFactory, UserFactory
from .test_annual_report import (
    DOCX,
    EMPTY_YEAR,
    PDF,
    REPORT,
    docx_text,
    pdf_text,
    report_lines,
    section,
    text_of,
)

# --- Ⅱ the navi, Ⅲ the menus, the needs, the seven functions ---------------------------------


def region_name() -> str:
    from network.models import Region

    return Region.objects.order_by("pk").first().name


def later_apps_year(secretariat) -> int:
    """The current 年度 with two navi windows (one checked this 年度), four
    searches (one found nothing), one back-up menu with an application
    accepted, and three needs (one proposed); no demo data."""
    from committee.needs import create_need
    from core.dates import current_fiscal_year
    from directory import stats as navi_stats
    from directory.enums import Channel
    from directory.models import Category

    from .directory_factories import window
    from .support_factories import application, engagement, menu, session

    first = window("くらしサポートセンター（サンプル）")
    window("しごと相談窓口（サンプル）")
    type(first.service).objects.filter(pk=first.service.pk).update(verified_on=timezone.localdate())
    category = Category.objects.order_by("order").first()
    from network.models import Region

    region = Region.objects.order_by("pk").first()
    for found in (2, 1, 1, 0):
        navi_stats.record(
            Channel.WEB if found else Channel.LINE,
            category=category,
            region=region if found == 1 else None,
            found=found,
        )
    m = menu(number=7, name="フードバンク窓口連携支援事業")
    applicant = UserFactory()
    MembershipFactory(user=applicant)
    accepted = engagement(application(m, applicant), by=secretariat)
    session(accepted, secretariat, hours="3", coordination="1")
    create_need(by=secretariat, title="一時生活支援の広域化", text="広域で考える場が要る。")
    create_need(
        by=secretariat, title="任意事業の予算化", text="提言した。", function=3, status="proposed"
    )
    create_need(by=secretariat, title="研修の機会", text="初任者研修。", function=4)
    return current_fiscal_year()


@pytest.mark.django_db
def test_report_sections_of_the_navi_the_menus_and_the_needs(client_for, secretariat):
    fiscal_year = later_apps_year(secretariat)
    client = client_for(secretariat)

    page = client.get(REPORT, {"fy": fiscal_year})

    text = text_of(page)
    toc = re.findall(r'<li(?: class="[^"]*")?><a href="#([\w-]+)">', page.content.decode())
    assert toc == ["navi", "menus", "needs", "text-survey_summary", "text-issues", "functions"]
    navi = section(text, "Ⅱ 情報集約・情報提供体制の構築（北海道支援情報ナビ） ")
    assert "掲載している相談窓口 2件（2団体・機関）、うちこの年度に内容を確認した窓口 1件" in navi
    assert "この年度の検索 延べ4回（ウェブ 3回・LINE 1回）、うち窓口が見つからなかった 1回" in navi
    assert "生活全般 2 4 1" in navi
    # By area: two searches named a 振興局, two chose none.
    assert f"{region_name()} 2 0" in navi
    assert "（地域をえらばずに） 2 1" in navi
    menus = section(text, "Ⅲ 後方支援メニューの試験実施・ノウハウ提供 ")
    assert "申込 1件、うち完了 0件（1メニュー）" in menus
    # No outcome report yet: its number field sums to 0, as on the dashboard.
    assert (
        "⑦ フードバンク窓口連携支援事業 1 0 連携を始めた窓口の数 0 協力団体 3時間・事務局 1時間 —"
        in menus
    )
    needs = section(text, "課題の整理と提言（検討委員会） ")
    assert "この年度に登録された課題 3件、うち提言済 1件" in needs
    assert "3 論点整理・政策提言 0 0 0 1 0 0 1" in needs
    assert "未分類 1 0 0 0 0 0 1" in needs
    assert "提言した課題 任意事業の予算化" in needs
    functions = section(text, "支援者支援の7つの機能と、この年度の取り組み ")
    assert (
        "Ⅱ 情報集約・情報提供体制の構築 ナビ 窓口2件・検索4回 — — — — ナビ 窓口2件・検索4回 "
        "ナビ 窓口2件・検索4回" in functions
    )
    # The menu serves functions 1 and 7 (support_factories.menu).
    assert "Ⅲ 後方支援メニューの試験実施・ノウハウ提供 ⑦ 申込1件 — — — — — ⑦ 申込1件" in functions
    assert "課題の整理と提言（検討委員会） — — 課題 1件、提言 1件 課題 1件 — — —" in functions

    # The same sections in Word, and in the PDF.
    paragraphs, tables, document = docx_text(client.get(DOCX, {"fy": fiscal_year}))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == [
        "目次",
        "Ⅱ 情報集約・情報提供体制の構築（北海道支援情報ナビ）",
        "Ⅲ 後方支援メニューの試験実施・ノウハウ提供",
        "課題の整理と提言（検討委員会）",
        "支援者支援の7つの機能と、この年度の取り組み",
    ]
    rows = [row for table in tables for row in table]
    assert ["生活全般", "2", "4", "1"] in rows
    assert [region_name(), "2", "0"] in rows
    assert [
        "⑦ フードバンク窓口連携支援事業", "1", "0", "連携を始めた窓口の数 0",
        "協力団体 3時間・事務局 1時間", "—",
    ] in rows  # fmt: skip
    assert ["3 論点整理・政策提言", "0", "0", "0", "1", "0", "0", "1"] in rows
    assert "任意事業の予算化" in paragraphs
    # The functions table is on a landscape page of its own.
    assert document.sections[-1].page_width > document.sections[-1].page_height
    pdf, _reader = pdf_text(client.get(PDF, {"fy": fiscal_year}))
    for wanted in (
        "掲載している相談窓口 2件（2団体・機関）",
        "申込 1件、うち完了 0件（1メニュー）",
        "この年度に登録された課題 3件、うち提言済 1件",
        "支援者支援の7つの機能と、この年度の取り組み",
    ):
        assert wanted in pdf


@pytest.mark.django_db
def test_report_leaves_out_the_sections_whose_apps_recorded_nothing(client_for, committee_member):
    from directory.models import Service

    from .directory_factories import window

    window()  # listed, but not checked this 年度 and never searched for
    assert Service.objects.count() == 1
    text = text_of(client_for(committee_member).get(REPORT, {"fy": EMPTY_YEAR}))

    assert "報告書に載せる情報交換会やアンケートの記録がまだありません" in text
    for heading in ("Ⅱ 情報集約", "Ⅲ 後方支援メニュー", "課題の整理と提言", "7つの機能"):
        assert heading not in text


@pytest.mark.django_db
def test_windows_listed_are_never_stale(secretariat):
    """directory.stats.listed is cached by its data version: every change that
    moves a count shows at once."""
    from directory import stats
    from directory.models import Category, Service

    from .directory_factories import window

    start, end = datetime.date(2026, 4, 1), datetime.date(2027, 4, 1)
    first = window("くらしサポートセンター（サンプル）")
    life, work = Category.objects.order_by("order")[:2]

    def counts():
        found = stats.listed(start, end)
        by_name = dict(found.by_category)
        return found.windows, found.verified, by_name[life.name], by_name[work.name]

    assert counts() == (1, 0, 1, 0)
    second = window("しごと相談窓口（サンプル）")
    assert counts() == (2, 0, 2, 0)
    second.service.categories.set([work])
    assert counts() == (2, 0, 1, 1)
    second.service.status = Service.Status.INACTIVE
    second.service.save()
    assert counts() == (1, 0, 1, 0)
    first.service.verified_on = datetime.date(2026, 5, 1)
    first.service.save()
    assert counts() == (1, 1, 1, 0)
    first.service.delete()
    assert counts() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_report_links_a_symposiums_slides_on_the_page_and_in_word(client_for, secretariat):
    """Ⅰ's materials links include the slides uploaded to a symposium; Word,
    opened outside the browser, gets them as absolute links."""
    from core.dates import current_fiscal_year
    from events import tallies
    from events.models import Event

    from .event_factories import EventFactory, RegistrationFactory

    meeting = EventFactory(number=1, status=Event.Status.FINISHED)
    RegistrationFactory(event=meeting)
    tallies.refresh([meeting.pk])
    EventFactory(
        kind=Event.Kind.SYMPOSIUM,
        status=Event.Status.FINISHED,
        starts_at=meeting.starts_at + datetime.timedelta(days=1),
        report_url="https://example.org/report.pdf",
        slides="events/slides/2026/symposium.pdf",
    )
    client = client_for(secretariat)
    fiscal_year = current_fiscal_year()

    html = client.get(REPORT, {"fy": fiscal_year}).content.decode()
    gathering = re.search(r'<ul class="report-gatherings">(.*?)</ul>', html, re.S).group(1)
    assert re.findall(r'<a href="([^"]+)" rel="noopener">([^<]+)</a>', gathering) == [
        ("https://example.org/report.pdf", "報告書"),
        ("/media/events/slides/2026/symposium.pdf", "資料（PDF）"),
    ]
    _paragraphs, _tables, document = docx_text(client.get(DOCX, {"fy": fiscal_year}))
    links = [(h.text, h.address) for p in document.paragraphs for h in p.hyperlinks]
    assert ("資料（PDF）", "http://testserver/media/events/slides/2026/symposium.pdf") in links
    assert ("報告書", "https://example.org/report.pdf") in links


@pytest.mark.django_db
def test_survey_scope_counts_the_invited_by_place_or_says_only_the_groups():
    """調査対象 names 市・町 and 振興局 from the invited 自治体; a per-person
    invitation (no organisation) or a suppressed count leaves the places out."""
    from committee.report import scope_line
    from network.models import Municipality, Organisation, Region
    from surveys.models import Invitation
    from surveys.results import Cell, RateRow

    from .factories import OrganisationFactory
    from .survey_factories import SurveyFactory

    survey = SurveyFactory(kind="annual")
    city = Municipality.objects.filter(kind="市").first()
    town = Municipality.objects.filter(kind="町").first()
    places = [
        OrganisationFactory(kind=Organisation.Kind.MUNICIPALITY, municipality=m, region=m.region)
        for m in (city, town)
    ]
    places.append(
        OrganisationFactory(
            kind=Organisation.Kind.MUNICIPALITY, municipality=None, region=Region.objects.first()
        )
    )
    for i, org in enumerate(places):
        Invitation.objects.create(
            survey=survey, organisation=org, email=f"m{i}@example.org", token_hash=f"m{i}"
        )

    def groups(municipal: Cell) -> list[RateRow]:
        return [
            RateRow("municipal", "自治体", municipal, Cell(0)),
            RateRow("contractor", "受託団体・支援団体", Cell(5), Cell(0)),
        ]

    assert scope_line(survey, groups(Cell(3))) == (
        "調査対象：道内の福祉事務所設置自治体（1市+1町+1振興局=3自治体）、受託団体・支援団体5団体"
    )
    # One more 自治体 asked in person: the places no longer add up to the group.
    assert scope_line(survey, groups(Cell(4))) == "調査対象：自治体4、受託団体・支援団体5団体"
    assert scope_line(survey, groups(Cell(3, suppressed=True))) == (
        "調査対象：自治体—、受託団体・支援団体5団体"
    )


@pytest.mark.django_db
def test_cached_parts_follow_every_change_at_once(client_for, secretariat):
    """Ⅰ's lines and Ⅲ's figures are cached by their data versions: a new
    registration counted and a new application show on the next view."""
    from events import tallies
    from events.models import Event

    from .event_factories import EventFactory, RegistrationFactory
    from .support_factories import application, menu

    fiscal_year = later_apps_year(secretariat)
    meeting = EventFactory(number=1, status=Event.Status.FINISHED)
    RegistrationFactory(event=meeting, organisation=OrganisationFactory())
    tallies.refresh([meeting.pk])
    client = client_for(secretariat)

    before = client.get(REPORT, {"fy": fiscal_year})
    assert report_lines(before) == [meeting_line(meeting, 1)]
    assert "申込 1件、うち完了 0件（1メニュー）" in text_of(before)

    RegistrationFactory(event=meeting, organisation=OrganisationFactory())
    tallies.refresh([meeting.pk])
    applicant = UserFactory()
    MembershipFactory(user=applicant)
    application(menu(number=3, name="研修講師派遣"), applicant)

    after = client.get(REPORT, {"fy": fiscal_year})
    assert report_lines(after) == [meeting_line(meeting, 2)]
    assert "申込 2件、うち完了 0件（2メニュー）" in text_of(after)


def meeting_line(meeting, n: int) -> str:
    """第1回 6月4日 2名 (2機関：団体2(2)) for n persons of n 団体."""
    day = timezone.localtime(meeting.starts_at)
    return f"第1回 {day.month}月{day.day}日 {n}名 ({n}機関：団体{n}({n}))"


@pytest.mark.django_db
def test_report_compares_the_survey_with_the_year_before_on_the_page_and_in_word(
    client_for, secretariat
):
    """Ⅳ's 年度比較: the key questions of this 年度's annual survey beside the
    year before's, as the results page shows them, on the page and in Word."""
    from surveys.models import Survey

    from .survey_factories import catalog_survey
    from .test_survey_results import respond

    previous = catalog_survey("annual", kind=Survey.Kind.ANNUAL, fiscal_year=2021, title="R3")
    current = catalog_survey("annual", kind=Survey.Kind.ANNUAL, fiscal_year=2022, title="R4")
    for _i in range(4):
        respond(previous, {"attended": "参加したことがある", "continue": "はい"})
    for i in range(5):
        respond(current, {"attended": "参加したことがある", "continue": "はい" if i else "いいえ"})
    client = client_for(secretariat)

    page = text_of(client.get(REPORT, {"fy": 2022}))
    compared = section(page, "年度比較 ")
    assert "令和3年度 令和4年度" in compared
    assert "はい 100.0%（4） 80.0%（4）" in compared

    _paragraphs, tables, document = docx_text(client.get(DOCX, {"fy": 2022}))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 2"]
    assert "年度比較" in headings
    table = next(t for t in tables if t[0][0] == "質問・項目")
    assert table[0] == ["質問・項目", "令和3年度", "令和4年度"]
    assert ["回答者数", "4", "5"] in table
    assert ["はい", "100.0%（4）", "80.0%（4）"] in table
    assert ["いいえ", "0.0%（0）", "20.0%（1）"] in table
