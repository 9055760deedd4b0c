"""Per-stage configuration, read from cdk.json context (`stages.<stage>`).

Any key of a stage can be overridden on the command line with `-c key=value` (for example
`-c certificateArn=arn:aws:acm:...`), so secrets-free, account-specific values such as the
certificate never need to be committed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from constructs import Node

# Keys a stage must define or receive with -c; the rest have defaults below.
_REQUIRED = ("region", "availabilityZones", "certificateArn", "corsOrigins")

_DEFAULTS: dict[str, Any] = {
    "account": None,
    "appEnv": "development",
    "natGateways": 1,
    "cpu": 512,
    "memoryMiB": 1024,
    "desiredCount": 2,
    "maxCount": 4,
    "redisNodeType": "cache.t4g.small",
    "redisReplicas": 1,
    "logRetentionDays": 30,
    "cognito": False,
    "jwtJwksUrl": None,
    "jwtIssuer": None,
    "jwtAudience": None,
    "retainData": True,
    "alarmEmail": "",
    "image": None,
    "existingTableName": None,
}


class ConfigError(ValueError):
    """The stage configuration is missing a value or holds an unsafe one."""


@dataclass(frozen=True)
class StageConfig:
    """Everything that differs between stages; built by `load_stage_config`."""

    stage: str
    account: str | None
    region: str
    availability_zones: list[str]
    app_env: str
    nat_gateways: int
    cpu: int
    memory_mib: int
    desired_count: int
    max_count: int
    redis_node_type: str
    redis_replicas: int
    log_retention_days: int
    certificate_arn: str
    cors_origins: list[str]
    cognito: bool
    jwt_jwks_url: str | None
    jwt_issuer: str | None
    jwt_audience: str | None
    retain_data: bool
    alarm_email: str
    # A prebuilt image URI (CI pushes one); None builds docker/Dockerfile as a CDK asset.
    image: str | None
    # Set after a point-in-time restore: the service uses this table instead of the one
    # the stack created (see docs/runbook.md).
    existing_table_name: str | None

    @property
    def name_prefix(self) -> str:
        return f"graphql-api-{self.stage}"


def _coerce(value: Any, default: Any) -> Any:
    """`-c key=value` always arrives as a string; give it the type of the default."""
    if not isinstance(value, str):
        return value
    if isinstance(default, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, list) or value.startswith("["):
        parsed = json.loads(value) if value.startswith("[") else value.split(",")
        return [str(v).strip() for v in parsed if str(v).strip()]
    return value


def load_stage_config(node: Node) -> StageConfig:
    """The configuration of the stage named by the `stage` context value (default dev)."""
    stage = str(node.try_get_context("stage") or "dev")
    stages = node.try_get_context("stages") or {}
    if stage not in stages:
        raise ConfigError(f"unknown stage {stage!r}; cdk.json defines {sorted(stages)}")
    raw: dict[str, Any] = {**_DEFAULTS, **stages[stage]}
    for key in list(_DEFAULTS) + list(_REQUIRED):
        override = node.try_get_context(key)
        if override is not None:
            raw[key] = _coerce(override, raw.get(key, _DEFAULTS.get(key)))
    missing = [key for key in _REQUIRED if not raw.get(key)]
    if missing:
        flags = " ".join(f"-c {key}=..." for key in missing)
        raise ConfigError(f"stage {stage!r} needs {', '.join(missing)} (pass {flags})")
    config = StageConfig(
        stage=stage,
        account=raw["account"] or os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=raw["region"],
        availability_zones=_coerce(raw["availabilityZones"], []),
        app_env=raw["appEnv"],
        nat_gateways=int(raw["natGateways"]),
        cpu=int(raw["cpu"]),
        memory_mib=int(raw["memoryMiB"]),
        desired_count=int(raw["desiredCount"]),
        max_count=int(raw["maxCount"]),
        redis_node_type=raw["redisNodeType"],
        redis_replicas=int(raw["redisReplicas"]),
        log_retention_days=int(raw["logRetentionDays"]),
        certificate_arn=raw["certificateArn"],
        cors_origins=_coerce(raw["corsOrigins"], []),
        cognito=bool(_coerce(raw["cognito"], False)),
        jwt_jwks_url=raw["jwtJwksUrl"] or None,
        jwt_issuer=raw["jwtIssuer"] or None,
        jwt_audience=raw["jwtAudience"] or None,
        retain_data=bool(_coerce(raw["retainData"], True)),
        alarm_email=raw["alarmEmail"] or "",
        image=raw["image"] or None,
        existing_table_name=raw["existingTableName"] or None,
    )
    _validate(config)
    return config


def _validate(config: StageConfig) -> None:
    if config.stage == "prod" and config.app_env != "production":
        raise ConfigError("the prod stage must run with appEnv 'production'")
    if config.app_env not in ("development", "test", "production"):
        raise ConfigError(f"appEnv {config.app_env!r} is not development, test or production")
    # Two tasks in two AZs is the least that survives losing a task or a zone.
    if config.desired_count < 2 or config.max_count < config.desired_count:
        raise ConfigError("desiredCount must be >= 2 and maxCount >= desiredCount")
    if len(config.availability_zones) < 2:
        raise ConfigError("availabilityZones needs at least two zones (ALB and Redis failover)")
    if config.redis_replicas < 1:
        raise ConfigError("redisReplicas must be >= 1 for automatic failover")
    if not config.cognito and not (config.jwt_jwks_url and config.jwt_issuer):
        # Every stage in AWS verifies RS256 tokens; HS256 is for local development only.
        raise ConfigError("without cognito, set jwtJwksUrl and jwtIssuer (and jwtAudience)")
    if not config.cognito and not config.jwt_audience:
        raise ConfigError("without cognito, set jwtAudience")
    if not config.certificate_arn.startswith("arn:"):
        raise ConfigError("certificateArn must be an ACM certificate ARN")
