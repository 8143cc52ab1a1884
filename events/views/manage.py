"""Placeholder: being written."""
from django.http import Http404



def manage_list(request, **kwargs):
    raise Http404


def event_create(request, **kwargs):
    raise Http404


def event_edit(request, **kwargs):
    raise Http404


def event_sessions(request, **kwargs):
    raise Http404


def event_copy(request, **kwargs):
    raise Http404


def event_publish(request, **kwargs):
    raise Http404


def event_cancel(request, **kwargs):
    raise Http404


def event_finish(request, **kwargs):
    raise Http404


def registration_list(request, **kwargs):
    raise Http404


def registration_add(request, **kwargs):
    raise Http404


def checkin(request, **kwargs):
    raise Http404


def checkin_toggle(request, **kwargs):
    raise Http404


def message(request, **kwargs):
    raise Http404
