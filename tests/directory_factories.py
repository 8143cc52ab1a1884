"""Rows of the directory (北海道支援情報ナビ) for tests."""

from datetime import time

from directory import indexing
from directory.models import (
    Category,
    CategoryRule,
    Location,
    Phone,
    Provider,
    Schedule,
    Service,
    ServiceAtLocation,
)

from .factories import municipality


def window(name="くらしサポートセンター（サンプル）", *, code="011002") -> ServiceAtLocation:
    """One window: a provider's service at a location, with a phone and
    Monday's hours."""
    provider = Provider.objects.create(name=f"{name}の運営者", is_sample=True)
    service = Service.objects.create(provider=provider, name=name, is_sample=True)
    service.categories.add(Category.objects.order_by("order").first())
    location = Location.objects.create(
        name=name, address="札幌市中央区北1条西2丁目", municipality=municipality(code)
    )
    at = ServiceAtLocation.objects.create(service=service, location=location)
    Phone.objects.create(service_at_location=at, number="011-000-0000")
    Schedule.objects.create(
        service_at_location=at,
        weekday="mon",
        opens_at=time(9),
        closes_at=time(17),
        note="受付は16時半まで",
    )
    indexing.refresh([at.pk])  # as the import and the admin do after a write
    return at


def admin_matrix_objects() -> dict:
    """One row of every directory model the admin shows, for
    tests/test_admin_matrix.py."""
    at = window()
    return {
        Category: Category.objects.order_by("order").first(),
        CategoryRule: CategoryRule.objects.order_by("pk").first(),
        Provider: at.service.provider,
        Service: at.service,
        Location: at.location,
        ServiceAtLocation: at,
        Phone: at.phones.get(),
        Schedule: at.schedules.get(),
    }


def window_at(
    name="くらしサポートセンター（サンプル）",
    *,
    code="011002",
    latitude=None,
    longitude=None,
    category=None,
    description="",
) -> ServiceAtLocation:
    """A window() with a position, a description and, given its key, another
    困りごと instead of the first."""
    at = window(name, code=code)
    at.location.latitude, at.location.longitude = latitude, longitude
    at.location.save(update_fields=["latitude", "longitude"])
    if description:
        at.service.description = description
        at.service.save(update_fields=["description"])
    if category is not None:
        at.service.categories.set([Category.objects.get(key=category)])
    indexing.refresh([at.pk])
    return at
