"""J: the secretariat writes 令和3年度's annual report (issue 16).

The secretariat opens the dashboard of 令和3年度, follows 「年度報告書」, reads
the meetings' lines in the seed's format computed from the stored
registrations, opens 「本文（課題・アンケート総括）を編集」, writes the 課題
paragraph and saves: the report shows it, the database holds it with one
revision, and the print layout (A4, table of contents) is captured too.
Then she downloads the report as Word and as PDF by pressing their
buttons: both files open (parsed back by python-docx and pypdf) and hold the
meetings' lines and the paragraph she wrote.
"""

from __future__ import annotations

import datetime
import io
import re

from django.utils import timezone

from committee.models import ReportText
from events import tallies
from events.models import Event
from network.models import Organisation

from ..event_factories import EventFactory, RegistrationFactory
from ..factories import OrganisationFactory

JOURNEY = "annual-report"
ISSUES = (
    "委託元となる自治体担当者の参加が少ない。任意事業の予算化に向けて、意識を高める工夫が必要。"
)


def _fy2021():
    """Two 令和3年度 exchange meetings: 第1回 with a 受託団体 (2), a 自治体 (1)
    and the ministry (1); 第2回 with the 受託団体 (1)."""
    npo = OrganisationFactory(name="江別くらし相談センター", kind=Organisation.Kind.CONTRACTOR)
    city = OrganisationFactory(name="北見市 生活支援課", kind=Organisation.Kind.MUNICIPALITY)
    mhlw = OrganisationFactory(
        name="厚生労働省 社会・援護局", kind=Organisation.Kind.GOVERNMENT, municipality=None
    )
    events = []
    for number, (month, day) in enumerate([(6, 4), (7, 15)], start=1):
        starts = timezone.make_aware(datetime.datetime(2021, month, day, 13, 30))
        events.append(
            EventFactory(
                number=number,
                title=f"令和3年度 第{number}回 情報交換会",
                starts_at=starts,
                ends_at=starts + datetime.timedelta(hours=3),
                status=Event.Status.FINISHED,
            )
        )
    first, second = events
    RegistrationFactory.create_batch(2, event=first, organisation=npo)
    RegistrationFactory(event=first, organisation=city)
    RegistrationFactory(event=first, organisation=mhlw)
    RegistrationFactory(event=second, organisation=npo)
    tallies.refresh([e.pk for e in events])


LINES = [
    "第1回 6月4日 4名 (3機関：団体1(2)・自治体1(1)・厚労省(1))",
    "第2回 7月15日 1名 (1機関：団体1(1))",
]


def _downloaded(actor, name: str, folder) -> tuple[str, bytes]:
    """Press the download button `name`; (the file's suggested name, its bytes)."""
    with actor.page.expect_download() as info:
        actor.page.locator("main .page-tools").get_by_role("link", name=name).click()
    download = info.value
    target = folder / "download"
    download.save_as(str(target))
    return str(download.suggested_filename), target.read_bytes()


def test_journey_secretariat_writes_the_issues_of_the_annual_report(open_as, secretariat, tmp_path):
    _fy2021()
    actor = open_as(secretariat)
    page = actor.page

    actor.goto("/dashboard/?fy=2021")
    actor.submit(page.locator("main .page-tools").get_by_role("link", name="年度報告書"))
    assert actor.path() == "/dashboard/report/?fy=2021"
    lines = page.locator(".report-lines li").all_inner_texts()
    assert lines == LINES
    assert "合計 延べ5名" in actor.main_text()
    toc = page.locator(".report-toc li").all_inner_texts()
    functions = "支援者支援の7つの機能と、この年度の取り組み"
    assert toc == ["Ⅰ 情報交換会・シンポジウムの実施", "アンケート総括", "課題", functions]
    actor.shot("report")

    actor.submit(page.get_by_role("link", name="本文（課題・アンケート総括）を編集"))
    page.get_by_label("課題", exact=True).fill(ISSUES)
    actor.shot("edit")
    actor.submit(actor.button("保存する"))

    assert actor.path() == "/dashboard/report/?fy=2021"
    assert "年度報告書の本文を保存しました。" in actor.main_text()
    assert ISSUES in page.locator("#text-issues").inner_text()
    actor.shot("saved")

    page.emulate_media(media="print")
    assert page.locator(".report-toc").evaluate("e => getComputedStyle(e).breakAfter") not in (
        "",
        "auto",
    )
    assert page.locator(".site-header").first.is_hidden()
    # The empty アンケート総括 is neither in the printed contents nor printed.
    printed = page.locator(".report-toc li:visible").all_inner_texts()
    assert printed == ["Ⅰ 情報交換会・シンポジウムの実施", "課題", functions]
    assert page.locator("#text-survey_summary").is_hidden()
    actor.shot("print")
    page.emulate_media(media="screen")

    saved = ReportText.objects.get(fiscal_year=2021, section="issues")
    assert (saved.text, saved.updated_by, saved.privacy_flagged) == (ISSUES, secretariat, False)
    assert list(saved.revisions.values_list("text", "author")) == [(ISSUES, secretariat.pk)]

    # Word: the lines as a list, the paragraph as written, the chart as a picture.
    from docx import Document
    from pypdf import PdfReader

    name, body = _downloaded(actor, "Word（.docx）", tmp_path)
    assert name == "年度報告書_令和3年度.docx"
    document = Document(io.BytesIO(body))
    bullets = [p.text for p in document.paragraphs if p.style.name == "List Bullet"]
    assert bullets[:2] == LINES
    assert ISSUES in [p.text for p in document.paragraphs]
    assert len(document.inline_shapes) == 1

    # PDF: the same, in an embedded Japanese font.
    name, body = _downloaded(actor, "PDF", tmp_path)
    assert name == "年度報告書_令和3年度.pdf"
    reader = PdfReader(io.BytesIO(body))
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
    for line in LINES:
        assert line in text
    assert ISSUES in text.replace(" ", "")
    assert actor.path() == "/dashboard/report/?fy=2021"
