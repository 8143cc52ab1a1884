"""The annual report 年度報告書 /dashboard/report/?fy= (issue 16).

On the demo data (seed_demo) the 令和3年度 report writes the seed's lines of
Ⅰ from the stored registrations, character for character where the seed
states a figure, and the effect-verification survey's figures of Ⅳ as the
dashboard shows them (suppressed for the committee). The secretariat writes
the 課題 and アンケート総括 paragraphs, kept with their history and checked by
the privacy guard; the committee reads them; everyone else gets 404.
"""

import datetime
import re
from io import BytesIO, StringIO
from urllib.parse import unquote

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from committee.models import ReportText, ReportTextRevision
from events import tallies
from events.models import Event
from network.models import Organisation, User

from .event_factories import EventFactory, RegistrationFactory
from .factories import OrganisationFactory, UserFactory

K = Organisation.Kind
REPORT = "/dashboard/report/"
EDIT = "/dashboard/report/edit/"
DOCX = "/dashboard/report/docx/"
PDF = "/dashboard/report/pdf/"
# A 年度 the portal accepts for which the demo has no meeting and no survey.
EMPTY_YEAR = 2023

# The seed's Ⅰ, copied from the seed document (令和3年度), as it is written there.
SEED_TOTAL = "情報交換会の実施 合計 述べ247名(内は人数)"
SEED_GATHERINGS = [
    "シンポジウムの実施 10月15日 (第3回情報交換会と同時開催)",
    "最終報告会 2月18日",
]
SEED_LINES = [
    "第1回 6月4日 27名 (14機関：団体9 (13)・自治体4(4)・厚労省(10))",
    "第2回 7月15日 49名 (35機関：団体27(31)・自治体7(8)・厚労省(10))",
    "第3回 10月15日 90名 (52機関：団体42(67)・自治体9(13)・厚労省(6))",
    "第4回 12月17日 69名 (47機関：団体39(54)・自治体7(10)・厚労省(1))",
    "第5回 2月24日 12名 (9機関：子どもの学習・生活支援機関のみ補完実施)",
]

# The seed's Ⅳ, its sentences that state figures (bold marks dropped).
SEED_SURVEY = [
    "回収：自治体15、受託団体32の合計47団体から回答を得た。",
    "情報交換会に1回でも参加したことがある団体は37/47団体となっており",
    "うち、自治体7/15、受託団体30/32 である。",
    "9割以上が役に立ったと回答",
    "8割以上が継続希望",
    "テーマ別のディスカッションが最も多く62.9%",
    "講師を招いた勉強会が48.6%などとなった。",
]
FIGURE = re.compile(r"\d+割以上|\d+/\d+|\d+(?:\.\d+)?%?")


def is_subsequence(wanted: list[str], found: list[str]) -> bool:
    rest = iter(found)
    return all(figure in rest for figure in wanted)


def seed_figures(line: str) -> str:
    """The part of a seed line that states figures. Two things in the seed
    are not figures and are not reproduced: the stray space of its 第1回
    (団体9 (13), written 団体9(13) in its other lines), and its 第5回's
    words after 9機関 (子どもの学習・生活支援機関のみ補完実施: a note, not a
    breakdown) — there the report's line is compared up to 9機関."""
    line = line.replace("団体9 (13)", "団体9(13)")
    if "：子どもの学習" in line:
        return line.split("：")[0]
    return line


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """seed_demo once for the module, rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        with override_settings(DEBUG=True):
            call_command("seed_demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


def demo_user(email):
    return User.objects.get(email=email)


def text_of(response) -> str:
    """The page's text with tags dropped and whitespace folded."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def report_lines(response) -> list[str]:
    html = response.content.decode()
    found = re.search(r'<ul class="report-lines">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


def section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1]


# --- the seed's figures ------------------------------------------------------------------


@pytest.mark.django_db
def test_report_meeting_lines_equal_the_seeds_lines(seeded, client_for):
    response = client_for(demo_user("secretariat@example.org")).get(REPORT, {"fy": "2021"})

    assert response.status_code == 200
    lines = report_lines(response)
    assert len(lines) == len(SEED_LINES)
    for line, seed in zip(lines, SEED_LINES, strict=True):
        assert line.startswith(seed_figures(seed)), (line, seed)
    # Where the seed states the whole line, the report's is the same line.
    assert lines[1:4] == SEED_LINES[1:4]
    assert lines[0] == SEED_LINES[0].replace("団体9 (13)", "団体9(13)")
    assert lines[4] == "第5回 2月24日 12名 (9機関：団体9(12))"
    text = text_of(response)
    # The seed's total (its 述べ is a slip for 延べ, which the dashboard writes).
    assert "247" in SEED_TOTAL
    assert "情報交換会の実施　合計 延べ247名（括弧内は人数）" in response.content.decode()
    # The その他 persons the seed's parentheses leave out are named, not dropped.
    assert "第3回 10月15日 4名、第4回 12月17日 4名" in text
    assert "出典：令和3年度に開催した情報交換会 5回（第1回 6月4日〜第5回 2月24日）" in text
    # The symposium and the final report meeting, with their materials.
    html = response.content.decode()
    assert re.findall(r'<span class="report-gathering">(.*?)</span>', html) == SEED_GATHERINGS
    assert 'href="https://youtu.be/rzk8lFoAp_4"' in html
    assert 'href="https://www.youtube.com/watch?v=Jst1ptXY2RM&amp;t=9813s"' in html
    assert "各情報交換会のレポート：" in text
    assert 'href="https://onl.la/e7Fe3Mb"' in html


@pytest.mark.django_db
def test_report_lines_follow_the_stored_registrations(seeded, client_for):
    """One more person at 第5回 changes its line: computed, not typed in."""
    fifth = Event.objects.get(fiscal_year=2021, number=5, kind=Event.Kind.EXCHANGE)
    npo = OrganisationFactory(name="新しく来た団体", kind=K.CONTRACTOR)
    RegistrationFactory(event=fifth, organisation=npo)
    tallies.refresh([fifth.pk])

    response = client_for(demo_user("committee@example.org")).get(REPORT, {"fy": "2021"})

    assert report_lines(response)[4] == "第5回 2月24日 13名 (10機関：団体10(13))"
    assert "合計 延べ248名" in text_of(response)


@pytest.mark.django_db
def test_report_survey_section_shows_the_seeds_results(seeded, client_for):
    text = text_of(client_for(demo_user("secretariat@example.org")).get(REPORT, {"fy": "2021"}))

    survey = section(text, "Ⅳ 続・後方支援プロジェクトの効果検証 ")
    # The seed's 調査対象, counted on the survey's invitations.
    assert (
        "Ⅳ 続・後方支援プロジェクトの効果検証 調査対象：道内の福祉事務所設置自治体"
        "（35市+14振興局=49自治体）、受託団体・支援団体37団体 回収：" in survey
    )
    assert "回収：自治体15、受託団体・支援団体32の合計47団体から回答を得た。" in survey
    assert "合計 86 47 54.7%" in survey
    assert "参加したことがある 37 78.7%" in survey
    assert "4・5（役に立った） 91.9% （34）" in survey
    assert "はい 39 83.0%" in survey
    assert "テーマ別ディスカッション 22 62.9%" in survey
    assert "講師を招いた勉強会 17 48.6%" in survey
    assert "いいえ 2 4.3%" in survey
    assert "出典：令和3年度 続・後方支援プロジェクト 効果検証アンケート" in survey


@pytest.mark.django_db
def test_report_survey_sentences_carry_the_seeds_figures(seeded, client_for):
    html = client_for(demo_user("secretariat@example.org")).get(REPORT, {"fy": "2021"})
    html = html.content.decode()
    findings = re.search(r'<ul class="report-lines report-findings">(.*?)</ul>', html, re.S)
    lines = re.findall(r"<li>(.*?)</li>", findings.group(1))
    collected = "回収：自治体15、受託団体・支援団体32の合計47団体から回答を得た。"

    assert collected in html
    assert lines == [
        "情報交換会に1回でも参加したことがある団体は37/47団体"
        "（うち、自治体7/15、受託団体・支援団体30/32）",
        "9割以上が役に立ったと回答（4・5 91.9%）",
        "8割以上が継続希望（はい 83.0%）",
        "テーマ別ディスカッションが最も多く62.9%、講師を招いた勉強会が48.6%などとなった。",
    ]
    # Every figure the seed states, in the seed's order (the report adds
    # the exact shares next to 9割以上 and 8割以上, and names the group
    # 受託団体・支援団体 where the seed writes 受託団体).
    wanted = FIGURE.findall("".join(SEED_SURVEY))
    assert wanted == [
        "15", "32", "47", "1", "37/47", "7/15", "30/32", "9割以上", "8割以上", "62.9%", "48.6%",
    ]  # fmt: skip
    assert is_subsequence(wanted, FIGURE.findall(collected + "".join(lines)))


@pytest.mark.django_db
def test_report_suppresses_small_cells_for_the_committee_as_the_dashboard_does(seeded, client_for):
    client = client_for(demo_user("committee@example.org"))
    report = section(
        text_of(client.get(REPORT, {"fy": "2021"})), "Ⅳ 続・後方支援プロジェクトの効果検証 "
    )
    dashboard = section(
        text_of(client.get("/dashboard/", {"fy": "2021"})), "年次アンケート（効果検証）"
    )

    assert "いいえ — —" in report
    assert "いいえ 2" not in report
    assert "9割以上が役に立ったと回答（4・5 91.9%）" in report
    assert "回答者が3人未満の区分は「—」" in report
    # The same cells as the dashboard's panel, suppressed or not.
    for figure in ("いいえ — —", "はい 39 83.0%", "合計 86 47 54.7%", "91.9% （34）"):
        assert figure in dashboard
        assert figure in report


# --- who may see it ----------------------------------------------------------------------

DEMO_ACTORS = {
    "contractor_member": "npo@example.org",
    "municipal_member": "city@example.org",
    "org_admin": "npo-admin@example.org",
    "committee": "committee@example.org",
    "secretariat": "secretariat@example.org",
    "superuser": "admin@example.org",
}
READERS = {"committee", "secretariat", "superuser"}
WRITERS = {"secretariat", "superuser"}


@pytest.fixture
def demo_actors(seeded):
    actors = {"anonymous": None, "outsider": UserFactory(email="outsider-report@example.org")}
    actors.update((name, demo_user(email)) for name, email in DEMO_ACTORS.items())
    return actors


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,allowed", [(REPORT, READERS), (EDIT, WRITERS), (DOCX, READERS), (PDF, READERS)]
)
def test_report_pages_answer_404_to_others_and_send_anonymous_to_log_in(
    url, allowed, demo_actors, client_for
):
    for name, user in demo_actors.items():
        response = client_for(user).get(url, {"fy": "2021"})
        if name == "anonymous":
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/?next=/dashboard/report/")
        elif name in allowed:
            assert response.status_code == 200, name
        else:
            assert response.status_code == 404, name


@pytest.mark.django_db
def test_committee_reads_the_texts_but_cannot_edit_them(seeded, client_for):
    secretariat = demo_user("secretariat@example.org")
    client_for(secretariat).post(
        EDIT + "?fy=2021",
        {"issues": "委託元の自治体の参加を増やす工夫が要る。", "survey_summary": ""},
    )
    committee = client_for(demo_user("committee@example.org"))

    page = committee.get(REPORT, {"fy": "2021"})
    assert "委託元の自治体の参加を増やす工夫が要る。" in text_of(page)
    assert EDIT not in page.content.decode()
    # アンケート総括 is not written: the committee sees no empty section for it.
    assert 'id="text-survey_summary"' not in page.content.decode()

    before = list(ReportText.objects.values_list("text", flat=True))
    response = committee.post(EDIT + "?fy=2021", {"issues": "書き換え", "survey_summary": "x"})
    assert response.status_code == 404
    assert list(ReportText.objects.values_list("text", flat=True)) == before


# The rules as units, over the eight named actors (the demo's accounts, as above).
RULES = {
    "can_view_annual_report": {"committee", "secretariat", "superuser"},
    "may_edit_report_texts": {"secretariat", "superuser"},
    "report_suppresses_small_cells": {
        "anonymous",
        "outsider",
        "contractor_member",
        "municipal_member",
        "org_admin",
        "committee",
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("rule", sorted(RULES))
def test_report_access_rules_per_actor(rule, demo_actors):
    from committee import access

    allowed = {name for name, user in demo_actors.items() if getattr(access, rule)(user)}
    assert allowed == RULES[rule]


@pytest.mark.django_db
def test_save_texts_refuses_anyone_but_the_secretariat(demo_actors):
    from django.core.exceptions import ValidationError

    from committee import report

    for name, user in demo_actors.items():
        if name in RULES["may_edit_report_texts"]:
            continue
        with pytest.raises(ValidationError) as refused:
            report.save_texts(fiscal_year=2021, texts={"issues": "書き換え"}, actor=user)
        assert refused.value.code == "forbidden"
    assert not ReportText.objects.exists()
    assert report.save_texts(
        fiscal_year=2021, texts={"issues": "課題"}, actor=demo_actors["secretariat"]
    ) == ["issues"]
    # Saving the same text again changes nothing and adds no revision.
    assert (
        report.save_texts(
            fiscal_year=2021, texts={"issues": " 課題 "}, actor=demo_actors["secretariat"]
        )
        == []
    )
    assert ReportTextRevision.objects.count() == 1


# --- writing the texts ----------------------------------------------------------------------


@pytest.mark.django_db
def test_secretariat_edits_the_issues_paragraph_with_history(seeded, client_for):
    secretariat = demo_user("secretariat@example.org")
    client = client_for(secretariat)
    page = client.get(REPORT, {"fy": "2021"})
    assert "まだ書かれていません。" in text_of(page)

    first = client.post(
        EDIT + "?fy=2021",
        {
            "issues": "一つ一つの困りごとを聞ける場づくりが必要。",
            "survey_summary": "ニーズは高い。",
        },
    )
    assert first.status_code == 302
    assert first["Location"] == "/dashboard/report/?fy=2021"
    second = client.post(
        EDIT + "?fy=2021",
        {
            "issues": "一つ一つの困りごとを「わからない」と聞ける場づくりが必要。",
            "survey_summary": "ニーズは高い。",
        },
    )
    assert second.status_code == 302

    issues = ReportText.objects.get(fiscal_year=2021, section="issues")
    assert issues.text == "一つ一つの困りごとを「わからない」と聞ける場づくりが必要。"
    assert issues.updated_by == secretariat
    assert not issues.privacy_flagged
    assert list(issues.revisions.values_list("text", flat=True)) == [
        "一つ一つの困りごとを「わからない」と聞ける場づくりが必要。",
        "一つ一つの困りごとを聞ける場づくりが必要。",
    ]
    # The unchanged アンケート総括 was saved once.
    assert ReportTextRevision.objects.filter(report_text__section="survey_summary").count() == 1
    text = text_of(client.get(REPORT, {"fy": "2021"}))
    assert "「わからない」と聞ける場づくり" in text
    assert text.index("ニーズは高い。") < text.index("「わからない」と聞ける場づくり")
    history = text_of(client.get(EDIT, {"fy": "2021"}))
    assert "保存の履歴" in history
    assert history.count("一つ一つの困りごと") >= 3  # the form and two revisions
    # Another 年度's texts are its own.
    assert "「わからない」" not in text_of(client.get(EDIT, {"fy": "2020"})).split("保存の履歴")[0]


@pytest.mark.django_db
def test_privacy_guard_flags_the_text_and_keeps_the_confirmation(seeded, client_for):
    client = client_for(demo_user("secretariat@example.org"))
    text = "相談者の山田太郎さん（090-1234-5678）から連絡があった。"

    refused = client.post(EDIT + "?fy=2021", {"issues": text, "survey_summary": ""})

    assert refused.status_code == 200
    assert "個人が特定されるおそれのある内容" in text_of(refused)
    assert not ReportText.objects.filter(fiscal_year=2021).exists()

    confirmed = client.post(
        EDIT + "?fy=2021",
        {"issues": text, "survey_summary": "", "confirm_not_real_person": "on"},
    )
    assert confirmed.status_code == 302
    saved = ReportText.objects.get(fiscal_year=2021, section="issues")
    assert saved.privacy_flagged
    assert saved.revisions.get().privacy_flagged
    assert "個人情報の指摘を確認のうえ保存" in text_of(client.get(REPORT, {"fy": "2021"}))
    committee = text_of(client_for(demo_user("committee@example.org")).get(REPORT, {"fy": "2021"}))
    assert "個人情報の指摘を確認のうえ保存" not in committee


# --- the 年度 ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [REPORT, EDIT, DOCX, PDF])
@pytest.mark.parametrize("fy", ["abc", "2015", "2101", "20.5"])
def test_report_bad_fiscal_year_is_a_400_in_japanese(url, fy, seeded, client_for):
    response = client_for(demo_user("secretariat@example.org")).get(url, {"fy": fy})

    assert response.status_code == 400
    message = re.search(
        r'<p class="message error" role="alert">(.*?)</p>', response.content.decode()
    )
    assert message.group(1).startswith("年度（fy）は")


@pytest.mark.django_db
def test_report_of_a_year_without_data_says_so(seeded, client_for):
    committee = text_of(
        client_for(demo_user("committee@example.org")).get(REPORT, {"fy": EMPTY_YEAR})
    )
    assert (
        "令和5年度には、報告書に載せる情報交換会やアンケートの記録がまだありません。" in committee
    )
    assert "目次" not in committee


@pytest.mark.django_db
def test_dashboard_links_to_the_report_of_its_year(seeded, client_for):
    html = client_for(demo_user("committee@example.org")).get("/dashboard/?fy=2021")
    assert 'href="/dashboard/report/?fy=2021"' in html.content.decode()


# The seed's relay history (its 2nd, 6th and 7th give no city or no month).
SEED_RELAY = [
    "第1回【平成28年6月】 in江別",
    "第3回【平成29年2月】 in小樽",
    "第4回【平成29年9月】 in苫小牧",
    "第5回【平成30年9月】 in岩見沢",
]


@pytest.mark.django_db
def test_report_lists_the_relay_as_the_seed_does(seeded, client_for):
    html = client_for(demo_user("committee@example.org")).get(REPORT, {"fy": "2021"})
    found = re.search(
        r'<ul class="report-lines report-relay">(.*?)</ul>', html.content.decode(), re.S
    )
    relay = re.findall(r"<li>(.*?)</li>", found.group(1))
    assert relay == [
        "第1回【平成28年6月】 in江別",
        "第2回【平成28年11月】 in札幌",
        "第3回【平成29年2月】 in小樽",
        "第4回【平成29年9月】 in苫小牧",
        "第5回【平成30年9月】 in岩見沢",
        "第6回【令和元年9月】 in千歳",
        "第7回【令和2年9月】 in北広島（中止）",
    ]
    assert is_subsequence(SEED_RELAY, relay)
    # 令和3年度's report lists the relay up to its 年度: not the restart of 令和8年度.
    assert "リレー再開" not in html.content.decode()


# --- the files: Word and PDF ----------------------------------------------------------------


def docx_text(response) -> tuple[list[str], list[list[list[str]]], object]:
    """(the paragraphs' texts, each table's rows of cell texts, the document)
    of a downloaded .docx, parsed back by python-docx."""
    from docx import Document

    document = Document(BytesIO(response.content))
    paragraphs = [p.text for p in document.paragraphs]
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    return paragraphs, tables, document


def pdf_text(response) -> tuple[str, object]:
    """(the text of every page, whitespace folded, the reader) of a PDF."""
    from pypdf import PdfReader

    reader = PdfReader(BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", text), reader


def download_name(response) -> str:
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    return unquote(disposition.split("filename*=utf-8''", 1)[1])


@pytest.mark.django_db
def test_docx_holds_the_seeds_lines_the_survey_and_the_texts(seeded, client_for):
    client = client_for(demo_user("secretariat@example.org"))
    client.post(EDIT + "?fy=2021", {"issues": "自治体の参加を増やす。\n\n予算化を働きかける。"})
    page_lines = report_lines(client.get(REPORT, {"fy": "2021"}))

    response = client.get(DOCX, {"fy": "2021"})

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert download_name(response) == "年度報告書_令和3年度.docx"
    paragraphs, tables, document = docx_text(response)
    headings = [
        p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))
    ]
    assert headings == [
        "年度報告書（令和3年度）",
        "目次",
        "Ⅰ 情報交換会・シンポジウムの実施",
        "情報交換会のあゆみ（開催した自治体が次の自治体にバトンを渡すリレー方式）",
        "Ⅳ 続・後方支援プロジェクトの効果検証",
        "主な結果",
        "課題",
        "支援者支援の7つの機能と、この年度の取り組み",
    ]
    bullets = [p.text for p in document.paragraphs if p.style.name == "List Bullet"]
    # The meetings' lines are the page's, which are the seed's (above).
    assert bullets[: len(page_lines)] == page_lines
    for line, seed in zip(bullets[: len(SEED_LINES)], SEED_LINES, strict=True):
        assert seed_figures(line).startswith(seed_figures(seed))
    assert "情報交換会の実施　合計 延べ247名（括弧内は人数）" in paragraphs
    assert "シンポジウムの実施 10月15日 (第3回情報交換会と同時開催)" in " ".join(bullets)
    assert "回収：自治体15、受託団体・支援団体32の合計47団体から回答を得た。" in paragraphs
    assert "9割以上が役に立ったと回答（4・5 91.9%）" in bullets
    # The secretariat's figures are not suppressed: the rates table as on the page.
    assert ["合計", "86", "47", "54.7%"] in tables[0]
    # The attendance chart is a picture; the 課題 keeps its two paragraphs.
    assert len(document.inline_shapes) == 1
    issues = paragraphs.index("課題")
    assert paragraphs[issues + 1 : issues + 3] == ["自治体の参加を増やす。", "予算化を働きかける。"]
    assert paragraphs[issues + 3].startswith("事務局が記述（令和")
    # The seven functions, filled from the 年度's meetings and survey.
    functions = tables[-1]
    assert functions[0][1:] == [
        "1 情報共有ネットワーク構築", "2 ニーズ把握", "3 論点整理・政策提言", "4 人材育成",
        "5 支援者向けスーパーバイズ", "6 ノウハウ提供", "7 社会資源の開拓",
    ]  # fmt: skip
    assert functions[1] == ["Ⅰ 情報交換会・掲示板・ノート"] + [
        "情報交換会 5回（延べ247名）"
    ] * 6 + ["—"]
    assert (
        functions[2]
        == ["Ⅳ 連携・後方支援の効果検証", "—", "効果検証アンケート 回答47団体"] + ["—"] * 5
    )
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)


@pytest.mark.django_db
def test_pdf_holds_the_seeds_lines_in_an_embedded_japanese_font(seeded, client_for):
    client = client_for(demo_user("secretariat@example.org"))
    client.post(EDIT + "?fy=2021", {"issues": "自治体の参加を増やす。"})

    response = client.get(PDF, {"fy": "2021"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert download_name(response) == "年度報告書_令和3年度.pdf"
    text, reader = pdf_text(response)
    for line in report_lines(client.get(REPORT, {"fy": "2021"})):
        assert line in text
    for wanted in (
        "年度報告書（令和3年度）",
        "情報交換会の実施 合計 延べ247名（括弧内は人数）",
        "回収：自治体15、受託団体・支援団体32の合計47団体から回答を得た。",
        "9割以上が役に立ったと回答（4・5 91.9%）",
        "自治体の参加を増やす。",
    ):
        assert wanted in text
    # Not the site's chrome, nor what is shown only on screen.
    assert "ログアウト" not in text
    assert "本文を書く" not in text
    # A4 pages (595 × 842 pt); the contents page, then a page per section …
    assert len(reader.pages) >= 4
    sizes = [(round(p.mediabox.width), round(p.mediabox.height)) for p in reader.pages]
    # … the seven functions' table on a landscape page, the last.
    assert sizes == [(595, 842)] * (len(sizes) - 1) + [(842, 595)]
    # Every font is embedded in the file (a subset of the Japanese font).
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
    assert fonts
    assert any("CJK" in name for name in fonts)
    for name, font in fonts.items():
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), name


@pytest.mark.django_db
@pytest.mark.parametrize("url", [DOCX, PDF])
def test_committee_files_suppress_small_cells_as_the_dashboard_does(url, seeded, client_for):
    client = client_for(demo_user("committee@example.org"))

    response = client.get(url, {"fy": "2021"})

    assert response.status_code == 200
    if url == DOCX:
        paragraphs, tables, _document = docx_text(response)
        text = " ".join(paragraphs + [" ".join(c) for t in tables for c in t])
        rows = [row for table in tables for row in table]
        assert ["いいえ", "—", "—"] in rows
        assert ["はい", "39", "83.0%"] in rows
    else:
        text, _reader = pdf_text(response)
        assert "いいえ — —" in text
        assert "はい 39 83.0%" in text
    assert "回答者が3人未満の区分は「—」" in text
    assert "9割以上が役に立ったと回答（4・5 91.9%）" in text


@pytest.mark.django_db
@pytest.mark.parametrize("url", [DOCX, PDF])
def test_files_of_a_year_without_data_say_so(url, seeded, client_for):
    response = client_for(demo_user("committee@example.org")).get(url, {"fy": EMPTY_YEAR})

    assert response.status_code == 200
    text = " ".join(docx_text(response)[0]) if url == DOCX else pdf_text(response)[0]
    assert "令和5年度には、報告書に載せる情報交換会やアンケートの記録がまだありません。" in text


@pytest.mark.parametrize(
    "url",
    [
        "http://203.0.113.5/static/css/site.css",
        "file:///etc/passwd",
        "/media/slides/a.pdf",
        "/static/../config/settings/base.py",
        "/static/css/missing.css",
        "data:text/css,body{}",
    ],
)
def test_pdf_fetches_only_the_portals_static_files(url):
    from committee.report_files import NotFetched, static_file

    with pytest.raises(NotFetched):
        static_file(url, "http://testserver/")


def test_pdf_fetches_the_stylesheet():
    from committee.report_files import static_file

    body, mime_type = static_file("http://testserver/static/css/site.css", "http://testserver/")
    assert mime_type == "text/css"
    assert b".annual-report" in body


# --- queries -------------------------------------------------------------------------------


def at(year, month, day) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(year, month, day, 13, 30))


def meetings(count: int) -> None:
    for i in range(count):
        event = EventFactory(
            starts_at=at(EMPTY_YEAR, 4, 5) + datetime.timedelta(days=7 * i),
            status=Event.Status.FINISHED,
            number=i + 1,
        )
        npo = OrganisationFactory(name=f"団体 {i}")
        city = OrganisationFactory(name=f"自治体 {i}", kind=K.MUNICIPALITY)
        RegistrationFactory(event=event, organisation=npo)
        RegistrationFactory(event=event, organisation=city)
        tallies.refresh([event.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 50])
def test_report_query_count_is_fixed(count, seeded, client_for):
    meetings(count)
    ReportText.objects.create(
        fiscal_year=EMPTY_YEAR, section="issues", text="課題の本文", updated_at=timezone.now()
    )
    client = client_for(demo_user("committee@example.org"))
    # Cold: session, user, roles (2), 年度 list, the data version, the 8 of
    # participation.compute, the meetings' materials, the annual survey
    # (none), the texts; Ⅱ the navi 4 (the windows' data version, their
    # counts by category and in all, the searches), Ⅲ its data version and
    # support.stats.summary's 8, the needs 1, the chosen opinions 1, the
    # seven functions 2 (the board's topics, the note's entries), the relay 1.
    with CaptureQueriesContext(connection) as cold:
        response = client.get(REPORT, {"fy": EMPTY_YEAR})
    assert len(report_lines(response)) == count
    assert len(cold) == 35
    # Warm: the participation numbers (with the meetings' lines), the windows
    # listed and Ⅲ's figures come from the cache (their data versions are
    # read: 1 query each).
    with CaptureQueriesContext(connection) as warm:
        assert client.get(REPORT, {"fy": EMPTY_YEAR}).status_code == 200
    assert len(warm) == 17


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 50])
@pytest.mark.parametrize("url", [DOCX, PDF])
def test_report_files_query_count_is_fixed(url, count, seeded, client_for):
    meetings(count)
    client = client_for(demo_user("secretariat@example.org"))
    # Cold, as the page's (above).
    with CaptureQueriesContext(connection) as cold:
        response = client.get(url, {"fy": EMPTY_YEAR})
    assert response.status_code == 200
    assert len(cold) == 35


@pytest.mark.django_db
@pytest.mark.parametrize("more", [0, 30])
def test_report_of_a_year_with_its_survey_query_count_is_fixed(more, seeded, client_for):
    """令和3年度 (its annual survey) with `more` 自治体 invited besides the
    seed's 49: Ⅳ's queries do not grow with the invitations."""
    from surveys.models import Invitation, Survey

    survey = Survey.objects.get(kind="annual", fiscal_year=2021)
    for i in range(more):
        city = OrganisationFactory(name=f"追加の自治体 {i}", kind=K.MUNICIPALITY)
        Invitation.objects.create(
            survey=survey, organisation=city, email=f"city{i}@example.org", token_hash=f"more-{i}"
        )
    client = client_for(demo_user("secretariat@example.org"))
    client.get(REPORT, {"fy": "2021"})
    # Warm: session, user, roles (2), 年度 list, the participation numbers'
    # data version, the meetings' materials, the annual survey and its
    # results (surveys.results' count), 調査対象's invitations by place, the
    # texts, Ⅱ 1, Ⅲ 1, the needs, the chosen opinions (and their answers),
    # the seven functions 2, the relay.
    with CaptureQueriesContext(connection) as warm:
        response = client.get(REPORT, {"fy": "2021"})
    assert response.status_code == 200
    assert "、受託団体・支援団体37団体 回収：自治体15、" in text_of(response)
    assert len(warm) == 19
