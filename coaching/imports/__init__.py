"""Checking CSV imports: rows of text in, plain values or problems out.

Pure: no I/O, no clock (``today`` is passed in). :mod:`bot.importer` reads the file, hands the
header and each row here, and writes only what passed. A problem is a :class:`Msg`; the caller
pairs it with the CSV line number (the header is line 1).

Promise outcomes follow the dates: a promise marked ``kept`` or ``kept_late`` counts as kept on
time when ``promise_closed_on`` is on or before ``promise_due`` and as kept late after it, so the
points always match the dates written in the file.

The file's shape (columns, header, rows) is in :mod:`.shape`, reading one cell in :mod:`.cells`,
and the two kinds of file in :mod:`.roster` and :mod:`.interactions`. The bulk import replays the
checked touches through ``services.record_touch`` over the in-memory store of :mod:`.replay`.
"""

from coaching.imports.cells import email_of, parse_day
from coaching.imports.interactions import (
    NOT_WON_WORDS,
    OUTCOME_WORDS,
    WON_WORDS,
    TouchLine,
    check_interactions,
    external_id,
    parse_interaction_row,
)
from coaching.imports.roster import NO_WORDS, YES_WORDS, RosterLine, check_roster, parse_roster_row
from coaching.imports.shape import (
    INTERACTIONS,
    MAX_EMAIL_CHARS,
    MAX_FIELD_CHARS,
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    ROSTER,
    SHOWN_CHARS,
    SHOWN_COLUMNS,
    Columns,
    Problem,
    Row,
    check_header,
    is_blank,
    row_of,
    shown,
)

__all__ = [
    "INTERACTIONS", "MAX_EMAIL_CHARS", "MAX_FIELD_CHARS", "MAX_ID_CHARS", "MAX_NAME_CHARS", "NOT_WON_WORDS",
    "NO_WORDS", "OUTCOME_WORDS", "ROSTER", "SHOWN_CHARS", "SHOWN_COLUMNS", "WON_WORDS", "YES_WORDS", "Columns",
    "Problem", "RosterLine", "Row", "TouchLine", "check_header", "check_interactions", "check_roster",
    "email_of", "external_id", "is_blank", "parse_day", "parse_interaction_row", "parse_roster_row", "row_of",
    "shown",
]
