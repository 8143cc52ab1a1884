"""The note models in the admin: superusers only, posts and logs read-only,
and no page of it shows who wrote a post."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.note_factories import admin_matrix_objects

pytestmark = pytest.mark.django_db


def _url(model, view, obj=None):
    info = model._meta.app_label, model._meta.model_name
    return reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[obj.pk] if obj else [])


def test_note_admin_every_note_model_is_registered(contractor_member, secretariat):
    objects = admin_matrix_objects(contractor_member, secretariat)
    registered = {m for m in admin.site._registry if m._meta.app_label == "note"}

    assert registered == set(objects)


def test_note_admin_pages_never_show_the_author(
    contractor_member, secretariat, superuser, client_for
):
    objects = admin_matrix_objects(contractor_member, secretariat)
    client = client_for(superuser)
    shown = {}
    for model, obj in objects.items():
        if model._meta.model_name in ("authorlookup", "curator", "notepreference"):
            continue  # these name a person on purpose: the log, the curator, the setting
        for view, target in (("changelist", None), ("change", obj)):
            response = client.get(_url(model, view, target))
            assert response.status_code == 200, (model, view)
            if contractor_member.full_name in response.content.decode():
                shown[model._meta.model_name] = view

    assert shown == {}


def test_note_admin_posts_are_read_only_even_for_a_superuser(
    contractor_member, secretariat, superuser, client_for
):
    from note.models import Topic

    objects = admin_matrix_objects(contractor_member, secretariat)
    topic = objects[Topic]

    response = client_for(superuser).post(_url(Topic, "change", topic), {"title": "改ざん"})
    topic.refresh_from_db()

    assert response.status_code == 403
    assert topic.title == "相談（秘）"
    assert client_for(superuser).get(_url(Topic, "add")).status_code == 403


def test_note_admin_is_closed_to_the_secretariat_group(contractor_member, secretariat, client_for):
    from tests.test_security_admin import make_admin_secretariat

    objects = admin_matrix_objects(contractor_member, secretariat)
    staff = make_admin_secretariat(secretariat)
    client = client_for(staff)

    statuses = {m._meta.model_name: client.get(_url(m, "changelist")).status_code for m in objects}

    assert set(statuses.values()) == {403}
