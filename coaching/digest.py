"""The messages the scheduler sends: a rep's daily digest, a promise reminder, a team's channel
digest. Each is a :class:`Reply`, so every channel renders the same lines and buttons."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Iterable, Mapping, Sequence

from coaching import digest_items, views
from coaching.commands import MAX_SUBJECTS, ClosePromise, Feedback, LogMeeting, Nudges, Solved, button
from coaching.messages import Msg, PersonName, msg
from coaching.model import Person
from coaching.nudges import ClientHistory, Nudge, NudgeKind
from coaching.replies import Choice, Reply

DIGEST_SIZE = 5
NOTE_CHARS = 80
NAMES_SHOWN = 5  # a grouped item names this many clients, then "and N more"


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


def _action(n: Nudge) -> tuple[Choice, ...]:
    """The one button that acts on a nudge, where there is one: mark the promise kept, mark the
    problem solved, log a touch. A setback is repaired by a correction, not a button; a lapse
    across all clients has no client to open."""
    if n.kind in (NudgeKind.PROMISE_DUE, NudgeKind.PROMISE_OVERDUE):
        return (Choice(button(ClosePromise(True, promise_id=int(n.subject.split(":")[1]))), msg("digest.kept")),)
    if n.kind is NudgeKind.PROBLEM_FOLLOW_UP and n.client_name:
        return (Choice(button(Solved(n.client_name)), msg("digest.solved")),)
    if n.client_name and n.kind is not NudgeKind.RECOVERY:
        return (Choice(button(LogMeeting(n.client_name)), msg("digest.log")),)
    return ()


def _not_useful(members: Sequence[Nudge]) -> Choice:
    subject = "|".join(n.subject for n in members[:MAX_SUBJECTS])
    return Choice(button(Feedback("dismissed", members[0].kind.value, subject)), msg("digest.not_useful"))


def _single(n: Nudge, histories: Mapping[int, ClientHistory], as_of: date | None, shown: set[int]) -> Msg:
    """One nudge's line, with the client's context the first time that client appears."""
    line = views.nudge_line(n)
    history = histories.get(n.client_id) if n.client_id is not None else None
    if history is None or as_of is None or n.client_id in shown:
        return line
    shown.add(history.client_id)
    return msg("digest.item", line=line, context=context(history, as_of))


def _group(members: Sequence[Nudge]) -> Msg:
    """Several clients with the same pattern: one line naming them (at most ``NAMES_SHOWN``),
    and the pattern's next step once."""
    names = [n.client_name or "" for n in members]
    shown = names[:NAMES_SHOWN] + ([msg("digest.group_more", count=len(names) - NAMES_SHOWN)]
                                   if len(names) > NAMES_SHOWN else [])
    kind = members[0].kind.value
    return msg("digest.group", kind=msg(f"nudge.{kind}.title"), count=len(members), clients=shown,
               next=msg(f"digest.group_next.{kind}"))


def _entry(item: Sequence[Nudge], histories: Mapping[int, ClientHistory], as_of: date | None,
           shown: set[int]) -> tuple[Msg, tuple[Choice, ...]]:
    if len(item) == 1:
        return _single(item[0], histories, as_of, shown), _action(item[0]) + (_not_useful(item),)
    show = Choice(button(Nudges(item[0].kind.value)), msg("digest.show_them"))
    return _group(item), (show, _not_useful(item))


def digest(person: Person, nudges: Iterable[Nudge], size: int = DIGEST_SIZE,
           histories: Mapping[int, ClientHistory] | None = None, as_of: date | None = None,
           lapsed_since: date | None = None) -> Reply | None:
    """``None`` on a day with nothing to say. What is due first, then patterns, a pattern several
    clients share as one item (:mod:`coaching.digest_items`); each item has the button that acts
    on it and "not useful", and the digest ends with "useful". ``lapsed_since``: the rep's last
    logged touch, when their logging itself has lapsed; the digest then says that some of these
    clients may be unlogged rather than quiet."""
    chosen = digest_items.items(list(nudges))[:size]
    if not chosen:
        return None
    shown: set[int] = set()
    entries = [_entry(item, histories or {}, as_of, shown) for item in chosen]
    every = "|".join(f"{n.kind.value}={n.subject}" for item in chosen for n in item[:MAX_SUBJECTS // size])
    entries.append((msg("digest.useful_ask"), (Choice(button(Feedback("useful", "digest", every)),
                                                      msg("digest.useful")),)))
    header: tuple[Msg, ...] = (msg("digest.title", name=PersonName(person.name, greeting=True)),)
    if lapsed_since is not None:
        header += (msg("digest.logging_lapsed", since=lapsed_since),)
    return Reply.of_items(header, entries)


def listing(nudges: Sequence[Nudge], size: int) -> Reply:
    """What ``today`` (``nudges``) answers: the digest's items in its order, a pattern several
    clients share said once with a button to see them, each other item with its one action."""
    entries = [(views.nudge_line(item[0]), _action(item[0])) if len(item) == 1
               else (_group(item), (Choice(button(Nudges(item[0].kind.value)), msg("digest.show_them")),))
               for item in digest_items.items(list(nudges))[:size]]
    return Reply.of_items((msg("nudge.header", count=len(nudges)),), entries)


def reminder(person: Person, nudges: Sequence[Nudge]) -> Reply | None:
    """The afternoon before a promise falls due: the promises, and a way to mark them kept."""
    due = [n for n in nudges if n.kind is NudgeKind.PROMISE_DUE]
    if not due:
        return None
    items = [(msg("digest.reminder_item", client=n.client_name or "", promise=str(n.facts.get("promise", "")),
                  due=n.facts.get("due")),
              (Choice(button(ClosePromise(True, promise_id=int(n.subject.split(":")[1]))), msg("digest.kept")),))
             for n in due]
    return Reply.of_items((msg("digest.reminder_title", name=PersonName(person.name, greeting=True), count=len(due)),), items)


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
