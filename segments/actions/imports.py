"""Profiles in and out as CSV.

One format both ways, so an export can be imported again: a header row naming the
columns (ProfileIn's fields, and custom properties as ``properties.<name>`` or any
other name), one profile a row, an empty cell meaning "not sent".

The import is checked whole when it is uploaded (``check_file``), then written by
a worker in chunks through ``upsert_profiles``. Each chunk and the progress it
makes commit together, so a run that dies resumes after the last chunk it wrote and
a second run of the same import neither doubles rows nor counts them twice.
"""

import codecs
import csv
import itertools
import json
import re
from datetime import date

from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from segments.actions.ingest import upsert_profiles
from segments.models import ProfileImport, PropertyDefinition
from segments.schemas import ProfileIn

MAX_FILE_BYTES = 50 * 1024 * 1024
CHUNK_ROWS = 1000
# Enough to see what is wrong with a file; a million bad rows need not all be kept.
MAX_ERRORS = 1000
FIELDS = [name for name in ProfileIn.model_fields if name != "properties"]
PROPERTY_PREFIX = "properties."
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP,
# "CSV Injection"). The export puts a ' before them and the import takes it off.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A number in a custom property column. (The export writes numbers bare, never
# escaped: a spreadsheet reads -1.5 as a number, not as a formula.)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# Longer digit strings (card numbers, long ids) stay text: JavaScript and many
# spreadsheets lose digits beyond 15.
_MAX_INTEGER_DIGITS = 15

NOT_UTF8_CSV = 'This is not a CSV file in UTF-8. Save it from your spreadsheet as "CSV UTF-8".'
Status = ProfileImport.Status


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message says why, for the person."""


class Columns:
    """What each column of a file's header feeds: a profile field or a custom property."""

    def __init__(self, header):
        self.targets = []  # (field name, None) or (None, property name), one per column
        self.names = []  # the header as written, for error messages
        seen = {}
        for position, raw in enumerate(header, start=1):
            name = raw.strip()
            if not name:
                raise FileProblem(f"Column {position} of the header row has no name.")
            target = self._target(name)
            if not target[0] and not target[1]:
                raise FileProblem(f'Column "{name}" names no custom property after "{PROPERTY_PREFIX}".')
            if target in seen:
                raise FileProblem(f'Columns "{seen[target]}" and "{name}" fill the same value.')
            seen[target] = name
            self.targets.append(target)
            self.names.append(name)
        if ("identity", None) not in seen:
            raise FileProblem("The file has no identity column: its first row names the columns, one must be identity.")

    @staticmethod
    def _target(name):
        if name.startswith(PROPERTY_PREFIX):
            return (None, name[len(PROPERTY_PREFIX) :])
        if name.lower() in FIELDS:
            return (name.lower(), None)
        return (None, name)

    def record(self, cells):
        """The ProfileIn data of one row: empty cells are left out, custom property
        cells become numbers, true/false or lists where they read as such."""
        data, properties = {}, {}
        for (field, prop), cell in zip(self.targets, cells, strict=False):
            cell = unescape(cell).strip()
            if not cell:
                continue
            if field:
                data[field] = cell
            else:
                properties[prop] = property_value(cell)
        if properties:
            data["properties"] = properties
        return data

    def field_name(self, loc):
        """The column a pydantic error location points at."""
        if not loc:
            return ""
        if loc[0] == "properties" and len(loc) > 1:
            target = (None, str(loc[1]))
            return self.names[self.targets.index(target)] if target in self.targets else f"{PROPERTY_PREFIX}{loc[1]}"
        return str(loc[0])


def unescape(cell):
    if cell[:1] == "'" and cell[1:2] and cell[1] in FORMULA_STARTS:
        return cell[1:]
    return cell


def property_value(text):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    number = _NUMBER.fullmatch(text)
    if number and (number[1] or number[2]):
        return float(text)
    if number and len(text.lstrip("-")) <= _MAX_INTEGER_DIGITS:
        return int(text)
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return value if isinstance(value, list) else text
    return text


def read_rows(file):
    """(Columns, an iterator of (line number, cells)) for a CSV file: a Django File
    opened in binary mode, read from its start.

    UTF-8 with or without a byte-order mark; comma, semicolon or tab separated
    (whichever the header row uses most). Blank lines are skipped. Raises FileProblem
    for an empty file or a bad header; FileProblem, UnicodeDecodeError and csv.Error
    may also come from the iterator."""
    lines = _text_lines(codecs.iterdecode(file, "utf-8-sig"))
    first = next(lines, "")
    if not first.strip():
        raise FileProblem("The file is empty: its first row must name the columns, one of them identity.")
    reader = csv.reader(itertools.chain([first], lines), delimiter=_delimiter(first))
    columns = Columns(next(reader))
    rows = ((reader.line_num, cells) for cells in reader if any(cells))
    return columns, rows


def _text_lines(lines):
    for line in lines:
        # Text files have no NUL characters; a file that does is something else
        # (a spreadsheet's own format, UTF-16) renamed to .csv.
        if "\x00" in line:
            raise FileProblem(NOT_UTF8_CSV)
        yield line


def _delimiter(header_line):
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > counts[","] else ","


def check_file(upload):
    """Read a whole upload once before anything is written. Returns its number of
    rows under the header; raises FileProblem for a file that cannot be imported."""
    if upload.size > MAX_FILE_BYTES:
        raise FileProblem(
            f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is {MAX_FILE_BYTES // 1024 // 1024} MB. "
            "Split it into smaller files."
        )
    upload.seek(0)
    try:
        _, rows = read_rows(upload)
        count = sum(1 for _ in rows)
    except UnicodeDecodeError:
        raise FileProblem(NOT_UTF8_CSV) from None
    except csv.Error as exc:
        raise FileProblem(f"This file cannot be read as CSV: {exc}.") from None
    finally:
        upload.seek(0)
    if not count:
        raise FileProblem("The file has a header row but no profiles under it.")
    return count


def start_import(upload, user, rows):
    """Store a checked upload (see check_file) as a pending import of ``rows`` rows."""
    return ProfileImport.objects.create(file=upload, original_name=upload.name[:255], total_rows=rows, created_by=user)


def do_import_profiles(import_id):
    """Import the rows of a pending or interrupted import that are not done yet."""
    if not ProfileImport.objects.filter(pk=import_id, status__in=[Status.PENDING, Status.RUNNING]).update(
        status=Status.RUNNING
    ):
        return  # finished, failed or deleted: nothing to do
    profile_import = ProfileImport.objects.get(pk=import_id)
    done = profile_import.processed_rows
    try:
        with profile_import.file.open("rb") as binary:
            columns, rows = read_rows(binary)
            for chunk in _chunks(itertools.islice(rows, done, None), CHUNK_ROWS):
                if not _import_chunk(import_id, columns, chunk, done):
                    return  # another run of this import is further on
                done += len(chunk)
    except (OSError, UnicodeDecodeError, csv.Error, FileProblem) as exc:
        # The file was checked on upload, so this means it changed or went away since.
        _finish(import_id, Status.FAILED, {"row": None, "field": "file", "reason": f"The file cannot be read: {exc}"})
        return
    _finish(import_id, Status.DONE)


def _chunks(iterable, size):
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


@transaction.atomic
def _import_chunk(import_id, columns, chunk, start):
    """Write one chunk and its progress in one transaction. Returns False, writing
    nothing, when the import is no longer at ``start`` (another run got there)."""
    profile_import = ProfileImport.objects.select_for_update().get(pk=import_id)
    if profile_import.status != Status.RUNNING or profile_import.processed_rows != start:
        return False
    records, errors = [], []
    for line, cells in chunk:
        record, problems = _check_row(columns, line, cells)
        if record:
            records.append(record)
        errors += problems
    created, updated = upsert_profiles(records) if records else (0, 0)
    profile_import.processed_rows += len(chunk)
    profile_import.created_profiles += created
    profile_import.updated_profiles += updated
    room = MAX_ERRORS - len(profile_import.errors)
    if room > 0 and errors:
        profile_import.errors = [*profile_import.errors, *errors[:room]]
    profile_import.save(update_fields=["processed_rows", "created_profiles", "updated_profiles", "errors"])
    return True


def _check_row(columns, line, cells):
    """(ProfileIn, []) for a good row, (None, [{row, field, reason}, ...]) for a bad one."""
    if len(cells) > len(columns.targets) and any(c.strip() for c in cells[len(columns.targets) :]):
        reason = f"has {len(cells)} cells but the header names {len(columns.targets)} columns"
        return None, [{"row": line, "field": "", "reason": reason}]
    try:
        return ProfileIn.model_validate(columns.record(cells)), []
    except ValidationError as exc:
        return None, [
            {"row": line, "field": columns.field_name(error["loc"]), "reason": _reason(error)}
            for error in exc.errors(include_url=False)
        ]


def _reason(error):
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _finish(import_id, status, error=None):
    with transaction.atomic():
        profile_import = ProfileImport.objects.select_for_update().get(pk=import_id)
        if profile_import.status != Status.RUNNING:
            return
        profile_import.status = status
        profile_import.finished_at = timezone.now()
        if error:
            profile_import.errors = [*profile_import.errors, error]
        profile_import.save(update_fields=["status", "finished_at", "errors"])


class _Echo:
    """A file-like object for csv.writer that hands each row back instead of storing it."""

    def write(self, value):
        return value


def export_lines(profiles, rows_per_chunk=1000):
    """The CSV text of ``profiles`` in pieces of ``rows_per_chunk`` rows, for a
    streaming response. Custom properties are the columns the property registry knows."""
    names = list(
        PropertyDefinition.objects.filter(scope=PropertyDefinition.Scope.PROFILE)
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()
    )
    writer = csv.writer(_Echo())
    # The byte-order mark makes Excel read the file as UTF-8; the import skips it.
    yield "\ufeff" + writer.writerow([*FIELDS, *(PROPERTY_PREFIX + name for name in names)])
    values = profiles.order_by("pk").values_list(*FIELDS, "properties")
    for chunk in _chunks(values.iterator(chunk_size=rows_per_chunk), rows_per_chunk):
        yield "".join(
            writer.writerow([*map(export_cell, row[:-1]), *(export_cell(row[-1].get(name)) for name in names)])
            for row in chunk
        )


def export_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    text = json.dumps(value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
