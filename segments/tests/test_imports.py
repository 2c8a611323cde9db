"""CSV import of profiles (the page, the task and its action) and export → import."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from accounts import roles
from conftest import PASSWORD
from segments import tasks
from segments.actions import imports
from segments.actions.properties import forget_cache
from segments.models import Profile, ProfileImport, PropertyDefinition
from tests.processes import CeleryProcesses

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
Status = ProfileImport.Status


@pytest.fixture(autouse=True)
def setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # uploads of this test only
    forget_cache()  # the property registry's memory of names from earlier tests
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def marketer(client_as):
    return client_as(roles.MARKETER)


def upload(client, text, name="people.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post("/audience/import/", {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def uploaded(client, text, django_capture_on_commit_callbacks):
    """Upload through the page and return the import it queued (not yet run)."""
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(client, text)
    assert response.status_code == 302, response.content.decode()
    assert len(callbacks) == 1
    return ProfileImport.objects.get()


def run(profile_import):
    tasks.import_profiles.apply(args=[profile_import.pk])
    profile_import.refresh_from_db()
    return profile_import


GOOD = """identity,name,email,age,is_test,customer_type,properties.score
cust-1,Ada Lovelace,ada@example.com,36,true,Gold,12.5
cust-2,Bo,,,,Silver,
cust-3,,,,no,,7
"""


def test_a_good_file_creates_profiles_with_fields_and_custom_properties(marketer, django_capture_on_commit_callbacks):
    profile_import = run(uploaded(marketer, GOOD, django_capture_on_commit_callbacks))
    assert profile_import.status == Status.DONE
    assert profile_import.finished_at == NOW
    assert (profile_import.total_rows, profile_import.processed_rows) == (3, 3)
    assert (profile_import.created_profiles, profile_import.updated_profiles) == (3, 0)
    assert profile_import.errors == []
    ada = Profile.objects.get(identity="cust-1")
    assert (ada.name, ada.email, ada.age, ada.is_test) == ("Ada Lovelace", "ada@example.com", 36, True)
    assert ada.properties == {"customer_type": "Gold", "score": 12.5}
    assert Profile.objects.get(identity="cust-2").properties == {"customer_type": "Silver"}
    assert Profile.objects.get(identity="cust-3").properties == {"score": 7}
    assert PropertyDefinition.objects.filter(scope="profile", name="score", type="number").exists()


def test_a_good_file_updates_known_profiles_and_leaves_empty_cells_alone(marketer, django_capture_on_commit_callbacks):
    Profile.objects.create(identity="cust-1", name="Old name", email="keep@example.com", properties={"a": 1})
    profile_import = run(
        uploaded(marketer, "identity,name,email,b\ncust-1,New name,,x\n", django_capture_on_commit_callbacks)
    )
    assert (profile_import.created_profiles, profile_import.updated_profiles) == (0, 1)
    person = Profile.objects.get(identity="cust-1")
    assert (person.name, person.email) == ("New name", "keep@example.com")
    assert person.properties == {"a": 1, "b": "x"}


def test_the_upload_queues_the_task_once_the_import_is_committed(marketer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        upload(marketer, GOOD)
    profile_import = ProfileImport.objects.get()
    assert profile_import.status == Status.PENDING
    assert profile_import.original_name == "people.csv"
    assert [c.func for c in callbacks] == [tasks.import_profiles.delay]
    assert [c.args for c in callbacks] == [(profile_import.pk,)]


def test_a_bad_row_is_reported_with_its_row_and_column_and_the_good_rows_still_import(
    marketer, django_capture_on_commit_callbacks
):
    text = (
        "identity,email,age,timezone,lucky\n"
        "ok-1,ok@example.com,30,Europe/Paris,7\n"
        "bad-1,not-an-email,30,,\n"
        "\n"
        "bad-2,,two hundred,Mars/Olympus,\n"
        ",nobody@example.com,,,\n"
        "ok-2,,,,\n"
        "bad-3,,,,,surplus\n"
    )
    profile_import = run(uploaded(marketer, text, django_capture_on_commit_callbacks))
    assert profile_import.status == Status.DONE
    assert profile_import.processed_rows == 6
    assert sorted(Profile.objects.values_list("identity", flat=True)) == ["ok-1", "ok-2"]
    assert [(e["row"], e["field"]) for e in profile_import.errors] == [
        (3, "email"),
        (5, "age"),
        (5, "timezone"),
        (6, "identity"),
        (8, ""),
    ]
    reasons = {(e["row"], e["field"]): e["reason"] for e in profile_import.errors}
    assert reasons[(3, "email")] == "not a valid email address"
    assert "valid integer" in reasons[(5, "age")]
    assert reasons[(8, "")] == "has 6 cells but the header names 5 columns"

    html = marketer.get(f"/audience/imports/{profile_import.pk}/").content.decode()
    assert "<td>3</td><td>email</td><td>not a valid email address</td>" in html


def test_a_bad_custom_property_names_its_column(django_user_model):
    profile_import = imports.start_import(
        SimpleUploadedFile("p.csv", ("identity,note\na," + "x" * 2001 + "\n").encode()), None, 1
    )
    run(profile_import)
    [error] = ProfileImport.objects.get().errors
    assert (error["row"], error["field"]) == (2, "note")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file in UTF-8"),
        ("identity,name\n".encode("utf-16"), "This is not a CSV file in UTF-8"),
        (b"name,email\nAda,ada@example.com\n", "The file has no identity column"),
        (b"", "The submitted file is empty"),
        (b"identity,name\n", "The file has a header row but no profiles under it"),
        (b"identity,Identity\na,b\n", 'Columns "identity" and "Identity" fill the same value'),
        (b"identity,,name\na,,b\n", "Column 2 of the header row has no name"),
        (b"identity\nok\n\xff\xfe broken later\n", "This is not a CSV file in UTF-8"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_next_to_the_field_and_nothing_is_written(
    marketer, django_capture_on_commit_callbacks, content, message
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(marketer, content)
    assert response.status_code == 422
    assert message in response.context["form"].errors["file"][0]
    html = response.content.decode()
    assert 'id="file-errors"' in html and message.replace('"', "&quot;") in html
    assert not ProfileImport.objects.exists()
    assert not Profile.objects.exists()
    assert callbacks == []


def test_posting_without_a_file_asks_for_one(marketer):
    response = marketer.post("/audience/import/", {})
    assert response.status_code == 422
    assert response.context["form"].errors["file"] == ["This field is required."]


def test_a_file_over_the_size_limit_is_refused(marketer, monkeypatch):
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 1024 * 1024)
    response = upload(marketer, "identity\n" + "x" * (1024 * 1024) + "\n")
    assert response.status_code == 422
    assert "the limit is 1 MB" in response.context["form"].errors["file"][0]
    assert not ProfileImport.objects.exists()


def test_the_form_posts_with_a_csrf_token(marketer):
    html = marketer.get("/audience/import/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'enctype="multipart/form-data"' in html


def test_running_the_task_twice_does_not_count_or_write_twice(marketer, django_capture_on_commit_callbacks):
    profile_import = run(uploaded(marketer, GOOD, django_capture_on_commit_callbacks))
    again = run(profile_import)
    assert (again.processed_rows, again.created_profiles, again.updated_profiles) == (3, 3, 0)
    assert again.status == Status.DONE
    assert Profile.objects.count() == 3


def test_the_task_does_nothing_for_an_import_that_no_longer_exists(db):
    tasks.import_profiles.apply(args=[123456])
    assert not Profile.objects.exists()


def test_an_interrupted_import_resumes_after_its_last_chunk(monkeypatch, django_capture_on_commit_callbacks, marketer):
    """Progress moves chunk by chunk; a run that dies part-way leaves the chunks it
    wrote counted, and the next run carries on from there without doubling them."""
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    rows = "".join(f"p{n},bad-email-{n}\n" if n == 2 else f"p{n},\n" for n in range(7))
    profile_import = uploaded(marketer, "identity,email\n" + rows, django_capture_on_commit_callbacks)
    real_upsert = imports.upsert_profiles
    seen = []

    def dies_on_the_third_chunk(records):
        seen.append(imports.ProfileImport.objects.get().processed_rows)
        if len(seen) == 3:
            raise RuntimeError("worker lost")
        return real_upsert(records)

    monkeypatch.setattr(imports, "upsert_profiles", dies_on_the_third_chunk)
    with pytest.raises(RuntimeError):
        imports.do_import_profiles(profile_import.pk)
    profile_import.refresh_from_db()
    assert seen == [0, 2, 4]
    assert profile_import.status == Status.RUNNING
    assert (profile_import.processed_rows, profile_import.percent) == (4, 57)
    assert profile_import.created_profiles == 3
    assert [e["row"] for e in profile_import.errors] == [4]
    assert Profile.objects.count() == 3

    monkeypatch.setattr(imports, "upsert_profiles", real_upsert)
    run(profile_import)
    assert profile_import.status == Status.DONE
    assert (profile_import.processed_rows, profile_import.percent) == (7, 100)
    assert (profile_import.created_profiles, profile_import.updated_profiles) == (6, 0)
    assert [e["row"] for e in profile_import.errors] == [4]
    assert sorted(Profile.objects.values_list("identity", flat=True)) == ["p0", "p1", "p3", "p4", "p5", "p6"]


def test_a_second_run_stops_where_another_run_is_already_ahead(
    monkeypatch, marketer, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 1)
    profile_import = uploaded(marketer, "identity\na\nb\n", django_capture_on_commit_callbacks)
    ProfileImport.objects.filter(pk=profile_import.pk).update(status=Status.RUNNING)
    columns, rows = imports.read_rows(profile_import.file.open("rb"))
    chunk = [next(rows)]
    assert imports._import_chunk(profile_import.pk, columns, chunk, 0)
    assert not imports._import_chunk(profile_import.pk, columns, chunk, 0)
    profile_import.refresh_from_db()
    assert (profile_import.processed_rows, profile_import.created_profiles) == (1, 1)


def test_an_import_whose_file_went_away_fails_and_says_so(marketer, django_capture_on_commit_callbacks):
    profile_import = uploaded(marketer, GOOD, django_capture_on_commit_callbacks)
    profile_import.file.storage.delete(profile_import.file.name)
    profile_import = run(profile_import)
    assert profile_import.status == Status.FAILED
    assert profile_import.errors[-1]["field"] == "file"
    assert "The file cannot be read" in profile_import.errors[-1]["reason"]


def test_the_progress_section_polls_until_the_import_is_done(marketer, django_capture_on_commit_callbacks):
    profile_import = uploaded(marketer, GOOD, django_capture_on_commit_callbacks)
    page = marketer.get(f"/audience/imports/{profile_import.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert "waiting for a worker" in page

    run(profile_import)
    partial = marketer.get(f"/audience/imports/{profile_import.pk}/", headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert html.lstrip().startswith('<section id="progress"')
    assert "every 1s" not in html
    assert 'value="100"' in html
    assert "Every row was imported" in html


def test_the_import_page_lists_recent_imports(marketer, django_capture_on_commit_callbacks):
    profile_import = run(uploaded(marketer, GOOD, django_capture_on_commit_callbacks))
    html = marketer.get("/audience/import/").content.decode()
    assert f'href="/audience/imports/{profile_import.pk}/"' in html
    assert "3 / 3" in html


def test_custom_property_cells_become_numbers_booleans_and_lists():
    assert imports.property_value("42") == 42
    assert imports.property_value("-3.5") == -3.5
    assert imports.property_value("1e-05") == 1e-05
    assert imports.property_value("TRUE") is True
    assert imports.property_value("false") is False
    assert imports.property_value('["a", 2]') == ["a", 2]
    # Text that only looks like a number keeps its leading zeros and its digits.
    assert imports.property_value("007") == "007"
    assert imports.property_value("4111111111111111") == "4111111111111111"
    assert imports.property_value("[not json") == "[not json"
    assert imports.property_value("Gold") == "Gold"


def test_a_semicolon_separated_file_with_a_byte_order_mark_imports(marketer, django_capture_on_commit_callbacks):
    text = "\ufeffidentity;name;country\na;Zoë;France\n"
    run(uploaded(marketer, text, django_capture_on_commit_callbacks))
    assert Profile.objects.values_list("identity", "name", "country").get() == ("a", "Zoë", "France")


def test_an_export_imports_again_unchanged(marketer, django_capture_on_commit_callbacks):
    people = [
        {
            "identity": "=cmd|' /C calc'!A0",
            "name": 'Zoë, "the" ünïcode\nperson',
            "email": "zoe@example.com",
            "phone": "+14155550100",
            "date_of_birth": date(1990, 2, 28),
            "age": 35,
            "gender": "female",
            "country": "France",
            "region": "Île-de-France",
            "city": "Paris",
            "latitude": -33.8688,
            "longitude": 151.2093,
            "timezone": "Europe/Paris",
            "language": "fr",
            "email_unsubscribed": True,
            "sms_unsubscribed": False,
            "is_test": True,
            "properties": {
                "tier": "Gold",
                "visits": 12,
                "ratio": 0.25,
                "vip": False,
                "tags": ["a", "b"],
                "note": "-1+1",
            },
        },
        {"identity": "plain", "properties": {"tier": "Silver"}},
    ]
    for person in people:
        Profile.objects.create(**person)
    PropertyDefinition.objects.bulk_create(
        PropertyDefinition(scope="profile", name=name, type="string")
        for name in ("tier", "visits", "ratio", "vip", "tags", "note")
    )
    fields = [*imports.FIELDS, "properties"]
    before = list(Profile.objects.order_by("identity").values(*fields))
    exported = b"".join(marketer.get("/audience/export.csv").streaming_content)
    Profile.objects.all().delete()

    profile_import = run(uploaded(marketer, exported, django_capture_on_commit_callbacks))
    assert profile_import.errors == []
    assert profile_import.created_profiles == 2
    assert list(Profile.objects.order_by("identity").values(*fields)) == before


def test_the_export_is_read_in_chunks(db):
    for n in range(5):
        Profile.objects.create(identity=f"p{n}")
    pieces = list(imports.export_lines(Profile.objects.all(), rows_per_chunk=2))
    assert len(pieces) == 1 + 3
    rows = list(csv.reader(io.StringIO("".join(pieces).removeprefix("\ufeff"))))
    assert [row[0] for row in rows] == ["identity", "p0", "p1", "p2", "p3", "p4"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_progress_bar_fills_by_itself_in_a_browser(page, make_user):
    make_user(roles.MARKETER, username="mia")
    profile_import = imports.start_import(SimpleUploadedFile("people.csv", b"identity,email\na,bad\nb,\n"), None, 2)
    page.goto(f"/login/?next=/audience/imports/{profile_import.pk}/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    progress = page.locator("#progress")
    expect(progress).to_contain_text("waiting for a worker")

    imports.do_import_profiles(profile_import.pk)
    expect(progress).to_contain_text("Done")
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    expect(progress.locator("table")).to_contain_text("not a valid email address")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_an_upload(settings, tmp_path):
    # The worker is another process: it reads uploads from the default media folder.
    settings.MEDIA_ROOT = django_settings.VAR_DIR / "media"
    profile_import = imports.start_import(SimpleUploadedFile("people.csv", GOOD.encode()), None, 3)
    processes = CeleryProcesses(tmp_path)
    try:
        processes.start("worker")
        tasks.import_profiles.apply_async(args=[profile_import.pk], queue=processes.queue)
        processes.wait_for(
            lambda: ProfileImport.objects.get(pk=profile_import.pk).status == Status.DONE, 60, "the import to finish"
        )
    finally:
        processes.stop()
        profile_import.file.delete(save=False)
    profile_import.refresh_from_db()
    assert (profile_import.processed_rows, profile_import.created_profiles) == (3, 3)
    assert Profile.objects.get(identity="cust-1").properties == {"customer_type": "Gold", "score": 12.5}
