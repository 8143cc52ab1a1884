"""Placeholder: being written."""
from django.http import Http404



def home(request, **kwargs):
    raise Http404


def participation_json(request, **kwargs):
    raise Http404


def participation_csv(request, **kwargs):
    raise Http404
