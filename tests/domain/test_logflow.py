"""The /logmeeting conversation, driven answer by answer with an in-memory client book."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest

from coaching import logflow
from coaching.clientbook import ClientBook
from coaching.logflow import LogRequest, Turn
from bot.catalog import Catalog
from coaching.model import Client, Kind, PromiseDraft, Purpose, TrustLevel
from coaching.reading import Proposal, ProposedPromise, RuleReader
from coaching.rules import Conversations

TODAY = date(2026, 11, 25)  # a Wednesday
RULES = Conversations()
RECENTLY = TODAY - timedelta(days=10)
CATALOG = Catalog()


def Directory(clients: list[tuple[int, str]], assessed: dict[int, date | None] | None = None) -> ClientBook:
    """Clients as ``(id, name)``, owned by rep 1; every one's trust assessed recently unless
    ``assessed`` says."""
    assessed = assessed or {}
    return ClientBook(tuple(Client(cid, "W", name, 1, 1, TODAY, trust_assessed_on=assessed.get(cid, RECENTLY))
                            for cid, name in clients), owner_id=1)


CLIENTS = [(1, "Acme"), (2, "Globex"), (3, "Initech"), (4, "Sun Corp"), (5, "山田商事")]
DIR = Directory(CLIENTS)


def keys(turn: Turn) -> list[str]:
    return [line.key for line in turn.reply.lines]


def values(turn: Turn) -> list[str]:
    return [c.value for c in turn.reply.choices]


def talk(answers: list[str], quick: str = "", rules: Conversations = RULES, directory: Directory = DIR,
         proposal: Proposal | None = None) -> list[Turn]:
    """Every turn, from start to the last answer; state goes through JSON as storage keeps it."""
    turns = [logflow.start(TODAY, directory, rules, quick=quick, proposal=proposal)]
    for text in answers:
        state = json.loads(json.dumps(turns[-1].state))
        turns.append(logflow.answer(state, text, TODAY, directory, rules))
    return turns


def step(turn: Turn) -> str | None:
    return turn.state["step"] if turn.state else None


CONFIRM = ["save", "promise", "problem", "proof", "edit"]  # five buttons at most; cancel is under Edit
FULL = ["Acme", "Sent the Q3 benchmark", "call", "give"]  # step by step: the note says neither kind nor purpose
FULL_REQUEST = LogRequest(
    client_id=1, client_name="Acme", occurred_on=TODAY, kind=Kind.CALL, purpose=Purpose.GIVE,
    note="Sent the Q3 benchmark", proof_shown=False, promises=(), problem=None, asked_for=None,
    demanded_justification=None,
)


def test_step_by_step_asks_the_client_the_note_how_and_why_then_shows_the_summary() -> None:
    turns = talk([*FULL, "save"])
    assert [step(t) for t in turns] == ["client", "note", "kind", "purpose", "confirm", None]
    assert turns[0].reply.lines[0].key == "log.ask.client"
    assert values(turns[0]) == [f"client:{i}" for i in range(1, 6)]
    assert keys(turns[-2]) == ["log.summary.title", "log.summary.client", "log.summary.when", "log.summary.purpose",
                               "log.summary.note", "log.ask.confirm"]
    assert values(turns[-2]) == CONFIRM
    assert all(t.finished is None for t in turns[:-1])
    assert turns[-1].finished == FULL_REQUEST


def test_the_note_is_read_so_what_it_says_is_not_asked() -> None:
    note = "Call: shared the Q3 benchmark, no ask. Promised to send the slides by Friday; they complained about late delivery"
    turns = talk(["Acme", note, "save"])
    assert [step(t) for t in turns] == ["client", "note", "confirm", None]
    assert turns[1].reply.lines[0].key == "log.ask.note"  # it invites promises and problems
    assert "log.summary.title_proposed" in keys(turns[2])
    saved = turns[-1].finished
    assert (saved.kind, saved.purpose, saved.note) == (Kind.CALL, Purpose.GIVE, note)
    assert saved.promises == (PromiseDraft("send the slides", date(2026, 11, 27)),)
    assert saved.problem == "late delivery"


def test_the_summary_adds_a_promise_a_problem_and_toggles_the_track_record() -> None:
    turns = talk([*FULL, "promise", "send the revised quote by Friday", "problem", "delivery was late",
                  "proof", "proof", "proof", "save"])
    assert (step(turns[5]), keys(turns[5]), values(turns[5])) == ("promise", ["log.ask.promise_add"], ["no"])
    assert step(turns[6]) == "confirm" and "log.summary.promise" in keys(turns[6])
    assert (step(turns[7]), keys(turns[7])) == ("problem", ["log.ask.problem"])
    assert values(turns[8]) == ["save", "promise", "proof", "edit"]  # a problem is there: no "+ Problem"
    labels = [CATALOG.render(c.label, "en") for c in turns[9].reply.choices]
    assert "✓ Track record shown" in labels and "log.summary.proof" in keys(turns[9])
    assert "log.summary.proof" not in keys(turns[10])
    assert turns[-1].finished == replace(FULL_REQUEST, proof_shown=True, problem="delivery was late",
                                         promises=(PromiseDraft("send the revised quote", date(2026, 11, 27)),))


def test_back_from_a_summary_button_changes_nothing() -> None:
    turns = talk([*FULL, "promise", "1", "problem", "no", "save"])
    assert [step(t) for t in turns[4:]] == ["confirm", "promise", "confirm", "problem", "confirm", None]
    assert turns[-1].finished == FULL_REQUEST


def test_numbers_pick_the_numbered_choice() -> None:
    # client 1 = Acme, skip the note, kind 2 = call, purpose 1 = give, 4 = the track record, save 1
    turns = talk(["1", "1", "2", "1", "4", "1"])
    assert turns[-1].finished == replace(FULL_REQUEST, note="", proof_shown=True)


@pytest.mark.parametrize("at", range(len(FULL) + 1))
@pytest.mark.parametrize("word", ["cancel", "Cancel", "キャンセル", "stop", "やめる"])
def test_cancel_at_any_step(at, word) -> None:
    last = talk([*FULL[:at], word])[-1]
    assert (last.state, last.finished, keys(last)) == (None, None, ["log.cancelled"])


def test_cancel_by_number_under_edit() -> None:
    last = talk([*FULL, "5", "12"])[-1]
    assert (last.state, last.finished, keys(last)) == (None, None, ["log.cancelled"])


@pytest.mark.parametrize(
    "answered, wrong, retry_key, asks",
    [
        (0, "", "log.retry.client", "log.ask.client"),
        (0, "x" * 201, "log.retry.client", "log.ask.client"),
        (2, "banana", "log.retry.kind", "log.ask.kind"),
        (3, "maybe", "log.retry.purpose", "log.ask.purpose"),
        (3, "9", "log.retry.purpose", "log.ask.purpose"),  # no ninth choice
        (4, "later", "log.retry.confirm", "log.ask.confirm"),
        (4, "no", "log.retry.confirm", "log.ask.confirm"),  # "no" is not "save"
        (4, "tomorrow", "log.retry.confirm", "log.ask.confirm"),  # a touch is not in the future
    ],
)
def test_wrong_answers_ask_again(answered, wrong, retry_key, asks) -> None:
    turns = talk([*FULL[:answered], wrong])
    assert keys(turns[-1])[0] == retry_key and keys(turns[-1])[-1] == asks
    assert step(turns[-1]) == step(turns[-2])
    assert turns[-1].reply.choices == turns[-2].reply.choices


@pytest.mark.parametrize("field, wrong, retry_key", [
    ("proof", "perhaps", "log.retry.proof"),
    ("asked_for", "level:7", "log.retry.asked_for"),
    ("justification", "sometimes", "log.retry.justification"),
])
def test_wrong_answers_to_an_edited_field_ask_again(field, wrong, retry_key) -> None:
    turns = talk([*FULL, "edit", f"edit:{field}", wrong])
    assert keys(turns[-1])[0] == retry_key and step(turns[-1]) == field
    assert turns[-1].reply.choices == turns[-2].reply.choices


@pytest.mark.parametrize("typed", ["save", "Save", "SAVE", "yes", "保存", "記録する", "記録", "登録", "はい", "1"])
def test_the_summary_takes_save_typed_in_either_language(typed) -> None:
    assert talk([*FULL, typed])[-1].finished == FULL_REQUEST


@pytest.mark.parametrize("typed", ["edit", "Edit", "修正する", "修正", "編集", "変更"])
def test_the_summary_takes_edit_typed_in_either_language(typed) -> None:
    last = talk([*FULL, typed])[-1]
    assert (step(last), keys(last)) == ("edit", ["log.ask.edit"])


@pytest.mark.parametrize("typed, value", [
    ("+ Promise", "promise"), ("+ 約束を追加", "promise"), ("promise", "promise"), ("約束を追加", "promise"),
    ("+ problem", "problem"), ("困りごとを追加", "problem"), ("＋　困りごとを追加", "problem"),
    ("Track record shown", "proof"), ("+ 実績を示した", "proof"), ("キャンセル", "cancel"),
])
def test_the_summary_takes_any_button_label_typed(typed, value) -> None:
    typed_turn, picked = talk([*FULL, typed])[-1], talk([*FULL, value])[-1]
    assert (typed_turn.state, keys(typed_turn)) == (picked.state, keys(picked))


def test_every_choice_prompt_takes_its_labels_typed() -> None:
    """The kind, the purpose, a client, the trust levels: what the buttons say, in either language."""
    turns = talk(["山田商事", "skip", "電話", "情報提供・お役立ち:見返りを求めない情報・紹介・手助け", "Edit", "What they asked of you",
                  "専門分野とその周辺の解決策", "記録する"])
    assert turns[-1].finished == LogRequest(
        client_id=5, client_name="山田商事", occurred_on=TODAY, kind=Kind.CALL, purpose=Purpose.GIVE, note="",
        proof_shown=False, promises=(), problem=None, asked_for=TrustLevel.SOLUTIONS, demanded_justification=None)


@pytest.mark.parametrize("typed, changed", [
    ("yesterday", {"occurred_on": date(2026, 11, 24)}), ("昨日", {"occurred_on": date(2026, 11, 24)}),
    ("11/20", {"occurred_on": date(2026, 11, 20)}), ("email", {"kind": Kind.EMAIL}), ("メール", {"kind": Kind.EMAIL}),
    ("ask", {"purpose": Purpose.ASK}), ("対応", {"purpose": Purpose.SERVICE}),
])
def test_the_summary_takes_a_typed_correction(typed, changed) -> None:
    turns = talk([*FULL, typed, "save"])
    assert step(turns[-2]) == "confirm"
    assert turns[-1].finished == replace(FULL_REQUEST, **changed)


def test_a_promise_without_a_date_asks_when() -> None:
    turns = talk([*FULL, "promise", "send the deck", "someday", "Friday"])
    assert (step(turns[-3]), keys(turns[-3])) == ("promise_due", ["log.ask.promise_due"])
    assert turns[-3].reply.lines[0].params == {"promise": "send the deck"}
    assert keys(turns[-2]) == ["log.retry.date", "log.ask.promise_due"]
    assert (step(turns[-1]), turns[-1].state["d"]["promises"]) == ("confirm", [["send the deck", "2026-11-27"]])


def test_a_due_date_before_the_touch_is_refused() -> None:
    refused = talk([*FULL, "promise", "send the deck", "yesterday"])[-1]
    assert keys(refused) == ["log.retry.due_past", "log.ask.promise_due"]
    assert refused.reply.lines[0].params == {"due": date(2026, 11, 24)}
    assert refused.state["d"]["promises"] == []


@pytest.mark.parametrize("answers", [["send the deck", "yesterday", "Friday"], ["send the deck yesterday", "Friday"]])
def test_after_a_refused_due_date_the_promise_is_still_asked_for(answers) -> None:
    last = talk([*FULL, "promise", *answers])[-1]
    assert (step(last), last.state["d"]["promises"]) == ("confirm", [["send the deck", "2026-11-27"]])


def test_max_promises_hides_the_promise_button() -> None:
    rules = Conversations(max_promises=2)
    turns = talk([*FULL, "promise", "send the deck by Friday", "promise", "intro to their CFO in 3 days"], rules=rules)
    assert step(turns[-1]) == "confirm" and "promise" not in values(turns[-1])
    assert turns[-1].state["d"]["promises"] == [["send the deck", "2026-11-27"], ["intro to their CFO", "2026-11-28"]]
    assert keys(talk([*FULL, "promise", "send the deck by Friday", "promise", "x by Friday", "promise"],
                     rules=rules)[-1])[0] == "log.retry.confirm"


def test_quick_form_asks_only_the_summary() -> None:
    turns = talk(["save"], quick="Acme call give: sent the report")
    assert (step(turns[0]), values(turns[0])) == ("confirm", CONFIRM)
    assert turns[-1].finished == LogRequest(
        client_id=1, client_name="Acme", occurred_on=TODAY, kind=Kind.CALL, purpose=Purpose.GIVE,
        note="sent the report", proof_shown=False, promises=(), problem=None, asked_for=None,
        demanded_justification=None)


def test_quick_form_reads_a_past_date() -> None:
    first = talk([], quick="Acme yesterday call give: sent the report")[0]
    assert (step(first), first.state["d"]["on"]) == ("confirm", "2026-11-24")


@pytest.mark.parametrize(
    "quick, key, choices",
    [
        ("Acmo call give: sent it", "log.ask.client_pick", ["client:1", "new:Acmo"]),
        ("Umbrella call give: sent it", "log.ask.client_new", ["new:Umbrella"]),
    ],
)
def test_quick_form_with_an_unknown_client(quick, key, choices) -> None:
    first = talk([], quick=quick)[0]
    assert (step(first), keys(first), values(first)) == ("client_pick", [key], choices)


@pytest.mark.parametrize("pick, client_id, name", [("1", 1, "Acme"), ("2", None, "Acmo"), ("Globex", 2, "Globex"),
                                                   ("Add “Acmo” as a new client", None, "Acmo"),
                                                   ("「Acmo」を新しいお客様として追加", None, "Acmo")])
def test_picking_after_an_unknown_client(pick, client_id, name) -> None:
    turns = talk([pick], quick="Acmo call give: sent it")
    assert step(turns[-1]) == "confirm"
    assert (turns[-1].state["d"]["client_id"], turns[-1].state["d"]["client_name"]) == (client_id, name)


def test_quick_form_keeps_a_client_name_that_looks_like_a_date() -> None:
    first = talk([], quick="Sun Corp call give: sent it")[0]
    assert (first.state["d"]["client_id"], first.state["d"]["on"]) == (4, "2026-11-25")


def test_japanese_step_by_step() -> None:
    answers = ["山田商事", "業界レポートをお渡ししました。来週月曜までに資料を送ると約束しました。", "打ち合わせ", "ギブ",
               "+ 実績を示した", "記録する"]
    turns = talk(answers)
    assert [step(t) for t in turns] == ["client", "note", "kind", "purpose", "confirm", "confirm", None]
    assert turns[-1].finished == LogRequest(
        client_id=5, client_name="山田商事", occurred_on=TODAY, kind=Kind.MEETING, purpose=Purpose.GIVE,
        note=answers[1], proof_shown=True, promises=(PromiseDraft("資料を送る", date(2026, 11, 30)),),
        problem=None, asked_for=None, demanded_justification=None)


@pytest.mark.parametrize(
    "field, new_answer, changed",
    [
        ("edit:kind", "email", {"kind": Kind.EMAIL}),
        ("3", "visit", {"kind": Kind.VISIT}),  # the third edit choice is the kind
        ("edit:note", "Sent the Q4 benchmark", {"note": "Sent the Q4 benchmark"}),
        ("edit:promise", "send the deck by Friday", {"promises": (PromiseDraft("send the deck", date(2026, 11, 27)),)}),
        ("edit:client", "Globex", {"client_id": 2, "client_name": "Globex"}),
        ("edit:date", "yesterday", {"occurred_on": date(2026, 11, 24)}),
        ("edit:date", "Monday", {"occurred_on": date(2026, 11, 23)}),
        ("edit:proof", "yes", {"proof_shown": True}),
        ("edit:problem", "late invoices", {"problem": "late invoices"}),
        ("edit:asked_for", "level:3", {"asked_for": TrustLevel.WHOLE_BUSINESS}),
        ("edit:justification", "no", {"demanded_justification": False}),
    ],
)
def test_edit_changes_one_field_and_returns_to_confirm(field, new_answer, changed) -> None:
    turns = talk([*FULL, "edit", field, new_answer, "save"])
    assert step(turns[-5]) == "confirm"
    assert (step(turns[-4]), keys(turns[-4])) == ("edit", ["log.ask.edit"])
    assert step(turns[-2]) == "confirm"
    assert turns[-1].finished == replace(FULL_REQUEST, **changed)


def test_a_note_asked_after_a_quick_form_is_read() -> None:
    quick = "Acme call give"
    turns = talk(["shared the deck, promised the pricing sheet by Friday", "save"], quick=quick,
                 proposal=RuleReader().read(quick, TODAY, ["Acme"], "en"))
    assert step(turns[0]) == "note" and step(turns[1]) == "confirm"
    assert turns[-1].finished.promises == (PromiseDraft("the pricing sheet", date(2026, 11, 27)),)


def test_an_edited_note_is_not_read_again() -> None:
    turns = talk([*FULL, "edit", "edit:note", "promised the deck by Friday", "save"])
    assert turns[-1].finished == replace(FULL_REQUEST, note="promised the deck by Friday")


@pytest.mark.parametrize("when", ["tomorrow", "next Friday", "hello"])
def test_edit_date_refuses_the_future_and_non_dates(when) -> None:
    turns = talk([*FULL, "edit", "edit:date", when])
    assert (step(turns[-1]), keys(turns[-1])) == ("date", ["log.retry.date_past", "log.ask.date"])
    assert turns[-1].state["d"]["on"] == "2026-11-25"


def test_a_note_over_the_limit_is_refused() -> None:
    rules = Conversations(max_note_chars=10)
    turns = talk(["Acme", "x" * 11, "x" * 10], rules=rules)
    assert (step(turns[-2]), keys(turns[-2])) == ("note", ["log.retry.too_long", "log.ask.note"])
    assert turns[-2].reply.lines[0].params == {"limit": 10}
    assert (step(turns[-1]), turns[-1].state["d"]["note"]) == ("kind", "x" * 10)


# --- the trust question --------------------------------------------------------------------------

def due(assessed: date | None) -> Directory:
    return Directory(CLIENTS, {1: assessed})


@pytest.mark.parametrize("assessed, asked, key", [
    (None, True, "log.ask.asked_for_first"),
    (TODAY - timedelta(days=61), True, "log.ask.asked_for_due"),
    (TODAY - timedelta(days=60), False, None),
    (TODAY, False, None),
])
def test_the_trust_question_comes_when_the_clients_trust_is_due(assessed, asked, key) -> None:
    first = talk([], quick="Acme call give: sent the report", directory=due(assessed))[0]
    assert step(first) == ("asked_for" if asked else "confirm")
    if asked:
        assert keys(first) == [key] and values(first) == ["level:1", "level:2", "level:3", "level:4", "skip"]
        assert first.reply.lines[0].params["client"] == "Acme"


def test_how_long_trust_stays_assessed_is_a_rule() -> None:
    directory = due(TODAY - timedelta(days=31))
    assert step(talk([], quick="Acme call give: x", directory=directory)[0]) == "confirm"
    rules = Conversations(trust_reassess_days=30)
    assert step(talk([], quick="Acme call give: x", directory=directory, rules=rules)[0]) == "asked_for"


def test_a_new_client_is_not_asked_about_trust() -> None:
    turns = talk(["1"], quick="Hooli call give: sent the report", directory=due(None))
    assert step(turns[-1]) == "confirm"


def test_the_answer_is_saved_with_the_touch() -> None:
    turns = talk(["Solutions in my area and around it", "save"], quick="Acme call give: sent it", directory=due(None))
    assert turns[-1].finished.asked_for is TrustLevel.SOLUTIONS
    skipped = talk(["今回はスキップ", "save"], quick="Acme call give: sent it", directory=due(None))
    assert skipped[-1].finished.asked_for is None and skipped[-1].finished.trust_skipped  # not put again for a while
    assert [step(t) for t in skipped] == ["asked_for", "confirm", None]


@pytest.mark.parametrize("note, asked", [
    ("they asked us about the rollout", True),
    ("先方から来期の進め方について相談されました", True),
    ("値引きを強く求められた", True),
    ("sent the report", False),
    ("they asked for the price breakdown again", False),  # a demand for justification, already read
])
def test_a_hint_in_the_note_asks_even_when_trust_is_not_due(note, asked) -> None:
    quick = f"Acme call give: {note}"
    first = talk([], quick=quick, proposal=RuleReader().read(quick, TODAY, ["Acme"], "en"))[0]
    assert step(first) == ("asked_for" if asked else "confirm")


def test_what_the_reader_read_is_not_asked() -> None:
    quick = "Acme: Visited them; they asked for a proposal covering the other two sites too"
    first = talk([], quick=quick, proposal=RuleReader().read(quick, TODAY, ["Acme"], "en"), directory=due(None))[0]
    assert step(first) == "confirm" and first.state["d"]["asked_for"] == 2


def test_a_hinted_justification_is_a_toggle_in_the_same_question() -> None:
    quick = "Acme: they asked why, with evidence"
    proposal = Proposal(client_name="Acme", kind=Kind.CALL, purpose=Purpose.ASK, summary="they asked why, with evidence")
    turns = talk(["justify", "justify", "justify", "level:2", "save"], quick=quick, proposal=proposal)
    assert values(turns[0]) == ["level:1", "level:2", "level:3", "level:4", "justify"]  # "skip" typed: five buttons
    rendered = [CATALOG.render(t.reply.choices[4].label, "en") for t in turns[:4]]
    assert rendered == ["+ They wanted each step justified", "✓ They wanted each step justified"] * 2
    assert [step(t) for t in turns] == ["asked_for"] * 4 + ["confirm", None]
    assert (turns[-1].finished.asked_for, turns[-1].finished.demanded_justification) == (TrustLevel.SOLUTIONS, True)
    untouched = talk(["level:2", "save"], quick=quick, proposal=proposal)[-1]
    assert untouched.finished.demanded_justification is None


def test_only_a_hinted_justification_asks_yes_or_no() -> None:
    proposal = Proposal(client_name="Acme", kind=Kind.CALL, purpose=Purpose.ASK, summary="sent the breakdown",
                        asked_for=TrustLevel.EXPERTISE)
    turns = talk(["yes", "save"], quick="Acme: sent the breakdown", proposal=proposal)
    assert (step(turns[0]), keys(turns[0])) == ("justification", ["log.ask.justification"])
    assert turns[-1].finished.demanded_justification is True


def test_the_trust_question_never_takes_a_log_over_its_budget() -> None:
    """Step by step, after the client, the note, the kind and the purpose, there is room only for
    the summary; a quick form that had to ask a due date and a client leaves none either."""
    turns = talk(["Acme", "sent it", "call", "give", "save"], directory=due(None))
    assert [step(t) for t in turns] == ["client", "note", "kind", "purpose", "confirm", None]
    asked = talk(["Acme", "call: sent it", "give", "level:1", "save"], directory=due(None))
    assert [step(t) for t in asked] == ["client", "note", "purpose", "asked_for", "confirm", None]
    proposal = Proposal(client_name="Acmo", kind=Kind.CALL, purpose=Purpose.GIVE, summary="sent it, promised a deck",
                        promises=(ProposedPromise("send a deck", None),))
    quick = talk(["1", "Friday", "save"], quick="Acmo: sent it, promised a deck", proposal=proposal, directory=due(None))
    assert [step(t) for t in quick] == ["client_pick", "promise_due", "confirm", None]


def test_the_check_in_never_asks_about_trust() -> None:
    turn = logflow.tap(TODAY, 1, "Acme", due(None), RULES)
    assert step(turn) == "purpose"
    turn = logflow.answer(turn.state, "give", TODAY, due(None), RULES)
    assert step(turn) == "promise"
    done = logflow.answer(turn.state, "no", TODAY, due(None), RULES)
    assert done.state is None and done.reply.lines == () and done.finished.asked_for is None


# --- a reader's proposal ------------------------------------------------------------------------

def proposed(quick: str, proposal: Proposal | None = None, answers: tuple[str, ...] = ()) -> list[Turn]:
    proposal = proposal or RuleReader().read(quick, TODAY, [n for _, n in DIR.clients], "en")
    turns = [logflow.start(TODAY, DIR, RULES, quick=quick, proposal=proposal)]
    for text in answers:
        turns.append(logflow.answer(json.loads(json.dumps(turns[-1].state)), text, TODAY, DIR, RULES))
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


@pytest.mark.parametrize("label", ["Quick note", "Client", "メモ"])
def test_a_label_before_the_colon_is_not_a_clients_name(label):
    proposal = Proposal(client_name="Globex", summary="shared the deck", kind=Kind.CALL, purpose=Purpose.GIVE)
    [turn] = proposed(f"{label}: Globex shared the deck", proposal)
    assert (turn.state["d"]["client_id"], step(turn)) == (2, "confirm")


def test_a_proposed_track_record_is_shown_and_a_no_is_the_default():
    [turn] = proposed("Acme: we showed the ROI study", Proposal(client_name="Acme", proof_shown=False))
    assert not turn.state["d"].get("proof")
    [turn] = proposed("Acme: we showed the ROI study", Proposal(client_name="Acme", proof_shown=True))
    assert turn.state["d"]["proof"] is True


def test_a_promise_read_without_a_date_can_be_left_out():
    proposal = Proposal(client_name="Acme", kind=Kind.MEETING, purpose=Purpose.GIVE, summary="took the quote home",
                        promises=(ProposedPromise("revise the quote", None),))
    turns = proposed("Acme: took the quote home", proposal, answers=("skip",))
    assert step(turns[0]) == "promise_due" and values(turns[0]) == ["skip"]
    assert step(turns[1]) == "confirm" and turns[1].state["d"]["promises"] == []


def test_promises_read_without_dates_are_asked_in_one_question():
    proposal = Proposal(client_name="Acme", kind=Kind.MEETING, purpose=Purpose.GIVE, summary="x",
                        promises=(ProposedPromise("send the deck", None), ProposedPromise("call the CFO", None)))
    [first] = proposed("Acme: x", proposal)
    assert (step(first), keys(first)) == ("promise_due", ["log.ask.promise_due_many"])
    both = proposed("Acme: x", proposal, answers=("Friday",))[-1]
    assert both.state["d"]["promises"] == [["send the deck", "2026-11-27"], ["call the CFO", "2026-11-27"]]
    each = proposed("Acme: x", proposal, answers=("Friday, 12/3",))[-1]
    assert each.state["d"]["promises"] == [["send the deck", "2026-11-27"], ["call the CFO", "2026-12-03"]]
    wrong = proposed("Acme: x", proposal, answers=("Friday, 12/3, Monday",))[-1]
    assert keys(wrong) == ["log.retry.date", "log.ask.promise_due_many"]
    dropped = proposed("Acme: x", proposal, answers=("skip",))[-1]
    assert (step(dropped), dropped.state["d"]["promises"]) == ("confirm", [])


@pytest.mark.parametrize("quick", ["山田商事", "山田商事様", "株式会社山田商事"])
def test_a_note_that_is_only_the_clients_name_is_no_note(quick):
    [turn] = proposed(quick, Proposal(client_name="山田商事", summary=quick))
    assert "note" not in turn.state["done"]


def test_a_message_logged_as_a_touch_asks_only_what_it_leaves_open():
    proposal = Proposal(kind=Kind.EMAIL, purpose=Purpose.SERVICE, problem="late delivery")
    turn = logflow.from_message(TODAY, TODAY - timedelta(days=1), "Sorry about the late delivery, fixed now",
                                     DIR, RULES, client=(1, "Acme"), proposal=proposal)
    assert step(turn) == "confirm" and turn.state["d"]["on"] == "2026-11-24"
    saved = logflow.answer(turn.state, "save", TODAY, DIR, RULES).finished
    assert (saved.source, saved.note, saved.problem) == ("shortcut", "Sorry about the late delivery, fixed now",
                                                         "late delivery")
    asked = logflow.from_message(TODAY, TODAY, "they asked me about the roadmap", due(None), RULES,
                                      client=(1, "Acme"), proposal=proposal)
    assert step(asked) == "asked_for"


def test_a_conversation_saved_by_the_previous_version_carries_on():
    """A log under way when the coach was upgraded: its step names and a pending promise as text."""
    state = talk([], quick="Acme call give: sent it")[0].state
    state.update(step="promise_due", pending="send the deck")
    state.pop("labels"), state.pop("asked"), state.pop("today"), state.pop("budget")
    turn = logflow.answer(state, "Friday", TODAY, DIR, RULES)
    assert step(turn) == "confirm" and turn.state["d"]["promises"] == [["send the deck", "2026-11-27"]]


def test_the_summary_and_the_trust_question_fit_in_five_buttons() -> None:
    """Slack and Teams show more than five choices as a menu: the prompts a log ends with stay buttons."""
    proposal = Proposal(client_name="Acme", kind=Kind.CALL, purpose=Purpose.ASK, summary="x")
    turns = talk(["justify", "skip", "promise", "x by Friday", "problem", "y", "proof"],
                 quick="Acme: they asked why, with evidence", proposal=proposal, directory=due(None))
    assert [step(t) for t in turns] == ["asked_for", "asked_for", "confirm", "promise", "confirm", "problem", "confirm",
                                        "confirm"]
    assert all(len(t.reply.choices) <= 5 for t in turns)
    assert turns[1].state["d"]["justification"] is True and turns[2].finished is None


@pytest.mark.parametrize("quick", ["山田商事訪問", "山田商事様と打ち合わせ", "山田商事へ電話 ギブ"])
def test_a_clients_name_written_together_with_how_they_met(quick) -> None:
    first = talk([], quick=quick)[0]
    assert (first.state["d"]["client_id"], step(first)) == (5, "note")
    assert first.state["d"]["kind"] in ("visit", "meeting", "call")
