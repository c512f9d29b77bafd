"""``coach summaries check`` and ``rebuild`` on the demo organisation: a match says so, a summary
changed around the write path is named with the fields that differ and ends with status 1, and a
rebuild puts it right."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import update

from bot.cli import main
from storage.models import ClientSummaryRow
from tests.support import make_coach


def run(env, *args):
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_check_finds_a_drifted_summary_and_rebuild_puts_it_right(database_url, tmp_path) -> None:
    env = {"DATABASE_URL": database_url, "COACH_WORKSPACE": "demo", "COACH_DATA_DIR": str(tmp_path),
           "COACH_LANGUAGE": "en", "COACH_RULES_FILE": ""}
    assert run(env, "db", "upgrade")[0] == 0
    assert run(env, "demo")[0] == 0
    assert run(env, "summaries", "check")[:2] == (0, "Every client's summary matches its records.\n")

    coach = make_coach(database_url, workspace="demo")
    with coach.uow_factory() as uow:
        client = uow.clients.by_name("demo", "Acme Corp")
        assert client is not None
        uow.session.execute(update(ClientSummaryRow).where(ClientSummaryRow.client_id == client.id)
                            .values(balance=ClientSummaryRow.balance + 5, touches=""))
        uow.commit()
    code, out, err = run(env, "summaries", "check")
    assert code == 1
    assert out == "Acme Corp: the summary differs from the records (balance, touches).\n"
    assert err.startswith("error: 1 client's summary differs from its records.") and "Traceback" not in err

    code, out, _ = run(env, "summaries", "rebuild")
    assert code == 0 and out == "Rebuilt the summaries of 60 clients.\n"
    assert run(env, "summaries", "check")[0] == 0

    env["COACH_LANGUAGE"] = "ja"
    assert run(env, "summaries", "check")[1] == "すべての顧客の集計が記録と一致しています。\n"
