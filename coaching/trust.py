"""Trust (信頼) is felt, not counted: the coach tracks a level the rep assesses from signals.

The level is what the client asks of the rep (DOMAIN.md's four "current positions"). Demanding
detailed justification of every step is a sign of lower trust, so it holds the level one below
what was asked, never below 1.
"""

from __future__ import annotations

from coaching.messages import Msg, msg
from coaching.model import Client, TrustLevel


def assess(asked_for: TrustLevel | None, demanded_justification: bool | None) -> TrustLevel | None:
    if asked_for is None:
        return None
    if demanded_justification and asked_for > TrustLevel.EXPERTISE:
        return TrustLevel(asked_for - 1)
    return asked_for


def explain(client: Client) -> Msg:
    """How the client's level was assessed, in words the rep can read."""
    if client.trust_level is None:
        return msg("trust.unassessed")
    params = {"level": int(client.trust_level), "on": client.trust_assessed_on,
              "label": msg(f"trust.level.{int(client.trust_level)}")}
    if client.trust_asked_for is None:
        return msg("trust.assessed", **params)
    params["asked"] = msg(f"trust.asked.{int(client.trust_asked_for)}")
    key = "trust.assessed_justified" if client.trust_demanded_justification else "trust.assessed_from"
    return msg(key, **params)
