"""One Microsoft 365 tenant per coach: an activity from any other tenant is refused before the
coach reads it, so a member of another directory cannot be matched to a roster e-mail there.
(The served tenant is the Agents SDK's own ``…__TENANTID`` setting; the check runs with or
without credentials, so it is shown here in anonymous local mode.)"""

from __future__ import annotations

from tests.support import WORKSPACE
from tests.teams.playground import CoachServer, http
from tests.teams.test_endpoint import TENANT, WAIT, activity

SERVED = {"CONNECTIONS__SERVICE_CONNECTION__SETTINGS__TENANTID": TENANT.upper()}  # ids compare case-blind
OTHER = "11111111-2222-3333-4444-555555555555"


def foreign(service_url: str, text: str) -> dict:
    message = activity(service_url, text)
    message["channelData"] = {"tenant": {"id": OTHER}}
    message["conversation"] = {**message["conversation"], "tenantId": OTHER}
    return message


def test_an_activity_from_another_tenant_is_refused_without_effect(database_url, connector):
    server = CoachServer(database_url, env=SERVED)
    ids = server.seed()
    with server.running():
        refused = http("POST", server.messages_url, foreign(connector.url, "away"), timeout=WAIT)[0]
        no_tenant = activity(connector.url, "away")
        del no_tenant["channelData"], no_tenant["conversation"]["tenantId"]
        unnamed = http("POST", server.messages_url, no_tenant, timeout=WAIT)[0]
        with server.coach.uow_factory() as uow:
            untouched = not uow.people.get(WORKSPACE, ids["alice"]).on_leave
        calls_before = len(connector.calls)
        served = http("POST", server.messages_url, activity(connector.url, "away"), timeout=WAIT)[0]
        with server.coach.uow_factory() as uow:
            away = uow.people.get(WORKSPACE, ids["alice"]).on_leave
    assert (refused, unnamed) == (403, 403) and untouched and calls_before == 0
    assert served in (200, 202) and away
