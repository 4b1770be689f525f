"""Instance configuration, read once from ``TENANTRY_*`` environment variables."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SmtpSecurity = Literal["true", "false", "ssl"]


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTRY_", extra="ignore")

    # sqlite:///path or postgresql://user@host/db; the async driver is chosen for the user.
    database_url: str = Field(default="sqlite:///tenantry.db")
    # PostgreSQL only: the role the app connects as at run time. It owns no table and
    # lacks BYPASSRLS; `tenantry db upgrade` creates it. Empty = connect as in database_url.
    app_db_role: str = "tenantry_app"
    app_db_password: str = ""
    # Full URL for the app role, when it differs from database_url by more than the user.
    app_database_url: str = ""
    # asyncpg's prepared statement cache; set 0 behind a transaction-pooling PgBouncer < 1.21.
    db_statement_cache_size: int = 100
    db_pool_size: int = 10
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    session_lifetime_minutes: int = 12 * 60
    session_idle_minutes: int = 120
    invitation_lifetime_hours: int = 72
    api_token_default_days: int = 90
    # Failed sign-ins: after `throttle_slow_after` failures in the window each attempt is
    # delayed; after `throttle_lock_after` the account/address is refused until the window ends.
    throttle_window_minutes: int = 15
    throttle_slow_after: int = 3
    throttle_lock_after: int = 10
    # A source address is shared by a whole office behind NAT, so it gets more room
    # before it is slowed and locked than one account does.
    throttle_address_slow_after: int = 20
    throttle_address_lock_after: int = 100
    # MSP self sign-up (/signup): off unless the operator turns it on; off, its pages and
    # API answer 404. The emailed link works once, for this many hours. Requests are
    # limited per email address and per network (IPv4 /24, IPv6 /64) in each throttle
    # window (``throttle_window_minutes``); past a limit the answer is 429 + Retry-After.
    signup_enabled: bool = False
    signup_link_hours: int = Field(default=24, ge=1, le=24 * 14)
    signup_email_limit: int = Field(default=3, ge=1, le=1000)
    signup_network_limit: int = Field(default=10, ge=1, le=100000)
    # The plan a signed-up MSP starts on, as a trial of the plan's length
    # (`tenantry plans create Trial --trial-days 30 …`). With no plans defined at all the
    # instance is unmetered and a signed-up MSP gets licensing only.
    signup_trial_plan: str = "Trial"
    # Outgoing mail (invitations, notifications). No host: nothing is ever sent.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # TENANTRY_SMTP_USER, its name until 2026-12, is still read: an upgrade keeps its login.
    smtp_username: str = Field(
        default="",
        validation_alias=AliasChoices(
            "smtp_username", "TENANTRY_SMTP_USERNAME", "TENANTRY_SMTP_USER"
        ),
    )
    smtp_password: str = ""
    smtp_from: str = "tenantry@localhost"
    # "true": STARTTLS after connecting (port 587); "ssl": TLS from the first byte
    # (port 465); "false": plain (a relay on localhost only).
    smtp_starttls: SmtpSecurity = "true"
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    # Notification emails: tries per message before it is marked failed.
    notify_email_attempts: int = Field(default=6, ge=1, le=50)
    log_level: str = "INFO"
    log_json: bool = True
    # Request bodies (http/edge.py): JSON and forms on every route, and the contact CSV
    # import's file. A body past its limit is refused with 413 and never read further.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_import_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # One compliance evidence file (its bytes are stored in the tenant's database rows).
    evidence_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # Set when served behind HTTPS so the session cookie carries Secure.
    secure_cookies: bool = False
    # Behind reverse proxies, where a request's client address comes from: the proxies'
    # addresses or networks ("127.0.0.1,10.0.0.0/8"). X-Forwarded-For is read only from
    # a peer in the list, and the client is its right-most hop that is not in the list
    # (hops to its left are written by the client and are never believed). List only
    # proxies: a client inside a listed network could name any address it likes.
    trusted_proxies: str = ""
    # Or, where the proxies' addresses are not known: how many proxies stand in front of
    # the app (the client is the hop that many places from the right).
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)
    # Older switch, kept working: true without either setting above means one proxy.
    trust_proxy_headers: bool = False

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("TENANTRY_DATABASE_URL must start with sqlite:// or postgresql://")
        return value

    @field_validator("smtp_starttls", mode="before")
    @classmethod
    def _smtp_security(cls, value: Any) -> Any:
        # Booleans as environment variables spell themselves many ways.
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return "true"
        if text in ("false", "0", "no", "off", ""):
            return "false"
        return text

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for item in _items(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"TENANTRY_TRUSTED_PROXIES: {item!r} is not an IP address or network"
                ) from exc
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(ipaddress.ip_network(i, strict=False) for i in _items(self.trusted_proxies))

    @property
    def proxy_hops(self) -> int:
        """Proxies counted in front of the app when no list is given (0: none trusted)."""
        if self.trusted_proxies.strip():
            return 0
        return self.trusted_proxy_hops or (1 if self.trust_proxy_headers else 0)

    @property
    def behind_proxy(self) -> bool:
        return bool(self.trusted_proxies.strip()) or self.proxy_hops > 0

    @model_validator(mode="after")
    def _secure_behind_https(self) -> Settings:
        # Served at an https:// address, the session cookie is Secure whatever the
        # proxy in front says about the scheme of one request.
        if self.base_url.lower().startswith("https://"):
            self.secure_cookies = True
        return self

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgres")

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept beside a SQLite database."""
        if self.secret_key:
            return self.secret_key
        path = Path(".tenantry-secret")
        if not path.exists():
            import secrets

            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
