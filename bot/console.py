"""The console channel: the real engine, in a terminal.

It is the same engine Slack and Teams use; only the transport (stdin/stdout) and the rendering
(plain text with numbered choices) differ.
"""

from __future__ import annotations

from typing import Callable, Iterable

from bot.bootstrap import Coach
from bot.terminal import render, render_with_chart
from coaching.engine import Inbound, Outcome
from coaching.errors import StorageUnavailable
from coaching.messages import msg
from coaching.replies import Reply

QUIT = {"quit", "exit", ":q", "終了"}


class ConsoleChannel:
    def __init__(self, coach: Coach, email: str) -> None:
        self.coach, self.email = coach, email.strip().lower()
        self.conversation = f"console:{self.email}"
        self.charts = coach.settings.data_dir / "charts"  # where a reply's chart is saved

    def send(self, text: str) -> tuple[str, Outcome | None]:
        """One line from the user; returns what the coach prints."""
        inbound = Inbound(self.coach.workspace, self.conversation, text, email=self.email)
        try:
            outcome = self.coach.engine.handle(inbound)
        except StorageUnavailable:
            # The database is unreachable: nothing of this turn was committed; try again later.
            reply = Reply.of(msg("error.storage_down"))
            return render(reply, self.coach.catalog, None), None
        text_out = "\n\n".join(render_with_chart(r, self.coach.catalog, outcome.locale, self.charts)
                                 for r in outcome.replies)
        return text_out, outcome

    def run(self, lines: Iterable[str], write: Callable[[str], None]) -> None:
        """Read lines until EOF or quit, printing each answer."""
        greeting, _ = self.send("help")
        write(greeting)
        for line in lines:
            line = line.rstrip("\n")
            if line.strip().lower() in QUIT:
                break
            if not line.strip():
                continue
            answer, _ = self.send(line)
            write(answer)
