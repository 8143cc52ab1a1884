"""Surveys part of `manage.py seed_demo` (demo and development only).

The FY2021 effect-verification survey of the seed (Ⅳ 続・後方支援プロジェクトの
効果検証): an annual, named, organisation-unit survey with the catalog's annual
questions, sent to the 49 福祉事務所設置自治体 (35 市 + 14 振興局) and the
受託団体, closed. 47 organisations answered (自治体 15, 受託団体 32), so the
results page shows, computed from the stored answers:

* 37/47 had attended an exchange meeting at least once (自治体 7/15, 受託団体 30/32);
* 91.9% (34 of the 37 who attended) found the meetings useful (4 or 5);
* 83.0% (39 of 47) want them to continue;
* of the 35 who answered the format question, テーマ別ディスカッション 22 (62.9%)
  and 講師を招いた勉強会 17 (48.6%); a few その他 with the seed's wishes;
* a few of the seed's 主な意見 as free comments.

Who answered: the 自治体 that attended are drawn from those with a
counted-as-present registration at a FY2021 exchange meeting in the events demo,
the others from those without, so Response.participated (written here from the
attended answer; the service computes it at submission in real use) agrees with
the meeting records. Every 受託団体 of the demo came to a FY2021 meeting, so
two of them answer 「参加したことがない」 as the seed's 30/32 requires (the person
who answered need not be the one who came).

Idempotent: the survey is found by (kind, 年度, title), invitations and
responses by organisation; answers are rebuilt from the plan below on every
run, so a second run leaves the same rows and figures.
"""

from __future__ import annotations

import datetime
import zlib
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.tokens import hash_token
from events.models import Event, Registration
from network import demo as network_demo
from network.enums import MunicipalityKind
from network.models import Membership, Municipality, Organisation, User

from . import catalog
from .enums import AudienceGroup
from .mailing import invitation_token
from .models import OTHER_CHOICE, Answer, Invitation, Question, Response, Survey

FY2021 = 2021
TITLE = "令和3年度 続・後方支援プロジェクト 効果検証アンケート"
INTRODUCTION = (
    "今年度の「続・後方支援プロジェクト」（情報交換会・北海道支援情報ナビ・後方支援メニュー）の"
    "効果を検証し、来年度以降の取り組みに生かすためのアンケートです。"
    "組織（自治体・受託団体）ごとに1回のご回答をお願いします。"
)
K = Organisation.Kind

# The seed's figures.
MUNICIPAL_ANSWERED, MUNICIPAL_ATTENDED = 15, 7
CONTRACTOR_ANSWERED, CONTRACTOR_ATTENDED = 32, 30
# useful, asked of the 37 who attended: 20 × 5, 14 × 4, 3 × 3 → 34/37 = 91.9%
USEFUL = [5] * 20 + [4] * 14 + [3] * 3
# continue: はい 39 (35 who attended, 4 who did not), どちらともいえない 6, いいえ 2
CONTINUE_ATTENDED = [catalog.YES] * 35 + [catalog.UNSURE] * 2
CONTINUE_NOT_ATTENDED = [catalog.YES] * 4 + [catalog.UNSURE] * 4 + [catalog.NO] * 2
# format, answered by 33 who attended and 2 who did not (35):
# テーマ別ディスカッション 22, 講師を招いた勉強会 17, 経験年数が近い人どうしの交流 7,
# 事業別テーマ 5, その他 3.
FORMAT_ANSWERED_ATTENDED, FORMAT_ANSWERED_NOT_ATTENDED = 33, 2
THEMED, LECTURE, PEERS, BY_PROGRAM = catalog.FORMATS
OTHER_WISHES = {
    11: "同様の状況にある他機関の相談員との情報交換",
    28: "主任相談支援員どうしで話せる場",
    34: "子どもの学習・生活支援事業の実施機関どうしの情報交換",
}


def _formats(i: int) -> list[str]:
    """The choices of the i-th (0–34) respondent to the format question."""
    chosen = []
    if i < 22:
        chosen.append(THEMED)
    if 13 <= i < 30:
        chosen.append(LECTURE)
    if i in (30, 31, 32, 2, 9, 17, 25):
        chosen.append(PEERS)
    if i in (33, 34, 5, 19, 27):
        chosen.append(BY_PROGRAM)
    if i in OTHER_WISHES:
        chosen.append(f"{OTHER_CHOICE}:{OTHER_WISHES[i]}")
    return chosen


# The seed's 主な意見, given as free comments (by respondent slot, see _plan).
COMMENTS = [
    (AudienceGroup.CONTRACTOR, "主任相談支援員同士のつながりが欲しい。"),
    (AudienceGroup.CONTRACTOR, "初任者の相談員同士の場があるとよいのではないか。"),
    (
        AudienceGroup.CONTRACTOR,
        "学習支援、一時生活の話ができる場がありそれぞれ情報交換できるとよい。",
    ),
    (AudienceGroup.CONTRACTOR, "各地域の就労や生活、住居等の社会資源の実情を知りたい。"),
    (
        AudienceGroup.MUNICIPAL,
        "他市町村の取り組み状況や課題を伺い情報を共有することができて非常に有意義でした。",
    ),
]

OPENS_AT = datetime.datetime(2022, 1, 11, 9, 0)
CLOSES_AT = datetime.datetime(2022, 1, 31, 17, 0)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return timezone.make_aware(moment)


def _stable(org: Organisation) -> int:
    """A fixed pseudo-random rank (the same on every run and machine)."""
    return zlib.crc32(f"{org.name}|{org.pk}".encode())


@dataclass
class Respondent:
    organisation: Organisation
    attended: bool
    answers: dict = field(default_factory=dict)


# --- the survey -------------------------------------------------------------------------


def _secretariat_user() -> User | None:
    account = next(a for a in network_demo.DEMO_ACCOUNTS if "secretariat" in a.groups)
    return User.objects.filter(email=account.email).first()


def _survey(invited: list[Organisation]) -> Survey:
    values = {
        "introduction": INTRODUCTION,
        "event": None,
        "audience": Survey.Audience.CHOSEN,
        "respondent_unit": Survey.Unit.ORGANISATION,
        "anonymous": False,
        "opens_at": _aware(OPENS_AT),
        "closes_at": _aware(CLOSES_AT),
        "reminder_days": [7, 3],
        "status": Survey.Status.PUBLISHED,
    }
    survey = (
        Survey.objects.filter(kind=Survey.Kind.ANNUAL, fiscal_year=FY2021, title=TITLE)
        .order_by("pk")
        .first()
    )
    by = _secretariat_user()
    if survey is None:
        # Built the way the secretariat would: from the catalog's annual template.
        from . import services

        survey = services.create_survey(
            title=TITLE,
            kind=Survey.Kind.ANNUAL,
            fiscal_year=FY2021,
            audience=Survey.Audience.CHOSEN,
            respondent_unit=Survey.Unit.ORGANISATION,
            opens_at=values["opens_at"],
            closes_at=values["closes_at"],
            template="annual",
            introduction=INTRODUCTION,
            by=by,
        )
    changed = [name for name, value in values.items() if getattr(survey, name) != value]
    if changed:
        for name in changed:
            setattr(survey, name, values[name])
        survey.save(update_fields=[*changed, "updated_at"])
    _ensure_questions(survey)
    survey.chosen_organisations.set(invited)
    return survey


def _ensure_questions(survey: Survey) -> None:
    """The annual template's questions, by key (re-made if someone removed one)."""
    specs = catalog.TEMPLATES["annual"]["questions"]
    have = {q.key for q in survey.questions.all()}
    if have == {spec["key"] for spec in specs}:
        return
    survey.questions.all().delete()
    by_key: dict[str, Question] = {}
    for order, spec in enumerate(specs, start=1):
        show_if = spec.get("show_if")
        by_key[spec["key"]] = Question.objects.create(
            survey=survey,
            order=order,
            key=spec["key"],
            text=str(spec["text"]),
            kind=spec["kind"],
            required=spec.get("required", False),
            choices=[str(c) for c in spec.get("choices", [])],
            allow_other=spec.get("allow_other", False),
            scale_min_label=str(spec.get("scale_min_label", "")),
            scale_max_label=str(spec.get("scale_max_label", "")),
            show_if_question=by_key[show_if[0]] if show_if else None,
            show_if_value=str(show_if[1]) if show_if else "",
        )


# --- who was invited, who answered ---------------------------------------------------------


def _present_fy2021() -> set[int]:
    """Organisations counted as present at a FY2021 exchange meeting."""
    present: set[int] = set()
    for event in Event.objects.filter(
        kind=Event.Kind.EXCHANGE, fiscal_year=FY2021, status=Event.Status.FINISHED
    ):
        present.update(
            Registration.objects.counted_as_present(event)
            .exclude(organisation=None)
            .values_list("organisation_id", flat=True)
        )
    return present


def _contractors() -> list[Organisation]:
    contractors = list(
        Organisation.objects.filter(kind=K.CONTRACTOR, is_active=True).order_by(
            "kana", "name", "pk"
        )
    )
    missing = CONTRACTOR_ANSWERED - len(contractors)
    if missing > 0:
        # Only if seed_demo's tables ever get shorter than the seed's 32.
        sapporo = Municipality.objects.get(name="札幌市", kind=MunicipalityKind.CITY)
        for i in range(missing):
            org, _created = Organisation.objects.update_or_create(
                name=f"（デモ）効果検証アンケート回答団体 {i + 1}",
                municipality=sapporo,
                defaults={
                    "kana": "でも",
                    "kind": K.CONTRACTOR,
                    "region": sapporo.region,
                    "is_sample": True,
                    "description": _("デモ用の架空の団体です。"),
                },
            )
            contractors.append(org)
    return contractors


def _pick(orgs, present, attended: int, answered: int, first=()) -> list[tuple[Organisation, bool]]:
    """`answered` organisations of `orgs`, `attended` of them answering that they
    came: those who came first where the records allow, then the others.
    `first`: organisations to include when possible (the demo accounts')."""
    ranked = sorted(orgs, key=lambda o: (o.pk not in first, _stable(o)))
    came = [o for o in ranked if o.pk in present]
    stayed = [o for o in ranked if o.pk not in present]
    yes = came[:attended]
    yes += [o for o in stayed if o not in yes][: attended - len(yes)]
    rest = [o for o in stayed if o not in yes] + [o for o in came if o not in yes]
    no = rest[: answered - attended]
    return [(o, True) for o in yes] + [(o, False) for o in no]


def _plan(municipal, contractors, present) -> list[Respondent]:
    demo_orgs = set(
        Membership.objects.filter(
            user__email__in=[a.email for a in network_demo.DEMO_ACCOUNTS]
        ).values_list("organisation_id", flat=True)
    )
    picked = _pick(municipal, present, MUNICIPAL_ATTENDED, MUNICIPAL_ANSWERED, demo_orgs) + _pick(
        contractors, present, CONTRACTOR_ATTENDED, CONTRACTOR_ANSWERED, demo_orgs
    )
    respondents = [Respondent(org, attended) for org, attended in picked]
    came = sorted((r for r in respondents if r.attended), key=lambda r: _stable(r.organisation))
    not_came = sorted(
        (r for r in respondents if not r.attended), key=lambda r: _stable(r.organisation)
    )
    for r in respondents:
        r.answers["attended"] = catalog.ATTENDED if r.attended else catalog.NOT_ATTENDED
    for r, value in zip(came, USEFUL, strict=True):
        r.answers["useful"] = value
    for r, value in zip(came, CONTINUE_ATTENDED, strict=True):
        r.answers["continue"] = value
    for r, value in zip(not_came, CONTINUE_NOT_ATTENDED, strict=True):
        r.answers["continue"] = value
    format_answerers = (
        came[len(came) - FORMAT_ANSWERED_ATTENDED :] + not_came[:FORMAT_ANSWERED_NOT_ATTENDED]
    )
    for i, r in enumerate(format_answerers):
        r.answers["format"] = _formats(i)
    for group, text in COMMENTS:
        pool = [
            r
            for r in came
            if "comments" not in r.answers
            and (r.organisation.kind == K.MUNICIPALITY) == (group == AudienceGroup.MUNICIPAL)
        ]
        pool[0].answers["comments"] = text
    return respondents


# --- writing --------------------------------------------------------------------------------


def _answer_rows(response: Response, questions: dict, answers: dict) -> list[Answer]:
    rows = []
    for key, value in answers.items():
        question = questions[key]
        if question.kind in (Question.Kind.SCALE, Question.Kind.NUMBER):
            rows.append(Answer(response=response, question=question, number=value))
        elif question.kind == Question.Kind.TEXT:
            rows.append(Answer(response=response, question=question, text=value))
        else:
            for item in [value] if isinstance(value, str) else value:
                if item.startswith(OTHER_CHOICE + ":"):
                    rows.append(
                        Answer(
                            response=response,
                            question=question,
                            choice=OTHER_CHOICE,
                            text=item.split(":", 1)[1],
                        )
                    )
                else:
                    rows.append(Answer(response=response, question=question, choice=item))
    return rows


def _token_hash(survey: Survey, organisation: Organisation) -> str:
    token = invitation_token(survey_id=survey.pk, user_id=None, organisation_id=organisation.pk)
    return hash_token(token)


def _invitations(
    survey, invited, answered_at: dict[int, datetime.datetime]
) -> dict[int, Invitation]:
    existing = {inv.organisation_id: inv for inv in survey.invitations.filter(user__isnull=True)}
    survey.invitations.exclude(organisation__in=invited).delete()
    survey.invitations.filter(user__isnull=False).delete()
    opens, closes = survey.opens_at, survey.closes_at
    new, changed = [], []
    for org in invited:
        responded = answered_at.get(org.pk)
        # Reminders went out 7 and 3 days before closing to those who had not answered.
        reminders = [closes - datetime.timedelta(days=d) for d in survey.reminder_days]
        reminders = [r for r in reminders if responded is None or r < responded]
        values = {
            "email": org.email or f"org{org.pk}@example.org",
            "sent_at": opens,
            "responded_at": responded,
            "reminder_count": len(reminders),
            "last_reminded_at": max(reminders) if reminders else None,
        }
        inv = existing.get(org.pk)
        if inv is None:
            new.append(
                Invitation(
                    survey=survey, organisation=org, token_hash=_token_hash(survey, org), **values
                )
            )
        elif any(getattr(inv, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(inv, k, v)
            changed.append(inv)
    Invitation.objects.bulk_create(new)
    Invitation.objects.bulk_update(
        changed, ["email", "sent_at", "responded_at", "reminder_count", "last_reminded_at"]
    )
    return {inv.organisation_id: inv for inv in survey.invitations.filter(user__isnull=True)}


def _answered_at(survey: Survey, respondents: list[Respondent]) -> dict[int, datetime.datetime]:
    """Submission times spread over the answering period, in a fixed order."""
    span = (survey.closes_at - survey.opens_at) - datetime.timedelta(days=1)
    ordered = sorted(respondents, key=lambda r: _stable(r.organisation))
    step = span / max(len(ordered), 1)
    return {
        r.organisation.pk: survey.opens_at + step * i + datetime.timedelta(minutes=17 * (i % 7))
        for i, r in enumerate(ordered, start=1)
    }


@transaction.atomic
def seed_surveys() -> str:
    """Seed the FY2021 effect-verification survey; returns a one-line summary."""
    municipal = list(
        Organisation.objects.filter(kind=K.MUNICIPALITY, is_active=True).order_by(
            "municipality__code", "region__order", "pk"
        )
    )
    contractors = _contractors()
    invited = municipal + contractors
    survey = _survey(invited)
    questions = {q.key: q for q in survey.questions.all()}
    respondents = _plan(municipal, contractors, _present_fy2021())
    answered_at = _answered_at(survey, respondents)
    invitations = _invitations(survey, invited, answered_at)
    _store_responses(survey, respondents, invitations, answered_at)
    by_org = {r.organisation_id: r for r in survey.responses.all()}
    Answer.objects.filter(response__survey=survey).delete()
    Answer.objects.bulk_create(
        [
            row
            for r in respondents
            for row in _answer_rows(by_org[r.organisation.pk], questions, r.answers)
        ]
    )
    municipal_n = sum(r.organisation.kind == K.MUNICIPALITY for r in respondents)
    return _(
        "アンケート: %(title)s（依頼 %(invited)d件・回答 %(answered)d件：自治体 %(municipal)d・"
        "受託団体 %(contractors)d）"
    ) % {
        "title": TITLE,
        "invited": len(invited),
        "answered": len(respondents),
        "municipal": municipal_n,
        "contractors": len(respondents) - municipal_n,
    }


def _answerers(respondents) -> dict[int, int]:
    """The person who answered for each organisation: its admin, else its first member."""
    answerer: dict[int, int] = {}
    for org_id, user_id in (
        Membership.objects.filter(organisation__in=[r.organisation for r in respondents])
        .order_by("-is_org_admin", "pk")
        .values_list("organisation_id", "user_id")
    ):
        answerer.setdefault(org_id, user_id)
    return answerer


def _store_responses(survey, respondents, invitations, answered_at) -> None:
    """One submitted response per respondent, created or brought up to date
    (idempotent: a second seed changes nothing)."""
    answerer = _answerers(respondents)
    survey.responses.exclude(organisation__in=[r.organisation for r in respondents]).delete()
    existing = {r.organisation_id: r for r in survey.responses.all()}
    new, changed = [], []
    fields = ["invitation", "user", "organisation_kind", "region", "participated", "submitted_at"]
    for r in respondents:
        org = r.organisation
        values = {
            "invitation": invitations[org.pk],
            "user_id": answerer.get(org.pk),
            "organisation_kind": org.kind,
            "region_id": org.region_id,
            "participated": r.attended,
            "submitted_at": answered_at[org.pk],
        }
        response = existing.get(org.pk)
        if response is None:
            new.append(Response(survey=survey, organisation=org, **values))
        elif any(
            (response.invitation_id != values["invitation"].pk)
            if k == "invitation"
            else getattr(response, k) != v
            for k, v in values.items()
        ):
            for k, v in values.items():
                setattr(response, k, v)
            changed.append(response)
    Response.objects.bulk_create(new)
    Response.objects.bulk_update(changed, fields)
    survey.responses.update(started_at=F("submitted_at") - datetime.timedelta(minutes=15))
