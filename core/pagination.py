from django.core.paginator import Paginator

PAGE_SIZE = 50


def paginate(request, queryset, per_page: int = PAGE_SIZE, *, number=None):
    """A page of `queryset` from ?page= (or `number`, when the caller knows
    it); a bad or out-of-range number gives the nearest valid page instead of
    an error."""
    paginator = Paginator(queryset, per_page)
    return paginator.get_page(request.GET.get("page") if number is None else number)


def querystring_without_page(request, also: tuple[str, ...] = ()) -> str:
    """The query for the pagination links: without ?page= (and the names in `also`)."""
    params = request.GET.copy()
    for name in ("page", *also):
        params.pop(name, None)
    return params.urlencode()


def is_filtered(request, filterset) -> bool:
    """Did the visitor set any of the filterset's fields? (Empty states then
    say "nothing matches" rather than "nothing yet".)"""
    return any(request.GET.get(name) for name in filterset.form.fields)
