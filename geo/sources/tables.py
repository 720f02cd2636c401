"""Reading the tables a planner gives: one policy for every CSV and JSON file.

Encoding
    UTF-8, with or without a byte order mark. Anything else is refused with a message that
    names the row and the column of the first character that is not UTF-8 and says how to
    convert the file: Latin-1/Windows-1252 (what Excel writes by default), UTF-16 (Excel's
    « Texte Unicode »), NUL bytes (a binary file), and text already garbled by a wrong
    decoding (``Ã©`` for ``é``). Guessing an encoding would silently misspell names.
Separators (CSV)
    ``;``, ``,`` or tab, whichever the header line holds most of; values may be quoted.
Rows
    Named as the planner sees them: in a CSV the spreadsheet row (the header is row 1, the
    first data row 2), in a JSON list the 1-based position of the record. Blank rows are
    skipped, trailing empty cells ignored; a row with too many or too few values, a value
    over :data:`MAX_CELL_CHARS` characters (an unclosed quote) and a duplicated column name
    are refused.

The small text helpers below (postcodes, dates, booleans, lists ``a|b``) are shared by
every reader of :mod:`geo.sources`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from geo.errors import MissingColumnError, ValidationError

MAX_CELL_CHARS = 131_072
"""Longest value accepted in a CSV cell (the ``csv`` module's default limit): anything longer is
almost always an opening quote without its closing quote, which swallows the rest of the file."""

_MOJIBAKE_MARKERS = ("\u00c3", "\u00c2", "\u00e2\u20ac")  # "Ã", "Â", "â€": UTF-8 bytes read as Windows-1252

_TRUE = frozenset({"true", "vrai", "oui", "yes", "1"})

_FALSE = frozenset({"false", "faux", "non", "no", "0"})

_POSTCODE = re.compile(r"\d{5}")


@dataclass(frozen=True)
class Table:
    """A CSV file read as text: its columns and its rows (spreadsheet row number, values)."""

    file: Path
    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]
    separator: str


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        msg = "file not found"
        raise ValidationError(msg, file=path) from exc
    except OSError as exc:  # a folder, no permission...
        msg = f"cannot read the file: {exc.strerror or exc}"
        raise ValidationError(msg, file=path) from exc


def decode_utf8(
    raw: bytes,
    file: Path,
    *,
    locate: Callable[[bytes, int], tuple[int | None, str | None]] | None = None,
    save_as: str = "UTF-8",
) -> str:
    """The text of a file under the one encoding policy (see the module's docstring).

    Parameters
    ----------
    raw
        The file's bytes.
    file
        The file, named in errors.
    locate
        ``(raw, position of the first bad byte) -> (row, field)`` of the first value that is
        not UTF-8, in the reader's own numbering; default: the line number.
    save_as
        What to tell the planner to save the file as (e.g. « CSV UTF-8 »).
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        msg = f"the file is UTF-16 text (Excel « Texte Unicode »); save it as {save_as} instead"
        raise ValidationError(msg, file=file, row=1)
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        utf16 = max(raw[0::2].count(0), raw[1::2].count(0)) > len(raw) // 4
        kind = "UTF-16 text without byte order mark" if utf16 else "a binary file"
        msg = f"NUL bytes in the file: {kind}, not UTF-8 text; save it as {save_as}"
        raise ValidationError(msg, file=file, row=line)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        row, field = locate(raw, exc.start) if locate is not None else (line, None)
        msg = (
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); it was probably saved "
            f"as Latin-1/Windows-1252 (as Excel does by default). Convert it to UTF-8, e.g. "
            f"`iconv -f WINDOWS-1252 -t UTF-8 old > new`, or save it as {save_as}"
        )
        raise ValidationError(msg, file=file, row=row, field=field) from exc


def read_text(path: str | Path, *, save_as: str = "UTF-8") -> str:
    """A text file (a manifest, for example) read under the one encoding policy; line numbers in errors."""
    file = Path(path)
    return decode_utf8(read_bytes(file), file, save_as=save_as)


def _locate_non_utf8(raw: bytes, position: int) -> tuple[int, str | None]:
    """Spreadsheet row and column of the first cell that is not valid UTF-8."""
    text = raw.decode("latin-1")  # never fails: one character per byte
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_separator(text))
    header: list[str] = []
    for row, cells in enumerate(reader, start=1):
        cells = [
            cell.encode("latin-1").decode("utf-8", errors="replace").lstrip("\ufeff").strip() if row == 1 else cell
            for cell in cells
        ]
        if row == 1:
            header = cells
            if any("\ufffd" in cell for cell in cells):
                return 1, None
            continue
        for col, cell in enumerate(cells):
            try:
                cell.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                return row, header[col] if col < len(header) else None
    return raw[:position].count(b"\n") + 1, None


def sniff_separator(text: str) -> str:
    """The separator the header line holds most of: ``,`` unless ``;`` (then tab) is more frequent."""
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    best = ","
    for separator in (";", "\t"):
        if first_line.count(separator) > first_line.count(best):
            best = separator
    return best


def read_csv_table(path: str | Path) -> Table:
    """Read a CSV as text: UTF-8 (BOM accepted), ``,``, ``;`` or tab (sniffed from the header).

    Refused with a ValidationError naming the row and, when known, the column: a file that is
    not UTF-8 (Latin-1, UTF-16) or holds NUL bytes, an empty file, a row whose number of values
    differs from the header's, a value longer than :data:`MAX_CELL_CHARS`, and text that was
    already garbled by a wrong decoding (``Ã©`` for ``é``).
    """
    file = Path(path)
    text = decode_utf8(read_bytes(file), file, locate=_locate_non_utf8, save_as="« CSV UTF-8 »")
    if not text.strip():
        msg = "empty file: expected a header row"
        raise ValidationError(msg, file=file)
    separator = sniff_separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    check_mojibake = any(marker in text for marker in _MOJIBAKE_MARKERS)
    row = 1  # spreadsheet row being read (a quoted value may span several lines)
    previous_limit = csv.field_size_limit(max(len(text), MAX_CELL_CHARS))  # long cells are refused below
    try:
        header = [cell.strip() for cell in next(reader)]
        _check_cells(header, header, file=file, row=1, check_mojibake=check_mojibake)
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            msg = f"column(s) {', '.join(duplicated)} appear more than once in the header"
            raise ValidationError(msg, file=file, row=1, field=duplicated[0])
        rows = []
        row = 2
        for cells in reader:
            if any(cell.strip() for cell in cells):  # else a blank spreadsheet row
                _check_cells(cells, header, file=file, row=row, check_mojibake=check_mojibake)
                rows.append((row, _row_values(header, cells, file=file, row=row, separator=separator)))
            row += 1
    except csv.Error as exc:
        msg = f"unreadable CSV: {exc}"
        raise ValidationError(msg, file=file, row=row) from exc
    finally:
        csv.field_size_limit(previous_limit)
    return Table(file=file, columns=tuple(header), rows=rows, separator=separator)


def _check_cells(cells: list[str], header: list[str], *, file: Path, row: int, check_mojibake: bool) -> None:
    """Refuse over-long values and garbled (double-decoded) text, naming the column."""
    if not check_mojibake and max(map(len, cells), default=0) <= MAX_CELL_CHARS:
        return  # the common case, kept fast for large files
    for col, cell in enumerate(cells):
        field = header[col] if col < len(header) else None
        if len(cell) > MAX_CELL_CHARS:
            msg = (
                f"a value of {len(cell):,} characters (at most {MAX_CELL_CHARS:,}): an opening quote without "
                f"its closing quote, which swallows the following rows, or a file that is not a CSV?"
            )
            raise ValidationError(msg, file=file, row=row, field=field)
        if check_mojibake and (fixed := _undo_mojibake(cell)) is not None:
            msg = (
                f"garbled text {_excerpt(cell)!r} (should read {_excerpt(fixed)!r}): the file was decoded "
                f"with the wrong encoding before being saved as UTF-8; fix the accents or export it again"
            )
            raise ValidationError(msg, file=file, row=row, field=field)


def _undo_mojibake(text: str) -> str | None:
    """The original text when ``text`` is UTF-8 decoded as Windows-1252 or Latin-1 ("Ã©" for "é")."""
    if not any(marker in text for marker in _MOJIBAKE_MARKERS):
        return None
    for encoding in ("cp1252", "latin-1"):
        try:
            fixed = text.encode(encoding).decode("utf-8")
        except UnicodeError:
            continue
        if fixed != text:
            return fixed
    return None


def _excerpt(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _row_values(header: list[str], cells: list[str], *, file: Path, row: int, separator: str) -> dict[str, str]:
    if len(cells) > len(header) and not any(cell.strip() for cell in cells[len(header) :]):
        cells = cells[: len(header)]  # trailing empty cells, as some spreadsheets write them
    multiline = next((col for col, cell in enumerate(cells) if "\n" in cell or "\r" in cell), None)
    if len(cells) != len(header) and multiline is not None:
        field = header[multiline] if multiline < len(header) else None
        lines = cells[multiline].count("\n") + 1
        msg = (
            f"{len(cells)} values where the header has {len(header)} columns, and a value running over "
            f'{lines} lines: a quote (") opened in this value is probably never closed'
        )
        raise ValidationError(msg, file=file, row=row, field=field)
    if len(cells) > len(header):
        msg = (
            f"{len(cells)} values where the header has {len(header)} columns (separator {separator!r}): "
            f"an unquoted separator inside a value?"
        )
        raise ValidationError(msg, file=file, row=row)
    if len(cells) < len(header):
        msg = (
            f"{len(cells)} values where the header has {len(header)} columns (separator {separator!r}): "
            f"no value from column '{header[len(cells)]}' on; the row is cut short (truncated file?) "
            f"or a separator is missing"
        )
        raise ValidationError(msg, file=file, row=row, field=header[len(cells)])
    return dict(zip(header, cells, strict=True))


_T = TypeVar("_T")
_R = TypeVar("_R")

Rejections = list[ValidationError]
"""Where a tolerant load (``atlas load --skip-invalid-rows``) puts the errors of the rows it
leaves out; ``None`` instead of a list means strict: the first error stops the load."""


def per_row(items: Iterable[_T], build: Callable[[_T], _R], rejections: Rejections | None) -> list[_R]:
    """``build`` applied to every item; an error naming a row rejects that row when
    ``rejections`` is a list (the row is left out), and is raised otherwise."""
    built = []
    for item in items:
        try:
            built.append(build(item))
        except ValidationError as exc:
            reject(exc, rejections)
    return built


def reject(error: ValidationError, rejections: Rejections | None) -> None:
    """Record ``error`` in ``rejections``, or raise it: when strict, or when it names no row
    (a whole file is wrong)."""
    if error.row is None:
        raise error
    if rejections is None:
        error.skippable = True
        raise error
    rejections.append(error)


def require_columns(table: Table, required: Iterable[str]) -> None:
    for column in required:
        if column not in table.columns:
            msg = f"missing column '{column}' (found: {', '.join(table.columns)}; separator {table.separator!r})"
            raise MissingColumnError(msg, file=table.file, row=1, field=column)  # row 1: the header


def require_data_rows(table: Table) -> None:
    """Refuse a structures file holding only its header: a load would empty the dataset."""
    if not table.rows:
        msg = "no data row after the header: an empty or truncated export? (loading it would empty the dataset)"
        raise ValidationError(msg, file=table.file, row=2)


MAX_JSON_NUMBER_CHARS = 64
"""Longest number accepted in a JSON file: longer is no coordinate, code or count, and Python
refuses integers of more than 4,300 digits with an error that names nothing."""


@dataclass(frozen=True)
class _RefusedNumber:
    """A JSON number that cannot be a value (too long, NaN, Infinity), kept to name its row."""

    text: str

    def reason(self) -> str:
        if len(self.text) > MAX_JSON_NUMBER_CHARS:
            return f"a number of {len(self.text):,} characters (at most {MAX_JSON_NUMBER_CHARS})"
        if self.text in ("NaN", "Infinity", "-Infinity"):
            return f"{self.text} is not a JSON number (JSON has no NaN nor Infinity)"
        return f"{self.text} is beyond the largest number a computer stores (infinite once read)"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _refused_value(value: Any) -> str | None:
    """Why a value parsed from JSON cannot be stored (or None): a NUL character, a lone
    surrogate, an over-long text, a refused number."""
    if isinstance(value, _RefusedNumber):
        return value.reason()
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        return "a NUL character (\\u0000), which no text can hold"
    if _SURROGATE.search(value):
        return (
            "a lone UTF-16 surrogate (\\ud800-\\udfff), which is no character (text cut in the middle "
            "of an emoji, or written by a broken export)"
        )
    if len(value) > MAX_CELL_CHARS:
        return f"a value of {len(value):,} characters (at most {MAX_CELL_CHARS:,})"
    return None


_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
"""JSON escapes that may decode to a NUL or a lone surrogate (raw ones cannot pass UTF-8 decoding)."""

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def read_json(file: Path, *, records: Callable[[Any], Iterable[tuple[int, Any]]] | None = None) -> Any:
    """Parse a UTF-8 JSON file (BOM accepted) with errors naming what is wrong.

    ``records`` gives the (row, record) pairs of the parsed document, used to name the row
    and the field of text that is not UTF-8, garbled by a wrong decoding, or that no text
    field can hold (a NUL character, a lone surrogate, more than :data:`MAX_CELL_CHARS`
    characters), and of numbers longer than :data:`MAX_JSON_NUMBER_CHARS` characters, NaN
    or Infinity. A document nested too deep for the parser is refused too.
    """
    raw = read_bytes(file)
    if not raw.strip(b"\xef\xbb\xbf \t\r\n"):
        msg = "empty file: expected JSON"
        raise ValidationError(msg, file=file)
    text = decode_utf8(
        raw, file, locate=lambda data, _position: _locate_in_json(data.decode("latin-1"), records, _not_utf8)[:2]
    )
    refused_numbers = False

    def number(text: str, parse: Callable[[str], Any]) -> Any:
        nonlocal refused_numbers
        value = parse(text) if len(text) <= MAX_JSON_NUMBER_CHARS else None
        if value is None or (isinstance(value, float) and not math.isfinite(value)):  # 1e999 is inf
            refused_numbers = True
            return _RefusedNumber(text)
        return value

    def constant(text: str) -> _RefusedNumber:
        nonlocal refused_numbers
        refused_numbers = True
        return _RefusedNumber(text)

    try:
        data = json.loads(
            text,
            parse_int=lambda t: number(t, int),
            parse_float=lambda t: number(t, float),
            parse_constant=constant,
        )
    except json.JSONDecodeError as exc:
        cut = not text.rstrip().endswith(("}", "]"))
        what = exc.msg.removesuffix(" starting at")
        msg = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {what}" + (
            " (the file does not end with '}' or ']': truncated file?)" if cut else ""
        )
        raise ValidationError(msg, file=file) from exc
    except RecursionError as exc:
        msg = "JSON nested too deep (arrays or objects inside one another hundreds of times): not a data file"
        raise ValidationError(msg, file=file) from exc
    long_text = len(text) > MAX_CELL_CHARS and any(
        m.end() - m.start() > MAX_CELL_CHARS for m in _JSON_STRING.finditer(text)
    )
    if refused_numbers or long_text or _SUSPECT_ESCAPE.search(text):
        row, field, value = _locate_in_json(data, records, lambda v: _refused_value(v) is not None)
        if value is not None:
            raise ValidationError(str(_refused_value(value)), file=file, row=row, field=field)
    if records is not None and any(marker in text for marker in _MOJIBAKE_MARKERS):
        row, field, _value = _locate_in_json(
            data, records, lambda v: isinstance(v, str) and _undo_mojibake(v) is not None
        )
        if row is not None:
            msg = (
                "garbled text (such as 'Ã©' for 'é'): the file was decoded with the wrong encoding "
                "before being saved as UTF-8; fix the accents or export it again"
            )
            raise ValidationError(msg, file=file, row=row, field=field)
    return data


def _not_utf8(value: Any) -> bool:
    """For text decoded as Latin-1: whether its bytes are not valid UTF-8."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return True
    return False


def _values(document: Any) -> Iterable[Any]:
    """Every key and scalar value of a parsed JSON document, depth first, without recursion."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                stack.append(item)
                stack.append(key)
        elif isinstance(value, list):
            stack.extend(reversed(value))
        else:
            yield value


def _locate_in_json(
    document: Any, records: Callable[[Any], Iterable[tuple[int, Any]]] | None, bad: Callable[[Any], bool]
) -> tuple[int | None, str | None, Any]:
    """``(row, top-level field, value)`` of the first key or value for which ``bad`` is true: in
    the records first (named by row and field), then anywhere in the document (row and field
    None); ``(None, None, None)`` when there is none."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except (json.JSONDecodeError, RecursionError):
            return None, None, None
    pairs: list[tuple[int, Any]] = []
    if records is not None:
        try:
            pairs = list(records(document))
        except (AttributeError, TypeError, KeyError):
            pairs = []
    for row, record in pairs:
        items = record.items() if isinstance(record, dict) else [(None, record)]
        for key, value in items:
            for found in _values([key, value]):
                if bad(found):
                    return row, None if key is None else str(key), found
    for found in _values(document):
        if bad(found):
            return None, None, found
    return None, None, None


def cell_text(value: Any) -> str:
    """A scalar as clean text ("" for None, NaN or lists): the one normalisation of every
    name, address or code a source gives.

    Unicode NFC; control characters and every kind of space or line break made one space;
    invisible format characters removed (zero-width spaces and joiners, bidirectional
    overrides and isolates that would reorder a name on screen, soft hyphens, byte order
    marks); spaces collapsed and trimmed.
    """
    if value is None or isinstance(value, (list, dict)):
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    text = str(value)
    if text.isprintable() and "  " not in text and unicodedata.is_normalized("NFC", text):
        return text.strip()  # the common case, kept fast for large files
    text = unicodedata.normalize("NFC", text)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cf":
            continue
        kept.append(" " if category in ("Cc", "Zs", "Zl", "Zp") else char)
    return " ".join("".join(kept).split())


def blank_to_none(value: Any) -> str | None:
    return cell_text(value) or None


def join_text(parts: Iterable[str]) -> str | None:
    """Non-empty parts joined by ", " (address lines), or None."""
    kept = [text for text in map(cell_text, parts) if text]
    return ", ".join(kept) or None


def required_text(values: Mapping[str, str], column: str, *, file: Path, row: int) -> str:
    """A value that must not be empty, as :func:`cell_text` cleans it."""
    text = cell_text(values[column])
    if not text:
        msg = "empty value (or only spaces and invisible characters)"
        raise ValidationError(msg, file=file, row=row, field=column)
    return text


def postcode(text: str, *, file: Path, row: int, field: str) -> str | None:
    """A French postcode (5 digits, spaces ignored) or None when empty."""
    value = blank_to_none(text)
    if value is not None and not _POSTCODE.fullmatch("".join(value.split())):
        msg = f"postcode {value!r} is not 5 digits (a leading 0 lost by a spreadsheet, or text in a numeric column?)"
        raise ValidationError(msg, file=file, row=row, field=field)
    return value


def iso_date(text: str, *, file: Path | None = None, row: int | None = None, field: str | None = None) -> str | None:
    """ "09/08/2023 13:30:19" or "2023-08-09T13:30:19+00:00" -> "2023-08-09"; "" -> None.

    Anything else, or a date that does not exist (31/02/2024), is a ValidationError.
    """
    if not text:
        return None
    if match := re.match(r"(\d{2})/(\d{2})/(\d{4})(?![\d/])", text):
        day, month, year = (int(g) for g in match.groups())
    elif match := re.match(r"(\d{4})-(\d{2})-(\d{2})(?![\d-])", text):
        year, month, day = (int(g) for g in match.groups())
    else:
        msg = f"unreadable date {text!r}: expected DD/MM/YYYY or YYYY-MM-DD"
        raise ValidationError(msg, file=file, row=row, field=field)
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError as exc:
        msg = f"{text!r} is not a real date ({exc})"
        raise ValidationError(msg, file=file, row=row, field=field) from exc


def parse_bool(text: str, *, file: Path, row: int, field: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    msg = f"expected true or false, got {text!r}"
    raise ValidationError(msg, file=file, row=row, field=field)


def parse_yes_no(text: str, *, file: Path, row: int, field: str) -> bool | None:
    """``oui``/``non`` (or true/false, yes/no, 1/0) as a boolean; empty as None (not said)."""
    value = text.strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    msg = f"expected Oui or Non, got {text!r}"
    raise ValidationError(msg, file=file, row=row, field=field)


def vocabulary_list(text: str, vocabulary: tuple[str, ...], *, file: Path, row: int, field: str) -> list[str]:
    """Split ``a|b`` into known terms, in the vocabulary's order; unknown terms are an error."""
    items = {item.strip() for item in text.split("|") if item.strip()}
    unknown = sorted(items - set(vocabulary))
    if unknown:
        msg = f"unknown value(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(vocabulary)}"
        raise ValidationError(msg, file=file, row=row, field=field)
    return [term for term in vocabulary if term in items]


def embedded_list(value: Any, *, file: Path, row: int, field: str) -> list[Any]:
    """A list field, given as a list, a single object, JSON text or nothing."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if not text.startswith(("[", "{")):
            return [text]
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"invalid JSON text: {exc.msg}"
            raise ValidationError(msg, file=file, row=row, field=field) from exc
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def first_value(value: Any, *, file: Path, row: int, field: str) -> str | None:
    """First non-empty item of a list of strings or of ``{"valeur": ...}`` objects."""
    for item in embedded_list(value, file=file, row=row, field=field):
        text = cell_text(item.get("valeur")) if isinstance(item, dict) else cell_text(item)
        if text:
            return text
    return None


MAX_URL_CHARS = 2_048
"""Longest web address accepted (what browsers and search engines handle everywhere)."""

_URL = re.compile(r"https?://[^\s/?#@\\<>\"'`]+\.[^\s/?#@\\<>\"'`]+(?:[/?#][^\s\\<>\"'`]*)?", re.IGNORECASE)
"""``http(s)://host.tld`` then a path, query or fragment: no user name (``https://cio.fr@evil``
goes to ``evil``), no space, quote, angle bracket or backslash anywhere."""


def web_address(text: str | None, *, file: Path, row: int, field: str) -> str | None:
    """A place's web site as ``http(s)://…`` (``www.…`` gets ``https://``); None when empty.

    Anything else (spaces, another scheme such as ``javascript:``, over :data:`MAX_URL_CHARS`
    characters) is refused: the address is shown to the public.
    """
    value = cell_text(text)
    if not value:
        return None
    if value.lower().startswith("www."):
        value = "https://" + value
    if len(value) > MAX_URL_CHARS or not _URL.fullmatch(value):
        shown = f"a text of {len(value):,} characters" if len(value) > 80 else repr(value)
        msg = f"{shown} is not a web address such as https://www.exemple.fr (at most {MAX_URL_CHARS:,} characters)"
        raise ValidationError(msg, file=file, row=row, field=field)
    return value


def slug(text: str) -> str:
    """Lowercase ASCII words joined by ``-`` ("Mission locale Vitré" -> "mission-locale-vitre")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def code_text(value: object) -> str | None:
    """A code as text: "53" and 53 are the same code, None stays None."""
    if value is None or isinstance(value, bool):
        return None
    return str(value).strip()


def read_json_list(path: str | Path) -> list[dict]:
    """Read a JSON file holding a list of objects, with a clear error otherwise."""
    data = read_json(Path(path), records=lambda d: enumerate(d, start=1) if isinstance(d, list) else [])
    if not isinstance(data, list):
        kind = {dict: "object", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(data), "null")
        msg = f"expected a JSON array of objects, got a JSON {kind}"
        raise ValidationError(msg, file=path)
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            got = "an array" if isinstance(item, list) else f"the value {_excerpt(str(item), 40)!r}"
            msg = f"expected an object, got {got}"
            raise ValidationError(msg, file=path, row=i)
    if not data:
        msg = "empty list: expected one object per entry"
        raise ValidationError(msg, file=path)
    return data
