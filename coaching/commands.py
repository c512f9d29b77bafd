"""What a person can ask of the coach, as typed values.

Two parsers make them: :func:`parse_button` reads a button's payload (the values the coach itself
put on its buttons, see the encoders below), :func:`parse_text` reads what a person typed, in
English or Japanese. :func:`parse` tries the first, then the second. Each command has one handler
(:mod:`coaching.handlers`, or the logging flow in :mod:`coaching.engine`); adding a command is one
class here, one parse rule, one handler and one view.

A button's payload is text, because every channel carries text (a Slack action value, a Teams
card's data, a number typed in the terminal); only this module writes or reads its shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coaching.model import Purpose, Setback as SetbackKind
from coaching.moment_commands import ABOUT_A_CLIENT, SETBACK_WORDS, PutRight, SetTrust, Setback, Solved, Won  # noqa: F401
from coaching.vocabulary import norm

MAX_ID = 2**31 - 1  # record ids are 32-bit in the database (touches: 64-bit)
# Nudge subjects one feedback button carries (a grouped item, a whole digest): Slack refuses a
# button value over 2,000 characters, and a subject is about 30.
MAX_SUBJECTS = 40
MAX_BIG_ID = 2**63 - 1


def record_id(text: str, largest: int = MAX_ID) -> int | None:
    """The id a button or a typed ``client:12`` names; ``None`` when no record can have it
    (a larger number would overflow the database's column instead of finding nothing)."""
    if not text.isdecimal() or len(text) > 19:
        return None
    number = int(text)
    return number if 1 <= number <= largest else None


# --- typed commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogMeeting:
    """Start logging a touch; ``text`` is the quick form or a sentence (may be empty)."""
    text: str = ""


@dataclass(frozen=True)
class Ledger:
    """A client's passbook (``client`` empty: the rep's book summary)."""
    client: str = ""
    page: int = 1


@dataclass(frozen=True)
class Promises:
    pass


@dataclass(frozen=True)
class Clients:
    """The rep's own clients; ``team``: every client of the person's team(s) (managers, admins)."""
    team: bool = False


@dataclass(frozen=True)
class Nudges:
    """Today's nudges; ``kind``: only that kind, client by client (a grouped digest item's detail)."""
    kind: str = ""


@dataclass(frozen=True)
class Home:
    pass


@dataclass(frozen=True)
class TeamHealth:
    team: str = ""


@dataclass(frozen=True)
class TeamChannelHere:
    """Make this channel the team's digest channel (managers)."""


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class SetLeave:
    away: bool


@dataclass(frozen=True)
class Llm:
    """``llm`` (status), ``llm on`` / ``llm off`` (admins); ``switch`` is the word as typed."""
    switch: str = ""


@dataclass(frozen=True)
class Capture:
    """``capture`` (status), ``capture <client>``, ``capture off`` (admins, in a client's channel)."""
    what: str = ""


@dataclass(frozen=True)
class NotToday:
    """No client touches today: the end-of-day check-in is skipped."""


@dataclass(frozen=True)
class Unknown:
    text: str


# --- button commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tap:
    """A check-in button: a client (``client_id``) or "someone else" (``None``)."""
    client_id: int | None
    raw: str = ""  # the id as sent, for the refusal when it names nothing


@dataclass(frozen=True)
class PickClient:
    """A client chosen from the type-ahead with no conversation going."""
    client_id: int | None
    raw: str = ""


@dataclass(frozen=True)
class NewClient:
    name: str


@dataclass(frozen=True)
class Feedback:
    """Snooze a nudge, mark it not useful (dismissed), or useful; ``subject`` may name several
    nudges, joined by ``|`` (a grouped digest item, or the whole digest)."""
    action: str  # "snoozed", "dismissed" or "useful"
    kind: str
    subject: str


@dataclass(frozen=True)
class ClosePromise:
    """Kept or broken: by id (a button) or by position in the list just shown (``kept 2``)."""
    kept: bool
    promise_id: int | None = None
    position: int | None = None


@dataclass(frozen=True)
class StatePurpose:
    """What a captured touch was for (a check-in button)."""
    touch_id: int | None
    purpose: Purpose


Command = (LogMeeting | Ledger | Promises | Clients | Nudges | Home | TeamHealth | TeamChannelHere | Help
           | Cancel | SetLeave | Llm | Capture | NotToday | Unknown | Tap | PickClient | NewClient | Feedback
           | ClosePromise | StatePurpose | Setback | PutRight | Won | Solved | SetTrust)
# Pressed while logging, these act and leave the logging conversation where it was.
KEEPS_CONVERSATION = (Feedback, ClosePromise, StatePurpose, NotToday)
# Typed while logging, these start over (the others are answers to the question asked).
RESTARTS_CONVERSATION = (Tap, LogMeeting)


# --- encoders: the payloads the coach's own buttons carry ----------------------------------------


def button(command: Command) -> str:
    """The payload for a button that runs ``command``."""
    match command:
        case Tap(client_id=None):
            return "tap:other"
        case Tap(client_id=cid):
            return f"tap:{cid}"
        case PickClient(client_id=cid):
            return f"client:{cid}"
        case NewClient(name=name):
            return f"new:{name}"
        case Feedback(action=action, kind=kind, subject=subject):
            return f"{_FEEDBACK_WORDS[action]}:{kind}:{subject}"
        case ClosePromise(kept=kept, promise_id=pid) if pid is not None:
            return f"{'kept' if kept else 'broken'}:{pid}"
        case StatePurpose(touch_id=tid, purpose=purpose):
            return f"purpose:{tid}:{purpose.value}"
        case LogMeeting(text=text):
            return f"/logmeeting {text}".strip()
        case NotToday():
            return NOT_TODAY_WORDS[0]
        case Nudges(kind=kind):
            return f"nudges {kind}".strip()
        case Solved(client=client):
            return f"solved {client}"
        case Setback(client_id=cid, kind=kind, what=what) if cid is not None and kind is not None:
            return f"setback:{cid}:{kind.value}:{what}"
    raise ValueError(f"no button for {command!r}")


# --- parsers ----------------------------------------------------------------------------------------

_FEEDBACK = re.compile(r"(snooze|dismiss|useful):([a-z_]+):(.+)", re.DOTALL)
_FEEDBACK_WORDS = {"snoozed": "snooze", "dismissed": "dismiss", "useful": "useful"}
_FEEDBACK_ACTIONS = {word: action for action, word in _FEEDBACK_WORDS.items()}
_PROMISE = re.compile(r"(kept|broken|守った|守れなかった)\s*(:?)\s*(\d+)")
_TAP = re.compile(r"tap:(\d+|other)|client:(\d+)|new:(.+)", re.DOTALL)
_PURPOSE = re.compile(r"purpose:(\d+):(give|ask|service|contact)")
_SETBACK = re.compile(r"setback:(\d+):(false_claim|misunderstanding):(.*)", re.DOTALL)
_CHANNEL_HERE = re.compile(r"channel\s+here|チャンネル\s*(?:ここ|ここに)?|ここ")
_PAGE = re.compile(r"(.+?)\s+(?:(?:page|p\.?|ページ)\s*(\d+)|(\d+)\s*ページ目?)")
NOT_TODAY_WORDS = ("not today", "nothing today", "no touches today", "none today", "今日はなし", "本日はなし",
                   "今日はない", "今日はありません", "本日はありません")

# The words that start each typed command, English then Japanese (help lists the first of each).
WORDS: dict[str, tuple[str, ...]] = {
    "logmeeting": ("logmeeting", "log", "記録", "ログ"),
    "ledger": ("ledger", "passbook", "台帳", "通帳"),
    "promises": ("promises", "promise", "約束"),
    "clients": ("clients", "顧客", "クライアント"),
    "nudges": ("nudges", "nudge", "today", "ナッジ", "今日"),
    "home": ("home", "ホーム"),
    "teamhealth": ("teamhealth", "team", "チーム"),
    "help": ("help", "?", "ヘルプ", "使い方"),
    "cancel": ("cancel", "キャンセル", "やめる"),
    "away": ("away", "leave", "休暇", "不在"),
    "back": ("back", "復帰", "戻りました"),
    "llm": ("llm", "ai"),
    "capture": ("capture", "キャプチャ", "取り込み"),
    "setback": ("setback", "失点"),
    "misunderstanding": ("misunderstanding", "誤解"),
    "corrected": ("corrected", "訂正済み", "訂正済", "訂正しました"),
    "won": ("won", "受注", "成約"),
    "solved": ("solved", "解決", "解決済み"),
    "trust": ("trust", "信頼", "信頼レベル"),
}
_TEAM_WORDS = ("team", "all", "チーム", "全員", "すべて")


def parse_button(value: str) -> Command | None:
    """A payload the coach put on one of its buttons, as the command it stands for; ``None`` when
    ``value`` is not one (then it is typed text)."""
    if m := _TAP.fullmatch(value):
        if m[3] is not None:
            return NewClient(m[3].strip())
        if m[1] is not None:
            return Tap(None) if m[1] == "other" else Tap(record_id(m[1]), m[1])
        return PickClient(record_id(m[2]), m[2])
    if m := _FEEDBACK.fullmatch(value):
        return Feedback(_FEEDBACK_ACTIONS[m[1]], m[2], m[3])
    if m := _PURPOSE.fullmatch(value):
        return StatePurpose(record_id(m[1], MAX_BIG_ID), Purpose(m[2]))
    if m := _SETBACK.fullmatch(value):
        return Setback("", SetbackKind(m[2]), m[3].strip(), client_id=record_id(m[1]) or 0)
    if (m := _PROMISE.fullmatch(norm(value))) and m[2] == ":":
        return ClosePromise(m[1] in ("kept", "守った"), promise_id=record_id(m[3]) or 0)
    return None


def parse_text(text: str) -> Command:
    """What a person typed (the leading ``/`` of a slash command is optional)."""
    if m := _PROMISE.fullmatch(norm(text)):
        return ClosePromise(m[1] in ("kept", "守った"), position=record_id(m[3]) or 0)
    if norm(text).rstrip(".!。！") in NOT_TODAY_WORDS:
        return NotToday()
    word, _, rest = text.lstrip("/").partition(" ")
    key, rest = norm(word), rest.strip()
    name = next((command for command, words in WORDS.items() if key in words), None)
    return _typed(name, rest) if name is not None else Unknown(text)


def _typed(name: str, rest: str) -> Command:
    if name == "nudges":
        return Nudges(norm(rest).replace(" ", "_"))
    simple = {"promises": Promises(), "home": Home(), "help": Help(), "cancel": Cancel(),
              "away": SetLeave(True), "back": SetLeave(False)}
    if name in simple:
        return simple[name]
    if name == "logmeeting":
        return LogMeeting(rest)
    if name == "ledger":
        m = _PAGE.fullmatch(rest)
        return Ledger(m[1], int(m[2] or m[3])) if m else Ledger(rest)
    if name == "clients":
        return Clients(team=norm(rest) in _TEAM_WORDS)
    if name == "teamhealth":
        return TeamChannelHere() if _CHANNEL_HERE.fullmatch(norm(rest)) else TeamHealth(rest)
    if name == "llm":
        return Llm(norm(rest))
    if name in ABOUT_A_CLIENT:
        return ABOUT_A_CLIENT[name](rest)
    return Capture(rest)


def parse(text: str) -> Command:
    """A button's payload, else typed text."""
    return parse_button(text) or parse_text(text)
