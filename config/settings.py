"""Settings: environment (GRIDBOT_*, `__` for nesting) over an optional TOML file over defaults.

Read once at the entry point (bot/) and passed down as plain values; nothing below bot/ reads
the environment.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_DIR = Path(__file__).resolve().parent


class SettingsError(Exception):
    """A setting is wrong; the message is one line naming the setting and what is expected."""


class TelegramSettings(BaseModel):
    token: SecretStr | None = None
    base_url: str = "https://api.telegram.org/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None  # public https URL of our /telegram/webhook path, no token in it
    webhook_secret: SecretStr | None = None
    welcome: bool = True
    # Telegram's documented flood limits; kept configurable because they change.
    overall_per_second: float = 30.0
    group_per_minute: int = 20


class WecomSettings(BaseModel):
    """企业微信: a self-built app (自建应用) with customer-contact (客户联系) permission. The channel runs when
    corp_id, agent_id, secret, token and aes_key are all set; see the README's WeCom section."""

    corp_id: str = ""
    agent_id: int | None = None
    secret: SecretStr | None = None  # the app's Secret; also used for 客户联系 and 微信客服 calls
    token: SecretStr | None = None  # the callback's Token
    aes_key: SecretStr | None = None  # the callback's EncodingAESKey (43 characters)
    api_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    callback_path: str = "/wecom/callback"
    # Bearer token for POST /wecom/archive (decrypted 会话内容存档 records); empty disables the endpoint.
    archive_token: SecretStr | None = None
    # An internal group robot (群机器人) webhook for the supervisors' digests, e.g.
    # https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…; empty: digests go to each supervisor by message/send.
    robot_webhook_url: SecretStr | None = None
    # WeCom's own limits, configurable because they change: app messages per member per minute, robot messages
    # per minute, and how many 群发 the admin allows per customer group per month (0: no cap known).
    member_per_minute: int = Field(default=30, ge=1)
    robot_per_minute: int = Field(default=20, ge=1)
    group_broadcasts_per_month: int = Field(default=0, ge=0)
    # Owners who have not confirmed a notice's 群发 this long after it was created are reminded (once).
    remind_after_minutes: int = Field(default=30, ge=0)
    max_callback_bytes: int = Field(default=64 * 1024, ge=1024)

    @property
    def configured(self) -> bool:
        return bool(self.corp_id and self.agent_id and self.secret and self.token and self.aes_key)

    def check(self) -> None:
        """Fail at start with the setting's name rather than at the first callback."""
        missing = [name for name in ("corp_id", "agent_id", "secret", "token", "aes_key") if not getattr(self, name)]
        if missing:
            raise SettingsError(f"GRIDBOT_WECOM__{missing[0].upper()}: needed for the WeCom channel "
                                f"(missing: {', '.join(missing)})")
        key = self.aes_key.get_secret_value() if self.aes_key else ""
        if len(key) != 43 or not all(c.isalnum() for c in key):
            raise SettingsError("GRIDBOT_WECOM__AES_KEY: expected the 43-character EncodingAESKey "
                                "from the app's callback settings")
        if not self.callback_path.startswith("/"):
            raise SettingsError("GRIDBOT_WECOM__CALLBACK_PATH: expected a path starting with /")


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The address staff open in a browser (behind a proxy, say); sign-in links the bot sends start with it.
    # Empty means http://host:port.
    public_url: str = ""


class WebSettings(BaseModel):
    """The dashboard (工作看板): how long a sign-in lasts and how long a one-time link stays valid."""

    enabled: bool = True
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    login_link_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Set when the dashboard is served over https, so the session cookie is never sent in clear.
    secure_cookies: bool = False


class RiskSettings(BaseModel):
    enabled: bool = True
    # Word lists and whitelists (see sensitive_words/); empty means the shipped starter lists.
    words_files: list[Path] = []
    allow_files: list[Path] = []
    # After this many deletions/warnings within the window a customer is muted for restrict_minutes.
    warn_limit: int = Field(default=3, ge=1, le=100)
    window_minutes: int = Field(default=24 * 60, ge=1)
    restrict_minutes: int = Field(default=60, ge=1, le=366 * 24 * 60)
    # Sensitive behaviour: flooding, the same text across groups, join raids, links from newcomers.
    flood_messages: int = Field(default=8, ge=2)
    flood_seconds: int = Field(default=10, ge=1)
    repeat_groups: int = Field(default=3, ge=2)
    repeat_minutes: int = Field(default=10, ge=1)
    raid_joins: int = Field(default=10, ge=2)
    raid_minutes: int = Field(default=5, ge=1)
    new_member_hours: int = Field(default=24, ge=0)
    # Supervisors hear of a deleted (block-level) message at once, but of one group at most once per gap;
    # in quiet hours only these categories go out at once, the rest in a summary when the quiet hours end.
    supervisor_gap_minutes: int = Field(default=10, ge=0, le=24 * 60)
    urgent_categories: list[str] = ["fraud"]


class TicketSettings(BaseModel):
    # Messages from the same customer in the same group within this window join their open ticket.
    append_window_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    # Texts longer than this are stored truncated (a 100 kB paste is not an appeal).
    max_text_chars: int = Field(default=4000, ge=100)
    # Repairs from one area within this window are one fault: later reports link under the first ticket.
    duplicate_window_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    # A survey nobody answers closes the ticket as "no rating" after this long.
    survey_timeout_hours: int = Field(default=72, ge=1, le=30 * 24)

    @property
    def append_window(self) -> timedelta:
        return timedelta(minutes=self.append_window_minutes)


class EscalationSettings(BaseModel):
    """The warning and escalation ladder: L0 warns the assignee, L1 the station's supervisors, L2 the county."""

    # A breached clock goes on to L2 (the county service centre) this long after L1.
    l2_delay_minutes: int = Field(default=120, ge=0)
    # Where L2 goes: "platform:chat_id", e.g. "telegram:-1001234567890" (the county centre's duty group).
    county_chats: list[str] = []
    # Local hours in which only the most severe alerts (L2, the county) go out, e.g. "22:00-07:00"; "" = none.
    quiet_hours: str = Field(default="", pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
    # How often the scheduler looks for clocks to warn or escalate.
    sweep_seconds: int = Field(default=30, ge=1, le=3600)

    @field_validator("county_chats")
    @classmethod
    def _platform_and_chat(cls, value: list[str]) -> list[str]:
        for entry in value:
            platform, _, chat = entry.partition(":")
            if platform not in ("telegram", "wecom") or not chat:
                raise ValueError(f"expected platform:chat_id such as telegram:-1001234567890, got {entry!r}")
        return value


class NoticeSettings(BaseModel):
    """When outage reminders go out (../shared/DOMAIN.md: remind again about 30 min before)."""

    day_before_at: str = Field(default="18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # local time, the day before
    soon_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # The supervisors' daily digest (the weekly one goes out on Mondays at the same time).
    digest_at: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GRIDBOT_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Path("data")
    database_url: str = ""
    timezone: str = "Asia/Shanghai"
    language: Literal["zh_CN", "en"] = "zh_CN"
    station_name: str = "示范供电所"
    area_type_default: Literal["city", "rural", "remote"] = "rural"
    lexicon_file: Path = CONFIG_DIR / "appeal_lexicon.toml"
    deadlines_file: Path = CONFIG_DIR / "deadlines.toml"
    telegram: TelegramSettings = TelegramSettings()
    wecom: WecomSettings = WecomSettings()
    http: HttpSettings = HttpSettings()
    web: WebSettings = WebSettings()
    tickets: TicketSettings = TicketSettings()
    risk: RiskSettings = RiskSettings()
    escalation: EscalationSettings = EscalationSettings()
    notices: NoticeSettings = NoticeSettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"expected an IANA time zone such as Asia/Shanghai, got {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'gridbot.db'}"
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = config_file_path()
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def config_file_path() -> Path | None:
    """GRIDBOT_CONFIG names the TOML file; otherwise ./gridbot.toml is used when present."""
    named = os.environ.get("GRIDBOT_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise SettingsError(f"GRIDBOT_CONFIG: expected a readable TOML file, got {named!r}")
        return path
    local = Path("gridbot.toml")
    return local if local.is_file() else None


def _describe(error: ErrorDetails) -> str:
    location = "__".join(str(part) for part in error["loc"]).upper()
    message = str(error["msg"]).removeprefix("Value error, ")
    got = error.get("input")
    suffix = "" if message.startswith("expected") or isinstance(got, dict) else f" (got {got!r})"
    return f"GRIDBOT_{location}: {message}{suffix}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings or raise SettingsError with one clear line per wrong setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError("; ".join(_describe(err) for err in exc.errors())) from None
    except (OSError, ValueError) as exc:  # an unreadable or malformed TOML file
        raise SettingsError(f"GRIDBOT_CONFIG: expected a valid TOML file ({exc})") from None
