"""Placeholder: being written."""
from django.http import Http404



def event_list(request, **kwargs):
    raise Http404


def event_detail(request, **kwargs):
    raise Http404


def event_ics(request, **kwargs):
    raise Http404


def register_guest(request, **kwargs):
    raise Http404


def confirm_guest(request, **kwargs):
    raise Http404


def personal_feed(request, **kwargs):
    raise Http404
