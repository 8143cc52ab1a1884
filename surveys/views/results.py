"""Placeholder: being written."""
from django.http import Http404



def results(request, **kwargs):
    raise Http404


def responses(request, **kwargs):
    raise Http404


def organisation_responses(request, **kwargs):
    raise Http404


def export(request, **kwargs):
    raise Http404
