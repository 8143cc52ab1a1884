from django.http import Http404


def _todo(*args, **kwargs):
    raise Http404


engagements = engagement = session_create = complete = _todo
