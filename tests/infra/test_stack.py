"""The synthesized prod stack has the properties the service depends on, and lints clean."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from graphql_api.store.table import GSIS, PK, SK, TTL_ATTRIBUTE, create_table_kwargs
from infra.stacks import service
from tests.infra.conftest import PROD_CONTEXT, Synthesized

CONTRACT_ENV = {
    "APP_ENV",
    "DYNAMODB_TABLE",
    "S3_BUCKET",
    "AWS_REGION",
    "REDIS_URL",
    "JWT_JWKS_URL",
    "JWT_ISSUER",
    "CORS_ORIGINS",
}


def container(prod: Synthesized) -> dict[str, Any]:
    _, task = prod.one("AWS::ECS::TaskDefinition")
    (definition,) = task["ContainerDefinitions"]
    result: dict[str, Any] = definition
    return result


def get_att(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


# --- compute -------------------------------------------------------------------------------


def test_fargate_service_runs_at_least_two_private_tasks(
    prod: Synthesized, template: Template
) -> None:
    template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "LaunchType": "FARGATE",
            "DeploymentConfiguration": Match.object_like(
                {
                    "MinimumHealthyPercent": 100,
                    "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
                }
            ),
            "NetworkConfiguration": {
                "AwsvpcConfiguration": Match.object_like({"AssignPublicIp": "DISABLED"})
            },
            "LoadBalancers": [Match.object_like({"ContainerPort": service.CONTAINER_PORT})],
        },
    )
    _, props = prod.one("AWS::ECS::Service")
    assert props["DesiredCount"] >= 2


def test_container_environment_is_the_production_contract(prod: Synthesized) -> None:
    definition = container(prod)
    assert definition["PortMappings"][0]["ContainerPort"] == service.CONTAINER_PORT
    env = {e["Name"]: e["Value"] for e in definition["Environment"]}
    assert CONTRACT_ENV <= set(env)
    assert env["APP_ENV"] == "production"
    assert env["AWS_REGION"] == prod.region
    # Cognito is on in prod: the verifier checks client_id/token_use against this client.
    assert "JWT_COGNITO_CLIENT_ID" in env
    assert "/.well-known/jwks.json" in str(env["JWT_JWKS_URL"])
    # Production refuses HS256; AWS endpoints must be the real ones.
    assert not {"JWT_HS256_SECRET", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3"} & set(env)
    assert str(env["REDIS_URL"]).find("rediss://") != -1
    secrets = {s["Name"] for s in definition["Secrets"]}
    assert secrets == {"CURSOR_SECRET", "REDIS_AUTH_TOKEN"}
    assert definition["Command"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert definition["ReadonlyRootFilesystem"] is True
    assert definition["LinuxParameters"]["InitProcessEnabled"] is True
    assert "/healthz" in " ".join(definition["HealthCheck"]["Command"])


def test_stop_timeout_outlasts_the_graceful_shutdown(prod: Synthesized) -> None:
    # uvicorn's timeout_graceful_shutdown in `serve` is 10 s; SIGKILL must come later.
    assert container(prod)["StopTimeout"] > service.GRACEFUL_SHUTDOWN_SECONDS


def test_log_group_has_a_retention(prod: Synthesized) -> None:
    _, props = prod.one("AWS::Logs::LogGroup")
    assert props["RetentionInDays"] == 90
    assert container(prod)["LogConfiguration"]["Options"]["mode"] == "non-blocking"


def test_auto_scaling_on_cpu_requests_and_connections(prod: Synthesized) -> None:
    _, target = prod.one("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["MinCapacity"] >= 2
    assert target["MaxCapacity"] > target["MinCapacity"]
    policies = [
        p["Properties"]
        for p in prod.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]
    configs = [p["TargetTrackingScalingPolicyConfiguration"] for p in policies]
    predefined = {
        c["PredefinedMetricSpecification"]["PredefinedMetricType"]
        for c in configs
        if "PredefinedMetricSpecification" in c
    }
    assert predefined == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    (custom,) = [
        c["CustomizedMetricSpecification"] for c in configs if "CustomizedMetricSpecification" in c
    ]
    names = {
        m["MetricStat"]["Metric"]["MetricName"] for m in custom["Metrics"] if "MetricStat" in m
    }
    assert names == {"ActiveConnectionCount", "HealthyHostCount"}
    (returned,) = [m for m in custom["Metrics"] if m.get("ReturnData")]
    assert returned["Expression"] == "connections / tasks"


# --- load balancer -------------------------------------------------------------------------


def test_alb_idle_timeout_suits_websockets(prod: Synthesized, template: Template) -> None:
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": Match.array_with(
                [{"Key": "idle_timeout.timeout_seconds", "Value": "3600"}]
            ),
        },
    )


def test_https_listener_and_http_redirect(prod: Synthesized, template: Template) -> None:
    t = template
    t.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": PROD_CONTEXT["certificateArn"]}],
            "SslPolicy": Match.any_value(),
        },
    )
    t.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "Protocol": "HTTP",
            "DefaultActions": [
                Match.object_like(
                    {
                        "Type": "redirect",
                        "RedirectConfig": Match.object_like(
                            {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
                        ),
                    }
                )
            ],
        },
    )
    t.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 2)


def test_target_group_health_check_and_drain(prod: Synthesized, template: Template) -> None:
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "HealthCheckPath": "/healthz",
            "Port": service.CONTAINER_PORT,
            "TargetType": "ip",
            "TargetGroupAttributes": Match.array_with(
                [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
            ),
        },
    )
    # The drain covers the app's own graceful shutdown with a margin.
    assert service.DEREGISTRATION_DELAY.to_seconds() >= 2 * service.GRACEFUL_SHUTDOWN_SECONDS


# --- data ----------------------------------------------------------------------------------


def test_table_on_demand_with_pitr_and_ttl(prod: Synthesized, template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "DeletionProtectionEnabled": True,
            "KeySchema": [
                {"AttributeName": PK, "KeyType": "HASH"},
                {"AttributeName": SK, "KeyType": "RANGE"},
            ],
        },
    )
    logical_id, _ = prod.one("AWS::DynamoDB::Table")
    assert prod.template["Resources"][logical_id]["DeletionPolicy"] == "Retain"


def test_table_gsis_equal_the_applications(prod: Synthesized) -> None:
    _, table = prod.one("AWS::DynamoDB::Table")
    app = create_table_kwargs("any")

    def indexes(spec: dict[str, Any]) -> dict[str, Any]:
        return {
            gsi["IndexName"]: (
                sorted((k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]),
                gsi["Projection"]["ProjectionType"],
            )
            for gsi in spec["GlobalSecondaryIndexes"]
        }

    assert indexes(table) == indexes(app)
    assert set(indexes(table)) == set(GSIS)
    definitions = sorted(
        (a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]
    )
    expected = sorted((a["AttributeName"], a["AttributeType"]) for a in app["AttributeDefinitions"])
    assert definitions == expected


def test_bucket_is_private_encrypted_and_tls_only(prod: Synthesized, template: Template) -> None:
    t = template
    t.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
        },
    )
    t.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_bucket_cors_and_abandoned_upload_lifecycle(prod: Synthesized) -> None:
    _, bucket = prod.one("AWS::S3::Bucket")
    (rule,) = bucket["CorsConfiguration"]["CorsRules"]
    assert "POST" in rule["AllowedMethods"]
    assert rule["AllowedOrigins"] == ["https://app.example.com"]
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    abandoned = rules["abandoned-uploads"]
    assert abandoned["Prefix"] == "pending/"
    assert abandoned["ExpirationInDays"] >= 1
    multipart = rules["incomplete-multipart"]
    assert multipart["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1


def test_redis_has_tls_auth_and_failover(prod: Synthesized) -> None:
    _, group = prod.one("AWS::ElastiCache::ReplicationGroup")
    assert group["TransitEncryptionEnabled"] is True
    assert group["AtRestEncryptionEnabled"] is True
    assert group["AutomaticFailoverEnabled"] is True
    assert group["MultiAZEnabled"] is True
    assert group["NumCacheClusters"] >= 2
    # A CloudFormation dynamic reference to the generated secret, never a literal token.
    token = str(group["AuthToken"])
    assert "{{resolve:secretsmanager:" in token
    secret_id, _ = next(
        (k, v)
        for k, v in prod.resources("AWS::SecretsManager::Secret").items()
        if "Redis AUTH" in v["Properties"]["Description"]
    )
    assert secret_id in token


# --- least privilege -----------------------------------------------------------------------


def _task_role_statements(prod: Synthesized) -> list[dict[str, Any]]:
    _, task = prod.one("AWS::ECS::TaskDefinition")
    role_id = task["TaskRoleArn"]["Fn::GetAtt"][0]
    role = prod.template["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    statements: list[dict[str, Any]] = []
    for policy in prod.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_task_role_reaches_only_the_table_and_the_bucket(prod: Synthesized) -> None:
    table_id, _ = prod.one("AWS::DynamoDB::Table")
    bucket_id, _ = prod.one("AWS::S3::Bucket")
    table_arn, bucket_arn = get_att(table_id), get_att(bucket_id)
    allowed_dynamodb = [table_arn] + [
        {"Fn::Join": ["", [table_arn, f"/index/{name}"]]} for name in GSIS
    ]
    allowed_s3 = [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/*"]]}]
    seen_indexes = set()
    for statement in _task_role_statements(prod):
        assert statement["Effect"] == "Allow"
        actions = _as_list(statement["Action"])
        resources = _as_list(statement["Resource"])
        assert "*" not in resources
        services = {a.split(":")[0] for a in actions}
        assert len(services) == 1, statement
        assert not any(a.endswith("*") for a in actions), statement
        (svc,) = services
        if svc == "dynamodb":
            assert all(r in allowed_dynamodb for r in resources), statement
            seen_indexes |= {str(r) for r in resources if r != table_arn}
        elif svc == "s3":
            assert all(r in allowed_s3 for r in resources), statement
        else:
            raise AssertionError(f"task role may not use {svc}: {statement}")
    # Every GSI is queryable; nothing else is granted beyond the table itself.
    assert len(seen_indexes) == len(GSIS)


# --- alarms --------------------------------------------------------------------------------


def _alarm_metric_names(alarm: dict[str, Any]) -> set[str]:
    if "MetricName" in alarm:
        return {alarm["MetricName"]}
    return {
        m["MetricStat"]["Metric"]["MetricName"]
        for m in alarm.get("Metrics", [])
        if "MetricStat" in m
    }


def test_alarms_cover_errors_latency_throttles_and_redis(prod: Synthesized) -> None:
    alarms = [a["Properties"] for a in prod.resources("AWS::CloudWatch::Alarm").values()]
    names: set[str] = set()
    for alarm in alarms:
        assert alarm["AlarmActions"], alarm
        names |= _alarm_metric_names(alarm)
    assert {
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_Target_5XX_Count",
        "TargetResponseTime",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "EngineCPUUtilization",
        "DatabaseMemoryUsagePercentage",
    } <= names
    (latency,) = [a for a in alarms if a.get("MetricName") == "TargetResponseTime"]
    assert latency["ExtendedStatistic"] == "p99"
    # One CPU and one memory alarm per Redis node (primary + 2 replicas in prod).
    redis_cpu = [a for a in alarms if a.get("MetricName") == "EngineCPUUtilization"]
    assert len(redis_cpu) == 3


# --- lint ----------------------------------------------------------------------------------


def test_cfn_lint_passes(prod: Synthesized) -> None:
    assert prod.lint is not None
    output, _ = prod.lint.communicate(timeout=300)
    # Errors and warnings both fail; infra/.cfnlintrc.yaml lists the ignored rules and why.
    assert prod.lint.returncode == 0, output
