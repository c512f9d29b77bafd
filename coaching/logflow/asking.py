"""What to ask next: the first field still open, the dates of promises read without one, the
trust question when it is due and fits the budget, else the summary (or, for a check-in tap,
nothing: it saves)."""

from __future__ import annotations

from datetime import date

from coaching.logflow import prompts
from coaching.logflow.state import STEP_BUDGET, STEPS, TAP_STEPS, Ctx, State, Turn, reply, request
from coaching.messages import Msg, msg
from coaching.replies import Reply


def ask(state: State, ctx: Ctx) -> Turn:
    steps = TAP_STEPS if state.get("tap") else STEPS
    step = next((s for s in steps if s not in state["done"]), None)
    if step is None and state.get("undated"):  # promises read from the note, with no date: one question
        state["pending"] = state.pop("undated")
        state["step"] = "promise_due"
        return reply(state, prompts.promise_due(state["pending"]))
    if step is None and state.get("tap"):  # a check-in tap saves as soon as it knows enough
        return Turn(None, Reply(()), finished=request(state))
    step = step or _trust_step(state, ctx) or "confirm"
    state["step"] = step
    return reply(state, prompts.prompt(step, state, ctx.book, ctx.rules))


def mark_and_ask(state: State, step: str, ctx: Ctx) -> Turn:
    if step not in state["done"]:
        state["done"].append(step)
    return ask(state, ctx)


def show(state: State, step: str, ctx: Ctx) -> Turn:
    """Ask ``step``'s question (an edit, an addition from the summary) without settling anything."""
    state["step"] = step
    return reply(state, prompts.prompt(step, state, ctx.book, ctx.rules))


def retry(state: State, step: str, ctx: Ctx, problem: Msg | None = None) -> Turn:
    """Ask ``step`` again, saying first what was wrong (by default ``log.retry.<step>``)."""
    shown = prompts.prompt(step, state, ctx.book, ctx.rules)
    state["step"] = step
    return reply(state, Reply.of(problem or msg(f"log.retry.{step}"), *shown.lines, choices=shown.choices,
                                 picker=shown.picker))


def _trust_step(state: State, ctx: Ctx) -> str | None:
    """Whether to ask what the client asked of the rep (and, if hinted, whether they wanted each
    step justified), once per log: when the note hints at it and the reader could not tell, or
    when an existing client's trust is due for assessment; and only if asking keeps the log
    within its budget of prompts (else it stays due for the next log)."""
    if state.get("trust_checked"):
        return None
    state["trust_checked"] = True
    level, justify = _trust_open(state, ctx)
    room = state.get("budget", STEP_BUDGET) - state.get("asked", 0) - 1  # prompts left before the summary
    if level and justify and room >= 2:
        state["toggle"] = True  # both in one prompt; ticking the toggle shows it once more
    if level and room >= 1:
        return "asked_for"
    return "justification" if justify and room >= 1 else None


def _trust_open(state: State, ctx: Ctx) -> tuple[bool, bool]:
    """Whether the level, and whether the demand for justification, should be asked."""
    done, hint = set(state["done"]), state.get("hint") or {}
    due = _assessment_due(state, ctx)
    # "They kept asking for evidence": a request the reader already read as a demand for justification.
    hinted = bool(hint.get("asked")) and "justification" not in done
    state["trust_why"] = "hint" if hinted or due is None else due
    return "asked_for" not in done and (hinted or due is not None), "justification" not in done and bool(hint.get("justify"))


def _assessment_due(state: State, ctx: Ctx) -> str | None:
    """``"never"`` or ``"due"`` when an existing client's trust was never assessed or not for
    ``trust_reassess_days``; ``None`` otherwise (a new client has nothing to reassess)."""
    client_id = state["d"].get("client_id")
    if client_id is None:
        return None
    assessed = ctx.book.assessed_on(client_id)
    if assessed is None:
        return "never"
    today = date.fromisoformat(state.get("today") or state["d"]["on"])
    return "due" if (today - assessed).days > ctx.rules.trust_reassess_days else None
