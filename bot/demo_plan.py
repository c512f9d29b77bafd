"""The demo organisation's cast and four months of its history, planned from one seed.

Pure data and a deterministic plan (no storage, no clock): :func:`_plan` turns a
``random.Random(seed)`` into who owns which client and every event (touches, promises kept,
breaches) as days before ``today``; :mod:`bot.demo` replays them through the service layer.
The archetypes each rep plays are described in :mod:`bot.demo`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from coaching.model import Kind, Purpose, Role

HISTORY_DAYS = 120
DOMAIN = "demo.example"
TEAMS = ("Enterprise", "Mid-Market")

# e-mail local part, name, role, team (index into TEAMS; None: none, as admins see every team),
# time zone, locale, archetype
PEOPLE = (
    ("olivia.bennett", "Olivia Bennett", Role.ADMIN, None, "Europe/London", "en", None),
    ("james.whitaker", "James Whitaker", Role.MANAGER, 0, "Europe/London", "en", None),
    ("keiko.yamamoto", "山本 恵子", Role.MANAGER, 1, "Asia/Tokyo", "ja", None),
    ("hana.sato", "佐藤 花", Role.REP, 0, "Asia/Tokyo", "ja", "giver"),
    ("marcus.reed", "Marcus Reed", Role.REP, 0, "America/New_York", "en", "seller"),
    ("emily.carter", "Emily Carter", Role.REP, 0, "Europe/London", "en", "after_win"),
    ("daniel.brooks", "Daniel Brooks", Role.REP, 0, "America/New_York", "en", "busy"),
    ("kenji.takahashi", "高橋 健二", Role.REP, 1, "Asia/Tokyo", "ja", "promiser"),
    ("sophie.turner", "Sophie Turner", Role.REP, 1, "Europe/London", "en", "responder"),
    ("ryan.mitchell", "Ryan Mitchell", Role.REP, 1, "America/New_York", "en", "ignorer"),
    ("yuki.nakamura", "中村 由紀", Role.REP, 1, "Asia/Tokyo", "ja", "steady"),
)
ARCHETYPES: dict[str, str] = {f"{p[0]}@{DOMAIN}": p[6] for p in PEOPLE if p[6]}

# Each rep's clients carry names in the rep's own language: the Japanese reps (giver, promiser,
# steady: 8 + 7 + 8) own the 23 Japanese names, the English reps (7 + 8 + 8 + 7 + 7) the 37 English.
CLIENTS_BY_LANG: dict[str, tuple[str, ...]] = {
    "ja": ("田中商事", "北斗物流", "山田製作所", "青葉信用金庫", "さくら不動産", "東光電機", "大和精工",
           "富士見食品", "緑川化学", "朝日ソリューションズ", "白鷺ホテルズ", "若葉薬品", "光陽建設",
           "三つ葉システム", "浜松精密", "銀河出版", "紅葉観光", "瑞穂エネルギー", "桜島海運", "千代田テック",
           "松葉商事", "岬工業", "東雲メディカル"),
    "en": ("Acme Corp", "Globex", "Initech", "Northwind Traders", "Contoso", "Fabrikam", "Tailspin Toys",
           "Wide World Importers", "Litware", "Adventure Works", "Pinnacle Freight", "Harbor & Finch",
           "Brightline Analytics", "Kestrel Health", "Oakridge Foods", "Summit Savings Bank",
           "Redwood Retail", "Silverline Media", "Ironclad Security", "Lumen Labs", "Meridian Insurance",
           "Cobalt Mining", "Evergreen Power", "Bluewater Marine", "Crescent Hotels", "Atlas Components",
           "Beacon Logistics", "Granite Peak Builders", "Falcon Aerospace", "Orchard Pharma",
           "Nimbus Cloud", "Sterling Partners", "Riverbend Paper", "Polaris Telecom", "Maple & Co",
           "Hollis Engineering", "Vantage Schools"),
}
CLIENTS = (*CLIENTS_BY_LANG["ja"], *CLIENTS_BY_LANG["en"])

G, A, S = Purpose.GIVE, Purpose.ASK, Purpose.SERVICE
KINDS = {G: (Kind.EMAIL, Kind.MESSAGE, Kind.EVENT, Kind.MEETING),
         A: (Kind.MEETING, Kind.CALL, Kind.VISIT, Kind.EMAIL), S: (Kind.CALL, Kind.EMAIL, Kind.VISIT)}
WORDS = {
    "en": {
        G: ("Sent a benchmark report for their sector", "Introduced them to a peer who fixed the same issue",
            "Shared a note on the new regulation", "Invited them to our customer round-table",
            "Sent tips to get more out of their current setup"),
        A: ("Walked through the proposal", "Discussed pricing for the next phase", "Pitched the upgrade",
            "Followed up on the open quote", "Asked for a meeting with the buyer"),
        S: ("Looked into the issue they raised", "Called to fix the problem",
            "Sent a written answer and next steps"),
        "promise": ("Send the revised quote", "Share a case study from their industry",
                    "Set up a call with our engineer", "Send the meeting notes", "Prepare the rollout plan",
                    "Send the updated price list", "Draft the annual plan", "Book the training session"),
        "problem": ("The invoice does not match the PO", "The delivery arrived late",
                    "Users cannot log in after the update", "The monthly report export fails"),
        "breach": "Said the integration was live at a similar client; it was not",
        "deal": ("Annual licence", "Pilot extended to two more sites", "Three-year renewal", "Add-on module"),
    },
    "ja": {
        G: ("業界のベンチマーク資料を共有", "同じ課題を解決した企業の担当者を紹介", "新しい規制の解説を送付",
            "ユーザー会に招待", "現行環境の活用のコツを送付"),
        A: ("提案内容を説明", "次フェーズの価格を相談", "アップグレードを提案", "見積もりの件をフォロー",
            "決裁者との面談を依頼"),
        S: ("指摘された問題を調査", "電話で問題に対応", "回答と今後の対応を書面で送付"),
        "promise": ("見積書の改訂版を送る", "同業種の導入事例を共有する", "技術担当との打ち合わせを設定する",
                    "議事録を送る", "導入計画案を準備する", "最新の価格表を送る", "年間計画案を作る",
                    "研修日程を押さえる"),
        "problem": ("請求書の金額が発注書と合わない", "納品が遅れた", "アップデート後にログインできない",
                    "月次レポートが出力できない"),
        "breach": "同業他社で稼働済みと説明したが、実際は未導入だった",
        "deal": ("年間ライセンス", "試験導入を二拠点に拡大", "三年契約の更新", "追加モジュール"),
    },
}
DEALS = WORDS["en"]["deal"]  # the won deals' names in English (the bench's organisation uses them)


@dataclass(frozen=True)
class Profile:
    clients: int
    gap: int  # usual days between touches on one client
    weights: tuple[int, int, int]  # give, ask, service
    promises: float  # share of touches carrying a promise
    late: float  # share of those promises kept late
    proof: float  # share of asks / services showing a track record
    problems: float  # share of touches where the client raises a problem
    answer: tuple[int, int]  # days until the rep answers it
    trust: tuple[tuple[int, bool] | None, ...]  # (asked_for, demanded justification), by client


PROFILES = {
    "giver": Profile(8, 11, (5, 3, 2), .3, 0, .3, .05, (0, 1), ((4, False), (3, False), None, (3, False), (2, False))),
    "seller": Profile(7, 12, (0, 1, 0), .1, .5, .1, 0, (0, 0), ((2, True), (1, False), None, (1, True))),
    "after_win": Profile(8, 8, (2, 5, 1), .1, .2, .2, 0, (0, 0), ((2, False), None)),
    "busy": Profile(8, 10, (3, 4, 2), .1, .2, .1, .05, (0, 2), (None, (2, False))),
    "promiser": Profile(7, 12, (3, 4, 2), .1, .2, .2, .1, (0, 2), ((3, False), (2, False), None)),
    "responder": Profile(7, 12, (3, 4, 3), .1, .2, .1, .25, (0, 1), ((2, False), (3, False), None)),
    "ignorer": Profile(7, 14, (2, 6, 0), 0, 0, .1, .25, (5, 12), ((1, False), None, (2, True))),
    "steady": Profile(8, 15, (2, 5, 2), .15, .2, .1, .1, (0, 4), ((3, True), (2, False), None)),
}
# The promiser's scripted promises on their first client: (made, due, closed) in days ago.
PROMISER = ((104, 100, 101), (96, 92, None), (83, 79, 80), (62, 58, 59), (55, 51, 48), (41, 37, 38),
            (27, 23, 23), (9, 3, None), (5, -1, None))


# ---- the plan --------------------------------------------------------------------------------

Event = tuple[int, int, str, tuple[Any, ...]]  # (days ago, order, action, details)


@dataclass(frozen=True)
class _Rep:
    email: str
    code: str  # the archetype
    lang: str

    @property
    def profile(self) -> Profile:
        return PROFILES[self.code]


def _quiet_since(code: str, index: int) -> int:
    """Days ago of a client's last routine touch: the busy rep stopped 18 days ago, and the steady
    rep has left the client of the breach alone for 12; everyone else is still in touch."""
    if code == "busy":
        return 18
    if code == "steady" and index == 0:
        return 12
    return 0


class _Planner:
    """Plans the demo's events with one ``random.Random``. The order of the draws is part of the
    data (the same seed must give the same organisation), so keep it when changing anything."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[Event] = []
        self._tokens = iter(range(10**6))  # ties a promise to the event that closes it

    def at(self, ago: int, action: str, *details: Any) -> None:
        self.events.append((ago, len(self.events), action, details))

    def touch(self, email: str, client: str, ago: int, purpose: Purpose, lang: str, *, proof: bool = False,
              promise: tuple[str, int, int] | None = None, problem: str | None = None,
              trust: tuple[int, bool] | None = None, won: str | None = None) -> None:
        note = self.rng.choice(WORDS[lang][purpose])
        self.at(ago, "touch", email, client, purpose, self.rng.choice(KINDS[purpose]), note, proof, promise,
                problem, trust, won)

    def promise(self, text: str, due: int) -> tuple[str, int, int]:
        return (text, due, next(self._tokens))

    def client(self, rep: _Rep, client: str, index: int) -> None:
        """Routine touches on one client from about 120 days ago until it went quiet."""
        agos, won_ago = self._touch_days(rep, index)
        trust = rep.profile.trust[index % len(rep.profile.trust)]
        for j, ago in enumerate(agos):
            self._routine_touch(rep, client, ago, won_ago, trust if j == len(agos) - 1 else None)

    def _touch_days(self, rep: _Rep, index: int) -> tuple[list[int], int | None]:
        """The days ago of the touches, every ``gap`` days or so; the after-win rep's first three
        clients end with the won deal 40-60 days ago."""
        rng, gap = self.rng, rep.profile.gap
        won_ago = rng.randint(40, 60) if rep.code == "after_win" and index < 3 else None
        last = won_ago or _quiet_since(rep.code, index)
        agos, ago = [], HISTORY_DAYS - 1 - rng.randrange(gap)
        while ago > last:
            agos.append(ago)
            ago -= max(1, round(gap * rng.uniform(.6, 1.4)))
        if won_ago:
            agos.append(won_ago)
        return agos, won_ago

    def _routine_touch(self, rep: _Rep, client: str, ago: int, won_ago: int | None,
                       trust: tuple[int, bool] | None) -> None:
        rng, p = self.rng, rep.profile
        purpose = A if ago == won_ago else rng.choices((G, A, S), p.weights)[0]
        promise = problem = answer = None
        if ago >= 12 and rng.random() < p.promises:
            promise = self._kept_promise(rep, ago)
        if rng.random() < p.problems and ago >= (25 if rep.code == "ignorer" else 6):
            problem, answer = rng.choice(WORDS[rep.lang]["problem"]), ago - rng.randint(*p.answer)
        proof = purpose is not G and rng.random() < p.proof
        won = rng.choice(WORDS[rep.lang]["deal"]) if ago == won_ago else None
        self.touch(rep.email, client, ago, purpose, rep.lang, proof=proof, promise=promise, problem=problem,
                   trust=trust, won=won)
        if answer is not None:
            self.touch(rep.email, client, answer, S, rep.lang)

    def _kept_promise(self, rep: _Rep, ago: int) -> tuple[str, int, int]:
        """A promise made ``ago`` days ago, due a few days later and kept (late for a ``late`` share)."""
        rng = self.rng
        due = ago - rng.randint(2, 6)
        closed = due - rng.randint(1, 3) if rng.random() < rep.profile.late else due + rng.randint(0, 1)
        promise = self.promise(rng.choice(WORDS[rep.lang]["promise"]), due)
        self.at(closed, "close", rep.email, promise[2])
        return promise


# ---- each archetype's signature, on top of the routine touches ------------------------------

def _promiser_script(plan: _Planner, rep: _Rep, mine: list[str]) -> None:
    for k, (made, due, closed) in enumerate(PROMISER):
        promise = plan.promise(WORDS[rep.lang]["promise"][k % 8], due)
        plan.touch(rep.email, mine[0], made, plan.rng.choice((G, A)), rep.lang, promise=promise)
        if closed is not None:
            plan.at(closed, "close", rep.email, promise[2])


def _busy_script(plan: _Planner, rep: _Rep, mine: list[str]) -> None:
    plan.touch(rep.email, mine[0], 5, G, rep.lang)


def _ignorer_script(plan: _Planner, rep: _Rep, mine: list[str]) -> None:
    plan.touch(rep.email, mine[0], 4, A, rep.lang, problem=WORDS[rep.lang]["problem"][0])
    plan.touch(rep.email, mine[1], 9, A, rep.lang, problem=WORDS[rep.lang]["problem"][1])


def _steady_script(plan: _Planner, rep: _Rep, mine: list[str]) -> None:
    plan.at(9, "breach", rep.email, mine[0], WORDS[rep.lang]["breach"])


SCRIPTS = {"promiser": _promiser_script, "busy": _busy_script, "ignorer": _ignorer_script,
           "steady": _steady_script}


def _plan(rng: random.Random) -> tuple[dict[str, list[str]], list[Event]]:
    """Who owns which client, and every event as (days ago, order, action, details). A rep is
    dealt clients named in their own language, from that language's shuffled list."""
    names = {lang: list(clients) for lang, clients in CLIENTS_BY_LANG.items()}
    for lang in names:  # ja, then en: the order of the draws is part of the data
        rng.shuffle(names[lang])
    book: dict[str, list[str]] = {}
    plan = _Planner(rng)
    for local, _, _, _, _, locale, code in PEOPLE:
        if code is None:
            continue
        rep = _Rep(f"{local}@{DOMAIN}", code, locale or "en")
        mine = book[rep.email] = [names[rep.lang].pop() for _ in range(rep.profile.clients)]
        for i, client in enumerate(mine):
            plan.client(rep, client, i)
        if script := SCRIPTS.get(code):
            script(plan, rep, mine)
    return book, plan.events
