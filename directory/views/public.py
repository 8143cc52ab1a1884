"""The public navi (no login): choose a 困りごと, choose an area, see the
windows; or search by words; or look near where one is. Every page works
without JavaScript (「現在地から探す」 needs the browser's location, so
site.js shows its button only where it can work). What is found is
directory.navi's; what is counted for the committee is directory.stats'.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core.pagination import paginate, querystring_without_page
from network.models import Municipality, Region

from .. import navi, stats
from .. import search as navi_search
from ..enums import Channel
from ..importing import coordinate
from ..models import Category, ServiceAtLocation

PER_PAGE = 20


def _top_categories():
    return Category.objects.filter(parent__isnull=True)


def comparable(value: str) -> bool:
    """False for a text no key holds and PostgreSQL cannot even compare: one
    with a NUL byte (psycopg refuses it with a DataError, a 500)."""
    return "\x00" not in value


def _category(key: str) -> Category:
    return get_object_or_404(Category, key=key)


def _record(request, page, **where) -> None:
    """Count a search once: on its first page."""
    if page.number == 1:
        stats.record(Channel.WEB, found=page.paginator.count, **where)


def _results(request, *, category, heading, listing, where, extra=None, status=200):
    page = paginate(request, listing, PER_PAGE)
    _record(request, page, category=category, **where)
    context = {
        "category": category,
        "heading": heading,
        "page_obj": page,
        "cards": navi.cards(page.object_list),
        "querystring": querystring_without_page(request),
        **(extra or {}),
    }
    return render(request, "directory/results.html", context, status=status)


@require_safe
def home(request):
    return render(
        request,
        "directory/home.html",
        {"categories": _top_categories()},
    )


@require_safe
def area(request, category):
    category = _category(category)
    regions = Region.objects.prefetch_related("municipalities")
    return render(request, "directory/area.html", {"category": category, "regions": regions})


@require_safe
def region_results(request, category, region):
    category = _category(category)
    region = get_object_or_404(Region, pk=region)
    return _results(
        request,
        category=category,
        heading=region.name,
        listing=navi.windows(category, region=region),
        where={"region": region},
        extra={"region": region, "municipalities": region.municipalities.all()},
    )


@require_safe
def municipality_results(request, category, code):
    category = _category(category)
    if not comparable(code):
        raise Http404
    municipality = get_object_or_404(Municipality.objects.select_related("region"), code=code)
    return _results(
        request,
        category=category,
        heading=municipality.name,
        listing=navi.windows(category, municipality=municipality),
        where={"municipality": municipality},
        extra={"region": municipality.region, "municipality": municipality},
    )


@require_safe
def near(request):
    """The windows nearest to ?lat=&lon= (from the browser's location),
    of ?c= (a category key) if given."""
    key = request.GET.get("c") or ""
    category = Category.objects.filter(key=key).first() if key and comparable(key) else None
    if key and category is None:
        raise Http404
    latitude = coordinate(request.GET.get("lat"), -90, 90)
    longitude = coordinate(request.GET.get("lon"), -180, 180)
    context = {"category": category, "categories": _top_categories()}
    if latitude is None or longitude is None:
        context["error"] = _(
            "現在地がわかりませんでした。地域をえらんで探すか、もう一度「現在地から探す」を押してください。"
        )
        return render(request, "directory/near.html", context, status=400)
    found = navi.nearest(latitude, longitude, category)
    stats.record(Channel.WEB, category=category, found=len(found))
    context["cards"] = navi.cards(found)
    return render(request, "directory/near.html", context)


@require_safe
def search(request):
    """Windows holding every word of ?q=, across Hokkaido or in ?r= (a
    振興局); ?c= narrows to a 困りごと."""
    query = navi_search.normalise(request.GET.get("q"))
    region = category = None
    if request.GET.get("r"):
        region = Region.objects.filter(pk=_int(request.GET["r"])).first()
    if request.GET.get("c") and comparable(request.GET["c"]):
        category = Category.objects.filter(key=request.GET["c"]).first()
    page, results = navi_search.ranked_page(
        request,
        navi.for_display(ServiceAtLocation.objects.public()),
        query,
        region_id=region.pk if region else None,
        category=category,
        per_page=PER_PAGE,
    )
    if results.terms:
        _record(request, page, category=category, region=region)
    return render(
        request,
        "directory/search.html",
        {
            "query": query,
            "searched": bool(results.terms),
            "more": results.has_more,
            "shown_at_most": navi_search.MAX_RESULTS,
            "region": region,
            "category": category,
            "regions": Region.objects.all(),
            "categories": _top_categories(),
            "page_obj": page,
            "cards": navi.cards(page.object_list),
            "querystring": querystring_without_page(request),
        },
    )


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None


@require_safe
def window(request, pk):
    windows = navi.for_display(ServiceAtLocation.objects.public())
    window = get_object_or_404(windows.prefetch_related("service__categories"), pk=pk)
    (card,) = navi.cards([window], timezone.now())
    return render(request, "directory/window.html", {"card": card, "window": window})
