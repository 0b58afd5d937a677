"""Spreadsheet files of records that hold text only: no cell of a CSV or XLSX file is a formula.

A class name, subject, student id or photo name starting with ``=``, ``+``, ``-`` or ``@`` (or a tab
or carriage return) would run as a formula when the file is opened in a spreadsheet program (for
example ``=HYPERLINK("http://evil.example","x")``). In CSV such a cell gets the usual leading
apostrophe; in XLSX it is written as a string cell, keeping its exact text, and marked so that editing
it does not turn it into a formula either.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pandas loads when a table is made, not with the records (a dashboard's first page needs none)
    import pandas as pd

#: First characters that make a spreadsheet program read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: Any) -> Any:
    """``value`` with a leading apostrophe if it is text a spreadsheet would read as a formula; else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot be read as formulas (see :func:`spreadsheet_text`)."""
    import pandas as pd

    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
            safe[col] = safe[col].map(spreadsheet_text)
    safe.columns = [spreadsheet_text(c) for c in safe.columns]
    return safe


def write_csv(frame: pd.DataFrame, path_or_buffer) -> None:
    """Write ``frame`` as CSV (no index, RFC 4180 line ends) with formula-like text neutralised."""
    # CRLF line ends make the writer quote a cell holding a lone carriage return, which readers would
    # otherwise take for the end of the row (and the rest of the cell for a new, unprotected one).
    csv_safe(frame).to_csv(path_or_buffer, index=False, lineterminator="\r\n")


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path) -> None:
    """Write each frame as a sheet of an .xlsx workbook (no index); text stays text, never a formula."""
    import pandas as pd

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            for row in writer.sheets[name].iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                        cell.data_type = "s"  # openpyxl takes any text starting with "=" for a formula
                        cell.quotePrefix = True  # and the spreadsheet program keeps it text when edited
