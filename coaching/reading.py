"""Reading one free-text note into a proposed touch: what a rep typed after ``/logmeeting``.

A reader only *proposes*: the conversation pre-fills what was read, asks for the rest, and the
rep confirms or edits the summary before anything is stored. A field a reader is not sure of is
left empty (``None``), never guessed, so the conversation asks for it.

Two readers implement :class:`NoteReader`: the rule-based reader here (English and Japanese, no
dependencies, always available) and, when one is configured, an LLM reader in ``bot/llm.py``
that falls back to this one on any failure.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol, Sequence

from coaching import vocabulary as vocab
from coaching.dates import find_date, parse_date
from coaching.model import Kind, Purpose, TrustLevel


@dataclass(frozen=True)
class ProposedPromise:
    text: str
    due_on: date | None  # None: the reader found no due date; the conversation asks


@dataclass(frozen=True)
class Proposal:
    """What a reader understood from one note; every field may be missing."""

    client_name: str | None = None  # one of the known client names when matched, else as typed
    occurred_on: date | None = None  # a past date mentioned ("yesterday", "11/20"); None: today
    kind: Kind | None = None
    purpose: Purpose | None = None
    summary: str | None = None  # the note itself, tidied (what gets stored as the note)
    proof_shown: bool | None = None
    promises: tuple[ProposedPromise, ...] = ()
    problem: str | None = None  # a problem the client raised, in a few words
    asked_for: TrustLevel | None = None  # what the client asked of the rep (the trust signal)
    demanded_justification: bool | None = None
    source: str = "rules"  # "rules" or "llm": who proposed it (shown to nobody; for metrics)
    notes: tuple[str, ...] = field(default=())  # why a field was left out (for the accuracy report)


class NoteReader(Protocol):
    def read(self, text: str, today: date, clients: Sequence[str], language: str) -> Proposal:
        """Read ``text`` written by a rep whose local date is ``today``. ``clients`` are the
        names the rep may log against (a reader picks one of them or proposes a new name)."""


# --- the rule-based reader ---------------------------------------------------------------------

_MASK = "\ue000"  # stands for the client's name once found, so its words are not read as cues
_NO_WORD = "\u2060"  # a word joiner: keeps "sat", "sun", "wed" from reading as weekdays
_AMBIGUOUS_DAY = re.compile(r"(?i)(?<![a-z])(s)(at|un)(?![a-z])|(?<![a-z])(w)(ed)(?![a-z])")  # "sat down"
_HEAD_MAX = 40
_RECENT_DAYS = 62  # a date further back than this is not when the touch happened

_LEGAL = re.compile(
    r"^(?:株式会社|有限会社|合同会社|\(株\)|\(有\))\s*|\s*(?:株式会社|有限会社|合同会社|\(株\)|\(有\))$"
    r"|[\s,]+(?:inc|incorporated|corp|corporation|co|company|ltd|limited|llc|plc|gmbh|kk|k\.k)\.?$",
    re.IGNORECASE,
)
_JA_NAME_END = re.compile(r"(?:商事|商店|工業|産業|製作所|電機|電気|食品|建設|物流|銀行|薬局|病院|化学|精機|製薬|"
                          r"ホールディングス|システム|ソリューションズ|株式会社|\(株\))$")
_HEAD = re.compile(r"[^:、。\n]{1,%d}?(?=\s*(?::|、|。|\n|\s[-–—|/]\s))" % _HEAD_MAX)
_HONORIFIC = re.compile(r"(?:様|さま|さん|御中|殿)$")
_HONORIFIC_START = re.compile(r"^(?:様|さま|さん|御中|殿)(?=[\s:、。])")
_PARTICLE_END = re.compile(r"(?:にて|へ|と|で|に|の|を|は|が)$")
_EN_NOT_NAME = frozenset(
    "i we they he she it my our their his her the a an re fyi note notes update quick todo memo summary client "
    "customer account follow up call meeting today yesterday long day met called sent had spent visited".split()
)
_JA_NOT_NAME = ("先方", "お客様", "客先", "顧客", "担当", "メモ", "報告", "件名", "本日", "今日", "昨日")

_BULLET = re.compile(r"^\s*(?:[-*•・‐]|\d+[.)])\s*", re.MULTILINE)
_SPLIT = re.compile(
    r"[。\n;!?|→]+|(?<!\d)[.,、](?!\d)|\s+[-–—]+\s+|[–—]+|->"
    r"|(?<=ので)|(?<=けど)|(?<=けれど)|(?<=ところ)"
    r"|\s+(?:but|then|and then|also)\s+"
    r"|,?\s+and\s+(?=(?:they|we|i|he|she|promised|will|also|then|agreed|asked|complained|sent|showed|shared)\b)"
)
_EDGE = " :[]「」\"'"
_COLON = re.compile(r"\s*:\s*")  # a break after a phrase ("Call on Friday: …"), not after a label ("todo: …")
_FIELD = re.compile(r"(?<![a-z])(kind|type|purpose|種別|種類|目的)\s*:\s*([^\s|,;/]+)", re.IGNORECASE)
_CLIENT_FIELD = re.compile(r"^\s*(?:client|customer|account|顧客|客先)\s*:\s*", re.IGNORECASE)

# A clause is said by the client when one of these names them as the speaker.
_CLIENT_SIDE = re.compile(
    _MASK + r"(?:'s)?[\s:-]+(?:[a-z]+\s+){0,3}?(?:asked|wants|wanted|said|complained|mentioned|raised|flagged|needs)"
    r"|(?<![a-z])(?:they|they're|he|she|their|his|her|the client|the customer|cfo|ceo|cto|cio|coo|gm|vp|"
    r"director|manager|head of|lead|contact|admin|engineer|procurement|buyer|owner|president|"
    r"wants|needs|insists|insisted|demands|demanded|"
    r"keeps asking|kept asking|pushed for|pressed for|(?:asked|called|rang|phoned|emailed|messaged) (?:me|us))"
    r"(?![a-z])|先方|お客様|客先|部長|課長|社長|専務|常務|担当者|決裁者|さんから|様から|から(?:相談|電話|連絡|依頼)|"
    r"聞かれ|求められ|言われ|相談され|依頼され|質問され|突っ込まれ|ほしい|とのこと|(?:質問|問い合わせ)(?:\([^)]*\))?(?:に回答|を受け|があ)|"
    r"(?:電話|連絡|メール|問い合わせ)が?(?:あった|あり|来た|きた)|(?:電話|連絡)(?:して)?(?:きた|くれた)|(?:電話|連絡)をもらった"
)
_REP_SIDE = re.compile(r"^(?:i|we|i've|we've|i'll|we'll)(?![a-z])|当社|弊社|こちらから")

_PROMISE = re.compile(
    r"(?<![a-z])(?:promised|promise to|promise them|committed to|commit to|will|agreed to|owe them|"
    r"todo|to-do|to do:|next steps?:|action items?:|need to send|(?:told (?:them|him|her)|said) (?:that )?(?:we|i)"
    r"(?:'d|'ll| would| will))(?![a-z])"
    r"|(?<![a-z])(?:i|we)'(?:ll|d)(?![a-z])"
    r"|約束(?![をがはの])|宿題|持ち帰|と伝えた|とお伝え|ことになった|ことにした|までに"
)
_NOT_PROMISE = re.compile(r"as promised|promises? kept|won't|(?<![a-z])(?:it|there)(?:'ll| will)|約束を守|約束通り|約束どおり")
_BY_DATE = re.compile(r"(?<![a-z])(?:by|before|until|no later than)\s|中に|と(?:回答|返答)")  # with a date
_JA_DONE = re.compile(r"(?:た|だ|済み?|ました)$")
_PLAN = re.compile(
    r"(?<![a-z])(?:next (?:week|time|month|visit|meeting|call)|scheduled|planning to|plan to|upcoming|will|'ll|"
    r"(?:am|are|is|'re|'m) going to|agreed to)(?![a-z])|予定|次回|今度|来週|来月|後日|つもり"
)
_FUTURE_KIND = re.compile(
    r"(?<![a-z])(?:for|book|booked|schedule|scheduled|arrange|arranged|set up|setting up|next|another)\s+"
    r"(?:a\s+|an\s+|the\s+)?(?:meeting|call|visit|demo|lunch|dinner)(?![a-z])"
)

_PROMISE_LEAD = re.compile(
    r"^(?:(?:and|also|then|plus)\s+)?(?:todo|to-do|to do|next steps?|next|action items?|ai|宿題|当社)\s*:\s*"
    r"|^(?:(?:and|also|then|plus)\s+)?(?:(?:i|we)\s+)?(?:(?:told (?:them|him|her)|said) (?:that )?(?:we|i)\s*"
    r"(?:'d|would|will|'ll)\s+|"
    r"(?:i|we)'(?:ll|d)\s+|(?:have\s+)?(?:promised|promise|committed|commit|agreed|will|would)\s+"
    r"(?:them\s+|to\s+)*)|^(?:and|also|then|plus|to)\s+",
    re.IGNORECASE,
)
_PROMISE_TAIL = re.compile(
    r"(?:する|します|しました|した)?(?:こと)?(?:を|と)?(?:お)?約束(?:した|しました|済み?|する|します)?$"
    r"|(?:する|します)?と(?:お)?伝え(?:た|ました)$|(?:する|します)?ことに(?:なった|した)$"
    r"|\((?:[^)]*(?:期限|未定|tbd|no date)[^)]*)\)|\s*(?:→|->)$|\s+(?:early|late|mid|around|sometime)$"
    r"|(?:する|します)?と(?:回答|返答)(?:した|しました)?$|(?<=[\u3400-\u9fff])(?:いた)?(?:します|する)$",
    re.IGNORECASE,
)

_ASKED = {  # trust level: what the client asked of the rep (DOMAIN.md), in their words
    TrustLevel.EXPERTISE: re.compile(
        r"technical (?:advice|questions?|help|input|details?)|expertise|best practices?|how (?:to|do we|do they) "
        r"(?:configure|set up|integrate)|asked (?:us |me |him |her )?how\b|(?:had|lots of|a few) (?:\w+ )?questions|"
        r"questions (?:on|about)|技術的な(?:質問|相談|アドバイス)|専門的な|仕様(?:について|の)?(?:質問|確認|問い合わせ)|設定方法"
    ),
    TrustLevel.SOLUTIONS: re.compile(
        r"ask(?:ed|s)? (?:us |me )?(?:for|to) (?:a |an )?(?:solution|proposal|propose|put together)|"
        r"(?:covering|across|beyond|including) (?:the )?other (?:sites|departments|teams|divisions|areas)|"
        r"周辺|ソリューション|(?:も|まで)含め|についても相談|提案(?:して)?ほしい|提案(?:を|の)?依頼"
    ),
    TrustLevel.WHOLE_BUSINESS: re.compile(
        r"(?:view|opinion|take|thoughts|perspective)s? on (?:their|the) (?:whole|overall|entire|wider|broader)|"
        r"whole (?:[a-z]+ ){0,3}(?:business|company|organi[sz]ation|strategy|plan)|business strategy|"
        r"company strategy|overall strategy|事業全体|会社全体|全社的|経営(?:課題|戦略|方針|の相談)|事業戦略|中期計画|全体像"
    ),
    TrustLevel.PRESENCE: re.compile(
        r"just to (?:talk|chat|catch up|vent|say hi)|talk(?:ed)? things over|no agenda|"
        r"相談したい(?:こと)?(?:が)?(?:ある)?と(?:の)?(?:連絡|電話|メール)|特に用件(?:は|が)?(?:ない|なかった|なく|なし)|"
        r"用事はない|話したくて|話がしたい"
    ),
}
_JUSTIFY = re.compile(
    r"(?<![a-z])(?:evidence|justification|justify|proof|backed by (?:data|numbers)|back(?:ed)? (?:it |that )?up|"
    r"numbers behind|data behind|breakdown|every (?:number|line item|assumption|figure)|references|"
    r"(?:actual|hard|real) numbers)(?![a-z])"
    r"|根拠|エビデンス|裏付け|内訳|理由を[^。]{0,12}(?:説明|教え)|一つずつ説明|詳しく(?:説明|出して)|"
    r"細かく(?:説明|聞かれ|突っ込|確認)|データを(?:出して|求め)|理由を(?:聞かれ|求め)"
)
_TRUSTS = re.compile(
    r"do what (?:you|we) think is best|whatever (?:you|we) think|(?:your|our) call|up to (?:you|us)|"
    r"leave it (?:to|with) (?:you|us)|left it (?:to|with) (?:us|me)|trusts? (?:you|us|me) to|go with whatever"
    r"|お任せ|任せ(?:る|ます|たい)|一任|判断に任せ"
)
_PROBLEM_OBJECT = re.compile(
    r"(?:complain\w*|unhappy|upset|angry|frustrated|annoyed|concerns?|issues?|problems?)\s+"
    r"(?:about|with|that|over|regarding|on)\s+(.+)"
    r"|(.+?)(?:について|への|に対する|の件で|に関する|で|が)?(?:不満|クレーム|苦情|困って|困り)",
    re.IGNORECASE,
)


def _pattern(words: Sequence[str]) -> re.Pattern[str]:
    """One pattern for a word list: English words match whole, Japanese anywhere, "x*" any ending."""
    parts = []
    for word in sorted({vocab.norm(w) for w in words}, key=len, reverse=True):
        stem = word.rstrip("*")
        part = re.escape(stem).replace(r"\ ", r"\s+") + (r"[a-z]*" if word.endswith("*") else "")
        if stem[0].isascii() and stem[0].isalnum():
            part = r"(?<![a-z0-9])" + part
        if stem[-1].isascii() and stem[-1].isalnum():
            part += r"(?![a-z0-9])"
        parts.append(part)
    return re.compile("|".join(parts))


_KINDS = {kind: _pattern(words) for kind, words in vocab.NOTE_KIND_WORDS.items()}
_GIVE, _ASK, _WEAK_ASK = (_pattern(vocab.NOTE_GIVE_WORDS), _pattern(vocab.NOTE_ASK_WORDS),
                          _pattern(vocab.NOTE_WEAK_ASK_WORDS))
_SERVICE, _RESPONSE = _pattern(vocab.NOTE_SERVICE_WORDS), _pattern(vocab.NOTE_RESPONSE_WORDS)
_PROOF, _NO_PROOF = _pattern(vocab.NOTE_PROOF_WORDS), _pattern(vocab.NOTE_NO_PROOF_WORDS)
_PROBLEM, _NO_PROBLEM = _pattern(vocab.NOTE_PROBLEM_WORDS), _pattern(vocab.NOTE_NO_PROBLEM_WORDS)
_SOLVED = _pattern(vocab.NOTE_SOLVED_WORDS)
_GIVE_DEED = re.compile(r"walked \w+ through|answered (?:his|her|their) questions|質問に回答")
_TRADED = re.compile(r"in exchange for|in return for|交換条件|代わりに")  # a case study the client will give
_NEGATED_ASK = re.compile(r"no ask|no pitch|nothing to sell|not selling|without asking|営業色なし|営業なし|"
                          r"売り込み(?:なし|はせず)|営業はせず")


@dataclass(frozen=True)
class _Clause:
    text: str  # NFKC text, the client's name masked
    low: str  # the same in lower case
    promise: bool  # the rep commits to something
    plan: bool  # about the future (a planned visit, the client's own plans): not what happened
    client_said: bool  # the client is the one asking, wanting, complaining


class RuleReader:
    """Reads a note with word lists and a few patterns; English and Japanese, no dependencies.

    How each field is read (every rule prefers ``None`` to a guess):

    - *client*: a known client's name anywhere in the note (NFKC, any case, also without a legal
      form such as 株式会社 or Inc; the longest name wins, then the earliest); else the first word
      of the leading name when it starts exactly one known client's name ("Northwind" for
      "Northwind Traders"); else the leading name typed before ``:``, ``、``, ``。``, `` - `` or
      the first line break, without kind, date and purpose words or an honorific, when it looks
      like a name (English: capitalised, no pronoun or verb; Japanese: no kana unless it ends like
      a company, 薬局, 商事, …).
    - *occurred_on*: the first date phrase, read as a past date, in a clause that is neither a
      promise nor about the future, within the last two months; ``None`` for today.
    - *kind*: a ``kind:`` field; else the first clause (promises and plans aside) naming a kind.
      In it a generic meeting gives way to a more specific kind, and an event to the medium
      ("お礼メール" after an exhibition is an email); two kinds left means ``None``.
    - *purpose*: a ``purpose:`` field; else, in this order: the rep acted on a problem (fixed,
      apologised, お詫び) → service, unless an explicit ask is there too (then ``None``); an
      explicit ask (proposal, quote, price, contract, 提案, 見積) → ask, even next to give words;
      give words (shared, no pitch, 共有) → give; a problem the client raised that the rep
      answered or made a promise about → service; a weak ask (demo, trial) → ask; else ``None``.
      "No pitch" and 営業色なし count as give, never as ask.
    - *proof_shown*: track-record words (case study, ROI, 事例, 実績) outside promises and outside
      the client's requests → True; an explicit "no case study" → False; else ``None``.
    - *promises*: clauses where the rep commits (promised, will, I'll, todo:, by <date>, 約束,
      までに, と伝えた), not the client's own commitments and not "as promised"; two dated
      commitments joined by "and" are two promises. The text is the clause without the date
      phrase and the promise verb; the due date is the first future date phrase, else ``None``.
    - *problem*: a clause with a complaint or problem word, not negated ("no issues", 問題なし)
      and not already solved in the same clause; its object in a few words.
    - *asked_for*: a trust-level phrase in a clause where the client is the one asking; exactly
      one level found, else ``None``.
    - *demanded_justification*: the client asked for evidence, details, a breakdown (根拠,
      エビデンス) → True; "do what you think is best" (お任せ) → False; both or neither → ``None``.

    ``language`` is only a hint: both vocabularies are always read, since reps mix them.
    """

    def read(self, text: str, today: date, clients: Sequence[str], language: str) -> Proposal:
        note = _tidy(text)
        if not note:
            return Proposal(notes=("empty note",))
        why: list[str] = []
        client, spans, summary = _client(note, clients, why)
        masked = note
        for start, end in sorted(spans, reverse=True):
            masked = masked[:start] + _MASK + masked[end:]
        clauses = _clauses(masked, today)
        problem = _problem(clauses)
        promises = _promises(clauses, today)
        return Proposal(
            client_name=client,
            occurred_on=_occurred_on(clauses, today),
            kind=_field(masked, "kind") or _kind(clauses, why),
            purpose=_field(masked, "purpose") or _purpose(clauses, problem is not None, bool(promises)),
            summary=summary or None,
            proof_shown=_proof(clauses),
            promises=promises,
            problem=problem,
            asked_for=_asked_for(clauses, why),
            demanded_justification=_justification(clauses),
            notes=tuple(why),
        )


def _tidy(text: str) -> str:
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in unicodedata.normalize("NFKC", text).splitlines())
    return "\n".join(line for line in lines if line)


# --- the client ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8192)
def _variants(name: str) -> tuple[tuple[str, str], ...]:
    """The ways a note may name the client (its full name, and without a legal form such as
    "Inc." or "株式会社"), each with its :func:`_squash` form. Cached: a rep's client list is read
    on every note."""
    full = " ".join(unicodedata.normalize("NFKC", name).split())
    core = _LEGAL.sub("", full).strip(" ,.")
    enough = len(core) >= (2 if not core.isascii() else 3)
    return tuple((v, _squash(v)) for v in ([full, core] if core != full and enough else [full]))


def _squash(text: str) -> str:
    """Text without whitespace, case-folded: if a name's pattern matches a note, the name's
    squashed form occurs in the note's (the pattern ignores case and allows any whitespace
    between words), so this cheap test rules out the clients a note does not name."""
    return "".join(text.split()).casefold()


@functools.lru_cache(maxsize=8192)
def _name_pattern(variant: str) -> re.Pattern[str]:
    part = re.escape(variant).replace(r"\ ", r"\s*")
    if variant[0].isascii() and variant[0].isalnum():
        part = r"(?<![A-Za-z0-9])" + part
    if variant[-1].isascii() and variant[-1].isalnum():
        part += r"(?![A-Za-z0-9])"
    return re.compile(part, re.IGNORECASE)


def _client(note: str, clients: Sequence[str], why: list[str]) -> tuple[str | None, list[tuple[int, int]], str]:
    """The client's name, where it occurs (to mask), and the note without a leading name."""
    lead = len(note) - len(_CLIENT_FIELD.sub("", note, count=1))
    found: list[tuple[int, int, int, str]] = []  # (start, -length, end, client)
    squashed = _squash(note)
    for client in filter(str.strip, clients):
        for variant, squashed_variant in _variants(client):
            if squashed_variant in squashed:  # else the pattern cannot match: no regex needed
                found += [(m.start(), m.start() - m.end(), m.end(), client)
                          for m in _name_pattern(variant).finditer(note)]
    if found:
        # Longest first claims its span; then the earliest-mentioned client is the one logged.
        claimed: list[tuple[int, int, str]] = []
        for start, _, end, client in sorted(found, key=lambda f: (f[1], f[0])):
            if all(end <= s or start >= e for s, e, _ in claimed):
                claimed.append((start, end, client))
        claimed.sort()
        chosen = claimed[0][2]
        if len({c for _, _, c in claimed}) > 1:
            why.append("client: several known clients named; the first is proposed")
        spans = [(s, e) for s, e, c in claimed if c == chosen]
        start, end = spans[0]
        return chosen, spans, _after_name(note, end) if start <= lead else note
    head, end = _head(note, lead)
    if head is None:
        why.append("client: no known client named and no leading name")
        return None, [], note
    firsts = [c for c in clients if c.split() and len(head) >= 4 and vocab.norm(c.split()[0]) == vocab.norm(head)]
    if len(firsts) == 1:
        return firsts[0], [(lead, lead + len(head))], _after_name(note, end)
    name = _as_name(head)
    if name is None:
        why.append(f"client: {head!r} does not look like a name")
        return None, [], note
    at = note.find(name, lead)
    if at < 0:
        return name, [], note
    return name, [(at, at + len(name))], _after_name(note, at + len(name))


def _head(note: str, lead: int) -> tuple[str | None, int]:
    match = _HEAD.match(note, lead)
    if not match:
        return None, lead
    return match.group().strip(), match.end()


def _as_name(head: str) -> str | None:
    """The name in a leading phrase ("Hooli", "オリオン化学様 初回訪問" → "オリオン化学"), or None."""
    words: list[str] = []
    for word in head.split():
        bare = word.strip(".,()")
        if not _is_cue(bare):
            words.append(bare)
            continue
        if not words and not bare.isascii():  # "田中商事様と打ち合わせ", written without a space
            rest = bare
            for kind_pattern in _KINDS.values():
                rest = re.sub(f"(?:{kind_pattern.pattern})$", "", rest)
            if rest != bare:
                words.append(_PARTICLE_END.sub("", rest))
        break
    name = _HONORIFIC.sub("", " ".join(w for w in words if w)).strip()
    if not name or len(name) > _HEAD_MAX:
        return None
    if name.isascii():
        tokens = name.split()
        if len(tokens) > 4 or any(t.casefold() in _EN_NOT_NAME for t in tokens) or not name[0].isupper():
            return None
        return name
    if any(stop in name for stop in _JA_NOT_NAME) or len(name) < 2:
        return None
    if re.search(r"[\u3040-\u309f]", name) and not _JA_NAME_END.search(name):
        return None
    return name


def _is_cue(word: str) -> bool:
    """A kind, purpose or date word (or, in Japanese, a word containing a kind)."""
    low = vocab.norm(word)
    if vocab.kind_of(low) or vocab.purpose_of(low) or parse_date(low, date(2000, 1, 1)):
        return True
    if low.isascii():
        return any(p.fullmatch(low) for p in _KINDS.values())
    return any(p.search(low) for p in _KINDS.values())


def _after_name(note: str, end: int) -> str:
    rest = _HONORIFIC_START.sub("", note[end:])
    if rest and not re.match(r"[\s:、。,.|/\-–—]", rest):
        return note  # "Globex's GM…", "田中商事様へ…": the name is part of the sentence
    return re.sub(r"^[\s:、。,.|/\-–—]+", "", rest).strip() or note


# --- clauses -----------------------------------------------------------------------------------

def _clauses(masked: str, today: date) -> list[_Clause]:
    clauses = []
    for piece in _pieces(_BULLET.sub("", masked)):
        low = piece.lower()
        said = bool(_CLIENT_SIDE.search(low)) and not _REP_SIDE.search(low)
        promise = bool(_PROMISE.search(low)) and not _NOT_PROMISE.search(low)
        if not promise and _BY_DATE.search(low) and _due(piece, today)[0] is not None:
            promise = True  # "send slides by Friday"
        if promise and not re.search(r"約束|と伝え|とお伝え", low) and (
                said or re.search(r"までに", low) and _JA_DONE.search(low)):
            promise = False  # the client's own commitment, or something already done by a date
        plan = not promise and bool(_PLAN.search(low))
        clauses.append(_Clause(piece, low, promise, plan, said))
    return clauses


def _pieces(text: str) -> list[str]:
    pieces = []
    for piece in _SPLIT.split(text):
        head, *rest = _COLON.split(piece or "", maxsplit=1)
        for part in ([head, *rest] if " " in head.strip() or head.strip() == _MASK else [piece or ""]):
            if part.strip(_EDGE):
                pieces.append(part.strip(_EDGE))
    return pieces


def _field(masked: str, name: str) -> Kind | Purpose | None:
    """A value written as a field: "Kind: email", "目的: give"."""
    for key, value in _FIELD.findall(masked):
        is_kind = vocab.norm(key) in ("kind", "type", "種別", "種類")
        if name == "kind" and is_kind:
            return vocab.kind_of(value)
        if name == "purpose" and not is_kind:
            return vocab.purpose_of(value)
    return None


# --- when, how, why ------------------------------------------------------------------------

def _occurred_on(clauses: list[_Clause], today: date) -> date | None:
    for clause in clauses:
        if clause.promise or clause.plan:
            continue
        text = _AMBIGUOUS_DAY.sub(rf"\1\3{_NO_WORD}\2\4", clause.text)
        found, _ = find_date(text, today, prefer="past")
        if found is not None and today - timedelta(days=_RECENT_DAYS) <= found <= today:
            return None if found == today else found
    return None


def _kind(clauses: list[_Clause], why: list[str]) -> Kind | None:
    for clause in clauses:
        if clause.promise or clause.plan:
            continue
        low = _TRUSTS.sub(" ", _FUTURE_KIND.sub(" ", clause.low))  # "your call" is no call
        kinds = {kind for kind, pattern in _KINDS.items() if pattern.search(low)}
        if len(kinds) > 1:
            kinds.discard(Kind.MEETING)
        if len(kinds) > 1:  # "お礼メール" after an exhibition, "visited to thank them for the seminar"
            kinds.discard(Kind.EVENT)
        if len(kinds) == 1:
            return kinds.pop()
        if kinds:
            why.append("kind: " + ", ".join(sorted(k.value for k in kinds)) + " named together")
            return None
    return None


def _purpose(clauses: list[_Clause], problem: bool, promised: bool) -> Purpose | None:
    give = ask = weak = service = responded = False
    for clause in clauses:
        low = clause.low
        if _NEGATED_ASK.search(low):
            give, low = True, _NEGATED_ASK.sub(" ", low)
        # Showing a track record or introducing oneself is part of selling, not a gift.
        proof = bool(_PROOF.search(low))
        low = _PROOF.sub(" ", re.sub(r"(?:会社|自社|製品|商品|サービス)紹介", " ", low))
        give |= not proof and (bool(_GIVE.search(low)) or bool(_GIVE_DEED.search(low)))
        ask |= bool(_ASK.search(low))
        weak |= bool(_WEAK_ASK.search(low))
        service |= bool(_SERVICE.search(low)) or (clause.promise and problem and bool(re.search(r"\bfix", low)))
        responded |= bool(_RESPONSE.search(low))
    if service:
        return None if ask else Purpose.SERVICE
    if ask:
        return Purpose.ASK
    if give:
        return Purpose.GIVE
    if problem and (responded or promised):
        return Purpose.SERVICE
    return Purpose.ASK if weak else None


def _proof(clauses: list[_Clause]) -> bool | None:
    for clause in clauses:
        if _NO_PROOF.search(clause.low):
            return False
        if not (clause.promise or clause.client_said or _TRADED.search(clause.low)) and _PROOF.search(clause.low):
            return True
    return None


# --- promises, problems, trust ---------------------------------------------------------------

def _due(text: str, today: date) -> tuple[date | None, str]:
    """The first date phrase that is not in the past, and the text without it."""
    rest = text
    for _ in range(3):
        found, after = find_date(rest, today)
        if found is None:
            return None, rest
        if found >= today:
            return found, after
        rest = after  # "promised yesterday to send it by Friday": yesterday is not the due date
    return None, rest


def _promises(clauses: list[_Clause], today: date) -> tuple[ProposedPromise, ...]:
    found: list[ProposedPromise] = []
    previous = ""
    for clause in clauses:
        if not clause.promise:
            previous = clause.text
            continue
        parts = re.split(r",?\s+and\s+", clause.text)
        if len(parts) < 2 or not _due(parts[0], today)[0] or not all(
                _due(p, today)[0] or re.match(r"to\s", p) for p in parts[1:]):
            parts = [clause.text]
        for part in parts:
            due, rest = _due(part, today)
            what = _promise_text(rest) or _promise_text(previous)  # "→ 月末までに" under its item
            if what:
                found.append(ProposedPromise(what, due))
        previous = clause.text
    return tuple(found)


def _promise_text(text: str) -> str:
    what = re.sub(r"\s{2,}", " ", text.replace(_MASK, " ")).strip(" ,、。.:")
    for _ in range(3):
        what = _PROMISE_LEAD.sub("", what).strip(" ,、。.:")
        what = _PROMISE_TAIL.sub("", what).strip(" ,、。.:")
    return what


def _problem(clauses: list[_Clause]) -> str | None:
    for clause in clauses:
        low = clause.low
        if clause.promise or _NO_PROBLEM.search(low) or _SOLVED.search(low) or not _PROBLEM.search(low):
            continue
        match = _PROBLEM_OBJECT.search(clause.text)
        start, end = (match.span(1) if match and match.group(1) else match.span(2)) if match else (0, len(clause.text))
        words = clause.text[start:end].replace(_MASK, "").strip(" 、。,.の")
        return (words or clause.text.replace(_MASK, "").strip())[:80]
    return None


def _asked_for(clauses: list[_Clause], why: list[str]) -> TrustLevel | None:
    levels = {level for clause in clauses if clause.client_said and not clause.promise
              for level, pattern in _ASKED.items() if pattern.search(clause.low)}
    if len(levels) == 1:
        return levels.pop()
    if levels:
        why.append("asked_for: several levels named: " + ", ".join(str(int(lv)) for lv in sorted(levels)))
    return None


def _justification(clauses: list[_Clause]) -> bool | None:
    demanded = any(c.client_said and _JUSTIFY.search(c.low) for c in clauses)
    trusted = any(_TRUSTS.search(c.low) for c in clauses)
    return None if demanded == trusted else demanded
