"""core.choices.ChoiceLabels: get_FOO_display translated once per language."""

import pytest
from django.utils import translation

from committee.models import Need
from events.models import Event, Registration
from network.models import Membership, Organisation
from surveys.models import Survey


@pytest.mark.parametrize("model", [Event, Registration, Organisation, Membership, Survey, Need])
def test_listed_models_use_the_cached_labels(model):
    from core.choices import ChoiceLabels

    assert issubclass(model, ChoiceLabels)


def test_display_is_django_s_and_follows_the_language():
    registration = Registration(mode=Registration.Mode.ONLINE, status="confirmed")
    assert registration.get_mode_display() == "オンライン"
    assert registration.get_status_display() == Registration.Status.CONFIRMED.label
    # A value outside the choices shows as itself, as in Django.
    assert Registration(mode="elsewhere").get_mode_display() == "elsewhere"
    assert Registration(mode="").get_mode_display() == ""


def test_second_call_asks_gettext_nothing(monkeypatch):
    organisation = Organisation(kind=Organisation.Kind.CONTRACTOR)
    expected = str(Organisation.Kind.CONTRACTOR.label)
    assert organisation.get_kind_display() == expected
    calls = []
    real = translation._trans.gettext

    def counting(message):
        calls.append(message)
        return real(message)

    monkeypatch.setattr(translation._trans, "gettext", counting)
    for _i in range(50):
        assert organisation.get_kind_display() == expected
    assert calls == []
