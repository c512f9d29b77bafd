"""Slack OAuth installations in the coach's own database, their tokens encrypted at rest.

slack_sdk's SQLAlchemy installation stores keep the rows; the stores here wrap them so that the
bot and user tokens, their refresh tokens and an incoming webhook's URL are encrypted with
Fernet before a row is written and decrypted when it is read. The keys (``COACH_SECRET_KEYS``,
comma-separated) live outside the database: the first encrypts, every one decrypts
(``MultiFernet``), so a key is replaced by putting the new one first, running
``coach rotate-secrets`` (every stored value re-encrypted under it), then dropping the old one.
A value no key opens is an error, never passed on. The scheduler reads the installations with
the sync store (:class:`InstalledWorkspaces`), Bolt with the async one.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Callable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.installation_store import InstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from sqlalchemy import MetaData, Table, Text, and_, inspect, select, text, update

from bot.catalog import Catalog

from coaching.messages import msg
from coaching.access import CoachError

log = logging.getLogger(__name__)

SECRET_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token", "incoming_webhook_url")
PLAINTEXT = ("xox", "https://")  # how Slack's tokens and webhook URLs begin: left from before encryption
ROTATE_MINUTES = 120  # a rotating token this close to expiry is refreshed (Bolt's default too)


class SecretsError(CoachError):
    """The keys are missing or malformed, or a stored value cannot be decrypted with them."""

    def __str__(self) -> str:  # the log's line: the catalogue's English
        return Catalog("en").render(self.message, "en")


class Secrets:
    """Encrypts with the first key, decrypts with any (``COACH_SECRET_KEYS``)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretsError(msg("cli.secret_keys_missing"))
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError:  # not 32 url-safe base64-encoded bytes
            raise SecretsError(msg("cli.secret_keys_invalid")) from None

    @classmethod
    def from_settings(cls, settings: Any) -> "Secrets":
        configured = settings.secret_keys.get_secret_value() if settings.secret_keys is not None else ""
        return cls([key.strip() for key in configured.split(",") if key.strip()])

    def seal(self, value: str | None) -> str | None:
        return None if value is None else self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken:  # another key, a changed row, or a token stored before encryption
            raise SecretsError(msg("cli.secrets_unreadable")) from None

    def reseal(self, value: str) -> str:
        """``value`` under the first key (a plaintext token from before encryption, encrypted)."""
        if value.startswith(PLAINTEXT):
            return self._fernet.encrypt(value.encode()).decode()
        try:
            return self._fernet.rotate(value.encode()).decode()
        except InvalidToken:
            raise SecretsError(msg("cli.secrets_unreadable")) from None

    def apply(self, how: Callable[[str | None], str | None], record: Any) -> Any:
        """A copy of an Installation or a Bot with ``how`` applied to its secret fields."""
        if record is None:
            return None
        changed = copy.copy(record)
        for name in SECRET_COLUMNS:
            if getattr(changed, name, None) is not None:
                setattr(changed, name, how(getattr(changed, name)))
        return changed


def _wide(table: Table) -> Table:
    """Fernet text is about 1.4 times a token plus 100 characters: no VARCHAR(200) for it."""
    for name in SECRET_COLUMNS:
        if name in table.c:
            table.c[name].type = Text()
    return table


class _WideSQLAlchemyStore(SQLAlchemyInstallationStore):
    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _wide(super().build_installations_table(metadata, table_name))

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _wide(super().build_bots_table(metadata, table_name))


class _WideAsyncSQLAlchemyStore(AsyncSQLAlchemyInstallationStore):
    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _WideSQLAlchemyStore.build_installations_table(metadata, table_name)

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _WideSQLAlchemyStore.build_bots_table(metadata, table_name)


def _widen(connection, tables: Sequence[Table]) -> None:
    """Tables created before encryption (PostgreSQL enforces their VARCHAR(200)): made TEXT."""
    if connection.dialect.name != "postgresql":
        return
    inspector = inspect(connection)
    for table in tables:
        for column in inspector.get_columns(table.name):
            if column["name"] in SECRET_COLUMNS and getattr(column["type"], "length", None):
                connection.execute(text(f'ALTER TABLE "{table.name}" ALTER COLUMN "{column["name"]}" TYPE text'))


def _create(connection, store) -> None:
    store.metadata.create_all(connection)
    _widen(connection, (store.bots, store.installations))


class EncryptedInstallationStore(InstallationStore):
    """slack_sdk's ``SQLAlchemyInstallationStore`` with the secret fields encrypted (sync)."""

    def __init__(self, client_id: str, engine, secrets: Secrets) -> None:
        self.inner, self.secrets = _WideSQLAlchemyStore(client_id=client_id, engine=engine), secrets
        self.engine = engine

    @property
    def logger(self) -> logging.Logger:
        return self.inner.logger

    def create_tables(self) -> None:
        with self.engine.begin() as connection:
            _create(connection, self.inner)

    def save(self, installation: Installation) -> None:
        self.inner.save(self.secrets.apply(self.secrets.seal, installation))

    def save_bot(self, bot: Bot) -> None:
        self.inner.save_bot(self.secrets.apply(self.secrets.seal, bot))

    def find_bot(self, **where: Any) -> Bot | None:
        return self.secrets.apply(self.secrets.open, self.inner.find_bot(**where))

    def find_installation(self, **where: Any) -> Installation | None:
        return self.secrets.apply(self.secrets.open, self.inner.find_installation(**where))

    def delete_bot(self, **where: Any) -> None:
        self.inner.delete_bot(**where)

    def delete_installation(self, **where: Any) -> None:
        self.inner.delete_installation(**where)

    def teams(self) -> list[tuple[str | None, str]]:
        """(enterprise id, team id) of every workspace installed with this app (not org-wide installs)."""
        c = self.inner.installations.c
        query = (select(c.enterprise_id, c.team_id).distinct()
                 .where(and_(c.client_id == self.inner.client_id, c.team_id.is_not(None)))
                 .order_by(c.team_id))
        with self.engine.connect() as connection:
            return [(row.enterprise_id, row.team_id) for row in connection.execute(query)]


class AsyncEncryptedInstallationStore(AsyncInstallationStore):
    """slack_sdk's ``AsyncSQLAlchemyInstallationStore`` with the secret fields encrypted (Bolt)."""

    def __init__(self, client_id: str, engine, secrets: Secrets) -> None:
        self.inner, self.secrets = _WideAsyncSQLAlchemyStore(client_id=client_id, engine=engine), secrets
        self.engine = engine

    @property
    def logger(self) -> logging.Logger:
        return self.inner.logger

    async def create_tables(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(_create, self.inner)

    async def async_save(self, installation: Installation) -> None:
        await self.inner.async_save(self.secrets.apply(self.secrets.seal, installation))

    async def async_save_bot(self, bot: Bot) -> None:
        await self.inner.async_save_bot(self.secrets.apply(self.secrets.seal, bot))

    async def async_find_bot(self, **where: Any) -> Bot | None:
        return self.secrets.apply(self.secrets.open, await self.inner.async_find_bot(**where))

    async def async_find_installation(self, **where: Any) -> Installation | None:
        return self.secrets.apply(self.secrets.open, await self.inner.async_find_installation(**where))

    async def async_delete_bot(self, **where: Any) -> None:
        await self.inner.async_delete_bot(**where)

    async def async_delete_installation(self, **where: Any) -> None:
        await self.inner.async_delete_installation(**where)


def rotate(engine, secrets: Secrets) -> int:
    """Re-encrypts every stored secret (of any client id) under the first key, in one
    transaction; the number of values re-encrypted. A value no key opens stops it, unchanged."""
    store = _WideSQLAlchemyStore(client_id="", engine=engine)
    count = 0
    with engine.begin() as connection:
        tables = [t for t in (store.bots, store.installations) if inspect(connection).has_table(t.name)]
        _widen(connection, tables)
        for table in tables:
            columns = [table.c[name] for name in SECRET_COLUMNS if name in table.c]
            for row in connection.execute(select(table.c.id, *columns)).mappings().all():
                values = {c.name: secrets.reseal(row[c.name]) for c in columns if row[c.name] is not None}
                if values:
                    connection.execute(update(table).where(table.c.id == row["id"]).values(**values))
                    count += len(values)
    return count


class InstalledWorkspaces:
    """Each installed Slack team's bot token for the scheduler; a rotating token about to expire
    is refreshed first (slack_sdk's ``TokenRotator``) and the installation saved again, encrypted."""

    def __init__(self, store: EncryptedInstallationStore, rotator: Any = None) -> None:
        self.store, self.rotator = store, rotator

    @classmethod
    def from_settings(cls, settings: Any) -> "InstalledWorkspaces":
        from slack_sdk import WebClient
        from slack_sdk.oauth.token_rotation import TokenRotator

        from storage.db import make_engine  # hides a failed statement's parameters

        store = EncryptedInstallationStore(settings.slack_client_id, make_engine(settings.url),
                                           Secrets.from_settings(settings))
        rotator = TokenRotator(client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
                               client=WebClient(base_url=settings.slack_api_url))
        return cls(store, rotator)

    def tokens(self) -> dict[str, str]:
        """Team id (the coach's workspace id for that team) -> its bot token. A team whose
        installation cannot be read or refreshed is logged and left out of this run only."""
        found: dict[str, str] = {}
        if not inspect(self.store.engine).has_table(self.store.inner.installations.name):
            return found  # nobody has installed the app yet (the server creates the tables)
        for enterprise_id, team_id in self.store.teams():
            try:
                token = self._token(enterprise_id, team_id)
            except Exception as error:
                log.warning("Slack workspace %s is skipped this run: %s", team_id, error)
                continue
            if token:
                found[team_id] = token
        return found

    def _token(self, enterprise_id: str | None, team_id: str) -> str | None:
        installation = self.store.find_installation(enterprise_id=enterprise_id, team_id=team_id)
        if installation is None:
            return None
        if self.rotator is not None and installation.bot_refresh_token:
            refreshed = self.rotator.perform_token_rotation(installation=installation,
                                                            minutes_before_expiration=ROTATE_MINUTES)
            if refreshed is not None:
                self.store.save(refreshed)
                installation = refreshed
        return installation.bot_token
