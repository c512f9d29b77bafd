"""A rep's daily digest: the few relationships that most need them, most at stake first."""

from __future__ import annotations

from typing import Iterable

from coaching import views
from coaching.messages import msg
from coaching.model import Person
from coaching.nudges import Nudge
from coaching.replies import Choice, Reply

DIGEST_SIZE = 5


def digest(person: Person, nudges: Iterable[Nudge], size: int = DIGEST_SIZE) -> Reply | None:
    """``None`` on a day with nothing to say. Each item offers to log a touch with that client."""
    ranked = sorted(nudges, key=lambda n: (-n.stake, n.client_name or ""))[:size]
    if not ranked:
        return None
    items = []
    for n in ranked:
        choices = (Choice(f"/logmeeting {n.client_name}", msg("digest.log")),) if n.client_name else ()
        choices += (Choice(f"snooze:{n.kind.value}:{n.subject}", msg("digest.snooze")),
                    Choice(f"dismiss:{n.kind.value}:{n.subject}", msg("digest.dismiss")))
        items.append((views.nudge_line(n), choices))
    return Reply.of_items((msg("digest.title", name=person.name),), items)


def by_rep(nudges: Iterable[Nudge]) -> dict[int, list[Nudge]]:
    grouped: dict[int, list[Nudge]] = {}
    for n in nudges:
        grouped.setdefault(n.rep_id, []).append(n)
    return grouped
