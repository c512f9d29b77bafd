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
}

YES = ("yes", "y", "yeah", "yep", "sure", "ok", "はい", "うん", "ええ", "あり", "ある", "した", "そう")
NO = ("no", "n", "nope", "none", "nothing", "nah", "いいえ", "いや", "なし", "ない", "特になし", "していない", "ありません")
SKIP = ("skip", "-", "pass", "n/a", "スキップ", "とばす", "飛ばす", "わからない", "不明")
CANCEL = ("cancel", "stop", "quit", "abort", "キャンセル", "やめる", "中止", "取り消し")


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


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
