"""What the navi derives from the windows, kept in one place: the keyword
search's documents (directory.search) and the trouble × area listing
(directory.places). Every write that changes a window's names, texts,
troubles, area or status calls one of these, in its own transaction: the
import, a save in the admin, a correction from the freshness page, the demo
data; rebuild() is for a migration and the benchmark."""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps as global_apps
from django.db.models import Q

from . import places, search


def refresh(window_ids: Iterable[int]) -> None:
    ids = sorted(set(window_ids))
    search.index_windows(ids)
    places.refresh(ids)


def refresh_of(*, windows=(), services=(), locations=(), providers=()) -> None:
    """Refresh the windows given and those of these services, locations or
    providers (ids)."""
    ServiceAtLocation = global_apps.get_model("directory", "ServiceAtLocation")
    wanted = Q(pk__in=list(windows)) | Q(service_id__in=list(services))
    wanted |= Q(location_id__in=list(locations)) | Q(service__provider_id__in=list(providers))
    refresh(ServiceAtLocation.objects.filter(wanted).values_list("pk", flat=True))


def rebuild(apps=None) -> dict[str, int]:
    return {"windows": search.reindex(apps), "places": places.rebuild(apps)}
