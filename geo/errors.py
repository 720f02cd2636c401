"""Domain errors raised by the core.

Every error names where the problem is (file, row, field) so that a planner can fix the
source. Errors subclass the matching built-in so callers may catch either.
"""

from __future__ import annotations

from pathlib import Path


class AtlasError(Exception):
    """Base class of all Atlas SPRO errors."""


class ValidationError(ValueError, AtlasError):
    """A source file (or a value in it) does not meet the expected contract.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file
        The source file, when the problem comes from a file.
    row
        1-based data row (CSV line number minus the header, or feature index + 1).
    field
        The column / property concerned.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.field = field
        self.skippable = False  # a row a tolerant load would leave out (geo.sources.tables.reject)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class MissingColumnError(ValidationError):
    """A required column is absent from a source file."""


class CrsError(ValidationError):
    """A geometry layer has no CRS, the wrong CRS, or coordinates that contradict it."""


class GeometryError(ValidationError):
    """A geometry is unparsable, empty, invalid, or outside the Région."""


class DuplicateError(ValidationError):
    """An identifier that must be unique appears more than once."""


class ReconciliationError(ValidationError):
    """Commune codes of two COG vintages could not be matched."""
