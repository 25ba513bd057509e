"""CSV files that a spreadsheet opens without running anything a user typed.

Excel, LibreOffice and Google Sheets treat a cell starting with `=`, `+`, `-`, `@`, a tab or a
carriage return as a formula (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`). Every text cell of an
export goes through `safe_cell`, which prefixes such text with an apostrophe (OWASP's advice):
shown as typed, never evaluated. Numbers, dates and booleans are written as they are.
"""

import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` whose every text cell is neutralised."""

    def __init__(self, buffer):
        self._writer = csv.writer(buffer)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_text(rows) -> str:
    buffer = io.StringIO()
    SafeWriter(buffer).writerows(rows)
    return buffer.getvalue()
