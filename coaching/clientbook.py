"""The clients one person may log against, read once per turn: a value, not a query.

The service layer builds a :class:`ClientBook` from the clients the person may see
(:func:`coaching.access.client_book`) before the /logmeeting state machine runs, so the
machine never reaches back into storage in the middle of a turn and a test gives it any clients
it likes. Names are matched the way the database's unique key matches them
(:func:`coaching.vocabulary.name_key`), so "ACME", "Ａｃｍｅ" and "acme " are one client here as
they are there.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from coaching.model import Client
from coaching.vocabulary import name_key, norm


@dataclass(frozen=True)
class ClientBook:
    """``clients`` in the order they are offered (the repositories list them by name);
    ``owner_id``: the person whose own clients come first when nothing was typed yet."""

    clients: tuple[Client, ...] = ()
    owner_id: int | None = None

    @cached_property
    def _by_key(self) -> dict[str, Client]:
        return {name_key(c.name): c for c in self.clients}

    @cached_property
    def _by_id(self) -> dict[int, Client]:
        return {c.id: c for c in self.clients}

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.clients]

    def exact(self, name: str) -> tuple[int, str] | None:
        """The client whose name matches ``name`` as the database's unique key does."""
        client = self._by_key.get(name_key(name))
        return None if client is None else (client.id, client.name)

    def by_id(self, client_id: int) -> tuple[int, str] | None:
        client = self._by_id.get(client_id)
        return None if client is None else (client.id, client.name)

    def client(self, client_id: int) -> Client | None:
        return self._by_id.get(client_id)

    def similar(self, name: str, limit: int) -> list[tuple[int, str]]:
        """Names that contain what was typed (or are contained in it), then close spellings."""
        wanted = norm(name)
        keyed = {norm(c.name): c for c in self.clients}
        contains = [c for k, c in keyed.items() if wanted and (wanted in k or k in wanted)]
        close = [keyed[k] for k in difflib.get_close_matches(wanted, list(keyed), n=limit, cutoff=0.6)]
        picked = list(dict.fromkeys(contains + close))[:limit]
        return [(c.id, c.name) for c in picked]

    def recent(self, limit: int) -> list[tuple[int, str]]:
        """What to offer before anything is typed: the person's own clients (else all of them)."""
        mine = [c for c in self.clients if c.owner_id == self.owner_id] or list(self.clients)
        return [(c.id, c.name) for c in mine[:limit]]

    def assessed_on(self, client_id: int) -> date | None:
        """When the client's trust level was last assessed (``None``: never, or not in the book)."""
        client = self._by_id.get(client_id)
        return None if client is None else client.trust_assessed_on
