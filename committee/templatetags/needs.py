"""{% raise_need_button %}: the 「課題にする」 button that events and surveys
pages show next to a 事前質問 or a free-text answer.

The one template-level exception to the import chain (DESIGN §7): a lower
app's page loads this tag, and the tag asks committee.access whether to show
the button, so no template re-implements the rule."""

from django import template

from .. import access
from ..enums import NeedSource

register = template.Library()


def _form_id(kind: str) -> str:
    """The one form a page's buttons of this kind submit (raise_need_form)."""
    return f"raise-need-{kind}"


@register.inclusion_tag("committee/_raise_need_button.html", takes_context=True)
def raise_need_button(context, source, source_kind, question=None, label=""):
    """source_kind "registration" or "topic": `source` is the Registration or
    the board's Topic, sent by id — a button only, which submits the page's
    one form ({% raise_need_form source_kind %}, once per page: a list of 50
    registrations renders no form per row).
    source_kind "answer": `source` has .text (an Answer or surveys.results'
    TextAnswer) and is sent with its `question`, never by id (answer ids follow
    the order answers came in: committee.needs.find_answer), in a form of its own."""
    request = context["request"]
    kind = NeedSource(source_kind)
    by_text = kind == NeedSource.ANSWER
    if by_text:
        complete = question is not None and question.pk and source.text
    else:
        # A topic waiting for review or hidden is no one's to raise.
        complete = bool(getattr(source, "pk", None)) and getattr(source, "is_published", True)
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
    registration, a board topic: sent by id) submit: hidden, rendered once,
    and only for those who may raise a need from that kind."""
    request = context["request"]
    kind = NeedSource(source_kind)
    return {
        "show": access.may_raise_from(request.user, kind),
        "source_kind": kind.value,
        "form_id": _form_id(kind.value),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
