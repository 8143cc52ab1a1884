"""Placeholder: being written."""
from django.http import Http404



def survey_list(request, **kwargs):
    raise Http404


def answer(request, **kwargs):
    raise Http404
