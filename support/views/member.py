from django.http import Http404


def _todo(*args, **kwargs):
    raise Http404


menus = menu = apply = applications = application = withdraw = _todo
