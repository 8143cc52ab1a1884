"""Who counts as present at a hybrid meeting: the check-in rule is judged per
event and per mode (docs/events.md, 出席の数え方).

A hybrid meeting where the venue people were checked in and the online people
were not: the online confirmed still count as present for the dashboard, get
the thank-you mail and the post-event survey. Once one online person is
marked attended (from the 受付 page's オンライン list), only the attended
online people count.
"""

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from committee import participation
from core.models import OutboxMessage
from events import services as event_services
from events import tasks as event_tasks
from events.models import Event, Registration
from surveys import services, tasks
from surveys.models import Invitation, Survey

from .event_factories import EventFactory, RegistrationFactory
from .factories import MembershipFactory, OrganisationFactory, UserFactory
from .survey_factories import QuestionFactory, SurveyFactory

pytestmark = pytest.mark.django_db
VENUE, ONLINE = Registration.Mode.VENUE, Registration.Mode.ONLINE


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    def call(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return call


def _person(email, organisation=None):
    user = UserFactory(email=email, full_name=email.split("@")[0])
    if organisation is not None:
        MembershipFactory(user=user, organisation=organisation)
    return user


def _hybrid(prefix=""):
    """A hybrid 情報交換会 that ended 27 hours ago (past the thanks delay): two venue people checked
    in, one venue person who did not come, two online people (not checked in),
    one online waitlisted and one online cancelled."""
    start = timezone.now() - datetime.timedelta(hours=30)
    event = EventFactory(
        title=f"第9回 情報交換会{prefix}",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
    )
    npo = OrganisationFactory(name=f"旭川くらしサポート{prefix}")
    people = {}
    for key, mode, extra in (
        ("venue1", VENUE, {"attended": True}),
        ("venue2", VENUE, {"attended": True}),
        ("venue_absent", VENUE, {}),
        ("online1", ONLINE, {}),
        ("online2", ONLINE, {}),
        ("online_waiting", ONLINE, {"status": Registration.Status.WAITLISTED}),
        ("online_cancelled", ONLINE, {"status": Registration.Status.CANCELLED}),
    ):
        user = _person(f"{prefix}{key}@example.org", npo)
        people[key] = RegistrationFactory(
            event=event, user=user, organisation=npo, mode=mode, **extra
        )
    return event, people


@pytest.fixture
def hybrid():
    return _hybrid()


def _emails(registrations) -> set[str]:
    return {r.user.email for r in registrations}


CAME = {"venue1@example.org", "venue2@example.org", "online1@example.org", "online2@example.org"}


def test_online_attendance_counts_online_confirmed_when_only_the_venue_used_checkin(hybrid):
    event, _people = hybrid

    present = Registration.objects.counted_as_present(event).select_related("user")

    assert _emails(present) == CAME


def test_online_attendance_counts_only_attended_online_once_online_checkin_was_used(
    hybrid, secretariat
):
    event, people = hybrid
    assert Registration.objects.counted_as_present(event).count() == 4
    event_services.set_attended(registration=people["online1"], attended=True, by=secretariat)

    present = Registration.objects.counted_as_present(event).select_related("user")

    assert _emails(present) == {"venue1@example.org", "venue2@example.org", "online1@example.org"}


def test_online_attendance_dashboard_counts_online_confirmed(hybrid, secretariat):
    event, people = hybrid
    event.status = Event.Status.FINISHED
    event.save()

    (row,) = participation.compute(event.fiscal_year).events
    assert (row.persons, row.has_checkin) == (4, True)

    event_services.set_attended(registration=people["online1"], attended=True, by=secretariat)
    cache.clear()
    (row,) = participation.compute(event.fiscal_year).events
    assert row.persons == 3


def test_online_attendance_earlier_years_count_online_confirmed_as_returning(hybrid):
    """The "came before" look-back applies the same rule to earlier 年度."""
    event, people = hybrid
    event.status = Event.Status.FINISHED
    event.save()
    city = OrganisationFactory(name="留萌市 福祉課", kind="municipality")
    earlier = EventFactory(
        starts_at=event.starts_at - datetime.timedelta(days=400),
        status=Event.Status.FINISHED,
    )
    RegistrationFactory(event=earlier, organisation=city, mode=VENUE, attended=True)
    RegistrationFactory(event=earlier, organisation=people["online1"].organisation, mode=ONLINE)
    RegistrationFactory(event=event, organisation=city, mode=VENUE, attended=True)

    (row,) = participation.compute(event.fiscal_year).events

    # Both organisations came to the earlier meeting: the city at the venue
    # (checked in), the NPO online (no online check-in there).
    assert (row.first_time, row.returning) == (0, 2)


def test_online_attendance_thanks_sweep_mails_online_confirmed(hybrid, secretariat, committed):
    event, people = hybrid
    committed(event_tasks.sweep_thanks)

    thanked = set(
        OutboxMessage.objects.filter(kind="events.thanks").values_list("to_email", flat=True)
    )
    assert thanked == CAME

    # Marked later from the online list: nobody new is mailed, nobody twice.
    event_services.set_attended(registration=people["online1"], attended=True, by=secretariat)
    assert committed(event_tasks.sweep_thanks) == 0
    assert OutboxMessage.objects.filter(kind="events.thanks").count() == 4


def test_online_attendance_finish_event_thanks_only_attended_online_once_marked(
    secretariat, committed
):
    plain, _people = _hybrid("a-")
    marked, people = _hybrid("b-")
    event_services.set_attended(registration=people["online2"], attended=True, by=secretariat)
    for event in (plain, marked):
        committed(event_services.finish_event, event=event, by=secretariat)

    thanked = set(
        OutboxMessage.objects.filter(kind="events.thanks").values_list("to_email", flat=True)
    )
    assert thanked == {f"a-{email}" for email in CAME} | {
        "b-venue1@example.org",
        "b-venue2@example.org",
        "b-online2@example.org",
    }


def _post_event_survey(event) -> Survey:
    survey = SurveyFactory(
        kind=Survey.Kind.POST_EVENT, event=event, audience=Survey.Audience.EVENT_ATTENDEES
    )
    QuestionFactory(survey=survey)
    return survey


def test_online_attendance_post_event_survey_goes_to_online_confirmed(
    hybrid, secretariat, committed
):
    event, _people = hybrid
    committed(event_services.finish_event, event=event, by=secretariat)
    survey = _post_event_survey(event)

    assert committed(tasks.sweep_post_event_surveys) == 4

    invited = set(Invitation.objects.filter(survey=survey).values_list("user__email", flat=True))
    assert invited == CAME
    mailed = set(
        OutboxMessage.objects.filter(kind__startswith="surveys.").values_list("to_email", flat=True)
    )
    assert mailed == CAME


def test_online_attendance_post_event_survey_only_attended_online_once_marked(
    hybrid, secretariat, committed
):
    event, people = hybrid
    committed(event_services.finish_event, event=event, by=secretariat)
    survey = _post_event_survey(Event.objects.get(pk=event.pk))
    assert services.count_new_invitations(survey=survey) == 4

    event_services.set_attended(registration=people["online1"], attended=True, by=secretariat)
    committed(tasks.sweep_post_event_surveys)

    invited = set(Invitation.objects.filter(survey=survey).values_list("user__email", flat=True))
    assert invited == {"venue1@example.org", "venue2@example.org", "online1@example.org"}


def test_online_attendance_participated_flag_counts_online_confirmed(hybrid):
    """A survey's 「参加した」 flag (who came to a meeting of the 年度) follows the rule."""
    event, people = hybrid
    survey = SurveyFactory(fiscal_year=event.fiscal_year)

    def came(key):
        return services._participated(survey, user_id=people[key].user_id, organisation_id=None)

    assert (came("online1"), came("venue1"), came("venue_absent"), came("online_waiting")) == (
        True,
        True,
        False,
        False,
    )


# --- recording online attendance on the 受付 page ---------------------------------------


def test_online_attendance_checkin_page_lists_one_mode_with_its_counts(
    hybrid, client_for, secretariat
):
    event, people = hybrid
    client = client_for(secretariat)
    url = f"/events/manage/{event.pk}/checkin/"

    response = client.get(url, {"mode": "online"})

    listed = {r.user.email for r in response.context["page_obj"]}
    assert listed == {
        "online1@example.org",
        "online2@example.org",
        "online_waiting@example.org",
    }
    assert response.context["counts"] == {"attended": 0, "confirmed": 2}
    content = response.content.decode()
    assert "受付（オンライン）" in content
    assert (
        "オンラインで一人も受付しなければ、オンラインの参加確定者全員を出席として数えます。"
        in content
    )
    assert '<input type="hidden" name="mode" value="online">' in content
    venue = client.get(url, {"mode": "venue"})
    assert {r.user.email for r in venue.context["page_obj"]} == {
        "venue1@example.org",
        "venue2@example.org",
        "venue_absent@example.org",
    }
    assert venue.context["counts"] == {"attended": 2, "confirmed": 3}
    # Anything else shows everyone.
    assert client.get(url, {"mode": "bogus"}).context["counts"] == {"attended": 2, "confirmed": 5}


def test_online_attendance_marked_from_the_online_list_changes_who_counts(
    hybrid, client_for, secretariat
):
    event, people = hybrid
    client = client_for(secretariat)
    assert Registration.objects.counted_as_present(event).count() == 4
    online1 = people["online1"]

    response = client.post(
        f"/events/manage/{event.pk}/checkin/{online1.pk}/",
        {"attended": "1", "mode": "online", "q": "", "page": "1"},
    )
    assert response["Location"] == (
        f"/events/manage/{event.pk}/checkin/?mode=online&page=1#reg-{online1.pk}"
    )
    json = client.post(
        f"/events/manage/{event.pk}/checkin/{online1.pk}/",
        {"attended": "1", "mode": "online"},
        HTTP_ACCEPT="application/json",
    ).json()
    assert (json["attended_count"], json["confirmed_count"]) == (1, 2)

    online1.refresh_from_db()
    assert online1.attended is True
    present = Registration.objects.counted_as_present(event).select_related("user")
    assert _emails(present) == {"venue1@example.org", "venue2@example.org", "online1@example.org"}


def test_online_attendance_checkin_page_has_no_inline_script(hybrid, client_for, secretariat):
    event, _people = hybrid
    content = client_for(secretariat).get(f"/events/manage/{event.pk}/checkin/").content.decode()

    assert "<script>" not in content
    assert '<script src="/static/js/checkin.js" defer></script>' in content
