"""Platform-neutral replies. Slack renders them as Block Kit, Teams as Adaptive Cards, the
console as text; all of them get the same lines and the same choices."""

from __future__ import annotations

from dataclasses import dataclass, field

from coaching.messages import Msg


@dataclass(frozen=True)
class Choice:
    value: str  # what comes back when the user picks it (also accepted typed)
    label: Msg | str  # a catalogue message, or user text such as a client name


@dataclass(frozen=True)
class Reply:
    lines: tuple[Msg | str, ...]
    choices: tuple[Choice, ...] = ()
    ephemeral: bool = False  # only the asking user should see it (Slack)
    attachments: tuple[str, ...] = field(default=())  # file paths (charts)
    picker: str | None = None  # "client": a channel may offer type-ahead search over clients

    @classmethod
    def of(cls, *lines: Msg | str, choices: tuple[Choice, ...] = (), ephemeral: bool = False,
           picker: str | None = None) -> Reply:
        return cls(tuple(lines), choices, ephemeral, picker=picker)
