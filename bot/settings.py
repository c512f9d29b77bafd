"""Settings from the environment (and a ``.env`` file), validated once at start."""

from __future__ import annotations

import ipaddress
import tomllib
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from coaching.rules import DEFAULT_RULES, Rules
from coaching.schedule import Schedule, parse_days, parse_hours


def _optional_time(text: str) -> time | None:
    """``17:30``, or ``off`` / ``none`` / empty for nothing."""
    return None if text.strip().lower() in ("", "off", "none") else time.fromisoformat(text.strip())


def _parse_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``10.0.0.0/8, 127.0.0.1``: each an IP network in CIDR form, or one address."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"COACH_METRICS_ALLOW: {part!r} is not an IP network "
                             "(e.g. 10.0.0.0/8, 127.0.0.1/32)") from None
    if not networks:
        raise ValueError("COACH_METRICS_ALLOW names no network (unset it to serve no /metrics)")
    return tuple(networks)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Field(default=Path("data"), validation_alias="COACH_DATA_DIR")
    language: str = Field(default="en", validation_alias="COACH_LANGUAGE")
    workspace: str = Field(default="demo", validation_alias="COACH_WORKSPACE")
    rules_file: Path | None = Field(default=None, validation_alias="COACH_RULES_FILE")

    digest_time: str = Field(default="09:00", validation_alias="COACH_DIGEST_TIME")
    reminder_time: str = Field(default="16:00", validation_alias="COACH_REMINDER_TIME")
    checkin_time: str = Field(default="17:30", validation_alias="COACH_CHECKIN_TIME")  # "off": none
    working_days: str = Field(default="mon-fri", validation_alias="COACH_WORKING_DAYS")
    quiet_hours: str = Field(default="20:00-08:00", validation_alias="COACH_QUIET_HOURS")
    digest_size: int = Field(default=5, ge=1, le=20, validation_alias="COACH_DIGEST_SIZE")
    weekly_day: str = Field(default="mon", validation_alias="COACH_WEEKLY_DAY")
    lease_minutes: int = Field(default=10, ge=0, validation_alias="COACH_DELIVERY_LEASE_MINUTES")
    scheduler_enabled: bool = Field(default=True, validation_alias="COACH_SCHEDULER")
    scheduler_tick_seconds: int = Field(default=300, ge=10, validation_alias="COACH_SCHEDULER_TICK_SECONDS")
    # threads running the engine's turns in `coach serve`: few, so the event loop that
    # acknowledges Slack and Teams keeps the interpreter lock under a burst; unset: by database
    # (turn_thread_count, docs/deploy-proxy.md)
    turn_threads: int | None = Field(default=None, ge=1, le=32, validation_alias="COACH_TURN_THREADS")

    teams_enabled: bool = Field(default=True, validation_alias="TEAMS_ENABLED")
    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_client_id: str | None = Field(default=None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: str | None = Field(default=None, validation_alias="SLACK_CLIENT_SECRET")
    # Fernet keys, comma-separated: the first encrypts the OAuth installs' tokens, each decrypts
    # (bot/slack/installations.py); required with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET
    secret_keys: SecretStr | None = Field(default=None, validation_alias="COACH_SECRET_KEYS")
    # a Slack request still pending this long after it arrived was lost by a process that died: replay it
    inbox_replay_after_seconds: int = Field(default=300, ge=1, validation_alias="COACH_INBOX_REPLAY_AFTER_SECONDS")
    # who may read /metrics: IP networks, comma-separated (unset: /metrics is not served); the
    # connection's own peer address counts, never a proxy's header (docs/operations.md)
    metrics_allow: str | None = Field(default=None, validation_alias="COACH_METRICS_ALLOW")
    log_format: Literal["text", "json"] = Field(default="text", validation_alias="COACH_LOG_FORMAT")
    # note text dated more than this many days ago is blanked by the daily upkeep (unset: kept);
    # points and dates stay (coaching/privacy.py, docs/data.md)
    note_retention_days: int | None = Field(default=None, ge=1, validation_alias="COACH_NOTE_RETENTION_DAYS")

    # The LLM that reads free-text notes and phrases tips (bot/llm.py); optional: without it the
    # rule-based reader and the template tips do the work. OPENAI_BASE_URL points at Azure OpenAI
    # (https://<resource>.openai.azure.com/openai/v1/, with the deployment as OPENAI_MODEL) or at
    # any OpenAI-compatible server (a local one that needs no key still needs some OPENAI_API_KEY).
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    openai_model: str = Field(default="gpt-4o-mini", min_length=1, validation_alias="OPENAI_MODEL")
    llm_timeout_seconds: float = Field(default=8.0, gt=0, le=60, validation_alias="COACH_LLM_TIMEOUT_SECONDS")
    llm_mode: Literal["auto", "on", "off"] = Field(default="auto", validation_alias="COACH_LLM")

    @property
    def turn_thread_count(self) -> int:
        """``COACH_TURN_THREADS``, else 4 on PostgreSQL (a turn there mostly waits for the
        database's round trips, and four overlap them: one process logged a fifth more) and 2 on
        SQLite (its turns hold the file's write lock: more threads only queue for it)."""
        if self.turn_threads is not None:
            return self.turn_threads
        return 4 if self.url.startswith("postgresql") else 2

    @property
    def slack_multi_workspace(self) -> bool:
        """OAuth installs into many workspaces (else one workspace with SLACK_BOT_TOKEN)."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and (self.slack_bot_token or self.slack_multi_workspace))

    @property
    def llm_enabled(self) -> bool:
        """An LLM reads notes and phrases tips: ``COACH_LLM`` is not ``off`` and a key is set."""
        return self.llm_mode != "off" and self.openai_api_key is not None

    @field_validator("database_url", "rules_file", "slack_bot_token", "slack_signing_secret", "slack_app_token",
                     "slack_client_id", "slack_client_secret", "openai_api_key", "openai_base_url", "metrics_allow",
                     "note_retention_days", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_networks(value)  # a malformed network stops the start with one line
        return value

    @property
    def metrics_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The networks ``COACH_METRICS_ALLOW`` names; empty: /metrics is not served."""
        return _parse_networks(self.metrics_allow) if self.metrics_allow else ()

    @field_validator("llm_mode", "log_format", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _llm_on_needs_a_key(self) -> "Settings":
        if self.llm_mode == "on" and self.openai_api_key is None:
            raise ValueError("COACH_LLM=on needs OPENAI_API_KEY (or set COACH_LLM=auto or off)")
        return self

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def url(self) -> str:
        """``DATABASE_URL``, or a SQLite file under the data directory."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.data_dir / 'coach.db').as_posix()}"

    def schedule(self) -> Schedule:
        """When messages go out; a malformed value raises ValueError naming the setting."""
        def parse(name: str, value: str, parser):
            try:
                return parser(value)
            except ValueError as error:
                raise ValueError(f"{name}={value!r}: {error}") from None

        quiet_start, quiet_end = parse("COACH_QUIET_HOURS", self.quiet_hours, parse_hours)
        weekly = parse("COACH_WEEKLY_DAY", self.weekly_day, parse_days)
        if len(weekly) != 1:
            raise ValueError(f"COACH_WEEKLY_DAY={self.weekly_day!r}: name one day, e.g. mon")
        try:
            return Schedule(
                digest_time=parse("COACH_DIGEST_TIME", self.digest_time, time.fromisoformat),
                reminder_time=parse("COACH_REMINDER_TIME", self.reminder_time, time.fromisoformat),
                checkin_time=parse("COACH_CHECKIN_TIME", self.checkin_time, _optional_time),
                working_days=parse("COACH_WORKING_DAYS", self.working_days, parse_days),
                quiet_start=quiet_start, quiet_end=quiet_end, digest_size=self.digest_size,
                weekly_day=next(iter(weekly)), lease_minutes=self.lease_minutes,
            )
        except ValueError as error:
            raise ValueError(f"the schedule settings (COACH_*) disagree: {error}") from None

    def rules(self) -> Rules:
        """The point and nudge rules, with overrides from ``COACH_RULES_FILE`` if set."""
        if self.rules_file is None:
            return DEFAULT_RULES
        with open(self.rules_file, "rb") as handle:
            return DEFAULT_RULES.with_overrides(tomllib.load(handle))
