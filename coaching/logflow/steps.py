"""One function per question: apply the rep's answer to the step waiting for it, then ask the
next question (or ask again, saying what was wrong). Each takes ``(state, text, ctx)``."""

from __future__ import annotations

import re
from datetime import date

from coaching import vocabulary as vocab
from coaching.commands import record_id
from coaching.dates import find_date, parse_date
from coaching.logflow import prompts
from coaching.logflow.asking import ask, mark_and_ask, retry, show
from coaching.logflow.quick import MAX_NAME, apply, hint
from coaching.logflow.state import Ctx, State, Turn, reply, request, settle, yes_no
from coaching.messages import Msg, msg
from coaching.replies import Choice, Reply

EDIT_STEPS = ("client", "note", "kind", "purpose")  # edited by asking them again in turn


def name_problem(name: str) -> Msg | None:
    """Why ``name`` can't be a new client's name, or ``None``: it needs a letter or a digit,
    and both it and its key (:func:`vocabulary.name_key`) must fit the database's column."""
    key = vocab.name_key(name)
    if not any(ch.isalnum() for ch in key) or max(len(name.strip()), len(key)) > MAX_NAME:
        return msg("log.retry.client")
    return None


def client(state: State, text: str, ctx: Ctx) -> Turn:
    if text.startswith("client:") and text[7:].isdecimal():
        if (client_id := record_id(text[7:])) and (found := ctx.book.by_id(client_id)):
            return _client_chosen(state, found, ctx)
        return retry(state, "client", ctx)
    name = text[4:].strip() if text.startswith("new:") else text.strip()
    if problem := name_problem(name):
        return retry(state, "client", ctx, problem)
    if text.startswith("new:"):
        return _client_chosen(state, (None, name), ctx)
    if found := ctx.book.exact(name):
        return _client_chosen(state, found, ctx)
    similar = ctx.book.similar(name, ctx.rules.client_choices - 1)
    state["step"] = "client_pick"
    state["candidates"] = [list(c) for c in similar]
    choices = tuple(Choice(f"client:{cid}", cname) for cid, cname in similar)
    choices += (Choice(f"new:{name}", msg("log.choice.new_client", name=name)),)
    key = "log.ask.client_pick" if similar else "log.ask.client_new"
    return reply(state, Reply.of(msg(key, name=name), choices=choices))


def _client_chosen(state: State, found: tuple[int | None, str], ctx: Ctx) -> Turn:
    state["d"].update(client_id=found[0], client_name=found[1])
    state.pop("candidates", None)
    return mark_and_ask(state, "client", ctx)


def kind(state: State, text: str, ctx: Ctx) -> Turn:
    chosen = vocab.kind_of(text)
    if chosen is None:
        return retry(state, "kind", ctx)
    settle(state, "kind", chosen.value)
    return ask(state, ctx)


def purpose(state: State, text: str, ctx: Ctx) -> Turn:
    chosen = vocab.purpose_of(text)
    if chosen is None:
        return retry(state, "purpose", ctx)
    settle(state, "purpose", chosen.value)
    return ask(state, ctx)


def note(state: State, text: str, ctx: Ctx) -> Turn:
    if len(text) > ctx.rules.max_note_chars:
        return retry(state, "note", ctx, msg("log.retry.too_long", limit=ctx.rules.max_note_chars))
    told = "" if vocab.is_word(text, vocab.SKIP + vocab.NO) else text
    settle(state, "note", told)
    if told and not state.get("read"):  # the first note only: an edited one is not read again
        state["read"] = True
        hint(state, told)
        apply(state, ctx.reader.read(told, ctx.today, [state["d"].get("client_name") or ""], ctx.language), ctx)
    return ask(state, ctx)


def proof(state: State, text: str, ctx: Ctx) -> Turn:
    value = yes_no(text)
    if value is None:
        return retry(state, "proof", ctx)
    settle(state, "proof", value)
    return ask(state, ctx)


def promise(state: State, text: str, ctx: Ctx) -> Turn:
    if vocab.is_word(text, vocab.NO + vocab.SKIP):
        return mark_and_ask(state, "promise", ctx)
    if len(text) > ctx.rules.max_note_chars:
        return retry(state, "promise", ctx)
    due, what = find_date(text, ctx.today)
    what = what or text
    if due is None or due < date.fromisoformat(state["d"]["on"]):
        state["pending"] = [what]
        state["step"] = "promise_due"
        return reply(state, prompts.promise_due([what], due and msg("log.retry.due_past", due=due)))
    return _add_promises(state, [what], [due], ctx)


def promise_due(state: State, text: str, ctx: Ctx) -> Turn:
    pending = state.get("pending") or []
    pending = [pending] if isinstance(pending, str) else pending  # a state saved by an older version
    if vocab.is_word(text, vocab.SKIP + vocab.NO) or not pending:  # not really promises, or no date to give
        state.pop("pending", None)
        return mark_and_ask(state, "promise", ctx)
    dues = _due_dates(text, len(pending), ctx.today)
    if dues is None:
        return reply(state, prompts.promise_due(pending, msg("log.retry.date")))
    if (early := min(dues)) < date.fromisoformat(state["d"]["on"]):
        return reply(state, prompts.promise_due(pending, msg("log.retry.due_past", due=early)))
    state.pop("pending")
    return _add_promises(state, pending, dues, ctx)


def _due_dates(text: str, count: int, today: date) -> list[date] | None:
    """One date for every pending promise, or one each, in order ("Friday, 12/3")."""
    if (one := parse_date(text, today)) is not None:
        return [one] * count
    parts = [p for p in re.split(r"[,、;;]", text) if p.strip()]
    dues = [parse_date(p, today) for p in parts]
    if count > 1 and len(dues) == count and all(dues):
        return dues  # type: ignore[return-value]
    return None


def _add_promises(state: State, whats: list[str], dues: list[date], ctx: Ctx) -> Turn:
    promises, most = state["d"]["promises"], ctx.rules.max_promises
    for what, due in zip(whats, dues):
        if len(promises) < most:
            promises.append([what, due.isoformat()])
    if not state.get("tap") or len(promises) >= most:
        return mark_and_ask(state, "promise", ctx)
    state["step"] = "promise"  # the check-in: one more?
    return reply(state, Reply.of(msg("log.noted.promise", promise=whats[-1], due=dues[-1]), msg("log.ask.promise_more"),
                                 choices=(Choice("no", msg("log.choice.no_more")),)))


def problem(state: State, text: str, ctx: Ctx) -> Turn:
    if len(text) > ctx.rules.max_note_chars:
        return retry(state, "problem", ctx)
    settle(state, "problem", None if vocab.is_word(text, vocab.NO + vocab.SKIP) else text)
    return ask(state, ctx)


def asked_for(state: State, text: str, ctx: Ctx) -> Turn:
    d = state["d"]
    if text == "justify" and state.get("toggle"):  # the toggle: the same question again, ticked or not
        d["justification"] = None if d.get("justification") else True
        return show(state, "asked_for", ctx)
    if vocab.is_word(text, vocab.SKIP):
        settle(state, "asked_for", None)
        state["trust_skipped"] = True
    elif re.fullmatch(r"level:[1-4]", text):
        settle(state, "asked_for", int(text[-1]))
    else:
        return retry(state, "asked_for", ctx)
    if state.pop("toggle", None) and d.get("justification"):
        settle(state, "justification", True)
    return ask(state, ctx)


def justification(state: State, text: str, ctx: Ctx) -> Turn:
    if vocab.is_word(text, vocab.SKIP):
        settle(state, "justification", None)
    elif (value := yes_no(text)) is not None:
        settle(state, "justification", value)
    else:
        return retry(state, "justification", ctx)
    return ask(state, ctx)


def confirm(state: State, text: str, ctx: Ctx) -> Turn:
    """The summary: save, add what the note left out, toggle the track record, edit, or type a
    correction for the day, how they met or the purpose."""
    if text == "save" or vocab.is_word(text, vocab.YES + vocab.SAVE):
        return Turn(None, Reply(()), finished=request(state))
    if text == "edit" or vocab.is_word(text, vocab.EDIT):
        return show(state, "edit", ctx)
    if text.startswith("edit:"):
        return edit(state, text, ctx)
    if text in ("promise", "problem") and text in state.get("choices", ()):
        return show(state, text, ctx)
    if not _corrected(state["d"], text, ctx.today):
        shown = prompts.prompt("confirm", state, ctx.book, ctx.rules)
        return reply(state, Reply.of(msg("log.retry.confirm"), *shown.lines, choices=shown.choices))
    return ask(state, ctx)


def _corrected(d: dict, text: str, today: date) -> bool:
    """At the summary, a typed correction: the track-record toggle, how they met, the purpose,
    the day. ``False``: ``text`` is none of them."""
    if text == "proof":
        d["proof"] = not d.get("proof")
    elif vocab.is_word(text, vocab.WON):
        d["won"] = not d.get("won")
    elif chosen_kind := vocab.kind_of(text):
        d["kind"] = chosen_kind.value
    elif chosen_purpose := vocab.purpose_of(text):
        d["purpose"] = chosen_purpose.value
    elif not text.isdecimal() and (on := parse_date(text, today, prefer="past")) and on <= today:
        d["on"] = on.isoformat()
    else:
        return False
    return True


def edit(state: State, text: str, ctx: Ctx) -> Turn:
    field = text[5:] if text.startswith("edit:") else ""
    if text == "back" or vocab.is_word(text, vocab.NO + vocab.SKIP):
        return ask(state, ctx)
    if field not in prompts.EDITABLE:
        return show(state, "edit", ctx)
    if field in EDIT_STEPS:
        state["done"] = [s for s in state["done"] if s != field]
        return ask(state, ctx)
    if field == "promise":
        state["d"]["promises"] = []
    return show(state, field, ctx)


def day(state: State, text: str, ctx: Ctx) -> Turn:
    on = parse_date(text, ctx.today, prefer="past")
    if on is None or on > ctx.today:
        return reply(state, Reply.of(msg("log.retry.date_past"), msg("log.ask.date")))
    state["d"]["on"] = on.isoformat()
    return ask(state, ctx)


HANDLERS = {
    "client": client, "client_pick": client, "kind": kind, "purpose": purpose, "note": note,
    "proof": proof, "promise": promise, "promise_due": promise_due, "problem": problem,
    "asked_for": asked_for, "justification": justification, "confirm": confirm, "edit": edit,
    "date": day,
}
