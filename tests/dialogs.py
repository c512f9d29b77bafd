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


# Step by step: a new client, the note (its promise and problem read from it), a retry after a bad
# answer, the track record toggled on the summary, save; then the passbook and the promise kept.
LOG_EN = Script(
    "logmeeting_en", "alice@acme.example",
    (
        Say("/logmeeting", ("Which client did you meet?",)),
        Say("Acme Corp", ("I don't have a client called “Acme Corp” yet", "Add “Acme Corp” as a new client")),
        Pick(1, ("What happened?", "Mention any promise (with its date) or problem")),
        Say("Sent them the benchmark report for their sector, no ask. Promised to send the slides by Friday; "
            "they complained about late invoices", ("How did you meet?", "Call")),
        Say("telepathy", ("I didn't catch how you met",)),
        Say("call", ("Here's what I read from your note", "• Client: Acme Corp (new)",
                     "• Promise: send the slides (by Fri 27 Nov)", "• Problem raised: late invoices",
                     "Save this?", "+ Track record shown")),
        Pick(3, ("• Showed a fitting track record", "✓ Track record shown", "Save this?")),
        Say("save", ("Saved your touch with Acme Corp.", "+2  Gave value without asking (Call)",
                     "+2  Showed a fitting track record", "Credit balance with Acme Corp: +4", "Coach's tip:")),
        Say("ledger Acme Corp", ("Passbook: Acme Corp (balance +4)", "Trust level: not assessed yet", "send the slides")),
        Say("promises", ("You have 1 open promise:", "Acme Corp: send the slides")),
        Say("kept 1", ("Marked kept on time", "+3  Kept a promise on time", "Credit balance: +7")),
    ),
    balance=7, client="Acme Corp",
)

# Step by step in Japanese: the note says the client consulted the rep (相談されました), so the
# trust question comes; the summary's buttons typed as they read (修正する, 記録する), a field
# label typed at Edit (日付).
LOG_JA = Script(
    "logmeeting_ja", "ken@acme.example",
    (
        Say("/logmeeting", ("どのお客様とのやり取りですか",)),
        Say("田中商事", ("「田中商事」はまだ登録されていません",)),
        Pick(1, ("どんな内容でしたか", "約束(期限も)や困りごとがあれば")),
        Say("打ち合わせで業界レポートを共有しました。来期の進め方について相談されました。来週月曜までに事例集を送ると約束しました。",
            ("今回、お客様はあなたに何を求めていましたか", "自分の専門分野の知識", "今回はスキップ")),
        Pick(1, ("メモから読み取った内容です", "・お客様:田中商事(新規)", "・約束:事例集を送る(期限:11月23日(月))",
                 "・求められたこと:自分の専門分野の知識", "この内容で記録しますか", "+ 約束を追加")),
        Say("修正する", ("どこを修正しますか",)),
        Say("日付", ("いつのことですか",)),
        Say("昨日", ("・11月19日(木)の打ち合わせ", "この内容で記録しますか")),
        Say("記録する", ("田中商事様との活動を記録しました。", "+2  見返りを求めない情報提供・お役立ち(打ち合わせ)", "信用残高:+2",
                        "コーチからのひとこと")),
        Say("通帳 田中商事", ("信用通帳:田中商事(残高:+2)", "信頼レベル1", "事例集を送る")),
    ),
    balance=2, client="田中商事",
)

# A complete quick form: for a new client, adding it and the summary are the only prompts. The
# next log for that client, whose trust was never assessed, asks what they asked of the rep;
# the summary's "+ Promise" asks the promise (here without a date, then a date that can't be
# read), Edit can go back, and cancel stops.
QUICK_EN = Script(
    "quick_en", "alice@acme.example",
    (
        Say("/logmeeting Globex call give: sent them the benchmark report", ("I don't have a client called “Globex” yet",)),
        Pick(1, ("• Client: Globex (new)", "• What happened: sent them the benchmark report", "Save this?",
                 "+ Promise", "+ Problem")),
        Say("save", ("Saved your touch with Globex.", "+2  Gave value without asking (Call)",
                     "Credit balance with Globex: +2")),
        Say("/logmeeting Globex email give: sent the webinar recording",
            ("The trust level of Globex hasn't been assessed yet. What did they ask of you this time?",
             "Solutions in my area and around it")),
        Pick(2, ("• They asked for: Solutions in my area and around it", "Save this?")),
        Say("+ Promise", ("What did you promise, and by when?",)),
        Say("send the case study", ("By when will you “send the case study”?",)),
        Say("someday", ("I couldn't read that as a date",)),
        Say("Friday", ("• Promise: send the case study (by Fri 27 Nov)", "Save this?")),
        Say("edit", ("What would you like to change?", "Back to the summary")),
        Say("Back to the summary", ("• Promise: send the case study (by Fri 27 Nov)", "Save this?")),
        Say("cancel", ("Cancelled. Nothing was recorded.",)),
    ),
    balance=2, client="Globex",
)

# One natural sentence after /logmeeting: the note reader (rules here; an LLM when configured)
# proposes the fields, the coach asks only for what it could not read, the rep confirms.
FREE_EN = Script(
    "free_text_en", "alice@acme.example",
    (
        Say("/logmeeting Acme: showed them the ROI case from a similar customer, promised a revised quote by "
            "Friday, they complained about late invoices", ("I don't have a client called “Acme” yet",)),
        Pick(1, ("How did you meet?",)),
        Say("meeting", ("Here's what I read from your note. Check it, then save or edit:", "• Client: Acme (new)",
                        "• Showed a fitting track record", "• Promise: a revised quote (by Fri 27 Nov)",
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
        Pick(1, ("メモから読み取った内容です", "・11月20日(金)の打ち合わせ",
                 "・約束:見積もり再提出(期限:11月23日(月))", "・困りごと:請求書の遅れ", "+ 実績を示した")),
        Say("はい", ("田中商事様との活動を記録しました。", "信用残高:+0", "コーチからのひとこと")),
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
        Pick(1, ("What did they get from you?",)),
        Pick(1, ("Did you promise anything?",)),
        Pick(1, ("Saved your touch with Acme Corp.", "+2  Gave value without asking (Meeting)",
                 "Credit balance with Acme Corp: +2")),
    ),
    balance=2, client="Acme Corp",
)

CHECKIN_JA = Script(
    "checkin_ja", "ken@acme.example",
    (
        Say("tap:other", ("どのお客様とのやり取りですか",)),
        Say("田中商事", ("「田中商事」はまだ登録されていません",)),
        Pick(1, ("今回、お客様に何をお渡ししましたか",)),
        Pick(1, ("何か約束をしましたか",)),
        Pick(1, ("田中商事様との活動を記録しました。", "信用残高:+2")),
    ),
    balance=2, client="田中商事",
)

# A problem raised and answered in the same service touch is answered (+3, nothing waits); a
# false claim resets credit at once; only a correction the rep records ends the recovery (fast:
# +2); a deal won; the passbook says it all.
SETBACK_EN = Script(
    "setback_en", "alice@acme.example",
    (
        Say("/logmeeting Acme Corp call service: they reported the export is broken; walked them through "
            "the workaround on the call", ("Add “Acme Corp” as a new client",)),
        Pick(1, ("• Problem raised: ", "Save")),
        Say("save", ("Saved your touch with Acme Corp.", "+3  Answered their problem within a day")),
        Say("setback Acme Corp: told them SSO was included; it is not", ("What happened with Acme Corp?",)),
        Pick(1, ("Recorded: a claim to Acme Corp proved false", "reset to -20", "corrected Acme Corp:")),
        Say("nudges", ("Repair the relationship", "has not been put right yet")),
        Say("corrected Acme Corp: sent the corrected feature sheet in writing",
            ("Put right with Acme Corp, +2 for being quick", "Credit balance: -18")),
        Say("nudges", ("Nothing needs you right now",)),
        Say("won Acme Corp", ("Deal won with Acme Corp",)),
        Say("ledger Acme Corp", ("balance -18", "A claim proved false: “told them SSO was included; it is not”",
                                 "Put right: “sent the corrected feature sheet in writing”")),
    ),
    balance=-18, client="Acme Corp", interactions=2,
)

SETBACK_JA = Script(
    "setback_ja", "ken@acme.example",
    (
        Say("/logmeeting 田中商事 電話 対応: 請求書の金額が違うとのご指摘。その場で原因を説明し、訂正版を送付",
            ("「田中商事」を新しいお客様として追加",)),
        Pick(1, ("・困りごと:", "記録する")),
        Say("記録する", ("田中商事", "+3")),
        Say("失点 田中商事 誤解: 納期を月末と伝えたつもりが月初と受け取られた",
            ("田中商事様との誤解", "-5", "訂正済み 社名")),
        Say("訂正済み 田中商事: 正しい納期を書面で送付", ("田中商事様への訂正を記録しました", "+2")),
        Say("受注 田中商事", ("田中商事様からの受注", "記録しました")),
        Say("通帳 田中商事", ("こちらの伝え方で誤解が生じた", "訂正を伝えた:「正しい納期を書面で送付」")),
    ),
    balance=0, client="田中商事", interactions=2,
)

SCRIPTS = (LOG_EN, LOG_JA, QUICK_EN, FREE_EN, FREE_JA, CHECKIN_EN, CHECKIN_JA, SETBACK_EN, SETBACK_JA)
