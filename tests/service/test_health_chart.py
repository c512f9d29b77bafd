"""The data behind the /teamhealth chart: each rep's book balance week by week over both
periods, and their give:ask mix in the current one."""

from __future__ import annotations

from datetime import date, timedelta

from coaching import health
from bot.catalog import Catalog
from coaching.model import EntryDraft, InteractionDraft, Kind, Purpose, Reason
from tests.support import WORKSPACE, make_coach, seed_roster

AS_OF = date(2026, 11, 23)


def test_the_chart_has_weekly_balances_and_the_mix_per_rep(database_url):
    coach = make_coach(database_url)
    ids = seed_roster(coach)
    with coach.uow_factory() as uow:
        east = uow.teams.by_name(WORKSPACE, "East")
        acme = uow.clients.add(WORKSPACE, "Acme", east.id, ids["alice"], AS_OF - timedelta(days=90))
        kobe = uow.clients.add(WORKSPACE, "Kobe", east.id, ids["ken"], AS_OF - timedelta(days=90))
        for days, amount in ((60, 5), (20, 3), (1, -2)):
            uow.ledger.add(WORKSPACE, EntryDraft(acme.id, ids["alice"], amount, Reason.GIVE_TOUCH,
                                                 AS_OF - timedelta(days=days), f"e{days}"))
        for days, purpose in ((3, Purpose.GIVE), (4, Purpose.ASK), (5, Purpose.GIVE), (40, Purpose.ASK)):
            uow.interactions.add(WORKSPACE, ids["alice"], InteractionDraft(acme.id, AS_OF - timedelta(days=days),
                                                                          Kind.CALL, purpose))
        uow.interactions.add(WORKSPACE, ids["ken"], InteractionDraft(kobe.id, AS_OF - timedelta(days=2),
                                                                    Kind.CALL, Purpose.SERVICE))
        uow.commit()
        report = health.report(uow, WORKSPACE, [east], AS_OF, coach.rules)
    chart = report.chart
    assert chart is not None and chart.name == "teamhealth-acme-east-2026-11-23"
    assert chart.dates == tuple(AS_OF - timedelta(days=7 * k) for k in range(8, -1, -1))
    series = {s.name: s for s in chart.reps}
    assert set(series) == {"Alice Smith", "田中 健"}  # the reps; Mia manages and owns no client
    # 56 days before: nothing yet; the +5 of day -60 counts from the first date on
    assert series["Alice Smith"].balances == (5, 5, 5, 5, 5, 5, 8, 8, 6)  # +3 on day -20, -2 on day -1
    assert series["田中 健"].balances == (0,) * 9
    alice = series["Alice Smith"]
    assert (alice.gives, alice.asks, alice.services) == (2, 1, 0)  # the ask of day -40 is the previous period
    assert (series["田中 健"].services) == 1
    reply = health.reply(report)
    assert reply.chart is chart
    title = Catalog().render(chart.title, "en")
    assert title == "East: credit and give:ask, Mon, 28 Sept 2026 – Mon, 23 Nov 2026"
    assert Catalog().render(chart.title, "ja") == "East:信用残高と情報提供/商談・提案(2026年9月28日(月)〜2026年11月23日(月))"
    trend = {row["rep"]: row for row in health.as_dict(report)["trend"]["reps"]}
    assert trend["alice@acme.example"]["balances"][-1] == 6 and trend["alice@acme.example"]["name"] == "Alice Smith"
