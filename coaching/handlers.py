"""One handler per command that answers at once (everything but logging a touch, which is a
conversation: :mod:`coaching.engine`). A handler gets the command and the turn's :class:`Context`,
works through the unit of work, and returns the reply; a refusal is a ``CoachError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

from coaching import access, capturing, checkin, daily, digest, health, home, passbooks, services, views
from coaching import commands as c
from coaching.messages import Msg, msg
from coaching.model import Person
from coaching.ports import UnitOfWork
from coaching.replies import Reply
from coaching.rules import Rules
from coaching.access import CoachError
from coaching.vocabulary import norm

CAPTURE_OFF = ("off", "stop", "オフ", "停止", "解除")
LLM_SWITCH = {"on": True, "off": False, "オン": True, "オフ": False}
CLIENTS_SHOWN = 50
NUDGES_SHOWN = 10


@dataclass(frozen=True)
class Context:
    """What a handler may use: the open unit of work, who asks, when, and from where."""

    uow: UnitOfWork
    person: Person
    now: datetime
    rules: Rules
    where: str = ""  # the conversation asked in (a DM, a channel, the terminal)
    platform: str = "console"
    direct: bool = False  # a DM with the coach, not a channel shared with a client
    working_days: frozenset[int] = health.WORKING_DAYS
    llm_configured: bool = False

    @property
    def today(self) -> date:
        return access.local_today(self.person, self.now)


Handler = Callable[[Context, Any], Reply]
HANDLERS: dict[type, Handler] = {}


def handles(kind: type) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler
    return register


def answer(ctx: Context, command: c.Command) -> Reply:
    """The reply to ``command`` (any but the logging ones)."""
    return HANDLERS[type(command)](ctx, command)


@handles(c.Ledger)
def ledger(ctx: Context, command: c.Ledger) -> Reply:
    if not command.client:
        return home.summary(ctx.uow, ctx.person, ctx.today, ctx.rules)
    return views.passbook(passbooks.passbook(ctx.uow, ctx.person, command.client, rules=ctx.rules), command.page)


@handles(c.Promises)
def promises(ctx: Context, command: c.Promises) -> Reply:
    names = {client.id: client.name for client in access.visible_clients(ctx.uow, ctx.person)}
    return views.promises(services.open_promises(ctx.uow, ctx.person), names)


@handles(c.Clients)
def clients(ctx: Context, command: c.Clients) -> Reply:
    """A rep's own clients; ``clients team`` the team's (what a manager or an admin sees)."""
    visible = access.visible_clients(ctx.uow, ctx.person)
    team = command.team or (ctx.person.is_manager and not any(x.owner_id == ctx.person.id for x in visible))
    shown = visible if team else [x for x in visible if x.owner_id == ctx.person.id]
    if not shown:
        return Reply.of(msg("clients.none_own" if visible else "clients.none"))
    balances = services.balances(ctx.uow, ctx.person.workspace_id, [x.id for x in shown])
    header = msg("clients.header_team" if team else "clients.header", count=len(shown))
    lines = [msg("clients.line", client=x.name, balance=balances.get(x.id, 0)) for x in shown[:CLIENTS_SHOWN]]
    hint = [msg("clients.team_hint", count=len(visible))] if not team and len(visible) > len(shown) else []
    return Reply.of(header, *lines, *hint)


@handles(c.Nudges)
def nudges(ctx: Context, command: c.Nudges) -> Reply:
    """Today's nudges as the digest orders and groups them; ``nudges KIND``: one kind's, client
    by client, most at stake first (the detail behind a grouped item)."""
    found = sorted(daily.nudges(ctx.uow, ctx.person.workspace_id, ctx.today, ctx.rules, rep_id=ctx.person.id),
                   key=lambda n: -n.stake)
    if command.kind:
        found = [n for n in found if n.kind.value == command.kind]
    if not found:
        return Reply.of(msg("nudge.none"))
    if not command.kind:
        return digest.listing(found, NUDGES_SHOWN)
    return Reply.of(msg("nudge.header", count=len(found)), *[views.nudge_line(n) for n in found[:NUDGES_SHOWN]])


@handles(c.Home)
def overview(ctx: Context, command: c.Home) -> Reply:
    return home.overview(ctx.uow, ctx.person, ctx.today, ctx.rules)


@handles(c.TeamHealth)
def team_health(ctx: Context, command: c.TeamHealth) -> Reply:
    return health.reply(health.team_health(ctx.uow, ctx.person, command.team or None, ctx.now, ctx.rules,
                                           ctx.working_days))


@handles(c.TeamChannelHere)
def team_channel(ctx: Context, command: c.TeamChannelHere) -> Reply:
    teams = services.set_digest_channel(ctx.uow, ctx.person, ctx.where)
    return Reply.of(msg("health.channel_set", teams=[t.name for t in teams]))


@handles(c.Feedback)
def feedback(ctx: Context, command: c.Feedback) -> Reply:
    done = services.record_feedback(ctx.uow, ctx.person, command.kind, command.subject, command.action, ctx.today)
    if done.action == "useful":
        return Reply.of(msg("digest.noted_useful"))
    return Reply.of(msg("digest.snoozed", until=done.until) if done.until else msg("digest.dismissed"))


@handles(c.ClosePromise)
def close_promise(ctx: Context, command: c.ClosePromise) -> Reply:
    """Kept or broken, by id (a button) or by its number in the list just shown ("kept 2")."""
    promise_id = command.promise_id
    if promise_id is None:
        open_now = services.open_promises(ctx.uow, ctx.person)
        if not 1 <= (command.position or 0) <= len(open_now):
            raise CoachError(msg("error.no_promise"))
        promise_id = open_now[command.position - 1].id  # type: ignore[operator]
    if not promise_id:
        raise CoachError(msg("error.no_promise"))
    promise, entry = services.close_promise(ctx.uow, ctx.person, promise_id, command.kept, ctx.today, ctx.rules)
    lines: list[Msg | str] = [msg(f"promise.closed.{promise.status.value}", promise=promise.text)]
    if entry is not None:
        lines.append(msg("ledger.change", amount=entry.amount, reason=views.reason(entry)))
        lines.append(msg("ledger.balance_only", balance=ctx.uow.ledger.balance(ctx.person.workspace_id,
                                                                              promise.client_id)))
    return Reply.of(*lines)


@handles(c.StatePurpose)
def state_purpose(ctx: Context, command: c.StatePurpose) -> Reply:
    if command.touch_id is None:
        raise CoachError(msg("error.no_touch"))
    return views.purpose_stated(services.state_purpose(ctx.uow, ctx.person, command.touch_id, command.purpose,
                                                       ctx.rules, ctx.today))


@handles(c.NotToday)
def not_today(ctx: Context, command: c.NotToday) -> Reply:
    checkin.decline(ctx.uow, ctx.person, ctx.today, ctx.now)
    return Reply.of(msg("checkin.declined"))


@handles(c.Capture)
def capture(ctx: Context, command: c.Capture) -> Reply:
    """``capture <client>`` in a shared channel (admins): count the roster's own messages there
    as touches with that client; ``capture off`` stops it; ``capture`` alone says what this
    channel does. A DM or the console is no client channel: nothing there can be captured."""
    platform = "direct" if ctx.direct else ctx.platform
    what = command.what.strip()
    if norm(what) in CAPTURE_OFF:
        released = capturing.release_channel(ctx.uow, ctx.person, platform, ctx.where)
        return Reply.of(msg("capture.off" if released else "capture.was_off"))
    if what:
        client = capturing.capture_channel(ctx.uow, ctx.person, platform, ctx.where, what, ctx.today)
        return Reply.of(msg("capture.on", client=client.name), msg("capture.how"))
    client = capturing.captured_client(ctx.uow, ctx.person.workspace_id, platform, ctx.where)
    return Reply.of(msg("capture.status_on", client=client.name) if client else msg("capture.status_off"),
                    msg("capture.usage"))


@handles(c.Llm)
def llm(ctx: Context, command: c.Llm) -> Reply:
    """``llm on`` / ``llm off`` (admins): may this workspace's notes and tips go to the LLM?"""
    if command.switch in LLM_SWITCH:
        if not ctx.person.is_admin:
            raise CoachError(msg("error.admins_only"))
        ctx.uow.workspaces.set_llm(ctx.person.workspace_id, LLM_SWITCH[command.switch])
    allowed = llm_allowed(ctx.uow, ctx.person)
    return Reply.of(msg("llm.status", allowed=msg("llm.allowed" if allowed else "llm.blocked"),
                        configured=msg("llm.configured" if ctx.llm_configured else "llm.not_configured")),
                    msg("llm.how" if ctx.person.is_admin else "llm.ask_admin"))


def llm_allowed(uow: UnitOfWork, person: Person) -> bool:
    workspace = uow.workspaces.get(person.workspace_id)
    return workspace is None or workspace.llm_enabled


@handles(c.SetLeave)
def leave(ctx: Context, command: c.SetLeave) -> Reply:
    services.set_on_leave(ctx.uow, ctx.person, command.away)
    return Reply.of(msg("leave.away" if command.away else "leave.back"))


@handles(c.Cancel)
def cancel(ctx: Context, command: c.Cancel) -> Reply:
    return Reply.of(msg("log.nothing_to_cancel"))


@handles(c.Help)
def help_text(ctx: Context, command: c.Help) -> Reply:
    return Reply.of(msg("help.text"), *([msg("help.manager")] if ctx.person.is_manager else []))


@handles(c.Unknown)
def unknown(ctx: Context, command: c.Unknown) -> Reply:
    return Reply.of(msg("help.unknown", text=command.text[:80]))
from coaching import moment_handlers  # noqa: E402,F401  (registers the turning-point handlers)
