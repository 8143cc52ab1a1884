"""Placeholder: being written."""
from django.http import Http404



def need_board(request, **kwargs):
    raise Http404


def need_create(request, **kwargs):
    raise Http404


def need_raise(request, **kwargs):
    raise Http404


def need_export(request, **kwargs):
    raise Http404


def need_detail(request, **kwargs):
    raise Http404
