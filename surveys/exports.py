"""Spreadsheet exports of a survey: the answers (one row per response) and the
aggregates (one row per question and choice), as CSV or XLSX.

Built with tablib and written through the project's formats
(core.importing): CSV is UTF-8 with a BOM so that Excel opens it as UTF-8.
Every cell is a string. Answers are free text typed by anyone, so a cell
starting with "=", "+", "-", "@", tab or CR gets a leading apostrophe: a
spreadsheet shows it as text instead of running it as a formula (CSV
injection). Headers are Japanese: the files are read by people, not imported.

* answers — the secretariat only. For anonymous surveys there are no
  respondent columns (no name, organisation, attributes or submission time),
  and the rows are sorted by their content, not by when they came in, so the
  file cannot be lined up with the invitation list.
* aggregates — the secretariat and the committee; the counts are those of
  surveys.results, suppressed for everyone but the secretariat.
"""

from __future__ import annotations

from decimal import Decimal

import tablib
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.importing import CSV, XLSX, defuse

from .models import OTHER_CHOICE, Question, Survey
from .results import SUPPRESSED, SurveyResults

FORMATS = {"csv": CSV, "xlsx": XLSX}
WHAT = ("answers", "aggregates")
# (format, label of the aggregates link, label of the answers link) for the results page.
FORMAT_LABELS = [
    ("csv", gettext_lazy("集計をCSVで書き出す"), gettext_lazy("回答をCSVで書き出す")),
    ("xlsx", gettext_lazy("集計をExcelで書き出す"), gettext_lazy("回答をExcelで書き出す")),
]


def format_number(value: Decimal | None) -> str:
    if value is None:
        return ""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def answer_display(question: Question, answers) -> str:
    """One question's answer as text: choices in the question's order joined
    with "、", "その他（…）" with its free text, numbers without trailing zeros."""
    answers = list(answers)
    if not answers:
        return ""
    if question.kind in (Question.Kind.SCALE, Question.Kind.NUMBER):
        return "、".join(format_number(a.number) for a in answers if a.number is not None)
    if question.kind == Question.Kind.TEXT:
        return "\n".join(a.text for a in answers if a.text)
    order = {choice: i for i, choice in enumerate(question.choices or [])}
    answers.sort(key=lambda a: (a.choice == OTHER_CHOICE, order.get(a.choice, len(order)), a.pk))
    parts = []
    for a in answers:
        if a.choice == OTHER_CHOICE and a.text:
            parts.append(f"{OTHER_CHOICE}（{a.text}）")
        else:
            parts.append(a.choice or a.text)
    return "、".join(parts)


def answers_by_question(questions, response) -> list[tuple[Question, str]]:
    """(question, answer text) for every question, from the prefetched answers."""
    grouped: dict[int, list] = {}
    for a in response.answers.all():
        grouped.setdefault(a.question_id, []).append(a)
    return [(q, answer_display(q, grouped.get(q.pk, []))) for q in questions]


def _file(dataset: tablib.Dataset, fmt: str, name: str) -> tuple[bytes, str, str]:
    file_format = FORMATS[fmt]()
    return file_format.export_data(dataset), file_format.get_content_type(), f"{name}.{fmt}"


def answers_dataset(survey: Survey) -> tablib.Dataset:
    questions = list(survey.questions.order_by("order", "pk"))
    named = not survey.anonymous
    headers = []
    if named:
        headers = [
            _("回答ID"),
            _("送信日時"),
            _("回答者"),
            _("メール"),
            _("組織"),
            _("組織種別"),
            _("振興局"),
            _("今年度の参加"),
        ]
    headers += [f"Q{i} {q.text}" for i, q in enumerate(questions, start=1)]
    dataset = tablib.Dataset(headers=[str(h) for h in headers])
    responses = (
        survey.responses.submitted()
        .select_related("user", "organisation", "region")
        .prefetch_related("answers")
        .order_by("submitted_at", "pk")
    )
    rows = []
    for response in responses.iterator(chunk_size=500):
        answers = [defuse(text) for _q, text in answers_by_question(questions, response)]
        if not named:
            rows.append(answers)
            continue
        participated = {True: _("あり"), False: _("なし")}.get(response.participated, "")
        rows.append(
            [
                str(response.pk),
                timezone.localtime(response.submitted_at).strftime("%Y-%m-%d %H:%M"),
                defuse(response.user.full_name if response.user else ""),
                defuse(response.user.email if response.user else ""),
                defuse(response.organisation.name if response.organisation else ""),
                str(response.get_organisation_kind_display() or ""),
                response.region.name if response.region else "",
                str(participated),
                *answers,
            ]
        )
    if not named:
        rows.sort()
    for row in rows:
        dataset.append(row)
    return dataset


def aggregates_dataset(results: SurveyResults) -> tablib.Dataset:
    dataset = tablib.Dataset(
        headers=[
            str(h)
            for h in (
                _("番号"),
                _("質問"),
                _("形式"),
                _("回答者数"),
                _("選択肢・項目"),
                _("件数"),
                _("割合（%）"),
            )
        ]
    )

    def add(qr, item, value, pct=""):
        dataset.append(
            [
                f"Q{qr.number}",
                defuse(qr.question.text),
                str(qr.question.get_kind_display()),
                qr.answered.display,
                defuse(item),
                value,
                pct,
            ]
        )

    def pct_of(cell):
        if cell.suppressed:
            return SUPPRESSED
        return "" if cell.pct is None else str(cell.pct)

    for qr in results.questions:
        for row in qr.rows:
            add(qr, row.label, row.cell.display, pct_of(row.cell))
        if qr.kind == Question.Kind.SCALE and qr.top is not None:
            add(qr, _("4・5の割合"), qr.top.display, pct_of(qr.top))
            add(
                qr,
                _("平均"),
                SUPPRESSED if qr.mean is None and qr.answered.n else str(qr.mean or ""),
            )
        elif qr.kind == Question.Kind.NUMBER:
            hidden = SUPPRESSED if results.suppressed else ""
            add(qr, _("件数"), qr.count_cell.display)
            add(qr, _("平均"), str(qr.mean) if qr.mean is not None else hidden)
            add(qr, _("最小"), format_number(qr.minimum) if qr.minimum is not None else hidden)
            add(qr, _("最大"), format_number(qr.maximum) if qr.maximum is not None else hidden)
        elif qr.kind == Question.Kind.TEXT:
            add(qr, _("自由記述の件数"), qr.text_cell.display)
    return dataset


def export_answers(survey: Survey, fmt: str) -> tuple[bytes, str, str]:
    """(content, content type, file name)."""
    return _file(answers_dataset(survey), fmt, f"survey-{survey.pk}-answers")


def export_aggregates(results: SurveyResults, fmt: str) -> tuple[bytes, str, str]:
    return _file(aggregates_dataset(results), fmt, f"survey-{results.survey.pk}-aggregates")
