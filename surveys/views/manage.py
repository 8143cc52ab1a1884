"""Placeholder: being written."""
from django.http import Http404



def manage_list(request, **kwargs):
    raise Http404


def survey_create(request, **kwargs):
    raise Http404


def survey_detail(request, **kwargs):
    raise Http404


def survey_edit(request, **kwargs):
    raise Http404


def survey_preview(request, **kwargs):
    raise Http404


def survey_copy(request, **kwargs):
    raise Http404


def survey_publish(request, **kwargs):
    raise Http404


def survey_close(request, **kwargs):
    raise Http404


def question_add(request, **kwargs):
    raise Http404


def question_edit(request, **kwargs):
    raise Http404


def question_delete(request, **kwargs):
    raise Http404


def question_move(request, **kwargs):
    raise Http404


def invitation_list(request, **kwargs):
    raise Http404


def remind(request, **kwargs):
    raise Http404
