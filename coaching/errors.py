"""The failures the ports report, in the domain's own terms: callers catch these, never a
driver's or a library's exceptions.

- :class:`MaybeDelivered` (and :class:`MaybeDeliveredOn`): a notifier cannot tell whether a
  message arrived.
- :class:`StorageUnavailable`: the database cannot be reached right now; nothing of the unit of
  work was committed, and the same request may work in a moment.
- :class:`StorageRefused`: the database refused a value it cannot store (a raw NUL in text);
  trying again changes nothing.
"""

from __future__ import annotations


class MaybeDelivered(Exception):
    """A platform failed in a way that leaves open whether the message arrived (the connection
    dropped after the request was sent, a 5xx). Never sent again, nor elsewhere: at most once."""


class MaybeDeliveredOn(MaybeDelivered):
    """``MaybeDelivered``, naming the platform that may have the message: where to look."""

    def __init__(self, platform: str, detail: str) -> None:
        super().__init__(detail)
        self.platform = platform


class StorageError(Exception):
    """The database failed a unit of work. ``detail``: a one-line reason for the operator (the
    driver's message for an outage, its error's name for a refused value), never user data."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class StorageUnavailable(StorageError):
    """The database cannot be reached (down, cut off, refusing connections, the connection
    dropped mid-transaction, too busy to answer). Nothing was committed; try again later."""


class StorageRefused(StorageError):
    """The database refused a value no database could store (a raw NUL in text, a value out of
    its type's range). Not an outage: the same request fails the same way again."""
