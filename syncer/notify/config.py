"""The ``notify:`` section of a ledger file, and the process-wide ops destinations.

A destination is one chat robot or mailbox: ``kind`` (wecom, dingtalk, feishu, slack,
email), where to send (``webhook``, or ``smtp`` and ``to`` for email), the robot's
signing ``secret`` where the service signs, the events it wants (``when``) and who to
mention. Secrets (webhook URLs carry a key, signing secrets, SMTP passwords) may be
written inline, or taken from the environment (``{env: NAME}``) or a file
(``{file: /run/secrets/x}``); they are resolved only when a message is sent and never
appear in logs, reprs or the status page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from syncer.errors import ConfigError

Event = Literal["digest", "new_findings", "archived", "cycle_failed", "recovered"]
EVENTS: tuple[Event, ...] = ("digest", "new_findings", "archived", "cycle_failed", "recovered")
DEFAULT_EVENTS: tuple[Event, ...] = ("digest", "cycle_failed", "recovered")
Kind = Literal["wecom", "dingtalk", "feishu", "slack", "email"]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> int:
    """``30s``, ``10m``, ``1h``, ``1d`` → seconds (ValueError when malformed)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 1h or 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _secret_shorthand(value: Any) -> Any:
    """A bare string is an inline secret: ``webhook: https://…`` → ``{value: …}``."""
    if isinstance(value, str):
        return {"value": value}
    return value


class SecretSource(_Strict):
    """Where a secret comes from: exactly one of ``value``, ``env`` or ``file``."""

    value: SecretStr | None = None
    #: Name of an environment variable holding the secret.
    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    #: A file holding the secret (trailing white space is stripped).
    file: Path | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretSource:
        given = [x for x in (self.value, self.env, self.file) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `value`, `env` or `file` for a secret")
        return self

    def resolve(self) -> str:
        """The secret's text; ConfigError naming the variable or file when unavailable."""
        if self.value is not None:
            return self.value.get_secret_value()
        if self.env is not None:
            found = os.environ.get(self.env)
            if not found:
                raise ConfigError(f"environment variable {self.env} (a notify secret) is not set")
            return found.strip()
        assert self.file is not None
        try:
            return self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read notify secret file {self.file}: {exc.strerror}"
            ) from exc

    def describe(self) -> str:
        """Where the secret comes from, without the secret (for messages and logs)."""
        if self.env is not None:
            return f"env {self.env}"
        if self.file is not None:
            return f"file {self.file}"
        return "inline value"


#: A secret field: a string (inline) or ``{env: NAME}`` / ``{file: PATH}``.
Secret = Annotated[SecretSource, BeforeValidator(_secret_shorthand)]


class DestinationBase(_Strict):
    """Fields every destination has."""

    #: A name for logs, metrics and ``syncer notify test`` (default: ``kind-N``).
    name: str | None = Field(default=None, pattern=r"^[\w.-]+$")
    #: Events this destination receives.
    when: list[Event] = Field(default_factory=lambda: list(DEFAULT_EVENTS))
    #: Cron (5 fields, in the ledger's time zone) of the digest; default daily 09:00.
    digest: str = "0 9 * * *"
    #: ``new_findings``: at most one message per this interval, with what is new since.
    debounce: str = "30m"
    #: ``cycle_failed``: alert after this many failed cycles in a row (quota exhaustion
    #: and a sheet that is no longer shared alert at once).
    failures: int = Field(default=3, ge=1, le=1000)
    #: Column whose value groups open findings in the digest (e.g. 跟进人); default: the
    #: ledger's 跟进人 / 负责人 / owner column when it has one.
    owner_column: str | None = None
    #: Messages per minute this destination accepts (default: the service's limit).
    rate_per_minute: int | None = Field(default=None, ge=1, le=600)

    @field_validator("digest")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        if len(value.split()) != 5:
            raise ValueError("`digest` is a 5-field cron such as '0 9 * * 1-5'")
        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"`digest` cron {value!r} is invalid: {exc}") from exc
        return value

    @field_validator("debounce")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration_seconds(value)
        return value

    @field_validator("when")
    @classmethod
    def _events(cls, value: list[Event]) -> list[Event]:
        if not value:
            raise ValueError(f"`when` needs at least one event of {list(EVENTS)}")
        return list(dict.fromkeys(value))


class _Webhook(DestinationBase):
    #: The robot's webhook URL (it carries the robot's key or token: a secret).
    webhook: Secret


class WecomDestination(_Webhook):
    """A WeCom (企业微信) group robot: markdown messages, key in the webhook URL."""

    kind: Literal["wecom"]
    #: WeCom user ids to mention (``<@userid>`` in the markdown).
    mention: list[Annotated[str, Field(pattern=r"^[\w.-]{1,64}$")]] = Field(default_factory=list)

    @field_validator("mention")
    @classmethod
    def _no_all(cls, value: list[str]) -> list[str]:
        if any(v.lower() == "all" for v in value):
            raise ValueError("mentioning everyone is not supported; name user ids")
        return value


class DingtalkDestination(_Webhook):
    """A DingTalk (钉钉) custom robot: markdown, HMAC-SHA256 signature, @mobiles."""

    kind: Literal["dingtalk"]
    #: The robot's 加签 secret (``SEC…``); required when the robot signs.
    secret: Secret | None = None
    #: Mobile numbers to @ (they must be members of the group).
    mention: list[Annotated[str, Field(pattern=r"^\+?[0-9-]{5,20}$")]] = Field(default_factory=list)


class FeishuDestination(_Webhook):
    """A Feishu / Lark (飞书) custom bot: rich-text post, signature in the body."""

    kind: Literal["feishu"]
    #: The bot's signature-verification secret (签名校验).
    secret: Secret | None = None
    #: Open ids (``ou_…``) to mention.
    mention: list[Annotated[str, Field(pattern=r"^ou_[A-Za-z0-9]{1,64}$")]] = Field(
        default_factory=list
    )


class SlackDestination(_Webhook):
    """A Slack incoming webhook: Block Kit messages."""

    kind: Literal["slack"]
    #: Member ids (``U…``) to mention.
    mention: list[Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,20}$")]] = Field(
        default_factory=list
    )


class Smtp(_Strict):
    """An SMTP server."""

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    #: ``starttls`` (port 587), ``ssl`` (port 465) or ``none`` (a local relay only).
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: Secret | None = None
    timeout: float = Field(default=20.0, gt=0, le=300)


class EmailDestination(DestinationBase):
    """Email: a plain-text and an HTML part, over SMTP."""

    kind: Literal["email"]
    smtp: Smtp
    from_: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Destination = Annotated[
    WecomDestination
    | DingtalkDestination
    | FeishuDestination
    | SlackDestination
    | EmailDestination,
    Field(discriminator="kind"),
]

#: Messages per minute each service accepts per robot (documented limits).
DEFAULT_RATE: dict[str, int] = {
    "wecom": 20,
    "dingtalk": 20,
    "feishu": 100,
    "slack": 60,
    "email": 30,
}


def destination_id(destination: DestinationBase, index: int) -> str:
    """The destination's name, or ``kind-index`` (1-based) when it has none."""
    kind = str(getattr(destination, "kind", "dest"))
    return destination.name or f"{kind}-{index + 1}"


def rate_per_minute(destination: DestinationBase) -> int:
    """Messages per minute allowed for ``destination``."""
    kind = str(getattr(destination, "kind", "email"))
    return destination.rate_per_minute or DEFAULT_RATE.get(kind, 20)
