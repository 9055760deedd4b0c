"""Settings validation: production refuses unsafe or incomplete configuration, by name."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from graphql_api.settings import DEV_HS256_SECRET, AppEnv, Settings

STRONG = "q8W3v0LrT5nX2kP9zB7mC4dF6hJ1sA0e"  # 32 random-looking bytes

PRODUCTION: dict[str, str] = {
    "APP_ENV": "production",
    "DYNAMODB_TABLE": "checklists-prod",
    "S3_BUCKET": "checklists-prod-files",
    "REDIS_URL": "rediss://cache.internal.acme-ops.io:6379/0",
    "JWT_JWKS_URL": "https://auth.acme-ops.io/.well-known/jwks.json",
    "JWT_ISSUER": "https://auth.acme-ops.io/",
    "JWT_AUDIENCE": "checklists-api",
    "CURSOR_SECRET": STRONG,
}

ALL_VARIABLES = [
    *PRODUCTION,
    "JWT_HS256_SECRET",
    "JWT_COGNITO_CLIENT_ID",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_S3",
    "CORS_ORIGINS",
    "GRAPHIQL",
    "INTROSPECTION",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def prod(**changes: str | None) -> dict[str, Any]:
    """Production settings as keyword arguments, with some values changed or removed."""
    values: dict[str, Any] = {k.lower(): v for k, v in PRODUCTION.items()}
    for name, value in changes.items():
        if value is None:
            values.pop(name.lower(), None)
        else:
            values[name.lower()] = value
    return values


def refusal(**kwargs: Any) -> str:
    with pytest.raises(ValidationError) as info:
        Settings(**kwargs)
    return str(info.value)


def test_a_valid_production_config_passes() -> None:
    s = Settings(**prod())
    assert s.app_env is AppEnv.PRODUCTION
    assert not s.embedded
    assert not s.graphiql_enabled
    assert not s.introspection_enabled
    params = s.jwt_params()
    assert params["hs256_secret"] is None
    assert params["issuer"] == PRODUCTION["JWT_ISSUER"]


def test_a_valid_production_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    s = Settings()
    assert s.is_production
    assert s.dynamodb_table == "checklists-prod"
    assert s.effective_cursor_secret() == STRONG


def test_cognito_client_id_replaces_the_audience() -> None:
    s = Settings(**prod(JWT_AUDIENCE=None, JWT_COGNITO_CLIENT_ID="3n4b5urk1ft4fl3mg5e62d9ado"))
    assert s.jwt_audience is None


REQUIRED = [
    "DYNAMODB_TABLE",
    "S3_BUCKET",
    "REDIS_URL",
    "JWT_JWKS_URL",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "CURSOR_SECRET",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_production_requires(name: str) -> None:
    assert name in refusal(**prod(**{name: None}))


@pytest.mark.parametrize("name", REQUIRED)
def test_production_requires_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    for var, value in PRODUCTION.items():
        if var != name:
            monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError, match=name):
        Settings()


def test_production_refuses_embedded_mode() -> None:
    message = refusal(**prod(DYNAMODB_TABLE=None))
    assert "DYNAMODB_TABLE" in message
    assert "embedded" in message


def test_production_refuses_an_hs256_secret() -> None:
    assert "JWT_HS256_SECRET" in refusal(**prod(JWT_HS256_SECRET=STRONG + STRONG))


def test_production_refuses_an_hs256_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var, value in PRODUCTION.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("JWT_HS256_SECRET", STRONG + STRONG)
    with pytest.raises(ValidationError, match="JWT_HS256_SECRET"):
        Settings()


PLACEHOLDERS = [
    ("JWT_ISSUER", "changeme"),
    ("JWT_ISSUER", "https://issuer.example.com/"),
    ("JWT_AUDIENCE", "CHANGE-ME"),
    ("JWT_AUDIENCE", "your-audience"),
    ("JWT_JWKS_URL", "https://example.com/.well-known/jwks.json"),
    ("JWT_JWKS_URL", "https://<your-tenant>.auth0.com/.well-known/jwks.json"),
    ("REDIS_URL", "placeholder"),
    ("REDIS_URL", "redis://TODO:6379"),
    ("CURSOR_SECRET", "changeme-changeme-changeme-changeme"),
    ("CURSOR_SECRET", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("CURSOR_SECRET", "secret" * 8),
    ("CURSOR_SECRET", DEV_HS256_SECRET),
]


@pytest.mark.parametrize(("name", "value"), PLACEHOLDERS)
def test_production_refuses_placeholders(name: str, value: str) -> None:
    message = refusal(**prod(**{name: value}))
    assert name in message
    assert "placeholder" in message


def test_production_refuses_a_plain_http_jwks_url() -> None:
    message = refusal(**prod(JWT_JWKS_URL="http://auth.acme-ops.io/.well-known/jwks.json"))
    assert "JWT_JWKS_URL" in message
    assert "https" in message


def test_production_refuses_a_short_cursor_secret() -> None:
    assert "CURSOR_SECRET" in refusal(**prod(CURSOR_SECRET="k2P9z"))


def test_production_refuses_an_empty_value(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in PRODUCTION.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("JWT_ISSUER", "")
    with pytest.raises(ValidationError, match="JWT_ISSUER"):
        Settings()


@pytest.mark.parametrize("env", ["development", "test", "production"])
@pytest.mark.parametrize("secret", ["", "short", "x" * 31])
def test_a_short_hs256_secret_is_refused_in_every_env(env: str, secret: str) -> None:
    extra = prod() if env == "production" else {}
    message = refusal(**{**extra, "app_env": env, "jwt_hs256_secret": secret})
    assert "JWT_HS256_SECRET" in message


def test_a_short_hs256_secret_is_refused_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("JWT_HS256_SECRET", "tiny")
    with pytest.raises(ValidationError, match="JWT_HS256_SECRET"):
        Settings()


def test_an_unknown_app_env_is_refused() -> None:
    assert "app_env" in refusal(app_env="staging")


def test_development_defaults_to_the_embedded_mode_with_local_tokens() -> None:
    s = Settings()
    assert s.app_env is AppEnv.DEVELOPMENT
    assert s.embedded
    assert s.graphiql_enabled
    params = s.jwt_params()
    assert params["hs256_secret"] == DEV_HS256_SECRET
    assert params["issuer"] and params["audience"]


def test_leeway_is_capped_at_60_seconds() -> None:
    assert "jwt_leeway_seconds" in refusal(jwt_leeway_seconds=61)


def test_cors_origins_are_split() -> None:
    s = Settings(cors_origins=" https://a.test, https://b.test ,")
    assert s.cors_origin_list == ["https://a.test", "https://b.test"]
