"""The messages the scheduler sends: a rep's daily digest, a promise reminder, a team's channel
digest. Each is a :class:`Reply`, so every channel renders the same lines and buttons."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Iterable, Mapping, Sequence

from coaching import views
from coaching.commands import ClosePromise, Feedback, LogMeeting, button
from coaching.messages import Msg, msg
from coaching.model import Person
from coaching.nudges import ClientHistory, Nudge, NudgeKind
from coaching.replies import Choice, Reply

DIGEST_SIZE = 5
NOTE_CHARS = 120


def context(history: ClientHistory, as_of: date) -> Msg:
    """What the rep needs to act without opening anything: last touch and its note, balance
    and its four-week trend, trust level."""
    last = history.last_touch
    parts: list[Msg] = []
    if last is None:
        parts.append(msg("digest.context.never"))
    elif history.last_note:
        note = history.last_note if len(history.last_note) <= NOTE_CHARS else history.last_note[:NOTE_CHARS - 1] + "…"
        parts.append(msg("digest.context.touch_note", on=last, days=(as_of - last).days, note=note))
    else:
        parts.append(msg("digest.context.touch", on=last, days=(as_of - last).days))
    if history.balance_before is None:
        parts.append(msg("digest.context.balance", balance=history.balance))
    else:
        parts.append(msg("digest.context.balance_trend", balance=history.balance,
                         trend=history.balance - history.balance_before))
    if history.trust_level is not None:
        parts.append(msg("digest.context.trust", level=int(history.trust_level),
                         label=msg(f"trust.level.{int(history.trust_level)}")))
    return msg("digest.context.line", parts=parts)


def _choices(n: Nudge) -> tuple[Choice, ...]:
    choices = (Choice(button(LogMeeting(n.client_name)), msg("digest.log")),) if n.client_name else ()
    return choices + (Choice(button(Feedback("snoozed", n.kind.value, n.subject)), msg("digest.snooze")),
                      Choice(button(Feedback("dismissed", n.kind.value, n.subject)), msg("digest.dismiss")))


def _item(n: Nudge, histories: Mapping[int, ClientHistory], as_of: date | None) -> Msg:
    line = views.nudge_line(n)
    history = histories.get(n.client_id) if n.client_id is not None else None
    if history is None or as_of is None:
        return line
    return msg("digest.item", line=line, context=context(history, as_of))


def digest(person: Person, nudges: Iterable[Nudge], size: int = DIGEST_SIZE,
           histories: Mapping[int, ClientHistory] | None = None, as_of: date | None = None,
           lapsed_since: date | None = None) -> Reply | None:
    """``None`` on a day with nothing to say. Items most at stake first; each offers to log a
    touch with that client (Done), to snooze it for a week, or to mark it not relevant.
    ``lapsed_since``: the rep's last logged touch, when their logging itself has lapsed; the
    digest then says that some of these clients may be unlogged rather than quiet."""
    ranked = sorted(nudges, key=lambda n: (-n.stake, n.client_name or "", n.subject))[:size]
    if not ranked:
        return None
    items = [(_item(n, histories or {}, as_of), _choices(n)) for n in ranked]
    header: tuple[Msg, ...] = (msg("digest.title", name=person.name),)
    if lapsed_since is not None:
        header += (msg("digest.logging_lapsed", since=lapsed_since),)
    return Reply.of_items(header, items)


def reminder(person: Person, nudges: Sequence[Nudge]) -> Reply | None:
    """The afternoon before a promise falls due: the promises, and a way to mark them kept."""
    due = [n for n in nudges if n.kind is NudgeKind.PROMISE_DUE]
    if not due:
        return None
    items = [(msg("digest.reminder_item", client=n.client_name or "", promise=str(n.facts.get("promise", "")),
                  due=n.facts.get("due")),
              (Choice(button(ClosePromise(True, promise_id=int(n.subject.split(":")[1]))), msg("digest.kept")),))
             for n in due]
    return Reply.of_items((msg("digest.reminder_title", name=person.name, count=len(due)),), items)


def team(team_name: str, nudges: Sequence[Nudge], reps: int, as_of: date) -> Reply | None:
    """A team channel's morning message: how many relationships need attention, by kind.
    It names no rep: each rep's list is theirs, in their own chat."""
    if not nudges:
        return None
    counts = Counter(n.kind for n in nudges)
    kinds = [msg("digest.team_kind", kind=msg(f"nudge.{k.value}.title"), count=c)
             for k, c in sorted(counts.items(), key=lambda kc: (-kc[1], kc[0].value))]
    return Reply.of(msg("digest.team_title", team=team_name, on=as_of, count=len(nudges), reps=reps),
                    *kinds, msg("digest.team_footer"))


def by_rep(nudges: Iterable[Nudge]) -> dict[int, list[Nudge]]:
    grouped: dict[int, list[Nudge]] = {}
    for n in nudges:
        grouped.setdefault(n.rep_id, []).append(n)
    return grouped
