"""CloudWatch alarms that page: errors, latency, throttling, Redis saturation, lost tasks.

Every alarm notifies one SNS topic (subscribe an email with the stage's `alarmEmail`, or hook
the topic to a pager). docs/runbook.md says what to do for each.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from graphql_api.store.table import GSIS
from infra.stacks.cache import Cache
from infra.stacks.config import StageConfig

FIVE_XX_PER_5_MIN = 10
P99_LATENCY_SECONDS = 1.0
REDIS_CPU_PERCENT = 80
REDIS_MEMORY_PERCENT = 80

_GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
_GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
_LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
_QUIET = cloudwatch.TreatMissingData.NOT_BREACHING


class Alarms(Construct):
    """The alarms of one stage and the topic they notify."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        load_balancer: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        table: dynamodb.ITable,
        cache: Cache,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", display_name=f"{config.name_prefix} alarms")
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self._action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []
        five_min = Duration.minutes(5)

        self._add(
            "Http5xx",
            cloudwatch.MathExpression(
                expression="FILL(elb, 0) + FILL(target, 0)",
                using_metrics={
                    "elb": load_balancer.metrics.http_code_elb(
                        elbv2.HttpCodeElb.ELB_5XX_COUNT, period=five_min
                    ),
                    "target": target_group.metrics.http_code_target(
                        elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=five_min
                    ),
                },
                period=five_min,
                label="5xx responses (ALB + targets)",
            ),
            threshold=FIVE_XX_PER_5_MIN,
            evaluation_periods=2,
            comparison=_GTE,
            description="5xx answers from the ALB or the tasks (check task health and logs)",
        )
        self._add(
            "LatencyP99",
            target_group.metrics.target_response_time(period=five_min, statistic="p99"),
            threshold=P99_LATENCY_SECONDS,
            evaluation_periods=3,
            comparison=_GT,
            description="p99 target response time above 1 s for 15 minutes",
        )
        self._add(
            "HealthyTasks",
            target_group.metrics.healthy_host_count(period=Duration.minutes(1), statistic="Min"),
            threshold=config.desired_count,
            evaluation_periods=5,
            comparison=_LT,
            missing=cloudwatch.TreatMissingData.BREACHING,
            description="fewer healthy tasks than the service's minimum for 5 minutes",
        )
        self._add(
            "DynamoDbThrottles",
            _throttles(table),
            threshold=1,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            comparison=_GTE,
            description="DynamoDB throttled reads or writes (table or GSI) in 3 of 5 minutes",
        )
        for node_id in cache.node_ids():
            self._add(
                f"RedisCpu-{node_id}",
                _redis_metric("EngineCPUUtilization", node_id),
                threshold=REDIS_CPU_PERCENT,
                evaluation_periods=3,
                comparison=_GT,
                description=f"Redis engine CPU above {REDIS_CPU_PERCENT}% on {node_id}",
            )
            self._add(
                f"RedisMemory-{node_id}",
                _redis_metric("DatabaseMemoryUsagePercentage", node_id),
                threshold=REDIS_MEMORY_PERCENT,
                evaluation_periods=3,
                comparison=_GT,
                description=f"Redis memory above {REDIS_MEMORY_PERCENT}% on {node_id}",
            )

    def _add(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        evaluation_periods: int,
        comparison: cloudwatch.ComparisonOperator,
        description: str,
        datapoints_to_alarm: int | None = None,
        missing: cloudwatch.TreatMissingData = _QUIET,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            comparison_operator=comparison,
            treat_missing_data=missing,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)


def _throttles(table: dynamodb.ITable) -> cloudwatch.IMetric:
    """Read and write throttle events of the table and of every GSI, summed."""
    period = Duration.minutes(1)
    metrics: dict[str, cloudwatch.IMetric] = {}
    for kind in ("Read", "Write"):
        name = f"{kind}ThrottleEvents"
        metrics[f"table{kind.lower()}"] = table.metric(name, period=period, statistic="Sum")
        for index in GSIS:
            metrics[f"{index}{kind.lower()}"] = cloudwatch.Metric(
                namespace="AWS/DynamoDB",
                metric_name=name,
                dimensions_map={"TableName": table.table_name, "GlobalSecondaryIndexName": index},
                period=period,
                statistic="Sum",
            )
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({key}, 0)" for key in metrics),
        using_metrics=metrics,
        period=period,
        label="DynamoDB throttle events",
    )


def _redis_metric(name: str, node_id: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/ElastiCache",
        metric_name=name,
        dimensions_map={"CacheClusterId": node_id},
        period=Duration.minutes(5),
        statistic="Average",
    )
