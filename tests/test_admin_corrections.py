"""Corrections in the admin keep what the services derive from a write.

The admin writes registrations and events around events.services; its
save and delete go through services.corrected / before_deleting_* so that the
check-in search finds the corrected registration and the dashboard's
tallies (events.tallies) still equal a recomputation from the registrations.
The admin is driven as a person does: the change form is posted, the
delete confirmation answered.
"""

import datetime

import pytest
from django.utils import timezone

from committee import participation as p
from core.dates import fiscal_year_of
from events import tallies
from events.models import Event, Registration

from .event_factories import EventFactory, RegistrationFactory
from .factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def finished_meeting():
    day = timezone.now() - datetime.timedelta(days=3)
    return EventFactory(
        starts_at=day, ends_at=day + datetime.timedelta(hours=2), status=Event.Status.FINISHED
    )


def assert_tallies_match(fiscal_year):
    assert tallies.stored() == tallies.computed()
    assert p.compute(fiscal_year) == p.compute_from_registrations(fiscal_year)


def change_form_data(registration, **changes):
    data = {
        "event": registration.event_id,
        "user": registration.user_id,
        "organisation": registration.organisation_id or "",
        "organisation_name": registration.organisation_name,
        "mode": registration.mode,
        "session": "",
        "social": registration.social,
        "status": registration.status,
        "question": registration.question,
        "attended": "on" if registration.attended else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_admin_changing_a_registration_reindexes_it_and_keeps_the_tallies(client_for, superuser):
    event = finished_meeting()
    before = OrganisationFactory(name="旧所属の会", kind="contractor")
    after = OrganisationFactory(name="新しい支援センター", kind="support")
    registration = RegistrationFactory(event=event, organisation=before, attended=True)
    RegistrationFactory(event=event, organisation=before, attended=True)
    tallies.refresh([event.pk])
    client = client_for(superuser)
    url = f"/admin/events/registration/{registration.pk}/change/"

    response = client.post(url, change_form_data(registration, organisation=after.pk))

    assert response.status_code == 302, response.content.decode()[:2000]
    registration.refresh_from_db()
    assert registration.organisation_id == after.pk
    assert list(Registration.objects.matching("新しい", event=event)) == [registration]
    assert not Registration.objects.matching("旧所属", event=event).filter(pk=registration.pk)
    assert_tallies_match(event.fiscal_year)


def test_admin_deleting_registrations_takes_them_out_of_the_tallies(client_for, superuser):
    event = finished_meeting()
    organisation = OrganisationFactory(kind="contractor")
    gone = RegistrationFactory(event=event, organisation=organisation, attended=True)
    stays = RegistrationFactory(event=event, organisation=organisation, attended=True)
    tallies.refresh([event.pk])
    client = client_for(superuser)

    response = client.post(
        "/admin/events/registration/",
        {"action": "delete_selected", "_selected_action": [gone.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert list(Registration.objects.filter(event=event)) == [stays]
    assert_tallies_match(event.fiscal_year)
    people = p.compute(event.fiscal_year).totals
    assert people == p.compute_from_registrations(event.fiscal_year).totals


def test_admin_deleting_an_event_forgets_its_tallies(client_for, superuser):
    event = finished_meeting()
    person = UserFactory()
    RegistrationFactory(event=event, user=person, attended=True)
    tallies.refresh([event.pk])
    client = client_for(superuser)

    response = client.post(f"/admin/events/event/{event.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Event.objects.filter(pk=event.pk).exists()
    assert_tallies_match(fiscal_year_of(timezone.localdate()))
