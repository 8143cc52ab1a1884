"""Choice labels, translated once per language instead of once per call.

Django's ``get_FOO_display`` builds a dict of the field's choices on every
call, and hashing each lazy label translates it: a 50-row list that shows a
registration's mode, status and 懇親会 and an organisation's kind asked
gettext about 550 times a page for those labels alone (bench, issue #11).
``ChoiceLabels`` answers the same from a table built once per field and
language. Mixed into the models whose choices the lists show.
"""

from __future__ import annotations

import functools

from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import get_language


@functools.lru_cache(maxsize=512)
def _labels(field, language: str | None) -> dict:
    return {make_hashable(value): force_str(label) for value, label in field.flatchoices}


class ChoiceLabels:
    """``get_FOO_display`` as Django's, with the labels cached per language."""

    def _get_FIELD_display(self, field):
        value = getattr(self, field.attname)
        label = _labels(field, get_language()).get(make_hashable(value), value)
        return force_str(label, strings_only=True)
