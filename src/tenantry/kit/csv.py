"""The one CSV writer of the product. Spreadsheets run a cell that starts with
``= + - @`` (or a tab or carriage return) as a formula, so every text cell that does is
written with a leading apostrophe: exports carry what users and callers typed (names,
titles, a failed sign-in's User-Agent), and opening one must never run it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run, made inert; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CsvWriter:
    """Rows in, text out, a row at a time (for streaming) or all at once."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def row(self, values: Iterable[Any]) -> str:
        """Write one row and return its text."""
        self._writer.writerow([safe_cell(v) for v in values])
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text

    def rows(self, rows: Iterable[Iterable[Any]]) -> Iterator[str]:
        for values in rows:
            yield self.row(values)


def to_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """A whole document: the header, then every row, formula-safe."""
    writer = CsvWriter()
    return writer.row(header) + "".join(writer.rows(rows))
