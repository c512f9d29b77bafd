"""Run the same storage checks against the real databases and the in-memory fakes, so the
fakes the service tests rely on cannot drift from storage's behaviour."""

from __future__ import annotations

from typing import Callable, Sequence

import pytest

from tests.fakes import FakeStore, FakeUnitOfWork

Check = Callable[[Callable[[], object]], None]


def storage_and_fake_tests(checks: Sequence[Check]) -> tuple[Callable[..., None], Callable[..., None]]:
    """``test_storage, test_fakes = storage_and_fake_tests(CHECKS)`` at a test module's top."""

    @pytest.mark.parametrize("check", checks, ids=lambda c: c.__name__)
    def test_storage(check: Check, uow_factory) -> None:
        check(uow_factory)

    @pytest.mark.parametrize("check", checks, ids=lambda c: c.__name__)
    def test_fakes(check: Check) -> None:
        store = FakeStore()
        check(lambda: FakeUnitOfWork(store))

    return test_storage, test_fakes
