"""How many prompts a log costs: the project's labelled notes replayed through the /logmeeting
state machine, a rep answering every prompt truthfully from the labels.

Three ways of logging each note, as the engine starts them:

- *quick form*: ``/logmeeting <client> <kind> <purpose>: <note>``;
- *free text*: ``/logmeeting <note>``, the rule reader's proposal filling what it can;
- *step by step*: a bare ``/logmeeting``, the client typed, then the note at the note prompt.

The rep answers each question from the labels (the client, kind, purpose, promise dates, what
the client asked of them). At the summary they correct what the reader got wrong before saving:
a wrong day, kind or purpose typed, a missed track record toggled, a missed promise or problem
added, a wrongly read one removed through Edit. Every reply that is not the saved touch counts
as a prompt, corrections and retries included.

Each is run twice: with every existing client's trust assessed recently (the usual case), and
with none ever assessed (every existing client due for the trust question).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from coaching import logflow
from coaching import vocabulary as vocab
from coaching.clientbook import ClientBook
from coaching.logflow import Turn
from coaching.model import Client, Kind, Purpose
from coaching.reading import RuleReader
from coaching.rules import Conversations

NOTES = [json.loads(line) for line in (Path(__file__).parents[1] / "data" / "notes.jsonl").read_text("utf-8").splitlines()
         if line.strip()]
RULES = Conversations()
READER = RuleReader()
LIMITS = {"quick": 3, "free": 5, "step": 5}  # a log that needs more fails the test
MAX_TURNS = 15


def Directory(names: list[str], assessed: date | None) -> ClientBook:
    """The note's clients, ids in order; ``assessed``: when each one's trust was last assessed."""
    return ClientBook(tuple(Client(cid, "W", name, 1, 1, date(2026, 1, 1), trust_assessed_on=assessed)
                            for cid, name in enumerate(names, 1)), owner_id=1)


@dataclass
class Rep:
    """Answers from one note's labels."""

    note: dict[str, Any]

    @property
    def today(self) -> date:
        return date.fromisoformat(self.note["today"])

    @property
    def labels(self) -> dict[str, Any]:
        return self.note["expected"]

    def client(self) -> str:
        return self.labels["client_name"] or self.note["clients"][0]  # no client in the note: a recent one

    def kind(self) -> str:
        return self.labels.get("kind") or "meeting"  # the note does not say: any one the rep picks

    def purpose(self) -> str:
        return self.labels.get("purpose") or "give"

    def dated(self) -> list[tuple[str, str]]:
        return [(p["text"], p["due_on"]) for p in self.labels.get("promises", []) if p["due_on"]]

    def answer(self, turn: Turn, edited: list[str]) -> str:
        """What the rep says to the prompt ``turn`` shows. ``edited``: the fields they went to Edit for."""
        assert turn.state is not None
        state = turn.state
        answers = {
            "client": self.client, "kind": self.kind, "purpose": self.purpose, "note": lambda: self.note["text"],
            "client_pick": lambda: self._pick(state), "promise_due": lambda: self._dues(state),
            "asked_for": lambda: self._trust(state), "justification": self._justified,
            "confirm": lambda: self._check(state, edited), "edit": lambda: f"edit:{edited[-1]}",
            "promise": lambda: self._promise(state), "problem": self._problem,
            "date": lambda: self.labels.get("occurred_on") or self.note["today"],
        }
        return answers[state["step"]]()

    def _pick(self, state: dict[str, Any]) -> str:
        wanted, choices = self.client().casefold(), state["choices"]
        names = zip(choices, state.get("candidates", []) + [[0, c[4:]] for c in choices if c.startswith("new:")])
        fits = [value for value, (_, name) in names if name.casefold() == wanted]
        return fits[0] if fits else self.client()  # not offered: typed again

    def _dues(self, state: dict[str, Any]) -> str:
        dues = [due for _, due in self.dated()][len(state["d"]["promises"]):][: len(state["pending"])]
        return ", ".join(dues) if len(dues) == len(state["pending"]) else "skip"

    def _trust(self, state: dict[str, Any]) -> str:
        justified = self.labels.get("demanded_justification")
        if "justify" in state["choices"] and justified and not state["d"].get("justification"):
            return "justify"  # the toggle first, then the level
        level = self.labels.get("asked_for")
        return f"level:{level}" if level else "skip"

    def _justified(self) -> str:
        value = self.labels.get("demanded_justification")
        return "skip" if value is None else ("yes" if value else "no")

    def _promise(self, state: dict[str, Any]) -> str:
        """"+ Promise", or Edit's promises (cleared): the next one the labels hold."""
        missing = self.dated()[len(state["d"]["promises"]):]
        return f"{missing[0][0]} by {missing[0][1]}" if missing else "no"

    def _problem(self) -> str:
        return "the problem they raised" if self.labels.get("problem") else "no"

    def _check(self, state: dict[str, Any], edited: list[str]) -> str:
        """At the summary: correct what differs from the labels, one thing per prompt; else save."""
        d, labels = state["d"], self.labels
        on = labels.get("occurred_on") or self.note["today"]
        if d["on"] != on:
            return on  # typed: the summary takes a day, a kind or a purpose as a correction
        for field in ("kind", "purpose"):
            if labels.get(field) and d[field] != labels[field]:
                return labels[field]
        if bool(d.get("proof")) != bool(labels.get("proof_shown")):
            return "proof"
        if labels.get("problem") and not d.get("problem"):
            return "problem"
        if d.get("problem") and not labels.get("problem") and "problem" not in edited:
            edited.append("problem")
            return "edit"
        dated = self.dated()
        if len(d["promises"]) > len(dated) and "promise" not in edited:
            edited.append("promise")  # Edit's promises starts them over
            return "edit"
        if len(d["promises"]) < len(dated) and "promise" in state["choices"]:
            return "promise"
        return "save"


def quick_form(note: dict[str, Any]) -> str:
    """``<client> <kind> <purpose>: <note>``, in the note's language ("北斗電機 電話 ギブ: …")."""
    rep = Rep(note)
    kind, purpose = rep.kind(), rep.purpose()
    if note["lang"] == "ja":
        kind = next(w for w in vocab.KIND_WORDS[Kind(kind)] if not w.isascii())
        purpose = next(w for w in vocab.PURPOSE_WORDS[Purpose(purpose)] if not w.isascii())
    return f"{rep.client()} {kind} {purpose}: {note['text']}"


def replay(note: dict[str, Any], mode: str, assessed: date | None, trace: bool = False) -> tuple[int, int, Turn]:
    """What one log costs: the prompts the coach asks (up to and with the first summary), all
    prompts until it is saved (the rep's corrections at the summary too), and its last turn."""
    rep = Rep(note)
    directory = Directory(note["clients"], assessed)
    if mode == "step":
        turn = logflow.start(rep.today, directory, RULES)
    else:
        text = quick_form(note) if mode == "quick" else note["text"]
        proposal = READER.read(text, rep.today, note["clients"], note["lang"])
        turn = logflow.start(rep.today, directory, RULES, quick=text, proposal=proposal)
    prompts, asked, edited = 0, 0, []
    while turn.finished is None:
        assert turn.state is not None, f"{note['id']} ({mode}) ended without saving: {turn.reply}"
        prompts += 1
        asked = asked or (prompts if turn.state["step"] == "confirm" else 0)
        assert prompts <= MAX_TURNS, f"{note['id']} ({mode}) does not end: {turn.state}"
        state = json.loads(json.dumps(turn.state))  # as storage keeps it
        said = rep.answer(turn, edited)
        if trace:
            print(f"{prompts}. {state['step']} -> {said!r}")
        turn = logflow.answer(state, said, rep.today, directory, RULES, language=note["lang"])
    return asked, prompts, turn


SCENARIOS = {"assessed recently": lambda today: today - timedelta(days=30), "never assessed": lambda today: None}


def measure(mode: str, scenario: str) -> dict[str, list[tuple[str, int, int]]]:
    """Per language: ``(note id, prompts asked, prompts until saved)``."""
    counts: dict[str, list[tuple[str, int, int]]] = {}
    for note in NOTES:
        asked, total, _ = replay(note, mode, SCENARIOS[scenario](date.fromisoformat(note["today"])))
        counts.setdefault(note["lang"], []).append((note["id"], asked, total))
    return counts


def figures(numbers: list[int]) -> str:
    return (f"mean {statistics.mean(numbers):.2f}, max {max(numbers)}, "
            f"within 2 prompts {sum(n <= 2 for n in numbers) / len(numbers):.0%}")


# What each way of logging may cost in the coach's own prompts, and, with the rep's corrections
# of what the reader misread, on average and within two prompts (measured: see README).
MEAN_AT_MOST = {"quick": 1.6, "free": 2.2, "step": 4.0}
WITHIN_TWO_AT_LEAST = {"quick": 0.9, "free": 0.6, "step": 0.0}


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("mode", LIMITS)
def test_prompts_per_log(mode: str, scenario: str) -> None:
    counts = measure(mode, scenario)
    assert set(counts) == {"en", "ja"}
    for lang, rows in counts.items():
        asked, total = [a for _, a, _ in rows], [t for _, _, t in rows]
        print(f"\n{mode:5} {scenario:17} {lang}: {len(rows)} notes; asked: {figures(asked)}; "
              f"until saved: {figures(total)}; corrected at the summary: {[(i, t) for i, a, t in rows if t > a]}")
        over = [(i, a) for i, a, _ in rows if a > LIMITS[mode]]
        assert over == [], f"{mode} logs asking over {LIMITS[mode]} prompts ({scenario}): {over}"
        usual = scenario == "assessed recently"
        assert not usual or statistics.mean(total) <= MEAN_AT_MOST[mode], (mode, lang, statistics.mean(total))
        assert not usual or sum(n <= 2 for n in total) / len(total) >= WITHIN_TWO_AT_LEAST[mode], (mode, lang)
    # within the budget even when the rep corrects the reader at the summary: 3 (quick), 5 (step by step)
    assert max(t for rows in counts.values() for _, _, t in rows) <= LIMITS[mode]


def test_every_replayed_log_saves_what_the_labels_say() -> None:
    """The replay is honest: what it saves agrees with the labels it answered from."""
    for note in NOTES:
        for mode in LIMITS:
            *_, turn = replay(note, mode, None)
            saved, labels = turn.finished, note["expected"]
            assert saved is not None
            assert saved.client_name.casefold() == Rep(note).client().casefold(), (note["id"], mode)
            assert saved.occurred_on.isoformat() == (labels.get("occurred_on") or note["today"]), (note["id"], mode)
            assert saved.proof_shown == bool(labels.get("proof_shown")), (note["id"], mode)
            assert bool(saved.problem) == bool(labels.get("problem")), (note["id"], mode)
            assert [p.due_on.isoformat() for p in saved.promises] == [d for _, d in Rep(note).dated()], (note["id"], mode)
            for field, value in (("kind", saved.kind), ("purpose", saved.purpose)):
                assert labels.get(field) in (None, value.value), (note["id"], mode, field)


def test_a_complete_quick_form_note_costs_one_prompt_or_two() -> None:
    """The issue's own example: a known client, nothing left open. One prompt (the summary);
    two when the client's trust is due for assessment."""
    note = {"id": "issue", "lang": "en", "today": "2026-11-20", "clients": ["Northwind Traders", "Acme"],
            "text": "sent them our benchmark report, no ask",
            "expected": {"client_name": "Northwind Traders", "kind": "call", "purpose": "give", "promises": [],
                         "problem": False, "asked_for": 2, "demanded_justification": None}}
    assert replay(note, "quick", date(2026, 11, 1))[1] == 1
    _, prompts, turn = replay(note, "quick", None)
    assert prompts == 2 and turn.finished is not None and int(turn.finished.asked_for) == 2
    ja = dict(note, lang="ja", clients=["北斗電機"], text="業界レポートを共有しました。営業色なし",
              expected=dict(note["expected"], client_name="北斗電機"))
    assert replay(ja, "quick", date(2026, 11, 1))[1] == 1
