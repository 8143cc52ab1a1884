"""Placeholder: being written."""
from django.http import Http404



def organisation_list(request, **kwargs):
    raise Http404


def organisation_detail(request, **kwargs):
    raise Http404
