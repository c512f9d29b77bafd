"""A demo organisation with 120 days of history, so every screen has something to show.

``seed_demo(coach)`` fills the coach's workspace (once: a workspace that already has people is
left alone) with two teams, eight reps, two managers, an admin and sixty clients, and replays
four months of touches, promises and problems through the service layer, running the daily
rules weekly as the scheduler would have. Everything comes from ``random.Random(seed)`` and the
``today`` passed in, so the same seed always gives the same data.

Each rep plays one archetype (``ARCHETYPES`` maps e-mail -> code) with a signature nudge today:

``giver``      gives before asking, keeps every promise on time, answers problems fast: the
               highest balances, no ``ask_only``.
``seller``     only calls to sell (every touch an ask, no gives): ``ask_only`` on every client.
``after_win``  won three deals 40-60 days ago, then went quiet on those clients: ``after_win``
               (the other five clients still get steady contact).
``busy``       touched every client about weekly for 100 days, then nearly stopped in the last
               2-3 weeks: ``busy_lapse``.
``promiser``   lives by promises on one client: several kept on time, one kept late, one left to
               break (the daily job books it), one open and overdue (``promise_overdue``), one
               due tomorrow (``promise_due``).
``responder``  clients raise problems often; each is answered the same or the next day (+3).
``ignorer``    never serves: older problems answered late (-5), two still waiting
               (``problem_waiting``).
``steady``     an average rep; one client suffered an honesty breach nine days ago and has not
               been contacted since (``recovery``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from coaching import services
from coaching.model import (
    InteractionDraft, Kind, ProblemDraft, PromiseDraft, Purpose, Role, TrustLevel, Workspace,
)
from coaching.records import PersonDraft

if TYPE_CHECKING:
    from bot.bootstrap import Coach

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

CLIENTS = (
    "田中商事", "北斗物流", "山田製作所", "青葉信用金庫", "さくら不動産", "東光電機", "大和精工",
    "富士見食品", "緑川化学", "朝日ソリューションズ", "白鷺ホテルズ", "若葉薬品", "光陽建設",
    "三つ葉システム", "浜松精密", "銀河出版", "紅葉観光", "瑞穂エネルギー", "桜島海運", "千代田テック",
    "Acme Corp", "Globex", "Initech", "Northwind Traders", "Contoso", "Fabrikam", "Tailspin Toys",
    "Wide World Importers", "Litware", "Adventure Works", "Pinnacle Freight", "Harbor & Finch",
    "Brightline Analytics", "Kestrel Health", "Oakridge Foods", "Summit Savings Bank",
    "Redwood Retail", "Silverline Media", "Ironclad Security", "Lumen Labs", "Meridian Insurance",
    "Cobalt Mining", "Evergreen Power", "Bluewater Marine", "Crescent Hotels", "Atlas Components",
    "Beacon Logistics", "Granite Peak Builders", "Falcon Aerospace", "Orchard Pharma",
    "Nimbus Cloud", "Sterling Partners", "Harvest Table", "Quantum Widgets", "Riverbend Paper",
    "Polaris Telecom", "Maple & Co", "Hollis Engineering", "Vantage Schools", "Copperleaf Design",
)

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
    },
}
DEALS = ("Annual licence", "Pilot extended to two more sites", "Three-year renewal", "Add-on module")


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


@dataclass(frozen=True)
class DemoReport:
    created: bool
    teams: int
    people: int
    clients: int
    interactions: int
    entries: int


def _plan(rng: random.Random) -> tuple[dict[str, list[str]], list[tuple[int, int, str, tuple[Any, ...]]]]:
    """Who owns which client, and every event as (days ago, order, action, details)."""
    names = list(CLIENTS)
    rng.shuffle(names)
    book: dict[str, list[str]] = {}
    events: list[tuple[int, int, str, tuple[Any, ...]]] = []
    tokens = iter(range(10**6))

    def at(ago: int, action: str, *details: Any) -> None:
        events.append((ago, len(events), action, details))

    def touch(email: str, client: str, ago: int, purpose: Purpose, lang: str, *, proof: bool = False,
              promise: tuple[str, int, int] | None = None, problem: str | None = None,
              trust: tuple[int, bool] | None = None, won: str | None = None) -> None:
        note = rng.choice(WORDS[lang][purpose])
        at(ago, "touch", email, client, purpose, rng.choice(KINDS[purpose]), note, proof, promise, problem, trust, won)

    for local, _, _, _, _, locale, code in PEOPLE:
        if code is None:
            continue
        email, p, lang = f"{local}@{DOMAIN}", PROFILES[code], locale or "en"
        mine = book[email] = [names.pop() for _ in range(p.clients)]
        for i, client in enumerate(mine):
            won_ago = rng.randint(40, 60) if code == "after_win" and i < 3 else None
            last = won_ago or {"busy": 18, "steady": 12 if i == 0 else 0}.get(code, 0)
            agos, ago = [], HISTORY_DAYS - 1 - rng.randrange(p.gap)
            while ago > last:
                agos.append(ago)
                ago -= max(1, round(p.gap * rng.uniform(.6, 1.4)))
            if won_ago:
                agos.append(won_ago)
            trust = p.trust[i % len(p.trust)]
            for j, ago in enumerate(agos):
                purpose = A if ago == won_ago else rng.choices((G, A, S), p.weights)[0]
                promise = problem = answer = None
                if ago >= 12 and rng.random() < p.promises:
                    due = ago - rng.randint(2, 6)
                    closed = due - rng.randint(1, 3) if rng.random() < p.late else due + rng.randint(0, 1)
                    promise = (rng.choice(WORDS[lang]["promise"]), due, next(tokens))
                    at(closed, "close", email, promise[2])
                if rng.random() < p.problems and ago >= (25 if code == "ignorer" else 6):
                    problem, answer = rng.choice(WORDS[lang]["problem"]), ago - rng.randint(*p.answer)
                touch(email, client, ago, purpose, lang, proof=purpose is not G and rng.random() < p.proof,
                      promise=promise, problem=problem, trust=trust if j == len(agos) - 1 else None,
                      won=rng.choice(DEALS) if ago == won_ago else None)
                if answer is not None:
                    touch(email, client, answer, S, lang)
        if code == "promiser":
            for k, (made, due, closed) in enumerate(PROMISER):
                promise = (WORDS[lang]["promise"][k % 8], due, next(tokens))
                touch(email, mine[0], made, rng.choice((G, A)), lang, promise=promise)
                if closed is not None:
                    at(closed, "close", email, promise[2])
        elif code == "busy":
            touch(email, mine[0], 5, G, lang)
        elif code == "ignorer":
            touch(email, mine[0], 4, A, lang, problem=WORDS[lang]["problem"][0])
            touch(email, mine[1], 9, A, lang, problem=WORDS[lang]["problem"][1])
        elif code == "steady":
            at(9, "breach", email, mine[0], WORDS[lang]["breach"])
    return book, events


def seed_demo(coach: Coach, *, seed: int = 7, today: date | None = None) -> DemoReport:
    """Seed ``coach.workspace`` with the demo organisation, in one transaction; see the module."""
    today = today or coach.clock().date()
    ws, rules = coach.workspace, coach.rules
    start = today - timedelta(days=HISTORY_DAYS - 1)
    with coach.uow_factory() as uow:
        if uow.workspaces.get(ws) is None:
            uow.workspaces.add(Workspace(ws, "Demo Sales", "console"))
        elif uow.people.list(ws):
            return DemoReport(False, 0, 0, 0, 0, 0)
        teams = [uow.teams.add(ws, name) for name in TEAMS]
        people = {}
        for local, name, role, team, tz, locale, _ in PEOPLE:
            team_ids = () if team is None else (teams[team].id,)
            email = f"{local}@{DOMAIN}"
            people[email] = uow.people.upsert(ws, PersonDraft(email, name, role, team_ids, tz, locale))
        book, events = _plan(random.Random(seed))
        clients = {name: services.ensure_client(uow, people[email], name, start)
                   for email, names in book.items() for name in names}
        by_day: dict[int, list[tuple[int, str, tuple[Any, ...]]]] = defaultdict(list)
        for ago, order, action, details in events:
            by_day[ago].append((order, action, details))
        promise_ids: dict[int, int] = {}
        touches = 0
        for offset in range(HISTORY_DAYS):
            day, ago = start + timedelta(days=offset), HISTORY_DAYS - 1 - offset
            for _, action, details in sorted(by_day[ago]):
                rep = people[details[0]]
                if action == "touch":
                    _, name, purpose, kind, note, proof, promise, problem, trust, won = details
                    client = clients[name]
                    touches += 1
                    draft = InteractionDraft(
                        client.id, day, kind, purpose, note=note, proof_shown=proof,
                        promises=(PromiseDraft(promise[0], today - timedelta(days=promise[1])),) if promise else (),
                        problem=ProblemDraft(problem) if problem else None,
                        asked_for=TrustLevel(trust[0]) if trust else None,
                        demanded_justification=trust[1] if trust else None,
                        won_deal=won, source="demo", external_id=f"demo:{seed}:{touches}")
                    services.record_touch(uow, rep, client, draft, rules, day)
                    if promise:
                        promise_ids[promise[2]] = max(
                            p.id for p in uow.promises.open_for(ws, rep_id=rep.id, client_id=client.id)
                            if p.text == promise[0] and p.made_on == day)
                elif action == "close":
                    services.close_promise(uow, rep, promise_ids[details[1]], True, day, rules)
                else:
                    services.record_breach(uow, rep, clients[details[1]], details[2], day, rules)
            if (offset and offset % 7 == 0) or day == today:
                services.apply_daily_rules(uow, ws, day, rules)
        entries = sum(len(uow.ledger.for_client(ws, c.id)) for c in clients.values())
        uow.commit()
    return DemoReport(True, len(teams), len(people), len(clients), touches, entries)
