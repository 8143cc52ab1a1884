"""Placeholder: being written."""
from django.http import Http404



def respond(request, **kwargs):
    raise Http404


def thanks(request, **kwargs):
    raise Http404
