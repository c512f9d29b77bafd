"""What the /logmeeting conversation shows: each question, the summary that closes it, and how
a typed answer is matched to the choices a question offered.

The summary is also the conversation's "anything else?": its buttons save, add a promise or a
problem, mark a track record shown (a toggle) or edit a field (or cancel), so a complete note
costs one prompt. Every choice is accepted typed as well, by its label in English or Japanese.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from coaching.clientbook import ClientBook
from coaching.messages import LANGUAGES, Msg, label, msg
from coaching.model import Kind, Purpose, TrustLevel
from coaching.replies import Choice, Reply
from coaching.rules import Conversations

EDITABLE = ("client", "date", "kind", "purpose", "note", "proof", "promise", "problem", "asked_for", "justification")
_MARKS = "+✓✔☑・•*-–— \t"  # what a label may start with ("+ Promise", "✓ Track record shown")


_YES_NO = (Choice("yes", msg("word.yes")), Choice("no", msg("word.no")))
_SKIP = Choice("skip", msg("word.skip"))
_BACK = Choice("no", msg("log.choice.back"))  # "+ Promise", "+ Problem": back to the summary
_QUESTIONS = {  # the questions that depend on nothing but the step
    "kind": Reply.of(msg("log.ask.kind"), choices=tuple(Choice(k.value, msg(f"kind.{k.value}")) for k in Kind)),
    "purpose": Reply.of(msg("log.ask.purpose"),
                        choices=tuple(Choice(p.value, msg(f"purpose.{p.value}.choice")) for p in Purpose.stated())),
    "note": Reply.of(msg("log.ask.note"), choices=(_SKIP,)),
    "proof": Reply.of(msg("log.ask.proof"), choices=_YES_NO),
    "promise": Reply.of(msg("log.ask.promise_add"), choices=(_BACK,)),
    "problem": Reply.of(msg("log.ask.problem"), choices=(_BACK,)),
    "justification": Reply.of(msg("log.ask.justification"), choices=_YES_NO + (_SKIP,)),
    "edit": Reply.of(msg("log.ask.edit"), choices=tuple(Choice(f"edit:{f}", msg(f"log.field.{f}")) for f in EDITABLE)
                     + (Choice("back", msg("log.choice.back")), Choice("cancel", msg("log.choice.cancel")))),
    "date": Reply.of(msg("log.ask.date")),
}


def prompt(step: str, state: dict[str, Any], book: ClientBook, rules: Conversations) -> Reply:
    """The question for ``step`` (``confirm``: the summary)."""
    if step == "client":
        recent = book.recent(rules.client_choices)
        return Reply.of(msg("log.ask.client"), choices=tuple(Choice(f"client:{cid}", name) for cid, name in recent),
                        picker="client")
    if step == "promise" and state.get("tap"):  # the check-in asks; the summary's "+ Promise" adds one
        return Reply.of(msg("log.ask.promise"), choices=(Choice("no", msg("log.choice.no_promise")),))
    if step == "asked_for":
        return trust(state, rules)
    if step in _QUESTIONS:
        return _QUESTIONS[step]
    return Reply.of(*summary(state), msg("log.ask.confirm"), choices=confirm_choices(state, rules))


def trust(state: dict[str, Any], rules: Conversations) -> Reply:
    """What the client asked of the rep (one of the four levels), and, when the note hinted at
    it, a toggle for "they wanted each step justified": one prompt for both."""
    d = state["d"]
    levels = tuple(Choice(f"level:{lv.value}", msg(f"trust.asked.{lv.value}")) for lv in TrustLevel)
    toggle: tuple[Choice, ...] = ()
    if state.get("toggle"):
        toggle = (Choice("justify", msg("log.choice.justified_on" if d.get("justification")
                                        else "log.choice.justified_off")),)
    why, client = state.get("trust_why"), d.get("client_name", "")
    if why == "never":
        line = msg("log.ask.asked_for_first", client=client)
    elif why == "due":
        line = msg("log.ask.asked_for_due", client=client, days=rules.trust_reassess_days)
    else:
        line = msg("log.ask.asked_for")
    skip = () if toggle else (Choice("skip", msg("log.choice.skip_trust")),)  # five buttons at most; typed, it still works
    return Reply.of(line, choices=levels + toggle + skip)


def promise_due(pending: list[str], retry: Msg | None = None) -> Reply:
    """By when each promise read without a date is due: one question for all of them."""
    if len(pending) == 1:
        line = msg("log.ask.promise_due", promise=pending[0])
    else:
        line = msg("log.ask.promise_due_many", promises=[msg("log.quoted", text=p) for p in pending])
    lines = (retry, line) if retry else (line,)
    key = "log.choice.drop_promise" if len(pending) == 1 else "log.choice.drop_promises"
    return Reply.of(*lines, choices=(Choice("skip", msg(key)),))


def confirm_choices(state: dict[str, Any], rules: Conversations) -> tuple[Choice, ...]:
    """Five buttons at most (Slack and Teams show more as a menu): save, the additions, the
    track-record toggle, edit. Cancel is under Edit, and typed works at any step."""
    d = state["d"]
    choices = [Choice("save", msg("log.choice.save"))]
    if len(d["promises"]) < rules.max_promises:
        choices.append(Choice("promise", msg("log.choice.add_promise")))
    if not d.get("problem"):
        choices.append(Choice("problem", msg("log.choice.add_problem")))
    choices.append(Choice("proof", msg("log.choice.proof_on" if d.get("proof") else "log.choice.proof_off")))
    choices.append(Choice("edit", msg("log.choice.edit")))
    return tuple(choices)


def summary(state: dict[str, Any]) -> list[Msg]:
    d = state["d"]
    lines = [
        msg("log.summary.title_proposed" if state.get("proposed") else "log.summary.title"),
        msg("log.summary.client", client=d["client_name"]) if d.get("client_id") is not None
        else msg("log.summary.new_client", client=d["client_name"]),
        msg("log.summary.when", on=date.fromisoformat(d["on"]), kind=msg(f"kind.{d['kind']}")),
        msg("log.summary.purpose", purpose=msg(f"purpose.{d['purpose']}.label")),
    ]
    if d.get("note"):
        lines.append(msg("log.summary.note", note=d["note"]))
    if d.get("proof"):
        lines.append(msg("log.summary.proof"))
    for what, due in d["promises"]:
        lines.append(msg("log.summary.promise", promise=what, due=date.fromisoformat(due)))
    if d.get("problem"):
        lines.append(msg("log.summary.problem", problem=d["problem"]))
    if d.get("won"):
        lines.append(msg("log.summary.won"))
    if d.get("asked_for"):
        lines.append(msg("log.summary.asked_for", asked=msg(f"trust.asked.{d['asked_for']}")))
    if d.get("justification") is not None:
        lines.append(msg("log.summary.justification", value=bool(d["justification"])))
    return lines


# --- typed answers -----------------------------------------------------------------------------

def label_key(text: str) -> str:
    """How a label and a typed answer are compared: NFKC, case-folded, without a leading mark
    ("+ Promise" is typed "promise") or closing punctuation."""
    return unicodedata.normalize("NFKC", text).casefold().strip().lstrip(_MARKS).rstrip(".!。!? ").strip()


def labels(choices: tuple[Choice, ...]) -> list[list[str]]:
    """Each choice's label as every language renders it, ready for :func:`label_key` matching."""
    keyed = []
    for choice in choices:
        if isinstance(choice.label, Msg):
            forms = {label_key(label(choice.label, lang)) for lang in LANGUAGES}
        else:
            forms = {label_key(choice.label)}
        keyed.append(sorted(f for f in forms if f))
    return keyed


def chosen(state: dict[str, Any], text: str) -> str:
    """The value of the choice ``text`` names: its number (the console and plain-text channels),
    or its label typed in either language; else ``text`` itself."""
    choices = state.get("choices") or []
    if text.isdecimal() and len(text) <= 3 and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    typed = label_key(text)
    for value, forms in zip(choices, state.get("labels") or []):
        if typed and typed in forms:
            return value
    return text
