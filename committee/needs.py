"""The needs register (課題): raise a need from where it was voiced, triage it
into one of the seven functions of 支援者支援 and follow it to a result.

Services are keyword-only, typed and atomic; a refusal raises
django.core.exceptions.ValidationError with a Japanese message meant for the
person (a dict keyed by form field where one field is at fault, so
`form.add_error(None, error)` puts it next to that field).

Sources. A need keeps a link to where it came from:

* a registration's 事前質問 (`source_registration`): text = the question, the
  event and its 年度;
* a survey's free-text answer or "その他" text (`source_answer`): text = the
  answer, the survey's event and 年度. The Answer row carries no person for an
  anonymous survey (the response lost its invitation, user and organisation
  on submission), so linking to it identifies nobody; pages never show the
  respondent either way;
* a board topic (`source_topic`; `source_reference`, text, for one entered
  by hand before the board existed): text = the topic's body, title = its title;
* a back-up menu application (`source_application`): text = its 「困って
  いること・希望する支援」, the application's 年度; never the organisation,
  the applicant or the contact details;
* an engagement's outcome report (`source_engagement`, source "outcome"):
  text = its 「成果と今後」, the application's 年度;
* entered by hand.

Raising the same registration, answer, topic, application or engagement twice returns the need raised first;
the database enforces one need per source item (partial unique constraints),
and a concurrent double click that loses the race re-reads the winner's row.

Status flow: 新規 → 整理中 → 対応中 → 提言済 / 解決 → 終了. Any move is allowed
(a need may go back to 整理中), but 対応中, 提言済 and 解決 say which function
acts on it, so they need a function first. Every change is written to the
history (NeedUpdate): status and function in their own columns, other changes
(owner, due date, notes) as lines of its note next to the person's note.

Who may act is committee.access's: every service refuses an actor the rules
do not allow (ValidationError, code "forbidden") before it writes anything.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, TextField, Value
from django.db.models.functions import Replace
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from core.dates import FIRST_FISCAL_YEAR, current_fiscal_year, fiscal_year_of, last_fiscal_year
from core.templatetags.wareki import jdate
from events.models import Event, Registration
from network.models import User
from note.models import Topic
from support.models import Application, Engagement
from surveys.models import OTHER_CHOICE, Answer

from . import access
from .enums import (
    FUNCTION_REQUIRED_STATUSES,
    NeedFunction,
    NeedSource,
    NeedStatus,
    SourcePage,
)
from .models import Need, NeedUpdate

TITLE_LENGTH = 40
TEXT_MAX_LENGTH = 4000
NOTE_MAX_LENGTH = 2000


class _Unchanged:
    """Default of update_need's clearable fields: None there means "clear"."""

    def __repr__(self):
        return "UNCHANGED"


UNCHANGED = _Unchanged()


# --- who may raise from what -------------------------------------------------------


def _plain_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def raisable_registrations(user):
    """The registrations whose 事前質問 `user` may see in the candidate list
    and raise (access.raisable_registrations): the one scope for both."""
    return access.raisable_registrations(Registration.objects.all(), user)


def raisable_topics(user):
    """The board's topics `user` may raise (access.raisable_topics)."""
    return access.raisable_topics(Topic.objects.all(), user)


def raisable_applications(user):
    """The back-up menu applications `user` may raise (access.raisable_applications)."""
    return access.raisable_applications(Application.objects.select_related("menu"), user)


def raisable_engagements(user):
    """The engagements whose outcome report `user` may raise
    (access.raisable_engagements)."""
    return access.raisable_engagements(Engagement.objects.select_related("application__menu"), user)


def registration_candidates(user, fiscal_year: int):
    """事前質問 of the 年度's meetings that are not in the register yet, as
    `user` may see them. Only the question and the meeting are shown, never
    who asked."""
    return (
        raisable_registrations(user)
        .filter(event__fiscal_year=fiscal_year)
        .exclude(question="")
        .filter(~Exists(Need.objects.filter(source_registration=OuterRef("pk"))))
        .select_related("event")
        .only("pk", "question", "event_id", "event__title", "event__starts_at")
        .order_by("-event__starts_at", "event_id", "pk")
    )


def raisable_answers(user, *, by_id: bool):
    """The answers `user` may raise (access.raisable_answers), with what
    raise_need and the need's page read."""
    return access.raisable_answers(
        Answer.objects.select_related("question", "response__survey__event"), user, by_id=by_id
    )


def find_answer(*, question_id: int, text: str, queryset=None) -> Answer | None:
    """A submitted answer to the question with this text (the first one when
    several people wrote the same words).

    The "課題にする" button on the survey results names a free-text answer by
    its question and text, not by its id: answer ids follow the order answers
    came in, and for an anonymous survey that order, set beside the
    invitations' answer times, would tell who wrote what — which is why the
    results list anonymous texts in text order. Line breaks are compared
    loosely: a form sends CRLF whatever the page showed."""
    wanted = _plain_newlines(text)
    if not wanted.strip():
        return None
    crlf, cr, lf = (Value(v, output_field=TextField()) for v in ("\r\n", "\r", "\n"))
    plain = Replace(Replace("text", crlf, lf), cr, lf)
    if queryset is None:
        queryset = Answer.objects.select_related("question", "response__survey__event")
    return (
        queryset.filter(question_id=question_id, response__submitted_at__isnull=False)
        .annotate(plain_text=plain)
        .filter(plain_text=wanted)
        .order_by("pk")
        .first()
    )


def selectable_fiscal_years() -> list[int]:
    """The 年度 a need or the candidate list may name, latest first: those
    core.dates.parse_fiscal_year accepts."""
    return list(range(last_fiscal_year(), FIRST_FISCAL_YEAR - 1, -1))


def fiscal_years_with_needs(queryset) -> list[int]:
    """The 年度 of the needs in `queryset`, and the current one, latest first
    (the choices of the register's 年度 filter)."""
    years = set(queryset.order_by().values_list("fiscal_year", flat=True).distinct())
    years.add(current_fiscal_year())
    return sorted(years, reverse=True)


# --- describing a need ---------------------------------------------------------------


def default_title(text: str) -> str:
    """The first TITLE_LENGTH characters of the text on one line."""
    line = " ".join(text.split())
    if len(line) <= TITLE_LENGTH:
        return line
    return line[:TITLE_LENGTH].rstrip() + "…"


def source_label(need: Need) -> str:
    """Where the need came from, in words: 「第3回 情報交換会の事前質問」,
    「令和3年度 効果検証アンケートの自由記述」. Never names a person.
    Expects source_registration__event and source_answer__response__survey
    (and __question) to be selected with the need."""
    if need.source == NeedSource.REGISTRATION and need.source_registration_id:
        return _("%(event)sの事前質問") % {"event": need.source_registration.event.title}
    if need.source == NeedSource.ANSWER and need.source_answer_id:
        answer = need.source_answer
        survey = answer.response.survey
        if not answer.question.is_text:
            return _("%(survey)sの「その他」の記入") % {"survey": survey.title}
        return _("%(survey)sの自由記述") % {"survey": survey.title}
    if need.source == NeedSource.TOPIC and need.source_topic_id:
        return _("掲示板の相談「%(title)s」") % {"title": need.source_topic.title}
    if need.source == NeedSource.TOPIC and need.source_reference:
        return _("掲示板の相談（%(ref)s）") % {"ref": need.source_reference}
    if need.source == NeedSource.APPLICATION and need.source_application_id:
        return _("後方支援メニュー「%(menu)s」の申込") % {"menu": need.source_application.menu.name}
    if need.source == NeedSource.OUTCOME and need.source_engagement_id:
        return _("後方支援メニュー「%(menu)s」の成果報告") % {
            "menu": need.source_engagement.application.menu.name
        }
    if need.source in (
        NeedSource.REGISTRATION,
        NeedSource.ANSWER,
        NeedSource.APPLICATION,
        NeedSource.OUTCOME,
    ):
        # The source row was deleted (SET_NULL): say what it was.
        return _("%(source)s（元の記録は削除されています）") % {"source": need.get_source_display()}
    return str(need.get_source_display())


def source_link(need: Need, user) -> str:
    """The link to the source's page that committee.access.source_page allows
    `user` (the secretariat: the registration list, the survey's answers or
    results, the application's manage page, the engagement's page; anyone:
    a board topic, whose page decides who reads it); "" otherwise."""
    page = access.source_page(user, need)
    if page is SourcePage.REGISTRATIONS:
        registration = need.source_registration
        url = reverse("events:registrations", args=[registration.event_id])
        # The list is paginated: search for the person so the row is on page 1.
        query = urlencode({"q": registration.user.email, "status": registration.status})
        return f"{url}?{query}#reg-{registration.pk}"
    if page is SourcePage.RESPONSES:
        return reverse("surveys:responses", args=[need.source_answer.response.survey_id])
    if page is SourcePage.RESULTS:
        return reverse("surveys:results", args=[need.source_answer.response.survey_id])
    if page is SourcePage.TOPIC:
        return need.source_topic.get_absolute_url()
    if page is SourcePage.APPLICATION:
        return reverse("support:manage_application", args=[need.source_application_id])
    if page is SourcePage.ENGAGEMENT:
        return need.source_engagement.get_absolute_url()
    return ""


def _status_label(value: str) -> str:
    return str(NeedStatus(value).label) if value in NeedStatus.values else ""


def _function_label(value: int | None) -> str:
    return str(NeedFunction(value).label) if value in NeedFunction.values else ""


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a need's history as `user` reads it."""

    update: NeedUpdate
    created: bool  # the raising itself
    author: User | None  # None where the reader may not see who wrote it
    old_status: str
    new_status: str
    function: str


def history(need: Need, user) -> list[HistoryEntry]:
    """The need's history, oldest first, with each author shown where
    committee.access.sees_update_author allows (1 query)."""
    return [
        HistoryEntry(
            update=update,
            created=not update.old_status and bool(update.new_status),
            author=update.author if access.sees_update_author(user, need, update) else None,
            old_status=_status_label(update.old_status),
            new_status=_status_label(update.new_status),
            function=_function_label(update.function),
        )
        for update in need.updates.select_related("author")
    ]


def with_sources(queryset):
    """Select what source_label and source_link read, in the same query."""
    return queryset.select_related(
        "source_registration__event",
        "source_registration__user",
        "source_answer__question",
        "source_answer__response__survey",
        "source_topic",
        "source_application__menu",
        "source_engagement__application__menu",
    )


# --- services ------------------------------------------------------------------------


def _forbidden() -> ValidationError:
    return ValidationError(_("この操作を行う権限がありません。"), code="forbidden")


def _require(allowed: bool) -> None:
    """Refuse, before anything is written, an actor committee.access does not allow."""
    if not allowed:
        raise _forbidden()


def _clean_text(text: str | None, empty_message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(empty_message, code="empty")
    if len(text) > TEXT_MAX_LENGTH:
        raise ValidationError(
            _("内容は%(n)s文字以内にしてください。") % {"n": TEXT_MAX_LENGTH}, code="too_long"
        )
    return text


def _clean_title(title: str | None, text: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        return default_title(text)
    if len(title) > Need._meta.get_field("title").max_length:
        raise ValidationError({"title": _("件名は200文字以内にしてください。")})
    return title


def _check_function_rule(status: str, function: int | None) -> None:
    if status in FUNCTION_REQUIRED_STATUSES and function is None:
        raise ValidationError(
            {
                "function": _("機能（1〜7）を選んでから%(status)sにしてください。")
                % {"status": NeedStatus(status).label}
            },
            code="function_required",
        )


def _check_values(*, status=UNCHANGED, function=UNCHANGED, owner=UNCHANGED) -> None:
    if status is not UNCHANGED and status not in NeedStatus.values:
        raise ValidationError({"status": _("状態の値が正しくありません。")})
    if function not in (UNCHANGED, None) and function not in NeedFunction.values:
        raise ValidationError({"function": _("機能は1〜7から選んでください。")})
    if owner not in (UNCHANGED, None) and not access.may_own_needs(owner):
        raise ValidationError(
            {"owner": _("担当者は検討委員会または事務局の人から選んでください。")}
        )


def _record_creation(need: Need, by) -> None:
    NeedUpdate.objects.create(
        need=need, author=by, old_status="", new_status=need.status, function=need.function
    )


def _from_topic(topic: Topic | None, by: User) -> _Source:
    if topic is None:
        raise ValueError("source 'topic' needs a topic")
    _require(access.raisable_topics(Topic.objects.filter(pk=topic.pk), by).exists())
    text = _clean_text(topic.body, _("相談の本文が空のため、課題にできません。"))
    return _Source(
        topic,
        text,
        None,
        fiscal_year_of(topic.created_at),
        {"source_topic": topic},
        title=topic.title,
    )


@transaction.atomic
def create_need(
    *,
    by: User,
    title: str | None,
    text: str,
    function: int | None = None,
    status: str = NeedStatus.NEW,
    owner: User | None = None,
    due_date: datetime.date | None = None,
    notes: str = "",
    event: Event | None = None,
    fiscal_year: int | None = None,
) -> Need:
    """A need entered by hand (a meeting's discussion, a phone call)."""
    _require(access.may_create_need(by))
    text = _clean_text(text, _("内容を入力してください。"))
    _check_values(status=status, function=function, owner=owner)
    _check_function_rule(status, function)
    if event is not None:
        fiscal_year = event.fiscal_year
    need = Need.objects.create(
        title=_clean_title(title, text),
        text=text,
        source=NeedSource.MANUAL,
        event=event,
        fiscal_year=fiscal_year or fiscal_year_of(timezone.now()),
        function=function,
        status=status,
        owner=owner,
        due_date=due_date,
        notes=(notes or "").strip(),
        raised_by=by,
    )
    _record_creation(need, by)
    return need


_SOURCE_FIELDS = {
    NeedSource.REGISTRATION: "source_registration",
    NeedSource.ANSWER: "source_answer",
    NeedSource.TOPIC: "source_topic",
    NeedSource.APPLICATION: "source_application",
    NeedSource.OUTCOME: "source_engagement",
}


def _existing(source: str, item) -> Need | None:
    return Need.objects.filter(**{_SOURCE_FIELDS[source]: item}).first()


@dataclass(frozen=True)
class _Source:
    """What a need raised from a registration or an answer copies from it."""

    item: Registration | Answer | Topic | Application | Engagement
    text: str
    event: Event | None
    fiscal_year: int
    links: dict
    title: str = ""


def _from_registration(registration: Registration | None, by: User) -> _Source:
    if registration is None:
        raise ValueError("source 'registration' needs a registration")
    _require(access.may_raise_registration(by, registration))
    text = _clean_text(registration.question, _("事前質問が空のため、課題にできません。"))
    event = registration.event
    return _Source(
        registration, text, event, event.fiscal_year, {"source_registration": registration}
    )


def _from_answer(answer: Answer | None, by: User) -> _Source:
    if answer is None:
        raise ValueError("source 'answer' needs an answer")
    if answer.response.submitted_at is None:
        raise ValidationError(_("送信されていない回答は課題にできません。"), code="draft")
    _require(access.may_raise_answer(by, answer))
    if not (answer.question.is_text or answer.choice == OTHER_CHOICE):
        raise ValidationError(_("自由記述の回答だけを課題にできます。"), code="not_text")
    text = _clean_text(answer.text, _("自由記述が空のため、課題にできません。"))
    survey = answer.response.survey
    return _Source(answer, text, survey.event, survey.fiscal_year, {"source_answer": answer})


def _from_application(application: Application | None, by: User) -> _Source:
    if application is None:
        raise ValueError("source 'application' needs an application")
    _require(
        access.raisable_applications(Application.objects.filter(pk=application.pk), by).exists()
    )
    text = _clean_text(application.need, _("申込の内容が空のため、課題にできません。"))
    return _Source(
        application, text, None, application.fiscal_year, {"source_application": application}
    )


def _from_outcome(engagement: Engagement | None, by: User) -> _Source:
    if engagement is None:
        raise ValueError("source 'outcome' needs an engagement")
    _require(access.raisable_engagements(Engagement.objects.filter(pk=engagement.pk), by).exists())
    text = _clean_text(engagement.outcome_text, _("成果報告が空のため、課題にできません。"))
    return _Source(
        engagement,
        text,
        None,
        engagement.application.fiscal_year,
        {"source_engagement": engagement},
    )


@transaction.atomic
def raise_need(
    *,
    source: str,
    registration: Registration | None = None,
    answer: Answer | None = None,
    title: str | None = None,
    text: str | None = None,
    topic: Topic | None = None,
    application: Application | None = None,
    engagement: Engagement | None = None,
    by: User,
) -> tuple[Need, bool]:
    """Raise a need from a 事前質問, a free-text answer, a board topic, a back-up
    menu application, an engagement's outcome report, or by hand.

    Returns (need, created). The same registration or answer raised twice
    gives the first need and created=False. An empty question or answer is
    refused, and so is an actor committee.access does not let raise from
    this source or this item."""
    _require(access.may_raise_from(by, source))
    if source == NeedSource.MANUAL:
        return create_need(by=by, title=title, text=text or ""), True
    if source == NeedSource.REGISTRATION:
        found = _from_registration(registration, by)
    elif source == NeedSource.ANSWER:
        found = _from_answer(answer, by)
    elif source == NeedSource.TOPIC:
        found = _from_topic(topic, by)
    elif source == NeedSource.APPLICATION:
        found = _from_application(application, by)
    elif source == NeedSource.OUTCOME:
        found = _from_outcome(engagement, by)
    else:
        raise ValidationError(_("この出どころからは課題を登録できません。"), code="source")

    existing = _existing(source, found.item)
    if existing is not None:
        return existing, False
    try:
        # A savepoint: losing the race to a concurrent raise of the same item
        # rolls back only this insert, and the winner's row is read instead.
        with transaction.atomic():
            need = Need.objects.create(
                title=_clean_title(title or found.title, found.text),
                text=found.text,
                source=source,
                event=found.event,
                fiscal_year=found.fiscal_year,
                raised_by=by,
                **found.links,
            )
            _record_creation(need, by)
    except IntegrityError:
        existing = _existing(source, found.item)
        if existing is None:
            raise
        return existing, False
    return need, True


def _person(user) -> str:
    return str(user) if user is not None else _("なし")


def _day(value) -> str:
    return jdate(value) if value else _("なし")


@transaction.atomic
def update_need(
    *,
    need: Need,
    by: User,
    status: str | None = None,
    function: int | None | _Unchanged = UNCHANGED,
    owner: User | None | _Unchanged = UNCHANGED,
    due_date: datetime.date | None | _Unchanged = UNCHANGED,
    notes: str | None = None,
    note: str | None = None,
) -> Need:
    """Triage a need: move its status, set its function, owner, due date or
    notes, and add a note to its history.

    status=None and notes=None leave them as they are; function, owner and
    due_date are left as they are unless given, and None clears them. One
    NeedUpdate row records the changes (nothing is written when nothing
    changed and no note was given)."""
    _require(access.may_triage_need(by, need))
    _check_values(status=UNCHANGED if status is None else status, function=function, owner=owner)
    # Re-read under a row lock so two people triaging at once do not lose a change.
    current = Need.objects.select_for_update().get(pk=need.pk)
    new_status = current.status if status is None else status
    new_function = current.function if function is UNCHANGED else function
    _check_function_rule(new_status, new_function)
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(
            {"note": _("経過のメモは%(n)s文字以内にしてください。") % {"n": NOTE_MAX_LENGTH}}
        )

    changed, lines = _apply_changes(
        current,
        status=new_status,
        function=new_function,
        owner=owner,
        due_date=due_date,
        notes=notes,
    )
    if not changed and not note:
        return current
    old_status = current.status
    current.status = new_status
    current.function = new_function
    current.save(update_fields=[*changed, "updated_at"] if changed else ["updated_at"])
    NeedUpdate.objects.create(
        need=current,
        author=by,
        old_status=old_status if "status" in changed else "",
        new_status=new_status if "status" in changed else "",
        function=new_function if "function" in changed else None,
        note="\n".join([note, *lines]).strip(),
    )
    return current


def _apply_changes(current: Need, *, status, function, owner, due_date, notes):
    """Set owner, due date and notes on `current` where they change, and say
    what changed: (field names, lines for the history's note). Status and
    function are compared only: update_need sets them after reading the old
    status for the history."""
    lines: list[str] = []
    changed: list[str] = []
    if status != current.status:
        changed.append("status")
    if function != current.function:
        changed.append("function")
        if function is None:
            lines.append(_("（機能の指定を外しました）"))
    if owner is not UNCHANGED and (owner.pk if owner else None) != current.owner_id:
        lines.append(
            _("（担当者: %(old)s → %(new)s）")
            % {"old": _person(current.owner), "new": _person(owner)}
        )
        current.owner = owner
        changed.append("owner")
    if due_date is not UNCHANGED and due_date != current.due_date:
        lines.append(
            _("（期限: %(old)s → %(new)s）")
            % {"old": _day(current.due_date), "new": _day(due_date)}
        )
        current.due_date = due_date
        changed.append("due_date")
    if notes is not None and notes.strip() != current.notes:
        lines.append(_("（メモを更新しました）"))
        current.notes = notes.strip()
        changed.append("notes")
    return changed, lines
