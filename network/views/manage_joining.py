"""Placeholder: being written."""
from django.http import Http404



def staff_invite(request, **kwargs):
    raise Http404


def invitation_resend(request, **kwargs):
    raise Http404


def invitation_revoke(request, **kwargs):
    raise Http404


def join_request_list(request, **kwargs):
    raise Http404


def join_request_detail(request, **kwargs):
    raise Http404
