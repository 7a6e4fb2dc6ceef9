"""Reading a register file as GP systems export it, one line at a time.

UTF-8 (with or without a byte order mark) or Windows-1252, comma or tab separated, a header
row naming the columns in any case. Nothing is read whole: a line longer than
``MAX_LINE_BYTES`` is skipped unread and reported, so memory stays flat whatever the file.
A quoted value cannot run over two lines (registers have none).
"""

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import lazy_gettext as _l

MAX_LINE_BYTES = 16 * 1024
MAX_COLUMNS = 40
_SKIP_CHUNK = 64 * 1024

REQUIRED = (
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "registered_on",
    "conditions",
)
OPTIONAL = (
    "initial_assessment_date",
    "existing_plan_reviewed_on",
    "ethnicity",
    "preferred_language",
    "interpreter_needed",
    "communication_needs",
    "email",
    "mobile",
    "postcode",
    "nhs_number_status",
)


class FileProblem(Exception):
    """The whole file cannot be read; ``message`` says why in words a practice can act on."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Line:
    number: int
    cells: list[str] | None  # None: the line could not be read
    problem: object = None  # why not, when ``cells`` is None


@dataclass
class Progress:
    bytes_read: int = 0


def _raw_lines(stream: BinaryIO, progress: Progress) -> Iterator[bytes | None]:
    """Each line's bytes without its line ending; None for a line too long to read."""
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        progress.bytes_read += len(raw)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (more := stream.readline(_SKIP_CHUNK)) and not more.endswith(b"\n"):
                progress.bytes_read += len(more)
            progress.bytes_read += len(more)
            yield None
            continue
        yield raw.rstrip(b"\r\n")


class _Decoder:
    """UTF-8 until a line proves otherwise; then Windows-1252, if nothing before needed UTF-8."""

    def __init__(self):
        self.encoding = "utf-8"
        self.seen_non_ascii = False

    def decode(self, raw: bytes) -> str | None:
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError:
            if self.encoding != "utf-8" or self.seen_non_ascii:
                return None
            self.encoding = "cp1252"
            try:
                text = raw.decode(self.encoding)
            except UnicodeDecodeError:
                return None
        if not raw.isascii():
            self.seen_non_ascii = True
        return text


def _check_start(first: bytes) -> None:
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem(
            _l("The file is saved as UTF-16. Save it as CSV UTF-8 (comma delimited) and try again.")
        )
    if first.startswith(b"PK\x03\x04") or first.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(
            _l("This is a spreadsheet file, not a CSV file. Save it as CSV UTF-8 and try again.")
        )
    if b"\x00" in first:
        raise FileProblem(_l("This is not a CSV file. Choose the CSV file of the register."))


def read_header(text: str) -> tuple[str, list[str]]:
    """The delimiter and the column names (lower case); a clear problem when they will not do."""
    delimiter = "\t" if text.count("\t") > text.count(",") else ","
    try:
        names = next(csv.reader([text], delimiter=delimiter))
    except (csv.Error, StopIteration):
        names = []
    columns = [name.strip().lower() for name in names]
    if len(columns) > MAX_COLUMNS:
        raise FileProblem(
            _l(
                "The first row has %(num)d columns. A register file has at most %(max)d: "
                "check that the file is the register export.",
                num=len(columns),
                max=MAX_COLUMNS,
            )
        )
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise FileProblem(
            _l("These columns appear more than once: %(names)s", names=", ".join(repeated))
        )
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise FileProblem(
            _l(
                "The first row must name the columns. These are missing: %(names)s",
                names=", ".join(missing),
            )
        )
    return delimiter, columns


def read(stream: BinaryIO, progress: Progress | None = None) -> tuple[list[str], Iterator[Line]]:
    """The column names, and the data lines one by one (blank lines left out).

    Raises ``FileProblem`` for a file that cannot be a register, before any row is read.
    """
    progress = progress or Progress()
    raw_lines = _raw_lines(stream, progress)
    first = next(raw_lines, b"")
    if first is None:
        raise FileProblem(_l("The first row is too long. Check that this is the register file."))
    if not first.strip():
        raise FileProblem(_l("The file is empty, or its first row is blank."))
    _check_start(first)
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    decoder = _Decoder()
    header = decoder.decode(first)
    if header is None:
        raise FileProblem(_l("The first row cannot be read. Save the file as CSV UTF-8."))
    delimiter, columns = read_header(header)
    return columns, _data_lines(raw_lines, decoder, delimiter)


def _data_lines(raw_lines, decoder: _Decoder, delimiter: str) -> Iterator[Line]:
    for number, raw in enumerate(raw_lines, start=2):
        if raw is None:
            yield Line(number, None, _l("The line is too long to be a register row."))
            continue
        if not raw.strip():
            continue
        text = decoder.decode(raw)
        if text is None:
            yield Line(number, None, _l("The line is not text the portal can read (encoding)."))
            continue
        try:
            cells = next(csv.reader([text], delimiter=delimiter))
        except (csv.Error, StopIteration):
            yield Line(number, None, _l("The line cannot be read as CSV."))
            continue
        yield Line(number, cells)
