"""Settings from HELPDESK_* environment variables and an optional TOML file (HELPDESK_CONFIG).

Errors name the variable and the bad value. Secrets are masked in `helpdesk config`.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from helpdesk.domain.errors import UserError

ENV_PREFIX = "HELPDESK_"


class ConfigError(UserError):
    pass


class _TomlSource(PydanticBaseSettingsSource):
    """Values from the TOML file named by HELPDESK_CONFIG (keys without the prefix, any case)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get(f"{ENV_PREFIX}CONFIG")
        if not path:
            return {}
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"HELPDESK_CONFIG: cannot read {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"HELPDESK_CONFIG: {path} is not valid TOML: {exc}") from exc
        section = data.get("helpdesk", data)
        return {str(k).lower(): v for k, v in section.items()}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", case_sensitive=False)

    database_url: str = "sqlite+aiosqlite:///var/helpdesk.sqlite3"
    data_dir: Path = Path("var")
    min_free_disk_mb: int = Field(default=500, ge=0)  # /readyz fails below this free space (data dir, SQLite dir)
    public_url: str = ""  # empty: the web listener's own address, http://HTTP_HOST:HTTP_PORT
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=0, le=65535)
    smtp_protocol: Literal["smtp", "lmtp"] = "smtp"
    smtp_enabled: bool = True
    smtp_tls_cert: Path | None = None  # PEM certificate chain; with smtp_tls_key, the listener offers TLS
    smtp_tls_key: Path | None = None  # PEM private key, unencrypted
    smtp_require_tls: bool = False  # refuse MAIL/RCPT/DATA before STARTTLS (530)
    smtp_tls_mode: Literal["starttls", "implicit"] = "starttls"  # implicit: TLS from the first byte (port 465 style)
    mail_addresses: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["assistance@craig.fr"])
    mail_from_name: str = "Assistance CRAIG"
    mail_max_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    smtp_relay_host: str | None = None
    smtp_relay_port: int = Field(default=25, ge=0, le=65535)
    smtp_relay_security: Literal["none", "starttls", "tls"] = "none"
    smtp_relay_user: str | None = None
    smtp_relay_password: SecretStr | None = None
    acknowledge: bool = True
    imap_host: str | None = None  # IMAP pull (hosted mailbox) when set
    imap_port: int = Field(default=993, ge=0, le=65535)
    imap_tls: bool = True
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_processed_folder: str | None = None  # move stored messages there (else flag them)
    imap_interval: float = Field(default=60.0, gt=0)  # poll period; with IDLE, the safety sweep period
    imap_mode: Literal["auto", "idle", "poll"] = "auto"  # auto/idle: IDLE when the server lists it, else poll
    outbox_retry_base_seconds: float = Field(default=30, gt=0)  # first retry delay, doubled each attempt
    outbox_poll_seconds: float = Field(default=1.0, gt=0)  # how often an idle worker looks for due rows
    file_checks: bool = True  # check attachments (CSV, XLSX, ODS, XML, zip, GeoJSON) and report to the ticket
    published_checks: bool = True  # look up the published data a message names (data.gouv.fr, catalogue, files)
    datagouv_api_url: str = "https://www.data.gouv.fr/api/1"  # its host is trusted as configured
    csw_url: str | None = None  # regional catalogue CSW endpoint (GeoNetwork); its host is trusted as configured
    fetch_hosts: Annotated[list[str] | None, NoDecode] = None  # allow-list; default: data.gouv.fr + catalogue host
    fetch_enabled: bool = True  # false: no network, every look-up says « non vérifié »
    fetch_timeout: float = Field(default=10.0, gt=0)  # seconds per request (and per redirect hop)
    fetch_per_ticket: int = Field(default=40, gt=0)  # requests per ticket per hour
    fetch_per_minute: int = Field(default=120, gt=0)  # requests per minute for the whole process
    telegram_token: SecretStr | None = None
    telegram_base_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_reopen_hours: float = Field(default=72, ge=0)
    telegram_staff_chat: int | None = None
    telegram_group_chats: Annotated[list[int], NoDecode] = Field(default_factory=list)  # group chats served
    kb_dir: Path | None = None
    secret_key: SecretStr | None = None
    # Reverse proxies whose X-Forwarded-For is believed (CIDR list, e.g. "127.0.0.1/32,::1/128"); empty: none.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_json: bool = False
    log_level: str = "INFO"

    @field_validator("mail_addresses", mode="before")
    @classmethod
    def _split_addresses(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [a.strip().lower() for a in value.split(",") if a.strip()]
        return value

    @field_validator("fetch_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()] if value.strip() else None
        return value

    @field_validator("csw_url", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("datagouv_api_url", "csw_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("smtp_tls_cert", "smtp_tls_key", mode="before")
    @classmethod
    def _blank_path_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        for item in value or []:
            try:
                ipaddress.ip_network(str(item), strict=False)
            except ValueError:
                raise ValueError(f"not an address or CIDR network: {item!r}") from None
        return value

    @field_validator("telegram_group_chats", mode="before")
    @classmethod
    def _split_chat_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        allowed = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(allowed):
            raise ValueError("expected sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return value

    @model_validator(mode="after")
    def _default_public_url(self) -> Settings:
        """Links mailed to users point at the listener itself unless a public address is given."""
        if not self.public_url.strip():
            self.public_url = listener_url(self.http_host, self.http_port)
        self.public_url = self.public_url.strip().rstrip("/")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @property
    def mail_domain(self) -> str:
        """The domain of our first address: Message-IDs, one-time-code mails and the SMTP greeting use it."""
        return self.mail_addresses[0].split("@", 1)[1] if self.mail_addresses else "localhost"

    def masked(self) -> dict[str, Any]:
        """Effective settings for display: secrets and passwords in URLs masked."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                out[name] = "********" if value.get_secret_value() else ""
            elif name == "database_url" and "@" in str(value) and ":" in str(value).split("@")[0][12:]:
                scheme, rest = str(value).split("://", 1)
                creds, host = rest.split("@", 1)
                out[name] = f"{scheme}://{creds.split(':')[0]}:********@{host}"
            elif isinstance(value, Path):
                out[name] = str(value)
            else:
                out[name] = value
        return out


def listener_url(host: str, port: int) -> str:
    """http://host:port of the web listener; a wildcard bind is reached through the machine's name."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
        host = socket.gethostname()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def env_value(value: Any) -> str:
    """A setting as it is written in the environment: ``true``, ``a@x.fr,b@x.fr``, empty for unset."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple | set):
        return ",".join(env_value(v) for v in value)
    return str(value)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{key}={err.get('input')!r}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
