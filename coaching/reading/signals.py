"""What the client said: a problem they raised, what they asked of the rep (the trust level),
and whether they demanded justification or left it to the rep."""

from __future__ import annotations

import re

from coaching.model import TrustLevel
from coaching.reading.clauses import MASK, Clause
from coaching.reading.words import NO_PROBLEM, PROBLEM, SOLVED

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
TRUSTS = re.compile(
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


def problem(clauses: list[Clause]) -> str | None:
    for clause in clauses:
        low = clause.low
        if clause.promise or NO_PROBLEM.search(low) or SOLVED.search(low) or not PROBLEM.search(low):
            continue
        match = _PROBLEM_OBJECT.search(clause.text)
        start, end = (match.span(1) if match and match.group(1) else match.span(2)) if match else (0, len(clause.text))
        words = clause.text[start:end].replace(MASK, "").strip(" 、。,.の")
        return (words or clause.text.replace(MASK, "").strip())[:80]
    return None


def asked_for(clauses: list[Clause], why: list[str]) -> TrustLevel | None:
    levels = {level for clause in clauses if clause.client_said and not clause.promise
              for level, pattern in _ASKED.items() if pattern.search(clause.low)}
    if len(levels) == 1:
        return levels.pop()
    if levels:
        why.append("asked_for: several levels named: " + ", ".join(str(int(lv)) for lv in sorted(levels)))
    return None


def justification(clauses: list[Clause]) -> bool | None:
    demanded = any(c.client_said and _JUSTIFY.search(c.low) for c in clauses)
    trusted = any(TRUSTS.search(c.low) for c in clauses)
    return None if demanded == trusted else demanded
