"""Settings from the environment (and a ``.env`` file), validated once at start."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from coaching.rules import DEFAULT_RULES, Rules


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Field(default=Path("data"), validation_alias="COACH_DATA_DIR")
    language: str = Field(default="en", validation_alias="COACH_LANGUAGE")
    workspace: str = Field(default="demo", validation_alias="COACH_WORKSPACE")
    rules_file: Path | None = Field(default=None, validation_alias="COACH_RULES_FILE")

    teams_enabled: bool = Field(default=True, validation_alias="TEAMS_ENABLED")
    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_client_id: str | None = Field(default=None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: str | None = Field(default=None, validation_alias="SLACK_CLIENT_SECRET")

    @property
    def slack_multi_workspace(self) -> bool:
        """OAuth installs into many workspaces (else one workspace with SLACK_BOT_TOKEN)."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and (self.slack_bot_token or self.slack_multi_workspace))

    @field_validator("database_url", "rules_file", "slack_bot_token", "slack_signing_secret", "slack_app_token",
                     "slack_client_id", "slack_client_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

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

    def rules(self) -> Rules:
        """The point and nudge rules, with overrides from ``COACH_RULES_FILE`` if set."""
        if self.rules_file is None:
            return DEFAULT_RULES
        with open(self.rules_file, "rb") as handle:
            return DEFAULT_RULES.with_overrides(tomllib.load(handle))
