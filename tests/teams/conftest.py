"""Fixtures for the Teams tests that need Node.js: the pinned npm packages (the M365 Agents
Playground and Microsoft's ``adaptivecards``), installed once into a cache folder outside the
repository; the tests that need them skip, with the reason, when node, npm or the install is
missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.teams.playground import install_node_packages


@pytest.fixture(scope="session")
def node_tools() -> Path:
    try:
        return install_node_packages()
    except RuntimeError as error:
        pytest.skip(str(error))
