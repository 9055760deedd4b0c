"""Stage configuration: cdk.json defaults, -c overrides, and the refusals that keep prod safe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from infra.stacks.config import ConfigError, StageConfig, load_stage_config

CDK_JSON = Path(__file__).resolve().parents[2] / "infra" / "cdk.json"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/test"


def config_for(**context: Any) -> StageConfig:
    merged = {**json.loads(CDK_JSON.read_text())["context"], **context}
    return load_stage_config(cdk.App(context=merged).node)


def test_prod_stage_from_cdk_json() -> None:
    config = config_for(stage="prod", certificateArn=CERT)
    assert config.app_env == "production"
    assert config.desired_count >= 2
    assert config.retain_data is True
    assert len(config.availability_zones) >= 2


def test_command_line_strings_are_coerced() -> None:
    # `cdk deploy -c desiredCount=4 -c cognito=false ...` passes every value as a string.
    config = config_for(
        stage="dev",
        certificateArn=CERT,
        desiredCount="4",
        maxCount="8",
        cognito="false",
        jwtJwksUrl="https://issuer.example.com/.well-known/jwks.json",
        jwtIssuer="https://issuer.example.com/",
        jwtAudience="graphql-api",
        corsOrigins="https://a.example.com, https://b.example.com",
    )
    assert (config.desired_count, config.max_count, config.cognito) == (4, 8, False)
    assert config.cors_origins == ["https://a.example.com", "https://b.example.com"]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"stage": "prod"}, "certificateArn"),
        ({"stage": "prod", "certificateArn": CERT, "appEnv": "development"}, "production"),
        ({"stage": "dev", "certificateArn": CERT, "desiredCount": 1}, "desiredCount"),
        ({"stage": "dev", "certificateArn": CERT, "cognito": False}, "jwtJwksUrl"),
        ({"stage": "dev", "certificateArn": "not-an-arn"}, "ARN"),
        ({"stage": "qa", "certificateArn": CERT}, "unknown stage"),
    ],
)
def test_unsafe_or_incomplete_configuration_is_refused(
    context: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config_for(**context)
