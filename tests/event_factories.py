"""Factories for the events app, shared by every events test.

EventFactory makes a meeting a member can register for right away: published, open to
all members, hybrid (30 venue seats, 50 online), starting in 30 days; fiscal_year follows
the start date (April–March, in Asia/Tokyo).
"""

import datetime

import factory
from django.utils import timezone

from core.dates import fiscal_year_of
from events.models import Event, Registration, Session

from .factories import UserFactory


def _in_30_days() -> datetime.datetime:
    start = timezone.localtime() + datetime.timedelta(days=30)
    return start.replace(hour=13, minute=30, second=0, microsecond=0)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    kind = Event.Kind.EXCHANGE
    number = factory.Sequence(lambda n: n + 1)
    title = factory.LazyAttribute(lambda o: f"第{o.number}回 情報交換会")
    theme = "相談支援の連携"
    description = "支援者同士で悩みを共有し、知恵を持ち寄る会です。"
    starts_at = factory.LazyFunction(_in_30_days)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=3))
    fiscal_year = factory.LazyAttribute(lambda o: fiscal_year_of(o.starts_at))
    format = Event.Format.HYBRID
    venue_name = "札幌市社会福祉総合センター"
    venue_address = "札幌市中央区大通西19丁目"
    venue_capacity = 30
    online_capacity = 50
    online_url = "https://meet.example.org/tsunagari"
    has_social = False
    social_capacity = None
    audience = Event.Audience.MEMBERS
    status = Event.Status.PUBLISHED
    # Announced unless it is a draft (a cancelled draft never shows to members).
    published_at = factory.LazyAttribute(
        lambda o: (
            None if o.status == Event.Status.DRAFT else o.starts_at - datetime.timedelta(days=30)
        )
    )


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    event = factory.SubFactory(EventFactory)
    title = factory.Sequence(lambda n: f"分科会{n}：家計改善支援")
    capacity = None
    order = factory.Sequence(lambda n: n)


class RegistrationFactory(factory.django.DjangoModelFactory):
    """A confirmed venue registration written directly (no capacity check, no mail).

    Tests of the capacity logic go through events.services.register instead.
    Its check-in search keys are written as the services write them; the
    dashboard's tallies are not (tests refresh them with events.tallies when
    they read the dashboard, and test what happens when nobody did).
    """

    class Meta:
        model = Registration

    event = factory.SubFactory(EventFactory)
    user = factory.SubFactory(UserFactory)
    organisation = None
    mode = Registration.Mode.VENUE
    session = None
    social = Registration.SocialStatus.NONE
    status = Registration.Status.CONFIRMED

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        registration = super()._create(model_class, *args, **kwargs)
        Registration.objects.filter(pk=registration.pk).index_for_search()
        return registration


def held_meeting(**kwargs) -> Event:
    """第9回 情報交換会, finished a month ago (attendance can be imported for it)."""
    start = timezone.now() - datetime.timedelta(days=30)
    return EventFactory(
        **{
            "title": "第9回 情報交換会",
            "status": Event.Status.FINISHED,
            "starts_at": start,
            "ends_at": start + datetime.timedelta(hours=3),
            **kwargs,
        }
    )
