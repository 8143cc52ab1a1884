"""Placeholder: being written."""
from django.http import Http404



def register(request, **kwargs):
    raise Http404


def my_registrations(request, **kwargs):
    raise Http404


def calendar_settings(request, **kwargs):
    raise Http404


def registration_edit(request, **kwargs):
    raise Http404


def registration_cancel(request, **kwargs):
    raise Http404


def organisation_registrations(request, **kwargs):
    raise Http404
