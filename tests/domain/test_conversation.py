"""The /logmeeting conversation, driven answer by answer with an in-memory client directory."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from coaching import conversation
from coaching.conversation import LogRequest, Turn
from coaching.model import Kind, PromiseDraft, Purpose, TrustLevel
from coaching.rules import Conversations

TODAY = date(2026, 11, 25)  # a Wednesday
RULES = Conversations()


class Directory:
    def __init__(self, clients: list[tuple[int, str]]) -> None:
        self.clients = clients

    def exact(self, name: str) -> tuple[int, str] | None:
        return next((c for c in self.clients if c[1].casefold() == name.casefold()), None)

    def similar(self, name: str, limit: int) -> list[tuple[int, str]]:
        return [c for c in self.clients if name[:3].casefold() in c[1].casefold()][:limit]

    def recent(self, limit: int) -> list[tuple[int, str]]:
        return self.clients[:limit]

    def by_id(self, client_id: int) -> tuple[int, str] | None:
        return next((c for c in self.clients if c[0] == client_id), None)


DIR = Directory([(1, "Acme"), (2, "Globex"), (3, "Initech"), (4, "Sun Corp"), (5, "山田商事")])


def keys(turn: Turn) -> list[str]:
    return [line.key for line in turn.reply.lines]


def talk(answers: list[str], quick: str = "", rules: Conversations = RULES) -> list[Turn]:
    """Every turn, from start to the last answer; state goes through JSON as storage keeps it."""
    turns = [conversation.start(TODAY, DIR, rules, quick=quick)]
    for text in answers:
        state = json.loads(json.dumps(turns[-1].state))
        turns.append(conversation.answer(state, text, TODAY, DIR, rules))
    return turns


def step(turn: Turn) -> str | None:
    return turn.state["step"] if turn.state else None


FULL = ["Acme", "call", "give", "Sent the Q3 benchmark", "yes", "send the revised quote by Friday",
        "no", "delivery was late", "level:2", "yes"]
FULL_REQUEST = LogRequest(
    client_id=1, client_name="Acme", occurred_on=TODAY, kind=Kind.CALL, purpose=Purpose.GIVE,
    note="Sent the Q3 benchmark", proof_shown=True,
    promises=(PromiseDraft("send the revised quote", date(2026, 11, 27)),),
    problem="delivery was late", asked_for=TrustLevel.SOLUTIONS, demanded_justification=True,
)
FULL_STEPS = ["client", "kind", "purpose", "note", "proof", "promise", "promise", "problem", "asked_for",
              "justification", "confirm"]


def test_full_english_path() -> None:
    turns = talk([*FULL, "save"])
    assert [step(t) for t in turns] == [*FULL_STEPS, None]
    assert turns[0].reply.lines[0].key == "log.ask.client"
    assert [c.value for c in turns[0].reply.choices] == [f"client:{i}" for i in range(1, 6)]
    assert keys(turns[6]) == ["log.noted.promise", "log.ask.promise_more"]
    assert keys(turns[-2]) == [
        "log.summary.title", "log.summary.client", "log.summary.when", "log.summary.purpose",
        "log.summary.note", "log.summary.proof", "log.summary.promise", "log.summary.problem",
        "log.summary.asked_for", "log.summary.justification", "log.ask.confirm"]
    assert all(t.finished is None for t in turns[:-1])
    assert turns[-1].finished == FULL_REQUEST


def test_numbers_pick_the_numbered_choice() -> None:
    # client 1 = Acme, kind 2 = call, purpose 1 = give, proof 2 = no, level 3, justification 3 = skip, save 1
    turns = talk(["1", "2", "1", "skip", "2", "no", "no", "3", "3", "1"])
    assert turns[-1].finished == LogRequest(
        client_id=1, client_name="Acme", occurred_on=TODAY, kind=Kind.CALL, purpose=Purpose.GIVE,
        note="", proof_shown=False, promises=(), problem=None, asked_for=TrustLevel.WHOLE_BUSINESS,
        demanded_justification=None)


@pytest.mark.parametrize("at", range(len(FULL) + 1))
@pytest.mark.parametrize("word", ["cancel", "Cancel", "キャンセル", "stop"])
def test_cancel_at_any_step(at, word) -> None:
    last = talk([*FULL[:at], word])[-1]
    assert (last.state, last.finished, keys(last)) == (None, None, ["log.cancelled"])


def test_cancel_by_number_at_confirm() -> None:
    last = talk([*FULL, "3"])[-1]
    assert (last.state, last.finished, keys(last)) == (None, None, ["log.cancelled"])


@pytest.mark.parametrize(
    "answered, wrong, retry_key, asks",
    [
        (0, "", "log.retry.client", "log.ask.client"),
        (0, "x" * 201, "log.retry.client", "log.ask.client"),
        (1, "banana", "log.retry.kind", "log.ask.kind"),
        (2, "maybe", "log.retry.purpose", "log.ask.purpose"),
        (2, "9", "log.retry.purpose", "log.ask.purpose"),  # no ninth choice
        (4, "perhaps", "log.retry.proof", "log.ask.proof"),
        (8, "level:7", "log.retry.asked_for", "log.ask.asked_for"),
        (9, "sometimes", "log.retry.justification", "log.ask.justification"),
        (10, "later", "log.retry.confirm", "log.ask.confirm"),
    ],
)
def test_wrong_answers_ask_again(answered, wrong, retry_key, asks) -> None:
    turns = talk([*FULL[:answered], wrong])
    assert keys(turns[-1])[0] == retry_key and keys(turns[-1])[-1] == asks
    assert step(turns[-1]) == step(turns[-2])
    assert turns[-1].reply.choices == turns[-2].reply.choices


def test_a_promise_without_a_date_asks_when() -> None:
    turns = talk([*FULL[:5], "send the deck", "someday", "Friday"])
    assert (step(turns[-3]), keys(turns[-3])) == ("promise_due", ["log.ask.promise_due"])
    assert turns[-3].reply.lines[0].params == {"promise": "send the deck"}
    assert keys(turns[-2]) == ["log.retry.date", "log.ask.promise_due"]
    assert (step(turns[-1]), turns[-1].state["d"]["promises"]) == ("promise", [["send the deck", "2026-11-27"]])


def test_a_due_date_before_the_touch_is_refused() -> None:
    refused = talk([*FULL[:5], "send the deck", "yesterday"])[-1]
    assert keys(refused) == ["log.retry.due_past", "log.ask.promise_due"]
    assert refused.reply.lines[0].params == {"due": date(2026, 11, 24)}
    assert refused.state["d"]["promises"] == []


@pytest.mark.parametrize("answers", [["send the deck", "yesterday", "Friday"], ["send the deck yesterday", "Friday"]])
def test_after_a_refused_due_date_the_promise_is_still_asked_for(answers) -> None:
    last = talk([*FULL[:5], *answers])[-1]
    assert (step(last), last.state["d"]["promises"]) == ("promise", [["send the deck", "2026-11-27"]])


def test_max_promises_stops_asking() -> None:
    rules = Conversations(max_promises=2)
    turns = talk([*FULL[:5], "send the deck by Friday", "intro to their CFO in 3 days"], rules=rules)
    assert (step(turns[-1]), keys(turns[-1])) == ("problem", ["log.ask.problem"])
    assert turns[-1].state["d"]["promises"] == [["send the deck", "2026-11-27"], ["intro to their CFO", "2026-11-28"]]


def test_quick_form_skips_what_it_already_knows() -> None:
    first = talk([], quick="Acme call give: sent the report")[0]
    assert (step(first), keys(first)) == ("proof", ["log.ask.proof"])
    last = talk(["no", "no", "no", "skip", "skip", "save"], quick="Acme call give: sent the report")[-1]
    assert last.finished == LogRequest(
        client_id=1, client_name="Acme", occurred_on=TODAY, kind=Kind.CALL, purpose=Purpose.GIVE,
        note="sent the report", proof_shown=False, promises=(), problem=None, asked_for=None,
        demanded_justification=None)


def test_quick_form_reads_a_past_date() -> None:
    first = talk([], quick="Acme yesterday call give: sent the report")[0]
    assert (step(first), first.state["d"]["on"]) == ("proof", "2026-11-24")


@pytest.mark.parametrize(
    "quick, key, choices",
    [
        ("Acmo call give: sent it", "log.ask.client_pick", ["client:1", "new:Acmo"]),
        ("Umbrella call give: sent it", "log.ask.client_new", ["new:Umbrella"]),
    ],
)
def test_quick_form_with_an_unknown_client(quick, key, choices) -> None:
    first = talk([], quick=quick)[0]
    assert (step(first), keys(first), [c.value for c in first.reply.choices]) == ("client_pick", [key], choices)


@pytest.mark.parametrize("pick, client_id, name", [("1", 1, "Acme"), ("2", None, "Acmo"), ("Globex", 2, "Globex")])
def test_picking_after_an_unknown_client(pick, client_id, name) -> None:
    turns = talk([pick], quick="Acmo call give: sent it")
    assert step(turns[-1]) == "proof"
    assert (turns[-1].state["d"]["client_id"], turns[-1].state["d"]["client_name"]) == (client_id, name)


def test_quick_form_keeps_a_client_name_that_looks_like_a_date() -> None:
    first = talk([], quick="Sun Corp call give: sent it")[0]
    assert (first.state["d"]["client_id"], first.state["d"]["on"]) == (4, "2026-11-25")


def test_japanese_path() -> None:
    answers = ["山田商事", "打ち合わせ", "ギブ", "業界レポートを共有", "はい", "来週月曜までに見積もり再提出",
               "なし", "なし", "スキップ", "いいえ", "はい"]
    turns = talk(answers)
    assert [step(t) for t in turns] == [*FULL_STEPS, None]
    assert turns[-1].finished == LogRequest(
        client_id=5, client_name="山田商事", occurred_on=TODAY, kind=Kind.MEETING, purpose=Purpose.GIVE,
        note="業界レポートを共有", proof_shown=True,
        promises=(PromiseDraft("見積もり再提出", date(2026, 11, 30)),), problem=None, asked_for=None,
        demanded_justification=False)


@pytest.mark.parametrize(
    "field, new_answer, changed",
    [
        ("edit:kind", "email", {"kind": Kind.EMAIL}),
        ("3", "visit", {"kind": Kind.VISIT}),  # the third edit choice is the kind
        ("edit:note", "Sent the Q4 benchmark", {"note": "Sent the Q4 benchmark"}),
        ("edit:promise", "no", {"promises": ()}),
        ("edit:client", "Globex", {"client_id": 2, "client_name": "Globex"}),
        ("edit:date", "yesterday", {"occurred_on": date(2026, 11, 24)}),
        ("edit:date", "Monday", {"occurred_on": date(2026, 11, 23)}),
    ],
)
def test_edit_changes_one_field_and_returns_to_confirm(field, new_answer, changed) -> None:
    turns = talk([*FULL, "edit", field, new_answer, "save"])
    assert step(turns[-5]) == "confirm"
    assert (step(turns[-4]), keys(turns[-4])) == ("edit", ["log.ask.edit"])
    assert step(turns[-2]) == "confirm"
    assert turns[-1].finished == replace(FULL_REQUEST, **changed)


@pytest.mark.parametrize("when", ["tomorrow", "next Friday", "hello"])
def test_edit_date_refuses_the_future_and_non_dates(when) -> None:
    turns = talk([*FULL, "edit", "edit:date", when])
    assert (step(turns[-1]), keys(turns[-1])) == ("date", ["log.retry.date_past", "log.ask.date"])
    assert turns[-1].state["d"]["on"] == "2026-11-25"


def test_a_note_over_the_limit_is_refused() -> None:
    rules = Conversations(max_note_chars=10)
    turns = talk(["Acme", "call", "give", "x" * 11, "x" * 10], rules=rules)
    assert (step(turns[-2]), keys(turns[-2])) == ("note", ["log.retry.too_long", "log.ask.note"])
    assert turns[-2].reply.lines[0].params == {"limit": 10}
    assert (step(turns[-1]), turns[-1].state["d"]["note"]) == ("proof", "x" * 10)


# --- a reader's proposal ------------------------------------------------------------------------

from coaching.reading import Proposal, ProposedPromise, RuleReader  # noqa: E402


def proposed(quick: str, proposal: Proposal | None = None, answers: tuple[str, ...] = ()) -> list[Turn]:
    proposal = proposal or RuleReader().read(quick, TODAY, [n for _, n in DIR.clients], "en")
    turns = [conversation.start(TODAY, DIR, RULES, quick=quick, proposal=proposal)]
    for text in answers:
        turns.append(conversation.answer(json.loads(json.dumps(turns[-1].state)), text, TODAY, DIR, RULES))
    return turns


def test_a_sentence_without_a_colon_is_not_read_word_by_word():
    """"Wednesday" is the promise's due date, not the day of the touch; "call" in "call back"
    is not how they met."""
    quick = "Acme promised a quote by Wednesday, asked me to call back with a price on Monday"
    [turn] = proposed(quick, Proposal(client_name="Acme"))  # a reader that read nothing else
    d = turn.state["d"]
    assert d["on"] == TODAY.isoformat() and "kind" not in turn.state["done"] and "purpose" not in turn.state["done"]
    assert d["client_id"] == 1
    [quick_form] = proposed("Acme call give", Proposal(client_name="Acme"))  # the quick form still works
    assert (quick_form.state["d"]["kind"], quick_form.state["d"]["purpose"]) == ("call", "give")


def test_the_client_typed_before_the_colon_wins_over_the_readers():
    proposal = Proposal(client_name="Acme", summary="intro from Acme's CFO", kind=Kind.MEETING)
    [turn] = proposed("Initech: intro from Acme's CFO", proposal)
    assert turn.state["d"]["client_name"] == "Initech" and turn.state["d"]["note"] == "intro from Acme's CFO"


def test_a_proposed_no_for_proof_is_asked_not_assumed():
    [turn] = proposed("Acme: we showed the ROI study", Proposal(client_name="Acme", proof_shown=False))
    assert "proof" not in turn.state["done"]
    [turn] = proposed("Acme: we showed the ROI study", Proposal(client_name="Acme", proof_shown=True))
    assert turn.state["d"]["proof"] is True


def test_a_promise_read_without_a_date_can_be_left_out():
    proposal = Proposal(client_name="Acme", kind=Kind.MEETING, purpose=Purpose.GIVE, summary="took the quote home",
                        promises=(ProposedPromise("revise the quote", None),))
    turns = proposed("Acme: took the quote home", proposal, answers=("no", "skip"))
    assert step(turns[1]) == "promise_due" and [c.value for c in turns[1].reply.choices] == ["skip"]
    assert step(turns[2]) == "problem" and turns[2].state["d"]["promises"] == []
    assert "promise" in turns[2].state["done"]


@pytest.mark.parametrize("quick", ["山田商事", "山田商事様", "株式会社山田商事"])
def test_a_note_that_is_only_the_clients_name_is_no_note(quick):
    [turn] = proposed(quick, Proposal(client_name="山田商事", summary=quick))
    assert "note" not in turn.state["done"]
