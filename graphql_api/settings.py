"""Typed settings, read once from the environment and validated at startup."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that show a secret or URL was copied from an example and never set.
_PLACEHOLDERS = ("changeme", "change-me", "placeholder", "example", "secret", "todo", "xxx")
# Words that mark a template anywhere in a value ("https://issuer.example.com", "your-tenant").
_PLACEHOLDER_WORDS = frozenset(
    {"changeme", "placeholder", "example", "todo", "fixme", "your", "dummy", "replace"}
)
MIN_HS256_SECRET_BYTES = 32
# Development/test only (production refuses HS256 altogether).
DEV_HS256_SECRET = "development-only-hs256-secret-not-for-production"
DEV_ISSUER = "graphql-api-dev"
DEV_AUDIENCE = "graphql-api"


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names the variable."""


def _is_placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    if not lowered or any(p == lowered or lowered.startswith(p) for p in _PLACEHOLDERS):
        return True
    if "<" in lowered or ">" in lowered or value.strip() == DEV_HS256_SECRET:
        return True
    words = {w for w in re.split(r"[^a-z0-9]+", lowered) if w}
    if "changeme" in re.sub(r"[^a-z0-9]", "", lowered):
        return True
    return bool(words & _PLACEHOLDER_WORDS) or any(re.fullmatch(r"x{3,}", w) for w in words)


class Settings(BaseSettings):
    """Every environment variable the service reads (see README.md)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    app_env: AppEnv = AppEnv.DEVELOPMENT
    dynamodb_table: str | None = None
    s3_bucket: str | None = None
    aws_region: str = "us-east-1"
    aws_endpoint_url_dynamodb: str | None = None
    aws_endpoint_url_s3: str | None = None
    redis_url: str | None = None
    jwt_hs256_secret: str | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_cognito_client_id: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=60)
    cors_origins: str = ""
    # Signs pagination cursors and invitation links; must be shared by all replicas.
    cursor_secret: str | None = None
    graphiql: bool | None = None
    introspection: bool | None = None
    # Persisted queries: when required, users (not only API keys) may run only operations of
    # the first-party manifest (an Apollo persisted-query manifest file) - no free-form ones.
    require_safelist: bool | None = None
    safelist_manifest: str | None = None
    apq_ttl_seconds: int = Field(default=86_400, ge=60)
    apq_max_entries: int = Field(default=10_000, ge=1)
    max_body_bytes: int = 1_000_000
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4_000
    max_root_fields: int = Field(default=20, ge=1)
    max_directives: int = Field(default=50, ge=0)
    max_cost: int = Field(default=5_000, ge=1)
    # "Did you mean ...?" in validation errors: hidden in production unless set.
    hide_suggestions: bool | None = None
    # Token buckets (README "Limits"): users get RATE_LIMIT_PER_MINUTE, API keys their org's
    # plan rate, anonymous callers RATE_LIMIT_ANONYMOUS_PER_MINUTE per client IP. Unset
    # RATE_LIMIT_ENABLED means on, except under APP_ENV=test (suites share a few users).
    rate_limit_enabled: bool | None = None
    rate_limit_per_minute: int = Field(default=600, ge=1)
    rate_limit_anonymous_per_minute: int = Field(default=120, ge=1)
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60)
    log_level: str = "INFO"
    # WebSockets (DESIGN.md "Security"): close 4408 when connection_init is late.
    ws_init_timeout_seconds: float = Field(default=10.0, gt=0, le=10)
    ws_keepalive_seconds: float = Field(default=15.0, gt=0)
    ws_max_message_bytes: int = Field(default=65_536, ge=1_024)
    max_subscriptions_per_connection: int = Field(default=50, ge=1)
    # Open WebSockets per user across replicas (close 4429 beyond it), and how long one with
    # nothing running on it and nothing received stays open (close 1000 "Idle timeout").
    ws_max_connections_per_user: int = Field(default=20, ge=1)
    ws_idle_timeout_seconds: float = Field(default=300.0, gt=0)
    # Events a subscription may fall behind before it is dropped as a slow consumer.
    subscription_queue_size: int = Field(default=256, ge=1)
    # A replica refreshes its presence entries every heartbeat; others drop them after the
    # timeout (at most 30 s after the replica died).
    presence_heartbeat_seconds: float = Field(default=10.0, gt=0)
    presence_timeout_seconds: float = Field(default=30.0, gt=0, le=30)

    @property
    def embedded(self) -> bool:
        """True when no table is configured: moto in-process, memory broadcast."""
        return self.dynamodb_table is None

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.PRODUCTION

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def suggestions_hidden(self) -> bool:
        return self.hide_suggestions if self.hide_suggestions is not None else self.is_production

    @property
    def rate_limits_on(self) -> bool:
        if self.rate_limit_enabled is not None:
            return self.rate_limit_enabled
        return self.app_env is not AppEnv.TEST

    @property
    def safelist_required(self) -> bool:
        """Off by default everywhere; production turns it on with REQUIRE_SAFELIST=true."""
        return bool(self.require_safelist)

    def jwt_params(self) -> dict[str, str | None]:
        """Effective JWT settings: development and test fall back to a local HS256 setup."""
        secret = self.jwt_hs256_secret
        if not self.is_production and not secret and not self.jwt_jwks_url:
            secret = DEV_HS256_SECRET
        return {
            "hs256_secret": secret,
            "jwks_url": self.jwt_jwks_url,
            "issuer": self.jwt_issuer or (None if self.is_production else DEV_ISSUER),
            "audience": self.jwt_audience or (None if self.is_production else DEV_AUDIENCE),
            "cognito_client_id": self.jwt_cognito_client_id,
        }

    def effective_cursor_secret(self) -> str:
        return self.cursor_secret or self.jwt_hs256_secret or DEV_HS256_SECRET

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.jwt_hs256_secret is not None and (
            len(self.jwt_hs256_secret.encode()) < MIN_HS256_SECRET_BYTES
        ):
            raise SettingsError(f"JWT_HS256_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes")
        if self.presence_heartbeat_seconds * 2 > self.presence_timeout_seconds:
            raise SettingsError("PRESENCE_HEARTBEAT_SECONDS must be at most half the timeout")
        if self.is_production:
            self._check_production()
        return self

    def _check_production(self) -> None:
        if self.embedded:
            raise SettingsError("DYNAMODB_TABLE is required in production (no embedded mode)")
        if not self.s3_bucket:
            raise SettingsError("S3_BUCKET is required in production")
        if self.jwt_hs256_secret:
            raise SettingsError("JWT_HS256_SECRET must not be set in production (use JWKS)")
        required = {
            "JWT_JWKS_URL": self.jwt_jwks_url,
            "JWT_ISSUER": self.jwt_issuer,
            "REDIS_URL": self.redis_url,
            "CURSOR_SECRET": self.cursor_secret,
        }
        if not self.jwt_cognito_client_id:
            required["JWT_AUDIENCE"] = self.jwt_audience
        for name, value in required.items():
            if not value:
                raise SettingsError(f"{name} is required in production")
            if _is_placeholder(value):
                raise SettingsError(f"{name} has a placeholder value")
        if self.cursor_secret and len(self.cursor_secret.encode()) < MIN_HS256_SECRET_BYTES:
            raise SettingsError(f"CURSOR_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes")
        if self.jwt_jwks_url and not self.jwt_jwks_url.startswith("https://"):
            raise SettingsError("JWT_JWKS_URL must be an https:// URL in production")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own `Settings`)."""
    return Settings()
