"""Placeholder: being written."""
from django.http import Http404



def join_request(request, **kwargs):
    raise Http404


def join_request_done(request, **kwargs):
    raise Http404


def accept_invitation(request, **kwargs):
    raise Http404
