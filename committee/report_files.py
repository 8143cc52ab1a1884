"""The annual report as files (年度報告書, issue 16): Word and PDF.

Both are written from the AnnualReport that committee.report builds for the
viewer — the page's own data, suppression included — so the files hold
exactly what the page shows, computed when they are downloaded.

* ``.docx`` (python-docx), because prefectural offices edit the report in
  Word: A4, a heading per section (Word's navigation pane and its table of
  contents field, updated when the file is opened), the lines as lists, the
  figures as tables, the dashboard's attendance chart as a PNG (the same SVG
  as on the page, rasterised by CairoSVG), hyperlinks for the materials.
* PDF (WeasyPrint), from the print page's template and stylesheet
  (committee/report_document.html over site.css's print rules): A4, page
  breaks, a table of contents with page numbers, the Japanese font embedded
  (subset) in the file. Only the portal's static files are fetched while
  rendering: no other address is ever opened (``static_file``).

WeasyPrint and CairoSVG need Pango and Cairo from the system, and a Japanese
font (fonts-noto-cjk): docs/operations.md.
"""

from __future__ import annotations

import io
import urllib.parse
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils.translation import gettext as _

from core.templatetags.wareki import wareki_fy

from .report import AnnualReport

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"
# The font Word is asked to use for Japanese (a Windows and macOS font;
# Word substitutes its own Japanese font where it is missing).
DOCX_FONT = "游ゴシック"
CHART_WIDTH_PX = 1280  # the PNG's width; it is shown 16 cm wide


class NotFetched(Exception):
    """WeasyPrint asked for an address that is not one of the portal's static files."""


# --- PDF ---------------------------------------------------------------------------------


def static_file(url: str, base_url: str) -> tuple[bytes, str]:
    """(the content, its type) of one of the portal's static files (the
    stylesheet) at `url` under the portal's `base_url`, read from the
    storage or, before collectstatic, the finders. Anything else — another
    host's file, a media file, file://, data: — is NotFetched: rendering a
    report never makes the server open an address."""
    parts = urllib.parse.urlsplit(url)
    portal = urllib.parse.urlsplit(base_url)
    prefix = settings.STATIC_URL
    if (parts.scheme, parts.netloc) != (portal.scheme, portal.netloc) or not parts.path.startswith(
        prefix
    ):
        raise NotFetched(url)
    name = parts.path[len(prefix) :]
    if ".." in name.split("/"):
        raise NotFetched(url)
    found = finders.find(name)
    if not found and staticfiles_storage.exists(name):
        found = staticfiles_storage.path(name)
    if not found:
        raise NotFetched(url)
    return Path(found).read_bytes(), _mime_type(name)


def _mime_type(name: str) -> str:
    return "text/css" if name.endswith(".css") else "application/octet-stream"


def pdf(html: str, base_url: str) -> bytes:
    """The PDF of the report's print document (its HTML, rendered by the view)."""
    import weasyprint  # a heavy import, needed only here
    from weasyprint.urls import URLFetcherResponse

    class StaticFilesOnly(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            body, mime_type = static_file(url, base_url)
            return URLFetcherResponse(url, body, {"Content-Type": mime_type})

    # fail_on_errors: a stylesheet that cannot be read is an error, not a
    # PDF without its layout.
    fetcher = StaticFilesOnly(fail_on_errors=True)
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    return document.write_pdf()


# --- Word --------------------------------------------------------------------------------


def docx(report: AnnualReport, *, base_url: str) -> bytes:
    """The report as a Word document; `base_url` (the site's, ending in /)
    makes the portal's own links (a meeting's slides) absolute, as a
    document opened outside the browser needs them."""
    from docx import Document  # python-docx: needed only here
    from docx.shared import Mm

    document = Document()
    for section in document.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(20)
        section.top_margin = section.bottom_margin = Mm(20)
    _japanese_defaults(document)
    properties = document.core_properties
    properties.title = report.title
    properties.language = "ja-JP"
    properties.author = _("北海道 生活困窮者自立支援 支援者ネットワーク 事務局")

    document.add_heading(report.title, level=0)
    _note(document, report.made_line)
    if report.is_empty:
        document.add_paragraph(report.empty_message)
        return _saved(document)
    _contents(document)
    if report.meetings:
        _meetings(document, report.meetings, base_url)
        _opinions(document, report, "meetings")
    if report.navi:
        _navi(document, report.navi)
    if report.menus:
        _menus(document, report.menus)
    if report.survey:
        _survey(document, report.survey, report.suppressed)
        _opinions(document, report, "survey")
    if report.needs:
        _needs(document, report.needs)
    for paragraph in report.narrative:
        if paragraph.body:
            _narrative(document, paragraph)
    if report.functions:
        _functions(document, report.functions)
    return _saved(document)


def _saved(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _japanese_defaults(document) -> None:
    """Body text in a Japanese font, the document's language Japanese."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    normal = document.styles["Normal"]
    normal.font.size = Pt(10.5)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), DOCX_FONT)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), "ja-JP")
    language.set(qn("w:eastAsia"), "ja-JP")
    normal.element.get_or_add_rPr().append(language)


def _contents(document) -> None:
    """目次: Word's table-of-contents field over the headings, filled in when
    Word opens the file (it asks to update the fields)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document.add_heading(_("目次"), level=1)
    paragraph = document.add_paragraph()
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instruction = OxmlElement("w:instrText")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = 'TOC \\o "1-2" \\h \\z \\u'
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    placeholder = OxmlElement("w:t")
    placeholder.text = _(
        "（目次は、Wordでこのファイルを開いてフィールドを更新すると表示されます。）"
    )
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for element in (begin, instruction, separate, placeholder, end):
        run._r.append(element)
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    document.settings.element.append(update)


def _section_heading(document, text: str) -> None:
    heading = document.add_heading(text, level=1)
    heading.paragraph_format.page_break_before = True


def _note(document, text: str) -> None:
    """A small grey line: where the numbers come from, a caption."""
    from docx.shared import Pt, RGBColor

    run = document.add_paragraph().add_run(text)
    run.font.size = Pt(8.5)
    run.font.color.rgb = RGBColor(0x5A, 0x67, 0x70)


def _bold(document, text: str) -> None:
    document.add_paragraph().add_run(text).bold = True


def _bullets(document, lines) -> None:
    for line in lines:
        document.add_paragraph(line, style="List Bullet")


def _table(document, header: list[str], rows: list[list[str]], *, numeric_from: int = 1):
    """A table with a header row; the columns from `numeric_from` right-aligned."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for index, (cell, text) in enumerate(zip(table.rows[0].cells, header, strict=True)):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
        if index >= numeric_from:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for values in rows:
        cells = table.add_row().cells
        for index, (cell, text) in enumerate(zip(cells, values, strict=True)):
            cell.text = text
            if index >= numeric_from:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return table


def _hyperlink(paragraph, text: str, url: str) -> None:
    """A clickable link (python-docx has no API for one)."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    relation = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), relation)
    run = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    style = OxmlElement("w:rStyle")
    style.set(qn("w:val"), "Hyperlink")
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), "1D6F5F")
    properties.extend([style, underline, color])
    run.append(properties)
    label = OxmlElement("w:t")
    label.text = text
    run.append(label)
    link.append(run)
    paragraph._p.append(link)


def _links(paragraph, links, base_url: str, *, lead: str = " ") -> None:
    for index, link in enumerate(links):
        paragraph.add_run("、" if index else lead)
        _hyperlink(paragraph, link.label, urllib.parse.urljoin(base_url, link.url))


def chart_png(svg: str) -> bytes:
    """The dashboard's SVG chart as a PNG (its width given, its Japanese
    labels in the system's Japanese font)."""
    import cairosvg  # needed only here

    sized = svg.replace(
        'width="100%"',
        f'width="{CHART_WIDTH_PX // 2}" font-family="Noto Sans CJK JP, sans-serif"',
        1,
    )
    return cairosvg.svg2png(bytestring=sized.encode(), output_width=CHART_WIDTH_PX)


def _chart(document, chart: dict, caption: str) -> None:
    from docx.shared import Cm, RGBColor

    document.add_picture(io.BytesIO(chart_png(str(chart["svg"]))), width=Cm(16))
    legend = document.add_paragraph()
    for index, series in enumerate(chart["series"]):
        swatch = legend.add_run(("　" if index else "") + "■")
        swatch.font.color.rgb = RGBColor.from_string(series.color.lstrip("#").upper())
        legend.add_run(series.label)
    _note(document, caption)


def _meetings(document, section, base_url: str) -> None:
    _section_heading(document, section.heading)
    _bold(document, section.total_line)
    _bullets(document, section.lines)
    if section.other_note:
        document.add_paragraph(section.other_note)
    if section.chart:
        _chart(document, section.chart, section.chart_caption)
    if section.reports:
        paragraph = document.add_paragraph(_("各情報交換会のレポート："))
        _links(paragraph, section.reports, base_url, lead="")
    for gathering in section.gatherings:
        paragraph = document.add_paragraph(gathering.line, style="List Bullet")
        _links(paragraph, gathering.links, base_url)
    if section.relay:
        document.add_heading(section.relay_heading, level=2)
        _bullets(document, section.relay)
    _note(document, section.source)


def _survey(document, section, suppressed: bool) -> None:
    results, panel = section.results, section.panel
    _section_heading(document, section.heading)
    document.add_paragraph(section.scope_line)
    document.add_paragraph(section.collected_line)
    _bullets(document, section.findings)
    if suppressed:
        _note(document, section.suppression_note)
    _table(
        document,
        [_("対象"), _("依頼"), _("回答"), _("回答率")],
        [
            [row.label, row.invited.display, row.answered.display, row.answered.pct_display or "—"]
            for row in results.rate_rows
            if row.invited.n
        ]
        + [
            [
                _("合計"),
                results.invited.display,
                results.answered.display,
                results.response_rate or "—",
            ]
        ],
    )
    document.add_heading(_("主な結果"), level=2)
    for result in panel.questions:
        paragraph = document.add_paragraph()
        paragraph.add_run(result.question.text).bold = True
        paragraph.add_run("　" + _("回答 %(n)s") % {"n": result.answered.display})
        if result.question.is_scale:
            top = result.top
            figure = top.pct_display if top else "—"
            if top and not top.suppressed:
                figure = f"{figure}（{top.n}）"
            document.add_paragraph(_("4・5（役に立った）") + " " + (figure or "—"))
        else:
            _table(
                document,
                [_("選択肢"), _("数"), _("割合")],
                [[row.label, row.cell.display, row.cell.pct_display or ""] for row in result.rows],
            )
    if panel.yoy and panel.yoy.questions:
        document.add_heading(_("年度比較"), level=2)
        header = [_("質問・項目")] + [wareki_fy(s.fiscal_year) for s in panel.yoy.surveys]
        rows = []
        for item in panel.yoy.questions:
            rows.append([item.text] + [""] * len(panel.yoy.surveys))
            rows += [[line.label] + [v or "" for v in line.values] for line in item.lines]
        _table(document, header, rows)
    _note(document, section.source)


def _opinions(document, report, part: str) -> None:
    """The opinions the secretariat chose for a part, after its figures."""
    opinions = report.opinions.get(part)
    if opinions:
        document.add_heading(report.opinion_headings[part], level=2)
        _bullets(document, [opinion.text for opinion in opinions])


def _navi(document, section) -> None:
    _section_heading(document, section.heading)
    _bullets(document, [section.windows_line, section.searches_line])
    if section.categories:
        _table(
            document,
            [_("困りごと"), _("窓口"), _("検索"), _("該当なし")],
            [
                [row.name, str(row.windows), str(row.searches), str(row.found_nothing)]
                for row in section.categories
            ],
        )
    if section.regions:
        _table(
            document,
            [_("振興局"), _("検索"), _("該当なし")],
            [
                [
                    r["region__name"] or section.no_area_label,
                    str(r["searches"]),
                    str(r["found_nothing"]),
                ]
                for r in section.regions
            ],
        )
    document.add_heading(_("見つからなかった地域と困りごと（社会資源の開拓候補）"), level=2)
    if section.unmet:
        _table(
            document,
            [_("困りごと"), _("地域"), _("該当なし"), _("検索")],
            [
                [
                    u["category__name"],
                    "・".join(n for n in (u["region__name"], u["municipality__name"]) if n),
                    str(u["found_nothing"]),
                    str(u["searches"]),
                ]
                for u in section.unmet
            ],
            numeric_from=2,
        )
    else:
        document.add_paragraph(_("探された地域と困りごとのすべてで窓口が見つかりました。"))
    _note(document, section.source)


def _menus(document, section) -> None:
    _section_heading(document, section.heading)
    _bold(document, section.total_line)
    _table(
        document,
        [_("メニュー"), _("申込"), _("完了"), _("成果報告"), _("かかった時間"), _("役立ち度")],
        [
            [
                str(m.menu),
                str(m.applications),
                str(m.completed),
                m.outcomes_line,
                m.hours_line,
                m.follow_up.useful_display if m.follow_up else "—",
            ]
            for m in section.menus
        ],
    )
    _note(document, section.source)


def _needs(document, section) -> None:
    _section_heading(document, section.heading)
    _bold(document, section.total_line)
    _table(
        document,
        [_("機能"), *section.statuses, _("計")],
        [[row.label, *map(str, row.counts), str(row.total)] for row in section.rows],
    )
    if section.proposals:
        document.add_heading(_("提言した課題"), level=2)
        _bullets(document, section.proposals)
    _note(document, section.source)


def _functions(document, section) -> None:
    """The parts × the seven functions, on a landscape page of its own (the
    report's last)."""
    from docx.enum.section import WD_ORIENT, WD_SECTION

    landscape = document.add_section(WD_SECTION.NEW_PAGE)
    landscape.orientation = WD_ORIENT.LANDSCAPE
    landscape.page_width, landscape.page_height = landscape.page_height, landscape.page_width
    document.add_heading(section.heading, level=1)
    _table(
        document,
        [_("この報告書の部分"), *section.functions],
        [[row.part, *(cell or "—" for cell in row.cells)] for row in section.rows],
        numeric_from=len(section.functions) + 1,
    )
    _note(document, section.source)


def _narrative(document, paragraph) -> None:
    _section_heading(document, paragraph.label)
    for block in paragraph.body.replace("\r\n", "\n").split("\n\n"):
        lines = block.split("\n")
        written = document.add_paragraph(lines[0])
        for line in lines[1:]:
            run = written.add_run()
            run.add_break()
            run.add_text(line)
    _note(document, paragraph.written_line)
