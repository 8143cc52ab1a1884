"""Opinions the annual report quotes (年度報告書, issue 16): free-text survey
answers of a 年度 that the secretariat chose — a post-event survey's under
Ⅰ (参加者からの意見), the annual survey's under Ⅳ (主な意見).

Who may do what is committee.access's: the secretariat reads every
candidate and chooses (may_edit_report_texts); the report's readers, the
committee included, read the chosen ones only, and without who wrote them
(the answer's text and its question, never the respondent). An answer the
privacy guard flags cannot be chosen: the report is read outside the
secretariat, and rule (3) of the network is never to identify a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import privacy
from surveys.enums import QuestionKind, SurveyKind
from surveys.models import Answer

from . import access
from .models import ReportOpinion

# The surveys whose free texts each part of the report quotes.
PLACES = {SurveyKind.POST_EVENT: "meetings", SurveyKind.ANNUAL: "survey"}
CANDIDATES_PER_PAGE = 50
# An answer's id as the database can hold it (the project's RaiseForm bound).
LARGEST_ID = 2**31 - 1


def posted_ids(values: list[str]) -> list[int] | None:
    """The answer ids the page posted, or None for anything it cannot have
    posted: more than a page of them, or one that is not an id."""
    if len(values) > CANDIDATES_PER_PAGE:
        return None
    try:
        ids = [int(value) for value in values]
    except ValueError:
        return None
    return ids if all(0 < pk <= LARGEST_ID for pk in ids) else None


def candidates(fiscal_year: int):
    """The 年度's submitted free-text answers to its post-event and annual
    surveys, newest first, with what the page shows (for the secretariat)."""
    return (
        Answer.objects.filter(
            question__kind=QuestionKind.TEXT,
            question__survey__fiscal_year=fiscal_year,
            question__survey__kind__in=list(PLACES),
            response__submitted_at__isnull=False,
        )
        .exclude(text="")
        .select_related("question__survey", "report_opinion")
        .order_by("-response__submitted_at", "-pk")
    )


@dataclass(frozen=True)
class Candidate:
    """An answer on the secretariat's page: whether the privacy guard flags
    it (it cannot be chosen then) and whether it is chosen."""

    answer: Answer
    flagged: bool

    @property
    def chosen(self) -> bool:
        """Read from the candidates' select_related (no query)."""
        try:
            return self.answer.report_opinion is not None
        except ReportOpinion.DoesNotExist:
            return False

    @property
    def part(self) -> str:
        """Where the report would quote it."""
        if PLACES[self.answer.question.survey.kind] == "meetings":
            return _("Ⅰ 参加者からの意見")
        return _("Ⅳ 主な意見")


def with_flags(answers) -> list[Candidate]:
    """The page's answers with the privacy guard's verdict on each."""
    return [Candidate(answer, not privacy.is_clean(answer.text)) for answer in answers]


@dataclass(frozen=True)
class Opinion:
    question: str
    text: str


def chosen(fiscal_year: int) -> dict[str, list[Opinion]]:
    """The chosen opinions by the part of the report that quotes them
    ("meetings", "survey"), in the order of their questions (1 query).
    Only the text and its question are read."""
    rows = (
        ReportOpinion.objects.filter(fiscal_year=fiscal_year)
        .order_by("answer__question__survey__opens_at", "answer__question__order", "answer__pk")
        .values_list("answer__question__survey__kind", "answer__question__text", "answer__text")
    )
    found: dict[str, list[Opinion]] = {}
    for kind, question, text in rows:
        found.setdefault(PLACES[kind], []).append(Opinion(question, text))
    return found


@transaction.atomic
def save_choices(*, fiscal_year: int, shown: list[int], chosen_ids: list[int], actor) -> int:
    """Among the candidates `shown` on the page, keep exactly `chosen_ids`
    chosen. Refuses (ValidationError, nothing written) anyone but the
    secretariat, an answer that is not a candidate of the 年度, and an answer
    the privacy guard flags. Returns how many are chosen now among those shown."""
    if not access.may_edit_report_texts(actor):
        raise ValidationError(_("年度報告書に載せる意見を選べるのは事務局です。"), code="forbidden")
    wanted = set(chosen_ids)
    if not wanted <= set(shown):
        raise ValidationError(_("表示していない回答は選べません。"), code="not_shown")
    found = {a.pk: a for a in candidates(fiscal_year).filter(pk__in=shown)}
    if set(shown) - set(found):
        raise ValidationError(
            _("この年度のアンケートの自由記述ではない回答が含まれています。"), code="not_candidate"
        )
    flagged = [found[pk] for pk in sorted(wanted) if not privacy.is_clean(found[pk].text)]
    if flagged:
        raise ValidationError(
            _(
                "個人が特定されるおそれのある内容を含む回答は、報告書に載せられません"
                "（%(count)d件）。"
            )
            % {"count": len(flagged)},
            code="privacy",
        )
    ReportOpinion.objects.filter(answer_id__in=set(shown) - wanted).delete()
    already = set(
        ReportOpinion.objects.filter(answer_id__in=wanted).values_list("answer_id", flat=True)
    )
    now = timezone.now()
    ReportOpinion.objects.bulk_create(
        ReportOpinion(answer_id=pk, fiscal_year=fiscal_year, chosen_by=actor, chosen_at=now)
        for pk in sorted(wanted - already)
    )
    return len(wanted)
