"""{% raise_need_button %}: the 「課題にする」 button that events and surveys
pages show next to a 事前質問 or a free-text answer.

The one template-level exception to the import chain (DESIGN §7): a lower
app's page loads this tag, and the tag asks committee.access whether to show
the button, so no template re-implements the rule."""

from django import template

from .. import access
from ..enums import NeedSource

register = template.Library()


# Names a page may use for a kind: an engagement's button raises its outcome report.
_ALIASES = {"engagement": NeedSource.OUTCOME}


def _kind(source_kind: str) -> NeedSource:
    return _ALIASES.get(source_kind) or NeedSource(source_kind)


def _complete(kind: NeedSource, source) -> bool:
    """Whether `source` (sent by id) is something a need can be raised from."""
    if not getattr(source, "pk", None):
        return False
    if kind == NeedSource.OUTCOME:
        # Only a completed engagement has an outcome report.
        return bool(source.outcome_text) and source.is_completed()
    if kind == NeedSource.APPLICATION:
        return bool(source.need)
    # A topic waiting for review or hidden is no one's to raise.
    return getattr(source, "is_published", True)


def _form_id(kind: str) -> str:
    """The one form a page's buttons of this kind submit (raise_need_form)."""
    return f"raise-need-{kind}"


@register.inclusion_tag("committee/_raise_need_button.html", takes_context=True)
def raise_need_button(context, source, source_kind, question=None, label=""):
    """source_kind "registration", "topic", "application" or "engagement"
    (also "outcome": an engagement's outcome report): `source` is the
    Registration, the board's Topic, the support Application or Engagement,
    sent by id — a button only, which submits the page's
    one form ({% raise_need_form source_kind %}, once per page: a list of 50
    registrations renders no form per row).
    source_kind "answer": `source` has .text (an Answer or surveys.results'
    TextAnswer) and is sent with its `question`, never by id (answer ids follow
    the order answers came in: committee.needs.find_answer), in a form of its own."""
    request = context["request"]
    kind = _kind(source_kind)
    by_text = kind == NeedSource.ANSWER
    if by_text:
        complete = question is not None and question.pk and source.text
    else:
        complete = _complete(kind, source)
    return {
        "show": bool(complete) and access.may_raise_from(request.user, kind),
        "source": source,
        "source_kind": kind.value,
        "by_text": by_text,
        "question": question,
        "label": label,
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
        "form_id": _form_id(kind.value),
    }


@register.inclusion_tag("committee/_raise_need_form.html", takes_context=True)
def raise_need_form(context, source_kind="registration"):
    """The form the page's 「課題にする」 buttons of `source_kind` (a
    registration, a board topic, an application, an engagement: sent by id)
    submit: hidden, rendered once, and only for those who may raise a need
    from that kind."""
    request = context["request"]
    kind = _kind(source_kind)
    return {
        "show": access.may_raise_from(request.user, kind),
        "source_kind": kind.value,
        "form_id": _form_id(kind.value),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
