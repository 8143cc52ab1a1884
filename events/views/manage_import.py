"""Placeholder: being written."""
from django.http import Http404



def attendee_export(request, **kwargs):
    raise Http404


def attendance_import(request, **kwargs):
    raise Http404


def attendance_import_confirm(request, **kwargs):
    raise Http404
