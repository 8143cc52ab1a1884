"""The attendance import's file limits: the web upload keeps 10 MB / 50,000
rows; `manage.py import_attendance` takes larger files (--max-rows,
--max-bytes) and says how to raise its limits when a file is over them.
"""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from core import importing as shared
from events import importing
from events.models import Registration, RegistrationSearchKey
from network.models import User

from .event_factories import RegistrationFactory, held_meeting

pytestmark = pytest.mark.django_db

HEADER = ",".join(importing.COLUMNS)
# Columns the import does not know are ignored: filler that makes a file of
# two people larger than the web's 10 MB without making it slow to import.
FILLER_COLUMNS = 90
FILLER_CELL = "x" * 120_000  # below the csv module's 131,072-character field limit


@pytest.fixture
def held():
    return held_meeting()


def people_rows(event, count: int) -> list[str]:
    return [
        f"{event.pk},person{n}@example.org,取込 太郎{n},とりこみ たろう,,,,会場,,1"
        for n in range(count)
    ]


def csv_file(event, count: int, *, filler: bool = False) -> bytes:
    rows = people_rows(event, count)
    if not filler:
        return ("\n".join([HEADER, *rows]) + "\n").encode()
    header = HEADER + "".join(f",メモ{n}" for n in range(FILLER_COLUMNS))
    padded = [row + ("," + FILLER_CELL) * FILLER_COLUMNS for row in rows]
    return ("\n".join([header, *padded]) + "\n").encode()


def write(tmp_path, raw: bytes, name="big.csv") -> str:
    path = tmp_path / name
    path.write_bytes(raw)
    return str(path)


def state(event) -> dict:
    return {
        "users": User.objects.count(),
        "registrations": sorted(
            Registration.objects.filter(event=event).values_list("user__email", "attended")
        ),
    }


def web_upload(client, raw: bytes):
    return client.post(reverse("events:import"), {"file": SimpleUploadedFile("big.csv", raw)})


# --- over the web's size limit --------------------------------------------------------


def test_import_cli_accepts_a_file_over_the_web_size_limit(tmp_path, held):
    raw = csv_file(held, 2, filler=True)
    assert len(raw) > shared.MAX_BYTES
    out = io.StringIO()

    call_command("import_attendance", write(tmp_path, raw), stdout=out)

    assert "参加記録 新規 2 件・更新 0 件" in out.getvalue()
    assert "取り込みました。" in out.getvalue()
    assert state(held)["registrations"] == [
        ("person0@example.org", True),
        ("person1@example.org", True),
    ]


def test_import_web_upload_refuses_the_same_file_with_the_japanese_message(
    client_for, secretariat, held
):
    raw = csv_file(held, 2, filler=True)
    before = state(held)

    response = web_upload(client_for(secretariat), raw)

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "ファイルが大きすぎます（上限 10 MB）。分けて取り込んでください。"
    ]
    assert state(held) == before


# --- over the web's row limit (lowered here: 50,001 rows would make a slow test) ------


@pytest.fixture
def three_rows_on_the_web(monkeypatch):
    monkeypatch.setattr(shared, "MAX_ROWS", 3)


def test_import_cli_accepts_more_rows_than_the_web(tmp_path, held, three_rows_on_the_web):
    out = io.StringIO()

    call_command("import_attendance", write(tmp_path, csv_file(held, 5)), stdout=out)

    assert "参加記録 新規 5 件・更新 0 件" in out.getvalue()
    assert len(state(held)["registrations"]) == 5
    # The shared limit is the web's again once the command has read its file.
    assert shared.MAX_ROWS == 3


def test_import_web_refuses_more_rows_than_its_limit(
    client_for, secretariat, held, three_rows_on_the_web
):
    before = state(held)

    response = web_upload(client_for(secretariat), csv_file(held, 5))

    assert [e.message for e in response.context["result"].errors] == [
        "行が多すぎます（上限 3 行）。ファイルを分けて取り込んでください。"
    ]
    assert state(held) == before


# --- the command's own limits ------------------------------------------------------------


def test_import_cli_row_refusal_says_how_to_raise_the_limits(tmp_path, held):
    before = state(held)
    err = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_attendance",
            write(tmp_path, csv_file(held, 3)),
            "--max-rows",
            "2",
            stderr=err,
        )

    assert excinfo.value.returncode == 1
    assert err.getvalue() == "行が多すぎます（上限 2 行）。ファイルを分けて取り込んでください。\n"
    assert str(excinfo.value) == (
        "エラーが 1 件あります。何も保存していません。"
        "上限（いま 2 行・100 MB）は --max-rows と --max-bytes で引き上げられます"
        "（例: --max-rows 4 --max-bytes 200M）。"
    )
    assert state(held) == before
    assert shared.MAX_ROWS == 50_000


def test_import_cli_size_refusal_says_how_to_raise_the_limits(tmp_path, held):
    before = state(held)
    path = write(tmp_path, csv_file(held, 2, filler=True))

    with pytest.raises(CommandError) as excinfo:
        call_command("import_attendance", path, "--max-bytes", "10M")

    assert str(excinfo.value) == (
        "ファイルが大きすぎます（20.6 MB、上限 10 MB）。"
        "上限（いま 200,000 行・10 MB）は --max-rows と --max-bytes で引き上げられます"
        "（例: --max-rows 400000 --max-bytes 20M）。"
    )
    assert state(held) == before


def test_import_cli_default_limits_fit_100k_rows():
    assert importing.CLI_LIMITS.max_rows >= 100_000
    # A 100,000-row attendee export is about 15 MB; the cells grow with the rows.
    assert importing.CLI_LIMITS.max_bytes >= 30 * 1024 * 1024
    assert importing.CLI_LIMITS.max_cells >= 100_001 * len(importing.COLUMNS)
    assert importing.WEB_LIMITS == importing.Limits(max_rows=50_000, max_bytes=10 * 1024 * 1024)


def test_import_cli_refuses_a_nonsense_limit(tmp_path, held):
    with pytest.raises(CommandError):
        call_command("import_attendance", write(tmp_path, csv_file(held, 1)), "--max-rows", "0")
    with pytest.raises(CommandError):
        call_command("import_attendance", write(tmp_path, csv_file(held, 1)), "--max-bytes", "lots")
    assert state(held)["registrations"] == []


# --- the search keys of what the import writes --------------------------------------------


def keys_of(registration) -> set[str]:
    return set(
        RegistrationSearchKey.objects.filter(registration=registration).values_list(
            "key", flat=True
        )
    )


def test_import_writes_the_checkin_search_keys_of_new_and_moved_registrations(tmp_path, held):
    moved = RegistrationFactory(
        event=held,
        user__email="moved@example.org",
        user__full_name="移動 一子",
        user__full_name_kana="いどう かずこ",
    )
    Registration.objects.filter(pk=moved.pk).index_for_search()
    text = "\n".join(
        [
            HEADER,
            f"{held.pk},new@example.org,新規 花子,しんき はなこ,NPO法人 北の支援ネット,受託団体,011002,会場,,1",
            f"{held.pk},moved@example.org,,,江別市 生活支援課,自治体,012173,会場,,1",
        ]
    )

    call_command("import_attendance", write(tmp_path, text.encode()), stdout=io.StringIO())

    new = Registration.objects.get(event=held, user__email="new@example.org")
    assert keys_of(new) == {
        "新規花子",
        "花子",
        "しんきはなこ",
        "はなこ",
        "new@example.org",
        "example.org",
        "npo法人北の支援ねっと",
        "北の支援ねっと",
    }
    assert keys_of(moved) == {
        "移動一子",
        "一子",
        "いどうかずこ",
        "かずこ",
        "moved@example.org",
        "example.org",
        "江別市生活支援課",
        "生活支援課",
    }
    assert set(RegistrationSearchKey.objects.values_list("event_id", flat=True)) == {held.pk}


def test_raised_limits_hold_in_their_own_context_only():
    """A command's larger limits (core.importing.in_force) never reach a read
    running at the same time elsewhere in the process (a thread of a web worker)."""
    import threading

    from core import importing as core_importing

    inside, release, seen = threading.Event(), threading.Event(), {}

    def command():
        with core_importing.in_force(core_importing.Limits(max_rows=200_000)):
            seen["command"] = core_importing.limits().max_rows
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=command)
    thread.start()
    assert inside.wait(5)
    seen["web"] = core_importing.limits().max_rows
    release.set()
    thread.join(5)

    assert seen == {"command": 200_000, "web": core_importing.MAX_ROWS}
    with pytest.raises(core_importing.ImportFileError) as refused:
        core_importing.check_upload_size(core_importing.MAX_BYTES + 1)
    assert refused.value.code == core_importing.LIMIT
