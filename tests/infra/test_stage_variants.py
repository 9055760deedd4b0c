"""A dev stage pointed at a restored table, an external OIDC issuer and a prebuilt image."""

from __future__ import annotations

import json
from typing import Any

from graphql_api.store.table import GSIS
from tests.infra.conftest import RESTORED_CONTEXT, Synthesized

RESTORED = RESTORED_CONTEXT["existingTableName"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def environment(stack: Synthesized) -> dict[str, Any]:
    (task,) = stack.resources("AWS::ECS::TaskDefinition").values()
    (definition,) = task["Properties"]["ContainerDefinitions"]
    return {e["Name"]: e["Value"] for e in definition["Environment"]}


def test_service_uses_the_restored_table(restored: Synthesized) -> None:
    assert environment(restored)["DYNAMODB_TABLE"] == RESTORED
    # The stack's own table stays (deletion is a separate, deliberate decision).
    assert len(restored.resources("AWS::DynamoDB::Table")) == 1


def test_task_role_follows_the_restored_table(restored: Synthesized) -> None:
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for k, p in restored.resources("AWS::IAM::Policy").items()
        if "TaskRole" in k
    ]
    dynamodb = [
        statement
        for statement in policy
        if any(a.startswith("dynamodb:") for a in _as_list(statement["Action"]))
    ]
    text = json.dumps(dynamodb)
    table_id = next(iter(restored.resources("AWS::DynamoDB::Table")))
    assert table_id not in text
    assert f":table/{RESTORED}" in text
    for name in GSIS:
        assert f":table/{RESTORED}/index/{name}" in text


def test_throttle_alarm_watches_the_restored_table(restored: Synthesized) -> None:
    alarms = restored.resources("AWS::CloudWatch::Alarm").values()
    (throttles,) = [a for a in alarms if "ThrottleEvents" in json.dumps(a)]
    dimensions = [
        d
        for m in throttles["Properties"]["Metrics"]
        if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "TableName"
    ]
    assert dimensions and all(d["Value"] == RESTORED for d in dimensions)


def test_external_issuer_and_development_app_env(restored: Synthesized) -> None:
    env = environment(restored)
    assert env["APP_ENV"] == "development"
    assert env["JWT_JWKS_URL"] == RESTORED_CONTEXT["jwtJwksUrl"]
    assert env["JWT_ISSUER"] == RESTORED_CONTEXT["jwtIssuer"]
    assert env["JWT_AUDIENCE"] == RESTORED_CONTEXT["jwtAudience"]
    assert "JWT_COGNITO_CLIENT_ID" not in env and "JWT_HS256_SECRET" not in env
    assert not restored.resources("AWS::Cognito::UserPool")


def test_prebuilt_image_is_pulled_from_its_registry_account(restored: Synthesized) -> None:
    (task,) = restored.resources("AWS::ECS::TaskDefinition").values()
    image = json.dumps(task["Properties"]["ContainerDefinitions"][0]["Image"])
    assert "210987654321.dkr.ecr.eu-west-1." in image and "graphql-api:v1.2.3" in image
    (execution,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for k, p in restored.resources("AWS::IAM::Policy").items()
        if "ExecutionRole" in k
    ]
    pulls = [s for s in execution if "ecr:BatchGetImage" in s["Action"]]
    assert pulls
    assert pulls[0]["Resource"] == ("arn:aws:ecr:eu-west-1:210987654321:repository/graphql-api")


def test_dev_data_is_not_retained(restored: Synthesized) -> None:
    ((_, table),) = restored.resources("AWS::DynamoDB::Table").items()
    assert table["DeletionPolicy"] == "Delete"
    assert table["Properties"]["DeletionProtectionEnabled"] is False
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }
