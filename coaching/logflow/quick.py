"""What text typed with the command already says: the quick form's words before the colon (a
known client, how they met, why, the day), and a reader's proposal for the rest (the note,
promises, a problem, a track record, the client's trust signals)."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import date

from coaching import vocabulary as vocab
from coaching.clientbook import ClientBook
from coaching.dates import parse_date
from coaching.logflow.state import Ctx, State, settle
from coaching.messages import Msg, msg
from coaching.reading import Proposal
from coaching.replies import Reply

MAX_NAME = 200
_JOINED = tuple(sorted({w for words in (*vocab.KIND_WORDS.values(), *vocab.PURPOSE_WORDS.values())
                         for w in words if not w.isascii()}, key=len, reverse=True))
_JOINT = re.compile(r"(?:様|さん)?(?:と|へ|に|で|を)?$")
_NAME_PARTS = re.compile(r"株式会社|有限会社|\(株\)|様|さん|御中|[\s、。,.:・]+")
_ANY_DAY = date(2000, 1, 1)  # a day to tell whether a word is a date at all


def scan(state: State, words: list[str], today: date, book: ClientBook) -> tuple[list[tuple[str, str]], list[str]]:
    """The quick form's words before the colon: a known client's name (it wins over reading its
    words as a date or a kind: "Sun Corp", "Line Co"), then what single words say: ``("kind",
    "call")``, ``("on", date)``; and the words left over."""
    words = _known_client(state, words, book)
    scanned: list[tuple[str, str]] = []
    rest = []
    for word in words:
        said = {k for k, _ in scanned}
        if (kind := vocab.kind_of(word)) and "kind" not in said:
            scanned.append(("kind", kind.value))
        elif (purpose := vocab.purpose_of(word)) and "purpose" not in said:
            scanned.append(("purpose", purpose.value))
        elif vocab.is_word(word, vocab.WON):
            state["d"]["won"] = True
        elif (on := parse_date(word, today, prefer="past")) and on <= today:
            scanned.append(("on", on.isoformat()))
        else:
            rest.append(word)
    return scanned, rest


def _known_client(state: State, words: list[str], book: ClientBook) -> list[str]:
    """Set the client when the first words name a known one; returns the words after it."""
    fits, length = 0, -1  # only the first words that fit in a name are looked up
    for word in words:
        length += len(word) + 1
        if length > MAX_NAME:
            break
        fits += 1
    for size in range(fits, 0, -1):
        if found := book.exact(" ".join(words[:size])):
            _chosen(state, found)
            return words[size:]
    if fits and (joined := _joined_client(words[0], book)):
        _chosen(state, joined[0])
        return [joined[1], *words[1:]]
    return words


def _chosen(state: State, found: tuple[int, str]) -> None:
    state["d"].update(client_id=found[0], client_name=found[1])
    state["done"].append("client")


def _joined_client(word: str, book: ClientBook) -> tuple[tuple[int, str], str] | None:
    """A known client's name written together with how they met or why, as Japanese is written
    without spaces ("田中商事訪問", "田中商事様と打ち合わせ"): the client, and the word after it."""
    for tail in (t for t in _JOINED if word.endswith(t) and len(word) > len(t)):
        head = _JOINT.sub("", word[: -len(tail)])
        if head and (found := book.exact(head)):
            return found, tail
    return None


def is_sentence(words: list[str]) -> bool:
    """More than a client's name: several words, or sentence punctuation (Japanese has no spaces)."""
    text = " ".join(words)
    return len(words) >= 3 or any(mark in text for mark in "。、,.!?")


def hint(state: State, text: str) -> None:
    """Note whether ``text`` hints that the client asked something of the rep, or wanted every
    step justified: if the reader cannot tell what, the trust question is asked."""
    hinted = state.setdefault("hint", {})
    hinted["asked"] = hinted.get("asked", False) or vocab.mentions(text, vocab.TRUST_HINT_WORDS)
    hinted["justify"] = hinted.get("justify", False) or vocab.mentions(text, vocab.JUSTIFY_HINT_WORDS)
    if vocab.mentions(text, vocab.WON_WORDS):  # shown on the summary, where typing "won" takes it back
        state["d"]["won"] = True


def proposed(state: State, proposal: Proposal, name: str, warnings: list[Msg], ctx: Ctx) -> str:
    """Apply a reader's proposal to a quick form; returns the client's name still to look up."""
    apply(state, proposal, ctx, typed=name)
    summary = (proposal.summary or "").strip()
    if "note" not in state["done"] and len(summary) > ctx.rules.max_note_chars and not warnings:
        warnings.append(msg("log.note_left_out", length=len(summary), limit=ctx.rules.max_note_chars))
    # The note was read (a long one left out too): the one typed when asked is not read again.
    state["read"] = "note" in state["done"] or bool(warnings)
    if "client" not in state["done"] and proposal.client_name and not name:
        return proposal.client_name  # a name typed before the colon wins over the reader's
    if "client" in state["done"] and "note" not in state["done"] and name:
        if len(name) <= ctx.rules.max_note_chars:  # "Acme met them about X": the rest is the note
            settle(state, "note", name)
        return ""
    return name


def warned(warnings: list[Msg], shown: Reply) -> Reply:
    counts = (0,) * len(warnings) + shown.line_choices if shown.line_choices else ()
    return dataclasses.replace(shown, lines=tuple(warnings) + shown.lines, line_choices=counts)


def apply(state: State, proposal: Proposal, ctx: Ctx, typed: str = "") -> None:
    """Fill what the text left open from a reader's proposal. Only values that pass the same
    checks as typed answers are taken; anything else stays open and is asked for.
    ``typed``: the client's name as typed, which is no note either."""
    before = set(state["done"])
    _apply_day(state, proposal, ctx.today)
    for field, chosen in (("kind", proposal.kind), ("purpose", proposal.purpose)):
        if chosen is not None and field not in before:
            settle(state, field, chosen.value)
    if "note" not in before and (note := _proposed_note(proposal, ctx, typed)):
        settle(state, "note", note)
    if proposal.proof_shown:  # a "no" is the default: the summary's toggle says otherwise
        settle(state, "proof", True)
    _apply_promises(state, proposal, ctx)
    _apply_signals(state, proposal, ctx)
    if set(state["done"]) - before or state["d"]["promises"] or state.get("undated"):
        state["proposed"] = proposal.source


def _apply_day(state: State, proposal: Proposal, today: date) -> None:
    on = proposal.occurred_on
    if on is not None and on <= today and state["d"]["on"] == today.isoformat():
        state["d"]["on"] = on.isoformat()


def _apply_signals(state: State, proposal: Proposal, ctx: Ctx) -> None:
    """A problem the client raised, what they asked of the rep, whether they wanted proof."""
    if proposal.problem and not state["d"].get("problem"):
        settle(state, "problem", proposal.problem.strip()[: ctx.rules.max_note_chars])
    if proposal.asked_for is not None:
        settle(state, "asked_for", int(proposal.asked_for))
    if proposal.demanded_justification is not None:
        settle(state, "justification", proposal.demanded_justification)


def _proposed_note(proposal: Proposal, ctx: Ctx, typed: str) -> str | None:
    """The reader's tidied note, if it fits and says more than the client's name and the quick
    form's words ("Acme call give", "大和ソリューションズ訪問" are no note: it is asked for)."""
    note = (proposal.summary or "").strip()
    fits = len(note) <= ctx.rules.max_note_chars
    return note if fits and _says_more(note, proposal.client_name, typed) else None


def _apply_promises(state: State, proposal: Proposal, ctx: Ctx) -> None:
    """The proposal's promises: with a due date on or after the touch, taken; else their dates are
    asked, all in one question."""
    d, rules = state["d"], ctx.rules
    on = date.fromisoformat(d["on"])
    dated = [(p.text.strip()[: rules.max_note_chars], p.due_on) for p in proposal.promises if p.text.strip()]
    for what, due in dated[: max(0, rules.max_promises - len(d["promises"]))]:
        if due is not None and due >= on:
            d["promises"].append([what, due.isoformat()])
        else:
            state.setdefault("undated", []).append(what)


def _says_more(summary: str, *names: str | None) -> bool:
    """Whether a note says anything beyond the client's name and the words of a quick form: how
    they met, the purpose, a day ("田中商事様" or "Acme yesterday call give" alone do not)."""
    left = unicodedata.normalize("NFKC", summary).casefold()
    for name in filter(None, names):
        left = left.replace(unicodedata.normalize("NFKC", name).casefold(), " ")
    words = [w for w in _NAME_PARTS.split(left) if w]
    return any(not (vocab.kind_of(w) or vocab.purpose_of(w) or parse_date(w, _ANY_DAY)) for w in words)
