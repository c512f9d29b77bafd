"""The words reps type for kinds, purposes and yes/no, in English and Japanese.

Kept apart from the message catalogue: these are what the coach *understands*, not what it says.
Matching is on NFKC-normalised, case-folded text.
"""

from __future__ import annotations

import unicodedata

from coaching.model import Kind, Purpose

KIND_WORDS: dict[Kind, tuple[str, ...]] = {
    Kind.MEETING: ("meeting", "meet", "met", "mtg", "打ち合わせ", "打合せ", "会議", "ミーティング", "面談", "商談"),
    Kind.CALL: ("call", "phone", "called", "電話", "通話", "web会議", "オンライン"),
    Kind.EMAIL: ("email", "e-mail", "mail", "メール"),
    Kind.MESSAGE: ("message", "chat", "slack", "teams", "line", "メッセージ", "チャット"),
    Kind.VISIT: ("visit", "visited", "onsite", "訪問", "来社", "往訪"),
    Kind.EVENT: ("event", "seminar", "webinar", "conference", "dinner", "イベント", "セミナー", "展示会", "会食"),
}

PURPOSE_WORDS: dict[Purpose, tuple[str, ...]] = {
    Purpose.GIVE: ("give", "gave", "giving", "info", "share", "shared", "ギブ", "情報提供", "提供", "共有", "お役立ち"),
    Purpose.ASK: ("ask", "asked", "pitch", "proposal", "sell", "closing", "price", "提案", "営業", "お願い", "クロージング", "見積", "見積もり", "価格"),
    Purpose.SERVICE: ("service", "support", "fix", "issue", "対応", "サポート", "フォロー", "トラブル", "問い合わせ"),
    Purpose.CONTACT: ("contact", "check-in", "checkin", "greeting", "courtesy", "keep in touch",
                      "ご挨拶", "挨拶", "近況確認", "ご機嫌伺い", "様子伺い", "顔出し"),
}

YES = ("yes", "y", "yeah", "yep", "sure", "ok", "はい", "うん", "ええ", "あり", "ある", "した", "そう")
NO = ("no", "n", "nope", "none", "nothing", "nah", "いいえ", "いや", "なし", "ない", "特になし", "していない", "ありません")
SKIP = ("skip", "-", "pass", "n/a", "スキップ", "とばす", "飛ばす", "わからない", "不明")
CANCEL = ("cancel", "stop", "quit", "abort", "キャンセル", "やめる", "やめます", "中止", "取り消し", "取消")
# What a note may start with before a colon that is a label, not a client's name ("Quick note: …").
NOT_A_CLIENT = ("client", "customer", "account", "note", "notes", "quick note", "memo", "update", "fyi", "re",
                "summary", "todo", "顧客", "客先", "メモ", "報告", "件名", "備考")
# At the summary: what the buttons say, typed (the labels themselves are matched too).
SAVE = ("save", "save it", "record", "保存", "保存する", "記録", "記録する", "登録", "登録する")
EDIT = ("edit", "change", "correct", "修正", "修正する", "変更", "変更する", "編集", "編集する", "訂正")


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def name_key(name: str) -> str:
    """What client names are matched and stored on (the database's unique key): NFKC (full-width
    letters become plain ones), case-folded, NFKC again (casefolding can un-normalise),
    stripped. It can be longer than the name ("㍿" is "株式会社", "ß" is "ss"), and must fit the
    same column."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold()).strip()


def kind_of(word: str) -> Kind | None:
    w = norm(word)
    for kind, words in KIND_WORDS.items():
        if w == kind.value or w in words:
            return kind
    return None


def purpose_of(word: str) -> Purpose | None:
    w = norm(word)
    for purpose, words in PURPOSE_WORDS.items():
        if w == purpose.value or w in words:
            return purpose
    return None


def is_word(text: str, words: tuple[str, ...]) -> bool:
    return norm(text).rstrip(".!。！") in words


# --- What the note reader looks for in free text (coaching/reading/) ------------------------
# A sentence is noisier than a one-word answer, so these lists leave out ordinary English words
# that only name a tool ("line", "teams", "slack", "meet") and add the forms reps write in a
# sentence. English entries match whole words; a trailing "*" matches any ending ("complain*").
# Japanese entries match anywhere.

NOTE_KIND_WORDS: dict[Kind, tuple[str, ...]] = {
    Kind.MEETING: ("meeting", "meetings", "met", "mtg", "qbr", "打ち合わせ", "打合せ", "打ち合せ", "会議", "ミーティング",
                   "面談", "商談"),
    Kind.CALL: ("call", "called", "calls", "phone", "phoned", "rang", "zoom", "video call", "電話", "通話", "web会議",
                "オンライン", "zoom会議", "teams会議"),
    Kind.EMAIL: ("email", "emailed", "emails", "e-mail", "e-mailed", "mail", "mailed", "メール"),
    Kind.MESSAGE: ("message", "messaged", "texted", "dm", "dm'd", "pinged", "メッセージ", "チャット", "lineで", "slackで",
                   "teamsで"),
    Kind.VISIT: ("visit", "visited", "onsite", "on-site", "dropped by", "stopped by", "訪問", "来社", "往訪", "お伺い"),
    Kind.EVENT: ("event", "seminar", "webinar", "conference", "summit", "expo", "trade show", "dinner", "lunch",
                 "会食", "イベント", "セミナー", "展示会", "懇親会"),
}

# Purpose: what the rep did. An explicit ask (a proposal, a price, a contract) outweighs give
# words; a weak ask (a demo, a trial) does not.
NOTE_GIVE_WORDS = (
    "share", "shared", "sharing", "article", "articles", "checklist", "how-to", "release notes", "newsletter",
    "recording", "link to", "introduce", "introduced", "introduction", "intro to", "invited", "tips",
    "congrat*", "pure give", "nothing in return",
    "情報提供", "共有", "紹介", "案内", "お役立ち", "ギブ", "業界動向", "情報をお渡し",
)
# Keeping in touch with nothing given or asked: connection, not value. It keeps the client's
# rhythm and earns nothing; a note that says only this is a contact, not a give.
NOTE_CONTACT_WORDS = (
    "check in", "checked in", "checking in", "catch up", "caught up", "say hi", "said hi", "say hello",
    "said hello", "touch base", "touched base", "courtesy call", "courtesy visit", "keep in touch", "kept in touch",
    "nothing to report", "nothing new", "just to say", "greeting*", "how they were doing", "new year greeting*",
    "ご機嫌伺い", "ご挨拶", "挨拶", "近況確認", "近況を伺", "様子伺い", "顔出し", "顔を出", "定期連絡", "用件なし",
    "特に用件", "年始", "年末のご挨拶", "お礼",
)
NOTE_ASK_WORDS = (
    "proposal", "proposals", "propose", "proposed", "pitch", "pitched", "quote", "quotes", "quotation",
    "price", "prices", "pricing", "discount", "contract", "renewal", "renew", "renewing", "upsell", "upgrade",
    "sow", "offer", "closing", "purchase order", "po",
    "提案", "見積", "価格", "値引", "値上げ", "契約", "更新", "受注", "発注", "クロージング", "商談", "料金",
)
NOTE_WEAK_ASK_WORDS = ("demo", "trial", "sales", "デモ", "営業", "お願い", "導入", "トライアル")
NOTE_SERVICE_WORDS = (
    "fixed", "resolved", "apologi*", "sorted out", "looked into", "looking into", "troubleshoot*",
    "root cause", "workaround", "refund*", "replacement", "escalated",
    "お詫び", "謝罪", "解決", "復旧", "原因", "再発防止", "対策", "クレーム対応", "不具合対応", "障害対応",
    "至急対応", "すぐ対応", "すぐに対応", "即日対応", "緊急対応",
)
# Said next to a problem the client raised, these make the touch a service one.
NOTE_RESPONSE_WORDS = (
    "answered", "replied", "responded", "explained", "回答", "返信", "説明", "対応",
)

NOTE_PROOF_WORDS = (
    "case study", "case studies", "roi", "track record", "reference customer", "success story",
    "success stories", "testimonial*", "similar customer*", "similar rollout*", "similar project*",
    "results from", "customer story", "customer example*",
    # third-party evidence of a record: an audit, a certification, the history of a service level
    "soc2", "soc 2", "soc 1", "iso 27001", "audit report", "status history", "uptime history",
    "事例", "導入事例", "実績", "費用対効果", "効果検証", "お客様の声", "導入効果",
    "監査報告書", "稼働履歴", "稼働率の推移",
)
NOTE_NO_PROOF_WORDS = ("no case study", "no case studies", "no references", "事例なし", "実績なし", "事例がなく", "事例は出せず")

NOTE_PROBLEM_WORDS = (
    "complain*", "unhappy", "not happy", "upset", "angry", "frustrat*", "annoyed", "issue", "issues",
    "problem", "problems", "concern", "concerns", "concerned", "bug", "bugs", "outage", "broken",
    "not working", "doesn't work", "is slow", "too slow", "delayed", "late", "headache", "pain point*",
    "struggl*", "error", "errors", "mistake", "mistakes",
    "不満", "クレーム", "困って", "困り", "問題", "苦情", "トラブル", "不具合", "遅れ", "遅延", "障害", "ご立腹",
    "怒って", "不安", "ミス", "間違い", "エラー", "ご指摘", "指摘され", "指摘を受け",
)
NOTE_NO_PROBLEM_WORDS = (
    "no issue", "no issues", "no problem", "no problems", "no complaints", "nothing wrong",
    "問題なし", "問題ない", "問題はない", "問題はなし", "問題はありません", "不満はない", "不満なし", "特に問題",
)
# A problem the same clause says is already fixed is not a new one.
NOTE_SOLVED_WORDS = ("fixed", "resolved", "solved", "works now", "解決済", "解決し", "復旧し", "直った", "修正済")


# --- When to ask about trust (coaching/logflow.py) -------------------------------------
# Words in a note that hint the client asked something of the rep, or wanted justification,
# when the reader could not tell what exactly: the coach then asks, rather than guess.
TRUST_HINT_WORDS = (
    "asked", "asks", "asking", "requested", "request", "wanted", "wants", "relies on", "rely on", "consulted",
    "advice", "opinion", "thoughts on", "their take", "my take", "talk things over", "sounding board",
    "相談", "依頼された", "依頼を受け", "依頼があ", "頼まれ", "求められ", "聞かれ", "質問され", "頼りに", "意見を",
    "アドバイス",
)
JUSTIFY_HINT_WORDS = (
    "justify", "justified", "justification", "evidence", "backed by", "back it up", "breakdown",
    "every number", "numbers behind", "data behind",
    "根拠", "エビデンス", "裏付け", "内訳", "理由を", "細かく聞かれ", "細かく確認", "詳しく説明", "説明を求め",
)

# A deal won, said in a note ("signed the contract", 受注) or typed alone (the quick form, the summary).
WON_WORDS = (
    "won the deal", "won the contract", "won the bid", "won the business", "won the account", "deal won",
    "closed the deal", "closed-won", "closed won", "signed the contract", "signed the order", "signed the deal",
    "they signed", "po received", "received the po", "got the po",
    "受注", "成約", "契約締結", "ご契約いただ", "契約をいただ", "発注をいただ", "発注いただ", "ご発注",
)
WON = ("won", "deal won", "win", "受注", "成約", "受注した")
# A concession the client demands (a discount, something free): the coach's advice is to trade it.
CONCESSION_WORDS = (
    "discount", "discounts", "price cut", "cut the price", "lower the price", "for free", "free of charge",
    "at no cost", "no charge", "throw in", "waive", "waived",
    "値引き", "値下げ", "割引", "無償", "無料で", "タダで", "サービスで", "おまけ",
)


def mentions(text: str, words: tuple[str, ...]) -> bool:
    """Whether ``text`` contains one of ``words``: English ones as whole words (any case),
    Japanese ones anywhere."""
    low = norm(text)
    for word in words:
        at = low.find(word)
        while at >= 0:
            if not word.isascii():
                return True
            before = low[at - 1] if at else " "
            after = low[at + len(word)] if at + len(word) < len(low) else " "
            if not (before.isalnum() and before.isascii()) and not (after.isalnum() and after.isascii()):
                return True
            at = low.find(word, at + 1)
    return False
