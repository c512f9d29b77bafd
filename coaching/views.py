"""Domain results as catalogue messages: the passbook, a logged touch, nudges, promises.

Every channel shows the same lines; only the rendering differs.
"""

from __future__ import annotations

from datetime import date
from typing import Sequence

from coaching import trust
from coaching.commands import ClosePromise, button
from coaching.messages import Msg, msg
from coaching.model import LedgerEntry, Promise
from coaching.nudges import Nudge
from coaching.replies import Choice, Reply
from coaching.passbooks import PassbookView
from coaching.services import LogResult, PurposeResult

PAGE = 15


def reason(entry: LedgerEntry) -> Msg:
    """The sentence that explains one ledger entry."""
    params: dict[str, object] = dict(entry.detail)
    if "due" in params:
        params["due"] = date.fromisoformat(str(params["due"]))
    if "kind" in params:
        params["kind"] = msg(f"kind.{params['kind']}")
    if "reverses" in params:
        params["reverses"] = msg(f"reason.{params['reverses']}.short")
    for number in ("weeks", "cadence"):
        if number in params:
            params[number] = int(str(params[number]))
    if "weeks" in params:
        params["count"] = params["weeks"]
    return Msg(f"reason.{entry.reason.value}.long", params)


def logged(result: LogResult, tip: str | None = None) -> Reply:
    """The confirmation of a logged touch; ``tip`` (an LLM's words) replaces the template tip."""
    if result.duplicate:
        return Reply.of(msg("log.duplicate", client=result.client.name, balance=result.balance))
    lines: list[Msg | str] = [msg("log.saved", client=result.client.name)]
    for entry in result.entries:
        lines.append(msg("ledger.change", amount=entry.amount, reason=reason(entry)))
    if not result.entries:
        lines.append(msg("log.no_change"))
    lines.append(msg("ledger.balance", client=result.client.name, balance=result.balance))
    if tip:
        lines.append(msg("tip.prefix", tip=tip))
    elif result.tip:
        lines.append(msg("tip.prefix", tip=result.tip))
    return Reply.of(*lines)


def purpose_stated(result: PurposeResult) -> Reply:
    """The answer to a check-in's purpose button for a captured touch."""
    if result.already:
        return Reply.of(msg("checkin.purpose_already", client=result.client.name,
                            purpose=msg(f"purpose.{result.touch.purpose.value}.label")))
    lines: list[Msg | str] = [msg("checkin.purpose_saved", client=result.client.name,
                                  purpose=msg(f"purpose.{result.touch.purpose.value}.label"))]
    lines += [msg("ledger.change", amount=e.amount, reason=reason(e)) for e in result.entries]
    lines.append(msg("ledger.balance", client=result.client.name, balance=result.balance))
    return Reply.of(*lines)


def passbook(view: PassbookView, page: int = 1) -> Reply:
    start = (page - 1) * PAGE
    shown = view.lines[start:start + PAGE]
    lines: list[Msg | str] = [
        msg("ledger.header", client=view.client.name, balance=view.balance) if view.as_of is None
        else msg("ledger.header_as_of", client=view.client.name, balance=view.balance, on=view.as_of),
        view.trust or trust.explain(view.client),
    ]
    if not view.lines:
        lines.append(msg("ledger.empty"))
    for line in shown:
        lines.append(msg("ledger.line", on=line.entry.occurred_on, amount=line.entry.amount,
                         reason=reason(line.entry), balance=line.balance_after))
    if start + PAGE < len(view.lines):
        lines.append(msg("ledger.more", client=view.client.name, page=page + 1,
                         shown=start + len(shown), total=len(view.lines)))
    if view.open_promises:
        lines.append(msg("ledger.open_promises"))
        lines += [promise_line(p) for p in view.open_promises]
    return Reply.of(*lines)


def promise_line(p: Promise) -> Msg:
    return msg("promise.open_line", promise=p.text, due=p.due_on)


def promises(open_promises: Sequence[Promise], client_names: dict[int, str]) -> Reply:
    if not open_promises:
        return Reply.of(msg("promise.none"))
    lines: list[Msg | str] = [msg("promise.header", count=len(open_promises))]
    choices: list[Choice] = []
    for n, p in enumerate(open_promises, 1):
        lines.append(msg("promise.line_client", number=n, promise=p.text, due=p.due_on,
                         client=client_names.get(p.client_id, "?")))
        choices += [Choice(button(ClosePromise(True, promise_id=p.id)), msg("promise.choice.kept", number=n)),
                    Choice(button(ClosePromise(False, promise_id=p.id)), msg("promise.choice.broken", number=n))]
    lines.append(msg("promise.how"))
    return Reply.of(*lines, choices=tuple(choices))


def nudge_line(n: Nudge) -> Msg:
    return msg("nudge.line", kind=msg(f"nudge.{n.kind.value}.title"), reason=n.reason, next=n.next_step)
