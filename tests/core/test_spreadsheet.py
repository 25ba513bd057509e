import csv
import io

import pytest

from core.spreadsheet import csv_text, safe_cell


@pytest.mark.parametrize(
    "typed", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"]
)
def test_text_a_spreadsheet_would_evaluate_is_kept_as_text(typed):
    assert safe_cell(typed) == "'" + typed
    assert next(csv.reader(io.StringIO(csv_text([[typed]]))))[0] == "'" + typed


@pytest.mark.parametrize("value", ["plain", "a=b", "", 5, -5, 2.5, True, None])
def test_other_cells_are_written_as_they_are(value):
    assert safe_cell(value) == value
