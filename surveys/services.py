"""Survey workflows: build, publish (invitations), remind, answer, close.

Every function is keyword-only, typed and atomic; a refusal raises SurveyError
with a Japanese message meant for the person (forms show it as is).

What a survey's state allows is a Survey method (`can_be_published`,
`can_send_reminders`, …); the services refuse through those same methods, so a
page that hides a button and the service behind it cannot disagree. Invitation
links and mails are surveys.mailing (see there for how links are made).

Reminders. An invitation is reminded at most once per Asia/Tokyo day:
"reminded today" is `last_reminded_at` on or after the start of the local day
(InvitationQuerySet.reminder_due), for the count the page shows and for the
sending alike; the outbox key per invitation and day is the guard against a
double send when two runs race.

Anonymous surveys. A draft is tied to its invitation (that is how "save and
come back later" finds it). On submission the Response loses invitation, user
and organisation, and its timestamps are rounded down to the day (Asia/Tokyo),
so neither a key nor a precise time joins it back to the invitation, whose
`responded_at` is what refuses a second response.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import local_day_start
from core.tokens import hash_token
from events.models import Event, Registration
from network.models import Membership, Organisation, User

from . import access, catalog, mailing, notifications
from .enums import CHOICE_KINDS, QuestionAudience, QuestionKind, SurveyStatus
from .mailing import invitation_token, link_token, respond_url
from .models import OTHER_CHOICE, Answer, Invitation, Question, Response, Survey
from .results import percent

SCALE_VALUES = (1, 2, 3, 4, 5)
TEXT_MAX_LENGTH = 4000
OTHER_MAX_LENGTH = 200
# Kinds of organisation that see questions marked "受託団体・支援団体のみ".
CONTRACTOR_SIDE_KINDS = {Organisation.Kind.CONTRACTOR, Organisation.Kind.SUPPORT}


class SurveyError(ValidationError):
    """A refusal, with a Japanese message meant for the person."""


# Messages shown to respondents; views test the codes.
ALREADY_SUBMITTED = "この回答はすでに送信されています。"
ORGANISATION_ALREADY_SUBMITTED = (
    "この組織の回答はすでに送信されています。1つの組織につき回答は1回です。"
)
CLOSED = "このアンケートの回答期間は終了しました。"
NOT_OPEN = "このアンケートはまだ回答を受け付けていません。"


# --- checks -------------------------------------------------------------------


def _require_manager(by) -> None:
    if by is None or not access.can_manage_surveys(by):
        raise SurveyError(_("この操作を行う権限がありません。"), code="forbidden")


def check_open(survey: Survey) -> None:
    """Refuse unless the survey takes answers now."""
    now = timezone.now()
    if survey.status != Survey.Status.PUBLISHED or now < survey.opens_at:
        raise SurveyError(_(NOT_OPEN), code="not_open")
    if now >= survey.closes_at:
        raise SurveyError(_(CLOSED), code="closed")


# --- building -----------------------------------------------------------------


def _validate_schedule(*, opens_at, closes_at) -> None:
    if opens_at is None or closes_at is None:
        raise SurveyError(_("回答開始と回答締切を入力してください。"), code="dates")
    if closes_at <= opens_at:
        raise SurveyError(_("回答締切は回答開始より後にしてください。"), code="dates")


def _validate_audience(*, kind: str, audience: str, event: Event | None) -> None:
    if kind not in Survey.Kind.values:
        raise SurveyError(_("アンケートの種類が正しくありません。"), code="kind")
    if audience not in Survey.Audience.values:
        raise SurveyError(_("対象が正しくありません。"), code="audience")
    if audience == Survey.Audience.EVENT_ATTENDEES and event is None:
        raise SurveyError(
            _("「イベントの参加者」を対象にするにはイベントを選んでください。"), code="event"
        )
    if kind == Survey.Kind.POST_EVENT and event is None:
        raise SurveyError(_("イベント後アンケートにはイベントを選んでください。"), code="event")


def _question_from_spec(survey: Survey, order: int, spec: dict, by_key: dict) -> Question:
    show_if = spec.get("show_if")
    return Question.objects.create(
        survey=survey,
        order=order,
        key=spec.get("key", ""),
        text=str(spec["text"]),
        help_text=str(spec.get("help_text", "")),
        kind=spec["kind"],
        required=spec.get("required", False),
        choices=[str(c) for c in spec.get("choices", [])],
        allow_other=spec.get("allow_other", False),
        scale_min_label=str(spec.get("scale_min_label", "")),
        scale_max_label=str(spec.get("scale_max_label", "")),
        audience=spec.get("audience", Question.Audience.ALL),
        show_if_question=by_key[show_if[0]] if show_if else None,
        show_if_value=str(show_if[1]) if show_if else "",
    )


@transaction.atomic
def create_survey(
    *,
    title: str,
    kind: str,
    fiscal_year: int,
    audience: str,
    respondent_unit: str,
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    anonymous: bool = False,
    event: Event | None = None,
    template: str | None = None,
    introduction: str = "",
    chosen_organisations=None,
    reminder_days: list[int] | None = None,
    by: User,
) -> Survey:
    """A draft survey; `template` ("post_event" | "annual") copies the catalog's
    questions with their stable keys and conditions."""
    _require_manager(by)
    title = (title or "").strip()
    if not title:
        raise SurveyError(_("タイトルを入力してください。"), code="title")
    _validate_schedule(opens_at=opens_at, closes_at=closes_at)
    _validate_audience(kind=kind, audience=audience, event=event)
    if respondent_unit not in Survey.Unit.values:
        raise SurveyError(_("回答の単位が正しくありません。"), code="unit")
    if template is not None and template not in catalog.TEMPLATES:
        raise SurveyError(_("テンプレートが見つかりません。"), code="template")
    survey = Survey.objects.create(
        title=title,
        introduction=introduction or "",
        kind=kind,
        event=event,
        fiscal_year=fiscal_year,
        audience=audience,
        respondent_unit=respondent_unit,
        anonymous=anonymous,
        opens_at=opens_at,
        closes_at=closes_at,
        reminder_days=list(reminder_days) if reminder_days is not None else [7, 3],
        created_by=by,
    )
    if chosen_organisations:
        survey.chosen_organisations.set(chosen_organisations)
    if template:
        by_key: dict[str, Question] = {}
        for order, spec in enumerate(catalog.TEMPLATES[template]["questions"], start=1):
            question = _question_from_spec(survey, order, spec, by_key)
            if question.key:
                by_key[question.key] = question
    return survey


@transaction.atomic
def copy_survey(*, survey: Survey, by: User) -> Survey:
    """A draft copy: settings, chosen organisations, questions and their conditions.
    Invitations and responses are not copied."""
    _require_manager(by)
    copy = Survey.objects.create(
        title=_("%(title)s（コピー）") % {"title": survey.title},
        introduction=survey.introduction,
        kind=survey.kind,
        event=survey.event,
        fiscal_year=survey.fiscal_year,
        audience=survey.audience,
        respondent_unit=survey.respondent_unit,
        anonymous=survey.anonymous,
        opens_at=survey.opens_at,
        closes_at=survey.closes_at,
        reminder_days=list(survey.reminder_days or []),
        status=Survey.Status.DRAFT,
        created_by=by,
    )
    copy.chosen_organisations.set(survey.chosen_organisations.all())
    new_by_old: dict[int, Question] = {}
    for question in survey.questions.order_by("order", "pk"):
        old_pk = question.pk
        old_condition = question.show_if_question_id
        question.pk = None
        question.id = None
        question._state.adding = True
        question.survey = copy
        question.show_if_question = new_by_old.get(old_condition) if old_condition else None
        if old_condition and question.show_if_question is None:
            question.show_if_value = ""
        question.save()
        new_by_old[old_pk] = question
    return copy


# --- questions ------------------------------------------------------------------
#
# The rules a question keeps, in one place for adding and editing: the
# builder's form only reads what was typed and shows these refusals on its
# fields (SurveyError.code names the field: QUESTION_ERROR_FIELDS).

# Answer.choice and Question.show_if_value hold a choice.
CHOICE_MAX_LENGTH = 200
CHOICES_MAX = 30
# The field of the builder's question form each refusal belongs to.
QUESTION_ERROR_FIELDS = {
    "text": "text",
    "kind": "kind",
    "choices": "choices",
    "allow_other": "allow_other",
    "key": "key",
    "audience": "audience",
    "show_if": "condition",
}


def _truncate(text: str, length: int = 30) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def clean_choices(choices) -> list[str]:
    """Lines (or a list) → the choices: blanks dropped, runs of spaces made one."""
    if isinstance(choices, str):
        choices = choices.splitlines()
    cleaned = (" ".join(str(choice).split()) for choice in (choices or []))
    return [choice for choice in cleaned if choice]


def _validate_choices(choices: list[str]) -> None:
    """A choice question needs at least two real choices: 「その他」 is not one
    (it is the allow_other option, always last, with its own text), so one
    choice plus その他 is refused — it would be a yes/no question without the
    no, and a literal 「その他」 choice could never be answered."""
    seen = set()
    for choice in choices:
        if len(choice) > CHOICE_MAX_LENGTH:
            raise SurveyError(
                _("選択肢は1つ%(max)d文字以内にしてください（「%(c)s」）。")
                % {"max": CHOICE_MAX_LENGTH, "c": _truncate(choice)},
                code="choices",
            )
        if choice in seen:
            raise SurveyError(
                _("選択肢「%(c)s」が重複しています。") % {"c": choice}, code="choices"
            )
        seen.add(choice)
    if OTHER_CHOICE in seen:
        raise SurveyError(
            _(
                "「その他」は「その他＋自由記入を付ける」で自動で付きます。選択肢から消してください。"
            ),
            code="choices",
        )
    if len(choices) > CHOICES_MAX:
        raise SurveyError(
            _("選択肢は%(max)d個までにしてください（いま%(n)d個）。")
            % {"max": CHOICES_MAX, "n": len(choices)},
            code="choices",
        )
    if len(choices) < 2:
        raise SurveyError(
            _(
                "単一選択・複数選択では、選択肢を1行に1つずつ2つ以上入力してください。"
                "「その他」は数えません。"
            ),
            code="choices",
        )


def _validate_condition(
    survey: Survey, show_if_question: Question, show_if_value: str, order: int | None
) -> None:
    if show_if_question.survey_id != survey.pk:
        raise SurveyError(_("表示条件の質問は同じアンケートから選んでください。"), code="show_if")
    if not show_if_question.has_choices:
        raise SurveyError(
            _("表示条件には選択式（単一・複数）の質問を選んでください。"), code="show_if"
        )
    if show_if_value not in show_if_question.choices:
        raise SurveyError(
            _("表示条件の回答は、条件の質問の選択肢から選んでください。"), code="show_if"
        )
    if order is not None and show_if_question.order >= order:
        raise SurveyError(_("表示条件の質問は、この質問より前に置いてください。"), code="show_if")


def _question_numbers(survey: Survey) -> dict[int, int]:
    """{question pk: its number (Q1, Q2…)} by position in the survey."""
    pks = survey.questions.order_by("order", "pk").values_list("pk", flat=True)
    return {pk: number for number, pk in enumerate(pks, start=1)}


def _validate_edit(question: Question, *, kind: str, choices: list[str], allow_other: bool) -> None:
    """An edited question keeps what its answers and the conditions on it need."""
    answered = set(question.answers.exclude(choice="").values_list("choice", flat=True).distinct())
    has_answers = bool(answered) or question.answers.exists()
    if has_answers and kind != question.kind:
        # The stored answers would not mean anything under another kind.
        raise SurveyError(_("回答があるため、形式は変更できません。"), code="kind")
    removed = sorted(answered - set(choices) - {OTHER_CHOICE})
    if removed:
        raise SurveyError(
            _("回答がある選択肢は消したり書き換えたりできません（集計が分かれてしまうため）：%(c)s")
            % {"c": "、".join(f"「{c}」" for c in removed)},
            code="choices",
        )
    if OTHER_CHOICE in answered and question.allow_other and not allow_other:
        raise SurveyError(
            _("「その他」の回答があるため、「その他」は外せません。"), code="allow_other"
        )
    dependents = list(question.dependents.all())
    if not dependents:
        return
    numbers = _question_numbers(question.survey)
    for dependent in sorted(dependents, key=lambda q: numbers.get(q.pk, 0)):
        number = numbers.get(dependent.pk)
        if kind not in CHOICE_KINDS:
            raise SurveyError(
                _("Q%(n)dの表示条件にこの質問が使われているため、選択式のままにしてください。")
                % {"n": number},
                code="kind",
            )
        if dependent.show_if_value not in choices:
            raise SurveyError(
                _(
                    "Q%(n)dの表示条件で選択肢「%(c)s」が使われています。先にQ%(n)dの表示条件を変えてください。"
                )
                % {"n": number, "c": dependent.show_if_value},
                code="choices",
            )


def _validate_question(
    *,
    survey: Survey,
    values: dict,
    question: Question | None = None,
) -> None:
    """Every rule of a question being added (`question` None) or edited."""
    kind = values["kind"]
    if not values["text"]:
        raise SurveyError(_("質問文を入力してください。"), code="text")
    if kind not in QuestionKind.values:
        raise SurveyError(_("質問の形式が正しくありません。"), code="kind")
    if values["audience"] not in QuestionAudience.values:
        raise SurveyError(_("表示対象が正しくありません。"), code="audience")
    if kind in CHOICE_KINDS:
        _validate_choices(values["choices"])
    key = values["key"]
    if key and survey.questions.filter(key=key).exclude(pk=getattr(question, "pk", None)).exists():
        raise SurveyError(
            _("キー「%(key)s」はこのアンケートの別の質問で使われています。") % {"key": key},
            code="key",
        )
    if question is not None:
        _validate_edit(
            question, kind=kind, choices=values["choices"], allow_other=values["allow_other"]
        )
    if values["show_if_question"] is not None:
        _validate_condition(
            survey,
            values["show_if_question"],
            values["show_if_value"],
            order=question.order if question is not None else None,
        )


def _question_values(
    *,
    text: str,
    kind: str,
    required: bool = False,
    choices: list[str] | str | None = None,
    allow_other: bool = False,
    scale_min_label: str = "",
    scale_max_label: str = "",
    audience: str = QuestionAudience.ALL,
    help_text: str = "",
    key: str = "",
    show_if_question: Question | None = None,
    show_if_value: str = "",
) -> dict:
    """A question's fields as stored: `choices` as lines or a list; settings
    another kind does not use are cleared. The fields add_question and
    update_question take."""
    has_choices = kind in CHOICE_KINDS
    is_scale = kind == QuestionKind.SCALE
    return {
        "text": (text or "").strip(),
        "kind": kind,
        "required": bool(required),
        "choices": clean_choices(choices) if has_choices else [],
        "allow_other": bool(allow_other) and has_choices,
        "scale_min_label": (scale_min_label or "") if is_scale else "",
        "scale_max_label": (scale_max_label or "") if is_scale else "",
        "audience": audience,
        "help_text": help_text or "",
        "key": (key or "").strip(),
        "show_if_question": show_if_question,
        "show_if_value": (show_if_value or "") if show_if_question else "",
    }


@transaction.atomic
def add_question(*, survey: Survey, by: User, **fields) -> Question:
    """Append a question at the end of the survey; `fields` as _question_values
    takes them (text, kind, choices, allow_other, show_if_question, …)."""
    _require_manager(by)
    values = _question_values(**fields)
    _validate_question(survey=survey, values=values)
    last = survey.questions.aggregate(last=Max("order"))["last"] or 0
    return Question.objects.create(survey=survey, order=last + 1, **values)


@transaction.atomic
def update_question(*, question: Question, by: User, **fields) -> Question:
    """Change a question (`fields` as for add_question), keeping what its
    answers and the conditions on it need."""
    _require_manager(by)
    # As stored (a bound form may have changed the instance it was given).
    question = (
        Question.objects.select_for_update(of=("self",))
        .select_related("survey")
        .get(pk=question.pk)
    )
    values = _question_values(**fields)
    _validate_question(survey=question.survey, values=values, question=question)
    for name, value in values.items():
        setattr(question, name, value)
    question.save()
    return question


def _move_blocker(questions: list[Question], index: int, other: int) -> str | None:
    """Why the questions at `index` and `other` cannot swap, or None. A
    condition must stay on an earlier question: a question shown on Q1's
    answer cannot move above Q1, nor Q1 below it."""
    upper, lower = sorted((index, other))
    if questions[lower].show_if_question_id == questions[upper].pk:
        return _(
            "Q%(lower)dはQ%(upper)dの答えで表示が決まるため、Q%(upper)dより前には移動できません。"
            "先にQ%(lower)dの表示条件を変えてください。"
        ) % {"lower": lower + 1, "upper": upper + 1}
    return None


@transaction.atomic
def move_question(*, question: Question, direction: str, by: User) -> Question:
    """Swap the question with its neighbour ("up" or "down"); orders are
    renumbered 1..n first so that duplicates cannot make a move do nothing.
    At either end nothing moves."""
    _require_manager(by)
    if direction not in ("up", "down"):
        raise SurveyError(_("移動の向きが正しくありません。"), code="direction")
    questions = list(
        Question.objects.select_for_update(of=("self",))
        .filter(survey_id=question.survey_id)
        .order_by("order", "pk")
    )
    index = next(i for i, q in enumerate(questions) if q.pk == question.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(questions):
        blocker = _move_blocker(questions, index, other)
        if blocker:
            raise SurveyError(blocker, code="condition")
        questions[index], questions[other] = questions[other], questions[index]
    now = timezone.now()
    for position, q in enumerate(questions, start=1):
        q.order = position
        q.updated_at = now  # bulk_update skips auto_now; the results' version reads it
    Question.objects.bulk_update(questions, ["order", "updated_at"])
    moved = questions[other if 0 <= other < len(questions) else index]
    question.order = moved.order
    return question


def answer_count(question: Question) -> int:
    """How many responses (drafts too) answered the question."""
    return question.answers.values("response").distinct().count()


@transaction.atomic
def delete_question(*, question: Question, by: User) -> None:
    """Delete a question; questions shown on a condition on it lose the condition."""
    _require_manager(by)
    answered = answer_count(question)
    if answered:
        raise SurveyError(
            _("「%(text)s」には%(n)d件の回答があるため削除できません。文言の修正はできます。")
            % {"text": question.text, "n": answered},
            code="answered",
        )
    question.dependents.update(show_if_question=None, show_if_value="", updated_at=timezone.now())
    question.delete()


# --- audience and invitations ---------------------------------------------------


def audience_organisations(survey: Survey):
    """The organisations a survey is addressed to (for every audience but event attendees)."""
    organisations = Organisation.objects.filter(is_active=True)
    if survey.audience == Survey.Audience.MUNICIPAL:
        return organisations.filter(kind=Organisation.Kind.MUNICIPALITY)
    if survey.audience == Survey.Audience.CONTRACTOR:
        return organisations.filter(kind=Organisation.Kind.CONTRACTOR)
    if survey.audience == Survey.Audience.CHOSEN:
        return organisations.filter(pk__in=survey.chosen_organisations.values("pk"))
    if survey.audience == Survey.Audience.EVENT_ATTENDEES:
        if survey.event_id is None:
            return organisations.none()
        present = Registration.objects.counted_as_present(survey.event)
        return organisations.filter(pk__in=present.values("organisation_id"))
    return organisations


def _event_ready(event: Event | None) -> bool:
    """A post-event survey goes to attendees only once the event is over:
    finished, or (like the events thanks mail) still published but ended at
    least EVENT_THANKS_DELAY_HOURS ago."""
    if event is None:
        return False
    if event.status == Event.Status.FINISHED:
        return True
    delay = datetime.timedelta(hours=getattr(settings, "EVENT_THANKS_DELAY_HOURS", 24))
    return event.status == Event.Status.PUBLISHED and event.ends_at <= timezone.now() - delay


def _waits_for_event(survey: Survey) -> bool:
    """A survey for an event's attendees invites nobody before the event is over."""
    return survey.for_event_attendees and not _event_ready(survey.event)


@dataclass(frozen=True)
class _Addressee:
    user: User | None
    organisation: Organisation | None
    email: str


def _audience_people(survey: Survey):
    """The rows naming the active people a person-unit survey is addressed to:
    the event's registrations counted as present, or the audience's memberships.
    A person in several rows is one addressee."""
    if survey.for_event_attendees:
        return Registration.objects.counted_as_present(survey.event).filter(user__is_active=True)
    return Membership.objects.filter(
        organisation__in=audience_organisations(survey), user__is_active=True
    )


def _reachable(organisations):
    """The organisations an invitation reaches: with an active member (its
    admins first) or a representative address — exactly those for which
    notifications.organisation_recipients is not empty."""
    members = Membership.objects.filter(organisation=OuterRef("pk"), user__is_active=True)
    return organisations.alias(has_members=Exists(members)).filter(
        Q(has_members=True) | ~Q(email="")
    )


def _person_addressees(survey: Survey) -> list[_Addressee]:
    """One per person: (user, the organisation they answer for, their e-mail)."""
    if _waits_for_event(survey):
        return []
    # An attendee answers for the organisation of their first registration,
    # a member for their first organisation.
    order = ("pk",) if survey.for_event_attendees else ("user_id", "organisation_id")
    seen: dict[int, _Addressee] = {}
    for row in _audience_people(survey).select_related("user", "organisation").order_by(*order):
        if row.user_id not in seen:
            seen[row.user_id] = _Addressee(row.user, row.organisation, row.user.email)
    return list(seen.values())


def _organisation_addressees(survey: Survey) -> list[_Addressee]:
    if _waits_for_event(survey):
        return []
    result = []
    for organisation in _reachable(audience_organisations(survey)).order_by("pk"):
        recipients = notifications.organisation_recipients(organisation)
        if recipients:
            result.append(_Addressee(None, organisation, recipients[0]))
    return result


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    return (
        Invitation.objects.select_related("survey", "user", "organisation")
        .filter(token_hash=hash_token(token))
        .first()
    )


def _new_addressees(survey: Survey) -> list[_Addressee]:
    """Audience members without an invitation yet."""
    if survey.by_organisation:
        addressees = _organisation_addressees(survey)
        existing = set(
            survey.invitations.filter(user__isnull=True).values_list("organisation_id", flat=True)
        )
        return [a for a in addressees if a.organisation.pk not in existing]
    addressees = _person_addressees(survey)
    existing = set(survey.invitations.filter(user__isnull=False).values_list("user_id", flat=True))
    return [a for a in addressees if a.user.pk not in existing]


def _uninvited_organisations(survey: Survey):
    invited = survey.invitations.filter(user__isnull=True).values("organisation_id")
    return audience_organisations(survey).exclude(pk__in=invited)


def count_new_invitations(*, survey: Survey) -> int:
    """How many invitations publishing (again) would create now — the same
    audience, reachability and "not invited yet" as publishing, counted in the
    database (the publish page stays cheap with thousands of members). 0
    for a closed survey (publishing refuses it), nor for a post-event survey
    for attendees before its event is over (the sweep invites them then)."""
    if survey.is_closed or _waits_for_event(survey):
        return 0
    if survey.by_organisation:
        return _reachable(_uninvited_organisations(survey)).count()
    invited = survey.invitations.filter(user__isnull=False).values("user_id")
    return (
        _audience_people(survey).exclude(user_id__in=invited).values("user_id").distinct().count()
    )


def publish_preview(*, survey: Survey) -> dict:
    """What the publish page says publishing would do now: `count` new
    invitations (count_new_invitations; None while waiting for the event),
    `unreachable` organisations of the audience without any address, and
    `waiting_for_event`."""
    if not survey.is_closed and _waits_for_event(survey):
        return {"count": None, "unreachable": 0, "waiting_for_event": True}
    count = count_new_invitations(survey=survey)
    unreachable = 0
    if survey.by_organisation and not survey.is_closed:
        unreachable = _uninvited_organisations(survey).count() - count
    return {"count": count, "unreachable": unreachable, "waiting_for_event": False}


def invitation_counts(*, survey: Survey) -> dict:
    """invited / answered / unanswered / reminded, the last reminder and the
    response rate (results.percent, the one rounding), in one query."""
    counts = survey.invitations.aggregate(
        invited=Count("pk"),
        answered=Count("pk", filter=Q(responded_at__isnull=False)),
        reminded=Count("pk", filter=Q(reminder_count__gt=0)),
        last_reminded_at=Max("last_reminded_at"),
    )
    counts["unanswered"] = counts["invited"] - counts["answered"]
    counts["rate"] = percent(counts["answered"], counts["invited"])
    return counts


def count_reminders_due(*, survey: Survey) -> int:
    """How many invitations a reminder would go to now: unanswered and not
    reminded yet this Asia/Tokyo day (the same queryset send_reminders sends to)."""
    return survey.invitations.reminder_due(local_day_start(timezone.localdate())).count()


def _create_invitations(survey: Survey) -> list[Invitation]:
    """Invitations for audience members who have none yet."""
    invitations = []
    for addressee in _new_addressees(survey):
        token = invitation_token(
            survey_id=survey.pk,
            user_id=addressee.user.pk if addressee.user else None,
            organisation_id=addressee.organisation.pk if addressee.user is None else None,
        )
        invitations.append(
            Invitation(
                survey=survey,
                user=addressee.user,
                organisation=addressee.organisation,
                email=addressee.email,
                token_hash=hash_token(token),
            )
        )
    created = Invitation.objects.bulk_create(invitations)
    if created and created[0].pk is None:  # a backend that does not return keys
        created = list(survey.invitations.filter(token_hash__in=[i.token_hash for i in created]))
    return created


# --- publishing, reminding, closing --------------------------------------------------


@transaction.atomic
def publish_survey(*, survey: Survey, by: User) -> int:
    """Publish and invite the audience; returns how many invitations were created.
    Publishing again only invites audience members added since. A post-event
    survey for the event's attendees goes out once the event is finished
    (tasks.sweep_post_event_surveys)."""
    _require_manager(by)
    survey = (
        Survey.objects.select_for_update(of=("self",)).select_related("event").get(pk=survey.pk)
    )
    if not survey.questions.exists():
        raise SurveyError(_("質問を1つ以上追加してから公開してください。"), code="no_questions")
    if not survey.can_send_invitations:
        raise SurveyError(
            _("回答締切が過ぎています。締切を変更してから公開してください。"), code="closed"
        )
    _validate_audience(kind=survey.kind, audience=survey.audience, event=survey.event)
    if survey.has_chosen_audience and not survey.chosen_organisations.exists():
        raise SurveyError(_("対象の組織を選んでください。"), code="audience")
    if survey.can_be_published:
        survey.status = SurveyStatus.PUBLISHED
        survey.save(update_fields=["status", "updated_at"])
    return extend_invitations(survey=survey)


@transaction.atomic
def extend_invitations(*, survey: Survey) -> int:
    """Invite audience members of a published, not yet closed survey who have no
    invitation yet; their mails are queued once this commits (mailing.send_invitations).
    Returns how many invitations were created.
    Used by publish_survey and the post-event sweep (no user: not a refusal point)."""
    if not survey.is_published or not survey.can_send_invitations:
        return 0  # a draft, or closed
    created = _create_invitations(survey)
    if created or survey.invitations.filter(sent_at__isnull=True).exists():
        mailing.send_invitations.delay_on_commit(survey.pk)
    return len(created)


@transaction.atomic
def send_reminders(*, survey: Survey, by: User | None = None) -> int:
    """Remind those who have not answered; returns how many were reminded.

    Never twice in one Asia/Tokyo day per invitation: only those not reminded
    since today began are reminded (InvitationQuerySet.reminder_due, the count
    the page shows), and the outbox key carries the date, so a second call —
    a double click, the next hourly sweep, a worker restarted mid-run — queues
    nothing. `by` is None for the sweep."""
    if by is not None:
        _require_manager(by)
    survey = Survey.objects.get(pk=survey.pk)
    if not survey.can_send_reminders:
        if survey.is_draft:
            raise SurveyError(_("公開中のアンケートだけリマインドできます。"), code="not_published")
        if survey.is_closed:
            raise SurveyError(_(CLOSED), code="closed")
        raise SurveyError(_("回答期間が始まってからリマインドしてください。"), code="not_open")
    now = timezone.now()
    today = timezone.localdate(now)
    pending = (
        survey.invitations.reminder_due(local_day_start(today))
        .select_related("survey", "user", "organisation")
        .order_by("pk")
    )
    reminded = []
    for invitation in pending:
        if notifications.remind(invitation, respond_url(link_token(invitation)), today):
            reminded.append(invitation.pk)
    if reminded:
        Invitation.objects.filter(pk__in=reminded).update(
            last_reminded_at=now, reminder_count=F("reminder_count") + 1
        )
    return len(reminded)


@transaction.atomic
def close_survey(*, survey: Survey, by: User) -> Survey:
    """Stop taking answers now: the deadline (and an opening still ahead) moves
    to now. Only a published survey not closed yet (Survey.can_be_closed)."""
    _require_manager(by)
    survey = Survey.objects.select_for_update(of=("self",)).get(pk=survey.pk)
    if not survey.can_be_closed:
        if survey.is_draft:
            raise SurveyError(_("下書きのアンケートは締め切れません。"), code="draft")
        raise SurveyError(_("このアンケートはすでに締め切られています。"), code="closed")
    now = timezone.now()
    survey.closes_at = now
    if survey.opens_at > now:
        survey.opens_at = now
    survey.save(update_fields=["closes_at", "opens_at", "updated_at"])
    return survey


# --- answering ------------------------------------------------------------------------

# The organisation kind a form is built for. PREVIEW shows every question (the
# secretariat's preview); "" is a respondent of unknown kind, who sees the
# questions for everyone only.
PREVIEW = "*"


def shown_by_audience(question: Question, organisation_kind: str) -> bool:
    if question.audience == Question.Audience.ALL or organisation_kind == PREVIEW:
        return True
    if question.audience == Question.Audience.MUNICIPAL:
        return organisation_kind == Organisation.Kind.MUNICIPALITY
    return organisation_kind in CONTRACTOR_SIDE_KINDS


def respondent_kind(invitation: Invitation | None, response: Response | None = None) -> str:
    """The kind of organisation whose questions the respondent sees: the
    invitation's organisation (a draft always has the same one)."""
    organisation = None
    if invitation is not None and invitation.organisation_id:
        organisation = invitation.organisation
    elif response is not None and response.organisation_id:
        organisation = response.organisation
    return organisation.kind if organisation else ""


def questions_for(survey: Survey, organisation_kind: str) -> list[Question]:
    """The survey's questions this respondent may see, in order (conditions not
    yet applied: they depend on the answers)."""
    questions = sorted(survey.questions.all(), key=lambda q: (q.order, q.pk))
    return [q for q in questions if shown_by_audience(q, organisation_kind)]


@dataclass
class CleanAnswer:
    """One question's answer, normalised."""

    choices: list[str]
    other: str = ""
    number: Decimal | None = None
    text: str = ""

    @property
    def empty(self) -> bool:
        return not self.choices and self.number is None and not self.text.strip()


def field_name(question: Question) -> str:
    return f"q{question.pk}"


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def _parse_value(question: Question, value) -> CleanAnswer:
    """Raise ValueError with a Japanese message when the value does not fit the question."""
    kind = question.kind
    if kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        other = ""
        if isinstance(value, dict):
            other = str(value.get("other") or "").strip()
            items = _as_list(value.get("choices"))
        else:
            items = _as_list(value)
        chosen: list[str] = []
        for item in items:
            item = str(item).strip()
            if not item:
                continue
            if item.startswith(OTHER_CHOICE + ":"):
                other = other or item.split(":", 1)[1].strip()
                item = OTHER_CHOICE
            if item == OTHER_CHOICE and not question.allow_other:
                raise ValueError(_("選択肢から選んでください。"))
            if item != OTHER_CHOICE and item not in question.choices:
                raise ValueError(_("選択肢から選んでください。"))
            if item not in chosen:
                chosen.append(item)
        # The order of the question, "その他" last, whatever order they came in.
        chosen = [c for c in [*question.choices, OTHER_CHOICE] if c in chosen]
        if kind == Question.Kind.SINGLE and len(chosen) > 1:
            raise ValueError(_("1つだけ選んでください。"))
        if OTHER_CHOICE not in chosen:
            other = ""
        elif not other:
            raise ValueError(_("「その他」を選んだ場合は内容を記入してください。"))
        if len(other) > OTHER_MAX_LENGTH:
            raise ValueError(
                _("「その他」の内容は%(n)d文字以内で入力してください。") % {"n": OTHER_MAX_LENGTH}
            )
        return CleanAnswer(choices=chosen, other=other)
    if kind in (Question.Kind.SCALE, Question.Kind.NUMBER):
        if value is None or (isinstance(value, str) and not value.strip()):
            return CleanAnswer(choices=[])
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            raise ValueError(_("数値を入力してください。")) from None
        if not number.is_finite():
            raise ValueError(_("数値を入力してください。"))
        if kind == Question.Kind.SCALE:
            if number not in SCALE_VALUES:
                raise ValueError(_("1〜5から選んでください。"))
            return CleanAnswer(choices=[], number=number)
        if abs(number) >= Decimal("1e10"):
            raise ValueError(_("数値が大きすぎます。"))
        if number != number.quantize(Decimal("0.01")):
            raise ValueError(_("小数は第2位までで入力してください。"))
        return CleanAnswer(choices=[], number=number.quantize(Decimal("0.01")))
    text = "" if value is None else str(value).strip()
    if len(text) > TEXT_MAX_LENGTH:
        raise ValueError(_("%(n)d文字以内で入力してください。") % {"n": TEXT_MAX_LENGTH})
    return CleanAnswer(choices=[], text=text)


def _lookup(data: dict, question: Question):
    for key in (question, question.pk, field_name(question), question.key or None):
        if key is not None and key in data:
            return data[key]
    return None


def clean_answers(
    *, survey: Survey, organisation_kind: str, data: dict, require: bool
) -> tuple[dict[int, CleanAnswer], dict[str, str]]:
    """Validate answers against what this respondent is shown.

    `data` maps a question (instance, pk, field name "q<pk>" or key) to a value:
    single/multiple — a choice, a list of choices, "その他:…" or
    {"choices": [...], "other": "…"}; scale/number — a number or numeric string;
    text — a string. Answers to questions hidden by audience or by a condition
    are dropped; with `require`, visible required questions must be answered.
    Returns (answers by question pk, errors by field name)."""
    answers, errors, _shown = _evaluate(survey, organisation_kind, data, require)
    return answers, errors


def shown_questions(*, survey: Survey, organisation_kind: str, data: dict) -> list[Question]:
    """The questions this respondent sees given these answers (conditions applied)."""
    return _evaluate(survey, organisation_kind, data, False)[2]


def _evaluate(survey, organisation_kind, data, require):
    answers: dict[int, CleanAnswer] = {}
    errors: dict[str, str] = {}
    shown: list[Question] = []
    shown_pks: set[int] = set()
    for question in questions_for(survey, organisation_kind):
        if question.show_if_question_id is not None:
            condition = answers.get(question.show_if_question_id)
            if question.show_if_question_id not in shown_pks or condition is None:
                continue
            if question.show_if_value not in condition.choices:
                continue
        shown.append(question)
        shown_pks.add(question.pk)
        try:
            parsed = _parse_value(question, _lookup(data, question))
        except ValueError as exc:
            errors[field_name(question)] = str(exc)
            continue
        if parsed.empty:
            if require and question.required:
                errors[field_name(question)] = _("この質問は回答必須です。")
            continue
        answers[question.pk] = parsed
    return answers, errors, shown


def _participated(survey: Survey, *, user_id: int | None, organisation_id: int | None) -> bool:
    """Came (counted as present, Registration.objects.present) to at least one
    情報交換会 of the survey's 年度."""
    if not user_id and not organisation_id:
        return False
    present = (
        Registration.objects.filter(
            event__kind=Event.Kind.EXCHANGE,
            event__fiscal_year=survey.fiscal_year,
            event__starts_at__lte=timezone.now(),
        )
        .exclude(event__status=Event.Status.CANCELLED)
        .present()
    )
    if organisation_id:
        present = present.filter(organisation_id=organisation_id)
    else:
        present = present.filter(user_id=user_id)
    return present.exists()


@transaction.atomic
def start_or_resume(*, invitation: Invitation, user: User | None = None) -> Response:
    """The invitation's draft response, created on first use. `user` is the
    logged-in member answering an organisation's survey (kept for named surveys)."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("survey", "user", "organisation")
        .get(pk=invitation.pk)
    )
    if invitation.responded_at is not None:
        message = (
            ORGANISATION_ALREADY_SUBMITTED if invitation.user_id is None else ALREADY_SUBMITTED
        )
        raise SurveyError(_(message), code="submitted")
    check_open(invitation.survey)
    response = Response.objects.filter(invitation=invitation).first()
    if response is not None:
        return response
    respondent = invitation.user
    if respondent is None and user is not None and user.is_authenticated:
        respondent = user
    return Response.objects.create(
        survey=invitation.survey,
        invitation=invitation,
        user=respondent,
        organisation=invitation.organisation,
    )


@transaction.atomic
def save_answers(*, response: Response, data: dict, submit: bool) -> Response:
    """Store the answers (replacing the draft's); with `submit`, also require
    the visible required questions and submit. Refusals: SurveyError with a
    message per field ("q<pk>") for answers, or one message (closed, already
    submitted)."""
    response = (
        Response.objects.select_for_update(of=("self",))
        .select_related("survey", "invitation", "organisation")
        .get(pk=response.pk)
    )
    survey = response.survey
    if response.submitted_at is not None:
        raise SurveyError(_(ALREADY_SUBMITTED), code="submitted")
    check_open(survey)
    answers, errors = clean_answers(
        survey=survey,
        organisation_kind=respondent_kind(response.invitation, response),
        data=data,
        require=submit,
    )
    if errors:
        raise SurveyError(errors, code="invalid")
    response.answers.all().delete()
    rows = []
    for question_pk, clean in answers.items():
        if clean.choices:
            rows.extend(
                Answer(
                    response=response,
                    question_id=question_pk,
                    choice=choice,
                    text=clean.other if choice == OTHER_CHOICE else "",
                )
                for choice in clean.choices
            )
        else:
            rows.append(
                Answer(
                    response=response, question_id=question_pk, number=clean.number, text=clean.text
                )
            )
    Answer.objects.bulk_create(rows)
    if not submit:
        response.save(update_fields=["updated_at"])
        return response
    return _submit(response)


def _submit(response: Response) -> Response:
    survey = response.survey
    invitation = response.invitation
    now = timezone.now()
    if invitation is not None:
        # Conditional: of two submissions racing for one invitation, one wins.
        won = Invitation.objects.filter(pk=invitation.pk, responded_at__isnull=True).update(
            responded_at=now
        )
        if not won:
            message = (
                ORGANISATION_ALREADY_SUBMITTED if invitation.user_id is None else ALREADY_SUBMITTED
            )
            raise SurveyError(_(message), code="submitted")
    organisation = response.organisation
    response.organisation_kind = organisation.kind if organisation else ""
    response.region_id = organisation.region_id if organisation else None
    response.participated = _participated(
        survey,
        user_id=response.user_id if not survey.by_organisation else None,
        organisation_id=organisation.pk if survey.by_organisation and organisation else None,
    )
    if survey.anonymous:
        day = local_day_start(now)
        response.invitation = None
        response.user = None
        response.organisation = None
        response.submitted_at = day
        response.save()
        # started_at/updated_at are automatic; a queryset update sets them to the
        # same day so no precise time is left to match the invitation's.
        Response.objects.filter(pk=response.pk).update(started_at=day, updated_at=day)
        response.started_at = response.updated_at = day
    else:
        response.submitted_at = now
        response.save()
    return response


def current_answers(response: Response) -> dict[str, object]:
    """A draft's answers as initial form values (field name → value; "q<pk>_other"
    for the "その他" text)."""
    values: dict[str, object] = {}
    for row in response.answers.select_related("question").order_by("pk"):
        question = row.question
        name = field_name(question)
        if question.kind == Question.Kind.MULTIPLE:
            values.setdefault(name, []).append(row.choice)
            if row.choice == OTHER_CHOICE:
                values[name + "_other"] = row.text
        elif question.kind == Question.Kind.SINGLE:
            values[name] = row.choice
            if row.choice == OTHER_CHOICE:
                values[name + "_other"] = row.text
        elif question.kind == Question.Kind.SCALE:
            values[name] = str(int(row.number)) if row.number is not None else ""
        elif question.kind == Question.Kind.NUMBER:
            values[name] = format(row.number.normalize(), "f") if row.number is not None else ""
        else:
            values[name] = row.text
    return values


def draft_data(response: Response) -> dict[int, object]:
    """A draft's stored answers in the shape save_answers takes (by question pk),
    to submit a draft as it was confirmed."""
    data: dict[int, object] = {}
    for row in response.answers.select_related("question").order_by("pk"):
        question = row.question
        if question.has_choices:
            entry = data.setdefault(question.pk, {"choices": [], "other": ""})
            entry["choices"].append(row.choice)
            if row.choice == OTHER_CHOICE:
                entry["other"] = row.text
        elif question.kind in (Question.Kind.SCALE, Question.Kind.NUMBER):
            data[question.pk] = row.number
        else:
            data[question.pk] = row.text
    return data
