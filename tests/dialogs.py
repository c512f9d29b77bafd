"""Dialog scripts shared by every channel, so console, Slack and Teams cannot drift apart.

A step is what the user does and what the coach's answer must contain. ``Say`` types text;
``Pick`` chooses the n-th offered choice (typed as a number on the console, a button on Slack
and Teams). Expected fragments are plain catalogue text as any channel shows it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Say:
    text: str
    expect: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pick:
    number: int
    expect: tuple[str, ...] = ()


@dataclass(frozen=True)
class Script:
    name: str
    email: str
    steps: tuple[Say | Pick, ...]
    balance: int  # the client's balance afterwards
    client: str
    interactions: int = 1


LOG_EN = Script(
    "logmeeting_en", "alice@acme.example",
    (
        Say("/logmeeting", ("Which client did you meet?",)),
        Say("Acme Corp", ("I don't have a client called “Acme Corp” yet", "Add “Acme Corp” as a new client")),
        Pick(1, ("How did you meet?", "Call")),
        Say("telepathy", ("I didn't catch how you met",)),
        Say("call", ("What was the touch for?",)),
        Pick(1, ("What happened?",)),
        Say("Sent them the benchmark report for their sector", ("track record",)),
        Say("yes", ("Did you promise anything?",)),
        Say("send the revised quote by Friday", ("Noted: “send the revised quote” by Fri 27 Nov 2026", "Any other promise?")),
        Say("no", ("Did they raise a problem",)),
        Say("late invoices", ("What did the client ask of you",)),
        Pick(2, ("justify each step",)),
        Say("no", ("Here's what I'll record:", "• Client: Acme Corp (new)", "• Promise: send the revised quote (by Fri 27 Nov 2026)",
                   "• Problem raised: late invoices", "Save this?")),
        Say("save", ("Saved your touch with Acme Corp.", "+2  Gave value without asking (Call)",
                     "+2  Showed a fitting track record", "Credit balance with Acme Corp: +4", "Coach's tip:")),
        Say("ledger Acme Corp", ("Passbook: Acme Corp (balance +4)", "Trust level 2", "send the revised quote")),
        Say("promises", ("You have 1 open promise:", "Acme Corp: send the revised quote")),
        Say("kept 1", ("Marked kept on time", "+3  Kept a promise on time", "Credit balance: +7")),
    ),
    balance=7, client="Acme Corp",
)

LOG_JA = Script(
    "logmeeting_ja", "ken@acme.example",
    (
        Say("/logmeeting", ("どのお客様との接点ですか",)),
        Say("田中商事", ("「田中商事」はまだ登録されていません",)),
        Pick(1, ("どのような形で接点を持ちましたか",)),
        Say("打ち合わせ", ("今回の接点の目的は何でしたか",)),
        Say("ギブ", ("どんな内容でしたか",)),
        Say("業界レポートを共有しました", ("実績",)),
        Say("いいえ", ("何か約束をしましたか",)),
        Say("来週月曜までに見積もり再提出", ("承知しました:「見積もり再提出」(期限 2026年11月23日(月))", "ほかに約束はありますか")),
        Say("なし", ("困りごとや不満の声",)),
        Say("なし", ("何を求めていましたか",)),
        Pick(1, ("細かな根拠を求められましたか",)),
        Say("はい", ("次の内容で記録します", "・お客様:田中商事(新規)", "・細かな根拠の要求:はい")),
        Say("はい", ("田中商事 との接点を記録しました。", "+2  見返りを求めずに価値を提供(打ち合わせ)", "信用残高:+2", "コーチからのひとこと")),
        Say("通帳 田中商事", ("信用通帳:田中商事(残高 +2)", "信頼レベル 1", "見積もり再提出")),
    ),
    balance=2, client="田中商事",
)

QUICK_EN = Script(
    "quick_en", "alice@acme.example",
    (
        Say("/logmeeting Globex call give: sent them the benchmark report", ("I don't have a client called “Globex” yet",)),
        Pick(1, ("track record",)),
        Say("no", ("Did you promise anything?",)),
        Pick(1, ("Did they raise a problem",)),
        Pick(1, ("What did the client ask of you",)),
        Say("skip", ("justify each step",)),
        Say("skip", ("• Client: Globex (new)", "• What happened: sent them the benchmark report", "Save this?")),
        Say("cancel", ("Cancelled. Nothing was recorded.",)),
    ),
    balance=0, client="Globex", interactions=0,
)

# One natural sentence after /logmeeting: the note reader (rules here; an LLM when configured)
# proposes the fields, the coach asks only for what it could not read, the rep confirms.
FREE_EN = Script(
    "free_text_en", "alice@acme.example",
    (
        Say("/logmeeting Acme: showed them the ROI case from a similar customer, promised a revised quote by "
            "Friday, they complained about late invoices", ("I don't have a client called “Acme” yet",)),
        Pick(1, ("How did you meet?",)),
        Say("meeting", ("What did the client ask of you",)),
        Say("skip", ("justify each step",)),
        Say("skip", ("Here's what I read from your note. Check it, then save or edit:", "• Client: Acme (new)",
                     "• Showed a fitting track record", "• Promise: a revised quote (by Fri 27 Nov 2026)",
                     "• Problem raised: late invoices", "Save this?")),
        Say("save", ("Saved your touch with Acme.", "+2  Showed a fitting track record", "Credit balance with Acme: +2",
                     "Coach's tip:")),
    ),
    balance=2, client="Acme",
)

FREE_JA = Script(
    "free_text_ja", "ken@acme.example",
    (
        Say("/logmeeting 田中商事 打ち合わせ。来週月曜までに見積もり再提出を約束。請求書の遅れについて不満あり",
            ("「田中商事」はまだ登録されていません",)),
        Pick(1, ("実績",)),
        Say("いいえ", ("何を求めていましたか",)),
        Say("スキップ", ("細かな根拠を求められましたか",)),
        Say("スキップ", ("メモから読み取った内容です", "・2026年11月20日(金) の打ち合わせ",
                       "・約束:見積もり再提出(期限 2026年11月23日(月))", "・困りごと:請求書の遅れ")),
        Say("はい", ("田中商事 との接点を記録しました。", "信用残高:+0", "コーチからのひとこと")),
    ),
    balance=0, client="田中商事",
)

# The end-of-day check-in's "Someone else…" button (its value, typed or clicked): the client, then
# only the purpose and whether a promise was made; saved with no summary to confirm.
CHECKIN_EN = Script(
    "checkin_en", "alice@acme.example",
    (
        Say("tap:other", ("Which client did you meet?",)),
        Say("Acme Corp", ("I don't have a client called “Acme Corp” yet",)),
        Pick(1, ("What was the touch for?",)),
        Pick(1, ("Did you promise anything?",)),
        Pick(1, ("Saved your touch with Acme Corp.", "+2  Gave value without asking (Meeting)",
                 "Credit balance with Acme Corp: +2")),
    ),
    balance=2, client="Acme Corp",
)

CHECKIN_JA = Script(
    "checkin_ja", "ken@acme.example",
    (
        Say("tap:other", ("どのお客様との接点ですか",)),
        Say("田中商事", ("「田中商事」はまだ登録されていません",)),
        Pick(1, ("今回の接点の目的は何でしたか",)),
        Pick(1, ("何か約束をしましたか",)),
        Pick(1, ("田中商事 との接点を記録しました。", "信用残高:+2")),
    ),
    balance=2, client="田中商事",
)

SCRIPTS = (LOG_EN, LOG_JA, QUICK_EN, FREE_EN, FREE_JA, CHECKIN_EN, CHECKIN_JA)
