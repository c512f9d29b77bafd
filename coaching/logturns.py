"""The logging conversation's turns inside the engine's unit of work: start one, answer it, log
a form or a chat message, and record the touch when the rep confirms.

The client book is read once per turn (:func:`coaching.access.client_book`) and handed to
the pure state machine (:mod:`coaching.logflow`); recording goes through the service layer,
where who may log against which client is checked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

from coaching import access, logflow, services, views
from coaching import commands as c
from coaching.access import CoachError
from coaching.dialog import Dialog
from coaching.messages import Msg, msg
from coaching.model import Person, Source
from coaching.ports import UnitOfWork
from coaching.reading import NoteReader, Proposal
from coaching.replies import Reply
from coaching.rules import Rules
from coaching.services import LogResult

STARTS = (c.LogMeeting, c.Tap, c.PickClient, c.NewClient)  # the commands that begin a log


@dataclass(frozen=True)
class LogTurn:
    """One turn of a rep's log: who, where, when, in which language, read with which reader."""

    uow: UnitOfWork
    person: Person
    rules: Rules
    reader: NoteReader
    language: str
    today: date

    def begin(self, command: c.Command, proposal: Proposal | None = None) -> logflow.Turn:
        """A new log: ``/logmeeting [quick form]``, a check-in tap, or a client picked from the
        type-ahead (``NewClient``: a name typed there)."""
        book, rules = access.client_book(self.uow, self.person), self.rules.conversations
        if isinstance(command, c.LogMeeting):
            if proposal is None and command.text.strip():  # no LLM (or not allowed): the rules read it
                proposal = self.reader.read(command.text, self.today, book.names, self.language)
            return logflow.start(self.today, book, rules, quick=command.text, proposal=proposal)
        if isinstance(command, c.NewClient):
            found = book.exact(command.name)
            return logflow.tap(self.today, found[0] if found else None, found[1] if found else command.name,
                               book, rules)
        if isinstance(command, (c.Tap, c.PickClient)) and (command.client_id or command.raw):
            found = book.by_id(command.client_id) if command.client_id else None
            if found is None:
                raise CoachError(msg("error.no_client_none", name=command.raw))
            return logflow.tap(self.today, found[0], found[1], book, rules)
        return logflow.tap(self.today, None, "", book, rules)  # "someone else"

    def answer(self, state: dict[str, Any], text: str) -> logflow.Turn:
        return logflow.answer(state, text, self.today, access.client_book(self.uow, self.person),
                              self.rules.conversations, self.reader, self.language)

    def message(self, text: str, on: date, client_id: int | None) -> tuple[logflow.Turn, int]:
        """A chat message logged as a touch; also how long the message was, whole."""
        book = access.client_book(self.uow, self.person)
        client = book.by_id(client_id) if client_id is not None else None
        whole = logflow.storable(text).strip()
        note = whole[: self.rules.conversations.max_note_chars]  # its start is kept, and the rep told
        proposal = self.reader.read(note, self.today, book.names, self.language) if note else None
        turn = logflow.from_message(self.today, on, note, book, self.rules.conversations,
                                    client=client, proposal=proposal)
        return turn, len(whole)

    def form(self, request: logflow.LogRequest, external_id: str | None) -> LogResult:
        """A touch filled in all at once (a modal form), checked as typed answers are."""
        if request.client_id is None and (problem := logflow.name_problem(request.client_name)):
            raise CoachError(problem)
        if request.client_id is not None and not 1 <= request.client_id <= c.MAX_ID:
            raise CoachError(msg("error.no_client_none", name=str(request.client_id)))
        clean = logflow.storable
        form = dataclasses.replace(
            request, source=Source.FORM.value, client_name=clean(request.client_name), note=clean(request.note),
            problem=clean(request.problem) if request.problem else request.problem,
            promises=tuple(dataclasses.replace(p, text=clean(p.text)) for p in request.promises))
        return services.log_request(self.uow, self.person, form, self.rules, self.today, external_id)

    def settle(self, dialog: Dialog, turn: logflow.Turn, prefix: list[Msg],
               external_id: str | None) -> tuple[list[Reply], LogResult | None]:
        """The turn's replies; the touch recorded when the rep confirmed; the state kept or ended."""
        logged = None
        replies = [prefixed(prefix, turn.reply)] if turn.reply.lines or prefix else []
        if turn.finished is not None:
            logged = services.log_request(self.uow, self.person, turn.finished, self.rules, self.today, external_id)
            replies.append(views.logged(logged))
        if turn.state is None:
            dialog.end()
        else:
            dialog.save(turn.state)
        return replies, logged


def prefixed(prefix: list[Msg], reply: Reply) -> Reply:
    """``reply`` with ``prefix``'s lines first (its buttons stay with the lines they follow)."""
    if not prefix:
        return reply
    counts = (0,) * len(prefix) + reply.line_choices if reply.line_choices else ()
    return dataclasses.replace(reply, lines=tuple(prefix) + reply.lines, line_choices=counts)

