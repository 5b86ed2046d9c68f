"""Student strings made inert before they reach another program: a terminal, a spreadsheet.

A submission chooses its declared name, its printed output and its exception messages, and all
of them reach the grader's screen and the gradebook. On a terminal an escape sequence can move
the cursor and rewrite what was printed ("FAIL optimizer 0/10" shown as "PASS"); in a
spreadsheet a cell that starts with ``=`` is a formula (``=HYPERLINK(...)``). HTML is escaped
by the templates; these two are escaped here, and every printed line and CSV cell goes through
them.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and
# isolates that reorder what a terminal shows
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def for_terminal(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), not obeyed."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(text))


def for_csv(cell):
    """A CSV cell a spreadsheet will not run: text that a spreadsheet would read as a formula
    gets a leading apostrophe (OWASP's advice for CSV injection); numbers pass unchanged."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell
