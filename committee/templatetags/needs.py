"""{% raise_need_button %}: the 「課題にする」 button that events and surveys
pages show next to a 事前質問 or a free-text answer.

The one template-level exception to the import chain (DESIGN §7): a lower
app's page loads this tag, and the tag asks committee.access whether to show
the button, so no template re-implements the rule."""

from django import template

from .. import access
from ..enums import NeedSource

register = template.Library()


@register.inclusion_tag("committee/_raise_need_button.html", takes_context=True)
def raise_need_button(context, source, source_kind, question=None, label=""):
    """source_kind "registration": `source` is the Registration, sent by id.
    source_kind "answer": `source` has .text (an Answer or surveys.results'
    TextAnswer) and is sent with its `question`, never by id (answer ids follow
    the order answers came in: committee.needs.find_answer)."""
    request = context["request"]
    kind = NeedSource(source_kind)
    by_text = kind == NeedSource.ANSWER
    if by_text:
        complete = question is not None and question.pk and source.text
    else:
        complete = bool(getattr(source, "pk", None))
    return {
        "show": bool(complete) and access.may_raise_from(request.user, kind),
        "source": source,
        "source_kind": kind.value,
        "by_text": by_text,
        "question": question,
        "label": label,
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
