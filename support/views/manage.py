from django.http import Http404


def _todo(*args, **kwargs):
    raise Http404


applications = application = accept = hold = decline = _todo
export_applications = export_sessions = _todo
