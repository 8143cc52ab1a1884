"""Placeholder: being written."""
from django.http import Http404



def organisation_edit(request, **kwargs):
    raise Http404


def staff_list(request, **kwargs):
    raise Http404


def membership_edit(request, **kwargs):
    raise Http404


def membership_remove(request, **kwargs):
    raise Http404


def manage_home(request, **kwargs):
    raise Http404


def organisation_create(request, **kwargs):
    raise Http404


def people_list(request, **kwargs):
    raise Http404
