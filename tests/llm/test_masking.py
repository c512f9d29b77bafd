"""What is masked before a note leaves for the LLM (bot/masking.py's docstring is the list):
internationalised e-mail addresses, payment card numbers, My Numbers, full-width digits and
hyphens; and what is left alone (dates, amounts, order numbers). Then the same through the real
``openai`` client against the local fake server: what reached the server holds none of them, and
the placeholders in the answer are put back."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from typing import Iterator

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.llm import LlmReader, LlmTips, mask
from bot.masking import masking, unmask
from coaching.reading import Proposal, ProposedPromise
from tests.llm.fake_openai import FakeOpenAI, Reply

# ---- the table ------------------------------------------------------------------------------

MASKED = [
    # internationalised e-mail addresses: IDN domains, punycode, Unicode local parts
    ("資料はtanaka@例え.jpへ送付", "資料は[EMAIL_1]へ送付"),
    ("tanaka@例え.jpです", "[EMAIL_1]です"),
    ("write to user@bücher.de.", "write to [EMAIL_1]."),
    ("müller@bücher.de", "[EMAIL_1]"),
    ("Иван: иван@пример.рф", "Иван: [EMAIL_1]"),
    ("山田@例え.日本に連絡", "[EMAIL_1]に連絡"),
    ("連絡先 <山田@例え.日本>", "連絡先 <[EMAIL_1]>"),
    ("संपर्क@डाटामेल.भारत", "[EMAIL_1]"),
    ("ｔａｎａｋａ＠例え．ｊｐ", "[EMAIL_1]"),
    ("o'brien@acme.example", "[EMAIL_1]"),
    # payment card numbers
    ("card 4111 1111 1111 1111 exp 12/27", "card [CARD_1] exp 12/27"),
    ("4111-1111-1111-1111", "[CARD_1]"),
    ("paid with 4111111111111111.", "paid with [CARD_1]."),
    ("カード４１１１－１１１１－１１１１－１１１１で", "カード[CARD_1]で"),
    ("カード４１１１ー１１１１ー１１１１ー１１１１", "カード[CARD_1]"),
    ("4111‐1111‐1111‐1111", "[CARD_1]"),
    ("Amex 3782 822463 10005", "Amex [CARD_1]"),
    ("378282246310005", "[CARD_1]"),
    ("Diners 3056 930902 5904", "Diners [CARD_1]"),
    ("old Visa 4222222222222", "old Visa [CARD_1]"),
    ("19 digits 6200000000000000000", "19 digits [CARD_1]"),
    ("1234 5678 9012 3456 (a 4-4-4-4 group, Luhn or not)", "[CARD_1] (a 4-4-4-4 group, Luhn or not)"),
    ("4111 1111 1111 1111 and 5555-5555-5555-4444 and 4111111111111111",
     "[CARD_1] and [CARD_2] and [CARD_3]"),
    ("qty 2 4111111111111111", "qty 2 [CARD_1]"),
    # My Numbers (個人番号), check digit right or not
    ("個人番号は123456789018です", "個人番号は[MYNUMBER_1]です"),
    ("マイナンバー 1234 5678 9018", "マイナンバー [MYNUMBER_1]"),
    ("１２３４－５６７８－９０１８", "[MYNUMBER_1]"),
    ("１２３４ー５６７８ー９０１８", "[MYNUMBER_1]"),
    ("１２３４５６７８９０１８", "[MYNUMBER_1]"),
    ("1234‐5678‐9012 (wrong check digit)", "[MYNUMBER_1] (wrong check digit)"),
    ("No123456789018", "No[MYNUMBER_1]"),
    ("1234 5678 9018 2名", "[MYNUMBER_1] 2名"),
    # all four kinds at once, repeated originals keep their placeholder
    ("tanaka@例え.jp 4111111111111111 123456789018 03-1234-5678 tanaka@例え.jp",
     "[EMAIL_1] [CARD_1] [MYNUMBER_1] [PHONE_1] [EMAIL_1]"),
]

# masked before this module too: kept that way (these pass on the old code as well)
STILL_MASKED = [
    ("punycode user@xn--bcher-kva.de ok", "punycode [EMAIL_1] ok"),
    ("user@mail.xn--fiqs8s", "[EMAIL_1]"),
    ("user@192.0.2.1", "[EMAIL_1]"),
    ("+44 20 7946 0958", "[PHONE_1]"),  # 12 digits, but a phone number, not a My Number
    ("+819012345678", "[PHONE_1]"),
    ("09012345678", "[PHONE_1]"),
]

LEFT_ALONE = [
    "met on 2026-11-20 and again 2026-11-27",
    "２０２６－１１－２０に訪問",
    "quote ¥1,200,000 (tax 10%), or ¥1 200 000",
    "order 12345678, invoice 20261120",
    "order id 1234567890123456 fails Luhn",
    "twenty digits 12345678901234567890",
    "1234 5678 90182 is grouped 4-4-5 and fails Luhn",
    "at 10:00-12:00, v1.2.3.4, 11/20に3名",
    "see @tanaka, meet @ 10, user@localhost, user@[192.0.2.1]",
    "Acme Corp, 山田商事, 東京都千代田区1-2-3",
]


@pytest.mark.parametrize("text, expected", MASKED)
def test_masked(text: str, expected: str):
    assert mask(text) == expected


@pytest.mark.parametrize("text, expected", STILL_MASKED)
def test_still_masked(text: str, expected: str):
    assert mask(text) == expected


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_left_alone(text: str):
    assert mask(text) == unicodedata.normalize("NFKC", text)


def test_every_placeholder_is_restored():
    text = "tanaka@例え.jp, 4111 1111 1111 1111, 1234-5678-9018, 090-1234-5678"
    masked, originals = masking(text)
    assert set(originals) == {"[EMAIL_1]", "[CARD_1]", "[MYNUMBER_1]", "[PHONE_1]"}
    assert unmask(masked, originals) == text


# ---- properties -----------------------------------------------------------------------------

SEPARATORS = ("", " ", "-", "－", "‐", "ー", "　")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
# words around a number: letters of several scripts, spaces and punctuation (no digits, no "+")
WORDS = st.text(st.characters(categories=("L", "Zs", "P"), exclude_characters="+＋﹢"), max_size=8).filter(
    lambda s: not any(ch.isdigit() or ch in "+" for ch in unicodedata.normalize("NFKC", s)))


def _luhn_digit(digits: str) -> str:
    return next(d for d in "0123456789" if _luhn_ok(digits + d))


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _written(digits: str, separator: str, full_width: bool) -> str:
    grouped = separator.join(digits[i:i + 4] for i in range(0, len(digits), 4)) if separator else digits
    return grouped.translate(FULL_WIDTH) if full_width else grouped


def _hidden(number: str, text: str) -> None:
    masked, originals = masking(text)
    assert number not in re.sub(r"\D", "", masked)
    assert unmask(masked, originals) == unicodedata.normalize("NFKC", text)


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789", min_size=15, max_size=15), st.sampled_from(SEPARATORS), st.booleans(), WORDS, WORDS)
def test_any_16_digit_card_is_hidden_however_written(body, separator, full_width, before, after):
    number = body + _luhn_digit(body)
    _hidden(number, before + _written(number, separator, full_width) + after)


@settings(max_examples=200, deadline=None)
@given(st.text("0123456789", min_size=12, max_size=18), st.booleans(), WORDS, WORDS)
def test_any_13_to_19_digit_card_is_hidden(body, full_width, before, after):
    number = body + _luhn_digit(body)
    _hidden(number, before + _written(number, "", full_width) + after)


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789", min_size=12, max_size=12), st.sampled_from(SEPARATORS), st.booleans(), WORDS, WORDS)
def test_any_my_number_is_hidden_however_written(number, separator, full_width, before, after):
    _hidden(number, before + _written(number, separator, full_width) + after)


def _one_script(letters: str) -> bool:
    normal = unicodedata.normalize("NFKC", letters)
    return all(unicodedata.category(ch)[0] in "LMN" for ch in normal) and (
        len({_unspaced(ch) for ch in normal if ch.isalpha()}) <= 1)


def _unspaced(ch: str) -> bool:
    code = ord(ch)
    return 0x0E00 <= code <= 0x109F or 0x1100 <= code <= 0x11FF or 0x1780 <= code <= 0x17FF or (
        0x2E80 <= code <= 0xD7FF) or 0xF900 <= code <= 0xFAFF or 0xFF66 <= code <= 0xFF9F or code >= 0x20000


LETTERS = st.text(st.characters(categories=("L",)), min_size=1, max_size=8)
NO_AT = WORDS.filter(lambda s: "@" not in unicodedata.normalize("NFKC", s))


@settings(max_examples=300, deadline=None)
@given(LETTERS.filter(_one_script), LETTERS.filter(_one_script),
       st.sampled_from(("jp", "de", "com", "рф", "日本", "みんな", "xn--p1ai")), NO_AT, NO_AT)
def test_any_address_in_any_script_is_hidden(local, domain, tld, before, after):
    masked = mask(f"{before} {local}@{domain}.{tld} {after}")
    assert "@" not in masked and "[EMAIL_1]" in masked


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_characters="[]"), max_size=60))
def test_unmasking_gives_back_the_normalised_text(text):
    masked, originals = masking(text)
    assert unmask(masked, originals) == unicodedata.normalize("NFKC", text)


# ---- through the real client ----------------------------------------------------------------

CARD, MY_NUMBER, IDN_EMAIL = "４１１１－１１１１－１１１１－１１１１", "１２３４ ５６７８ ９０１８", "tanaka@例え.jp"
SECRETS = ("4111111111111111", "123456789018", "tanaka@", "例え.jp", "xn--r8jz45g")


class RulesReader:
    def read(self, text, today, clients, language) -> Proposal:
        raise AssertionError("the LLM answered: the fallback must not be asked")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI().started_in_thread() as server:
        yield server


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test-key", base_url=url, timeout=3.0, max_retries=0)


def _leaks(raw: str) -> list[str]:
    digits = re.sub(r"\D", "", raw)
    decoded = json.dumps(json.loads(raw), ensure_ascii=False)
    return [secret for secret in SECRETS if secret in raw or secret in decoded or secret in digits]


def test_the_request_that_reaches_the_server_holds_no_card_my_number_or_idn_address(fake):
    fake.script(Reply.structured({
        "client_name": "Acme Corp", "occurred_on": "2024-11-20", "kind": "meeting", "purpose": "service",
        "summary": "Card [CARD_1] and My Number [MYNUMBER_1] to [EMAIL_1].", "proof_shown": None,
        "promises": [{"text": "mail [EMAIL_1] the form", "due_on": None}], "problem": None,
        "asked_for": None, "demanded_justification": None}))
    note = f"Acme: 田中さんのカード{CARD}、個人番号{MY_NUMBER}を{IDN_EMAIL}宛てに送る"

    proposal = LlmReader(_client(fake.url), "test-model", RulesReader(), 3.0).read(
        note, date(2024, 11, 21), ["Acme Corp"], "ja")

    [request] = fake.requests
    assert _leaks(request.raw) == []
    user = next(m["content"] for m in request.body["messages"] if m["role"] == "user")
    assert "[CARD_1]" in user and "[MYNUMBER_1]" in user and "[EMAIL_1]" in user
    # put back locally, in their normalised form
    assert proposal.summary == "Card 4111-1111-1111-1111 and My Number 1234 5678 9018 to tanaka@例え.jp."
    assert proposal.promises == (ProposedPromise("mail tanaka@例え.jp the form", None),)
    assert fake.unscripted == 0


def test_tip_facts_reach_the_server_masked_too(fake):
    fake.script(Reply.content("Send the form first."))
    facts = {"client": "Acme Corp", "problems": [f"card {CARD} was declined", f"mail {IDN_EMAIL} bounced"],
             "contact": MY_NUMBER}

    assert LlmTips(_client(fake.url), "test-model", 3.0).tip(facts, "en") == "Send the form first."

    [request] = fake.requests
    assert _leaks(request.raw) == []
