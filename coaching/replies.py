"""Platform-neutral replies. Slack renders them as Block Kit, Teams as Adaptive Cards, the
console as text; all of them get the same lines and the same choices."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from coaching.messages import Msg

# What no channel shows raw from user text: C0 and C1 controls but tab and newline (ANSI escapes,
# NUL, a carriage return that overwrites the line), the bidi embeddings, overrides and isolates
# that would reorder the words around a name (marks such as U+200F stay), and lone surrogates,
# which cannot be encoded for sending.
_UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    """User text with nothing that could drive a terminal or reorder a line. A carriage return
    becomes a line break (and CR LF one line break), so no word is lost."""
    return _UNSHOWABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass(frozen=True)
class Choice:
    value: str  # what comes back when the user picks it (also accepted typed)
    label: Msg | str  # a catalogue message, or user text such as a client name


@dataclass(frozen=True)
class RepSeries:
    """One rep in a team chart: their book's credit balance at each of the chart's dates, and
    their touches in the period by purpose."""

    name: str
    balances: tuple[int, ...]
    gives: int
    asks: int
    services: int
    key: str = ""  # who it is when names repeat (the rep's e-mail)


@dataclass(frozen=True)
class Chart:
    """A chart described as data; each channel draws it (``bot/charts.py``) and shows it its own
    way: an uploaded file in Slack, an image in a Teams card, a file path in the console."""

    title: Msg
    dates: tuple[date, ...]
    reps: tuple[RepSeries, ...]
    name: str = "chart"  # a file name stem, e.g. "teamhealth-east-2026-11-23"


@dataclass(frozen=True)
class Reply:
    lines: tuple[Msg | str, ...]
    choices: tuple[Choice, ...] = ()
    ephemeral: bool = False  # only the asking user should see it (Slack)
    chart: Chart | None = None  # a picture that goes with the lines (team health)
    picker: str | None = None  # "client": a channel may offer type-ahead search over clients
    # Choices that belong to particular lines (a digest item's buttons): how many of ``choices``
    # follow each line, in order. Empty: all choices follow the last line.
    line_choices: tuple[int, ...] = ()

    def groups(self) -> list[tuple[Msg | str, tuple[Choice, ...]]]:
        """Each line with the choices that belong to it."""
        counts = self.line_choices or (0,) * (len(self.lines) - 1) + (len(self.choices),)
        groups, start = [], 0
        for line, count in zip(self.lines, counts):
            groups.append((line, self.choices[start:start + count]))
            start += count
        return groups

    @classmethod
    def of(cls, *lines: Msg | str, choices: tuple[Choice, ...] = (), ephemeral: bool = False,
           picker: str | None = None, chart: Chart | None = None) -> Reply:
        return cls(tuple(lines), choices, ephemeral, picker=picker, chart=chart)

    @classmethod
    def of_items(cls, header: tuple[Msg | str, ...], items: list[tuple[Msg | str, tuple[Choice, ...]]]) -> Reply:
        """A header, then items that each carry their own choices (a digest)."""
        lines = header + tuple(line for line, _ in items)
        choices = tuple(c for _, cs in items for c in cs)
        return cls(lines, choices, line_choices=(0,) * len(header) + tuple(len(cs) for _, cs in items))
