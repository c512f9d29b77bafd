"""Capture from client channels: an admin opts a shared channel in, and the roster's own
messages there become touches (one per person, channel and day) whose purpose the end-of-day
check-in asks for. The messages' words are never stored."""

from __future__ import annotations

from datetime import date

from coaching.access import CoachError, find_client, visible_team_ids
from coaching.messages import Msg
from coaching.model import Client, Interaction, InteractionDraft, Kind, Person, Purpose, Source
from coaching.ports import UnitOfWork
from coaching.records import ChannelCapture


def capture_channel(uow: UnitOfWork, admin: Person, platform: str, channel: str, client_name: str,
                    today: date) -> Client:
    """An admin opts a shared channel in: the roster's own messages there become touches with
    ``client_name`` (an existing client; capture never creates one). ``platform`` is
    ``slack`` or ``teams`` for a channel; anything else (a DM, the console) is refused."""
    if not admin.is_admin:
        raise CoachError(Msg("error.admins_only", {}))
    if not channel or platform not in ("slack", "teams"):
        raise CoachError(Msg("capture.not_a_channel", {}))
    client = find_client(uow, admin, client_name)
    uow.captures.save(admin.workspace_id, ChannelCapture(platform, channel, client.id, admin.id, today))
    return client


def release_channel(uow: UnitOfWork, admin: Person, platform: str, channel: str) -> bool:
    """Stop capturing a channel; False when it was not captured."""
    if not admin.is_admin:
        raise CoachError(Msg("error.admins_only", {}))
    return uow.captures.remove(admin.workspace_id, platform, channel)


def captured_client(uow: UnitOfWork, workspace_id: str, platform: str, channel: str) -> Client | None:
    """The client a channel is mapped to, or ``None`` when the channel is not opted in."""
    capture = uow.captures.get(workspace_id, platform, channel)
    return uow.clients.get(workspace_id, capture.client_id) if capture is not None else None


def capture_message(uow: UnitOfWork, person: Person, platform: str, channel: str, on: date) -> Interaction | None:
    """A person's own message in an opted-in channel, as a touch of kind ``message`` whose
    purpose the check-in asks for. At most one per person, channel and day (the key says so),
    so a busy thread, an edit or a platform retry never counts twice. ``None`` when nothing is
    recorded: the channel is not opted in, the client is not the person's to see, or the day's
    touch is recorded already. The message's words are not stored."""
    client = captured_client(uow, person.workspace_id, platform, channel)
    if client is None or client.team_id not in visible_team_ids(uow, person):
        return None
    draft = InteractionDraft(client.id, on, Kind.MESSAGE, Purpose.PENDING, source=Source.CHANNEL.value,
                             external_id=f"channel:{platform}:{channel}:{person.id}:{on.isoformat()}")
    return uow.interactions.add(person.workspace_id, person.id, draft)
