"""The annual report's paragraphs (committee.ReportText and its revisions) in
the portal's records: the admin (superusers look, nobody writes), the audit
log (who changed which paragraph, not its words), a person's data export
(開示) and erasure (削除)."""

import csv
import io
import json
import zipfile

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from committee import report
from committee.models import ReportText, ReportTextRevision
from portal import disclosure, erasure
from tests.test_security_admin import make_admin_secretariat

pytestmark = pytest.mark.django_db

ISSUES = ReportText.Section.ISSUES.value
SUMMARY = ReportText.Section.SURVEY_SUMMARY.value
FIRST = "相談窓口の連携が課題として残った。"
SECOND = "相談窓口の連携は、振興局ごとに進め方を分けて続ける。"


def save(actor, texts, fiscal_year=2024):
    # As the edit page does: the request names the actor (core.audit's middleware).
    with set_actor(actor):
        return report.save_texts(fiscal_year=fiscal_year, texts=texts, actor=actor)


@pytest.fixture
def paragraph(secretariat):
    save(secretariat, {ISSUES: FIRST})
    save(secretariat, {ISSUES: SECOND})
    return ReportText.objects.get(fiscal_year=2024, section=ISSUES)


def state():
    return (
        list(ReportText.objects.order_by("pk").values_list()),
        list(ReportTextRevision.objects.order_by("pk").values_list()),
    )


def admin_url(model, view, *args):
    return reverse(f"admin:committee_{model._meta.model_name}_{view}", args=args)


# --- the admin: superusers look, nobody writes ----------------------------------------------


def test_report_text_admin_lists_paragraphs_and_history_for_a_superuser(
    client_for, superuser, paragraph
):
    client = client_for(superuser)

    texts = client.get(admin_url(ReportText, "changelist"))
    revisions = client.get(admin_url(ReportTextRevision, "changelist"))
    page = client.get(admin_url(ReportText, "change", paragraph.pk))

    assert (texts.status_code, revisions.status_code, page.status_code) == (200, 200, 200)
    assert [row.pk for row in texts.context["cl"].result_list] == [paragraph.pk]
    assert [row.text for row in revisions.context["cl"].result_list] == [SECOND, FIRST]
    body = page.content.decode()
    assert SECOND in body and FIRST in body  # the paragraph and its history, read-only
    assert not page.context["has_change_permission"]
    assert not page.context["has_delete_permission"]


@pytest.mark.parametrize("model", [ReportText, ReportTextRevision], ids=lambda m: m.__name__)
def test_report_text_admin_refuses_add_change_and_delete_to_a_superuser(
    client_for, superuser, paragraph, model
):
    obj = paragraph if model is ReportText else paragraph.revisions.first()
    client = client_for(superuser)
    change_url = admin_url(model, "change", obj.pk)
    data = {"text": "書き換えた本文", "privacy_flagged": "on", "fiscal_year": "2025"}
    before = state()

    added = client.post(admin_url(model, "add"), data)
    changed = client.post(change_url, data)
    delete_page = client.get(admin_url(model, "delete", obj.pk))
    deleted = client.post(admin_url(model, "delete", obj.pk), {"post": "yes"})
    bulk = client.post(
        admin_url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [str(obj.pk)], "post": "yes"},
    )

    statuses = [r.status_code for r in (added, changed, delete_page, deleted)]
    assert statuses == [403, 403, 403, 403]
    assert bulk.status_code in (200, 302)  # no such action: nothing selected is deleted
    assert client.get(admin_url(model, "changelist")).context["action_form"] is None
    assert state() == before


def test_report_text_admin_is_not_the_secretariat_s(client_for, secretariat, paragraph):
    staff = make_admin_secretariat(secretariat)
    client = client_for(staff)
    before = state()

    listed = client.get(admin_url(ReportText, "changelist"))
    opened = client.get(admin_url(ReportText, "change", paragraph.pk))
    posted = client.post(admin_url(ReportText, "change", paragraph.pk), {"text": "事務局の書換"})

    assert [listed.status_code, opened.status_code, posted.status_code] == [403, 403, 403]
    assert SECOND not in opened.content.decode()
    assert state() == before


# --- the audit log: who changed which paragraph, not its words --------------------------------


def entries_about(obj):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_pk=str(obj.pk)
    ).order_by("pk")


def test_report_text_saves_are_logged_without_their_words(secretariat, paragraph):
    entries = list(entries_about(paragraph))

    assert [(e.action, e.actor_id) for e in entries] == [
        (LogEntry.Action.CREATE, secretariat.pk),
        (LogEntry.Action.UPDATE, secretariat.pk),
    ]
    assert entries[1].changes_dict == {"text": [f"{len(FIRST)}文字", f"{len(SECOND)}文字"]}
    assert entries[0].changes_dict["section"] == ["None", ISSUES]
    logged = json.dumps([e.changes for e in entries], ensure_ascii=False)
    assert "相談窓口" not in logged


def test_report_text_unchanged_save_is_not_logged(secretariat, paragraph):
    count = entries_about(paragraph).count()

    assert save(secretariat, {ISSUES: SECOND}) == []

    assert entries_about(paragraph).count() == count


def test_report_text_entry_is_on_the_secretariat_s_audit_page(client_for, secretariat, paragraph):
    client = client_for(secretariat)

    response = client.get(reverse("audit_log"), {"kind": "committee.reporttext"})

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(row.kind, row.action, row.entry.object_repr) for row in rows] == [
        ("年度報告書の本文", "変更", str(paragraph)),
        ("年度報告書の本文", "作成", str(paragraph)),
    ]
    assert [(c.field, c.old, c.new) for c in rows[0].changes] == [
        ("本文", f"{len(FIRST)}文字", f"{len(SECOND)}文字")
    ]
    body = response.content.decode()
    assert "年度報告書の本文" in body and "事務 四郎" in body
    assert FIRST not in body and SECOND not in body
    kinds = dict(response.context["filter"].form.fields["kind"].choices)
    assert kinds["committee.reporttext"] == "年度報告書の本文"


# --- 開示: the paragraphs the person wrote ----------------------------------------------------


def _open(body):
    return zipfile.ZipFile(io.BytesIO(body))


def _csv(archive, name):
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def test_report_text_disclosure_holds_the_person_s_paragraphs(secretariat, superuser, paragraph):
    save(superuser, {SUMMARY: '=HYPERLINK("http://evil") ほかの人の総括'})
    save(secretariat, {SUMMARY: "アンケートの総括"}, fiscal_year=2023)

    archive = _open(disclosure.download(secretariat, by=secretariat))

    data = json.loads(archive.read("data.json"))
    assert [(t["fiscal_year"], t["section"], t["text"]) for t in data["report_texts"]] == [
        (2023, "アンケート総括", "アンケートの総括"),
        (2024, "課題", SECOND),
    ]
    assert [(r["fiscal_year"], r["text"]) for r in data["report_text_revisions"]] == [
        (2024, FIRST),
        (2024, SECOND),
        (2023, "アンケートの総括"),
    ]
    revisions = _csv(archive, "report_text_revisions.csv")
    assert [(r["年度"], r["項目"], r["本文"]) for r in revisions] == [
        ("2024", "課題", FIRST),
        ("2024", "課題", SECOND),
        ("2023", "アンケート総括", "アンケートの総括"),
    ]
    assert [r["本文"] for r in _csv(archive, "report_texts.csv")] == ["アンケートの総括", SECOND]
    assert "report_texts.csv" in archive.read("README.txt").decode("utf-8")
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode("utf-8")
    assert "ほかの人の総括" not in everything  # the superuser's paragraph is not theirs


# --- 削除: the paragraphs stay, signed by the stub ---------------------------------------------


def test_report_text_erasure_keeps_paragraphs_signed_by_the_stub(secretariat, superuser):
    # Someone who wrote paragraphs for the secretariat and has left it (a
    # member of the secretariat cannot be erased from the portal).
    former = secretariat
    save(former, {ISSUES: FIRST})
    former.groups.remove(Group.objects.get(name="secretariat"))
    text = ReportText.objects.get()
    before = state()

    erasure.erase_person(person=former, by=superuser, confirmation=former.email)

    assert state() == before  # kept as written, still pointing at the account
    text.refresh_from_db()
    assert (text.updated_by.full_name, text.text) == ("削除された会員", FIRST)
    assert [r.author.full_name for r in text.revisions.all()] == ["削除された会員"]
    assert list(entries_about(text).values_list("actor_id", "actor_email")) == [
        (former.pk, f"erased-{former.pk}@erased.invalid")
    ]
    assert erasure.DECISIONS["committee.ReportText.updated_by"][0] == erasure.KEEP
    assert erasure.DECISIONS["committee.ReportTextRevision.author"][0] == erasure.KEEP
