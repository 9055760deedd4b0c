"""The API on ECS Fargate behind an ALB, with auto scaling.

Timing, end to end (why the numbers below are what they are):

- ECS stops a task in two phases. First it deregisters the task from the target group and
  waits for the ALB to finish draining it (at most DEREGISTRATION_DELAY): no new requests
  arrive, in-flight HTTP requests finish. Only then does it send SIGTERM, and SIGKILL after
  STOP_TIMEOUT.
- GraphQL HTTP requests are short (bounded operations, uploads go straight to S3), so 30 s
  covers every in-flight request with a wide margin, while keeping a rolling deploy quick.
  WebSockets outlive any drain: whatever is still open when the delay runs out is closed (by
  the ALB, or by the app on SIGTERM with 1012); clients reconnect through the ALB to a healthy
  task and replay what they missed from DynamoDB with `afterVersion`.
- On SIGTERM uvicorn stops accepting, fails readiness and gives open work
  GRACEFUL_SHUTDOWN_SECONDS (the `timeout_graceful_shutdown=10` of `serve`). STOP_TIMEOUT is
  that plus a margin for closing the store and Redis, so SIGKILL never cuts a drain short.
- IDLE_TIMEOUT: the ALB closes a connection with no traffic for this long. WebSockets are
  kept alive by protocol pings far more often than that, so an hour only bounds truly dead
  connections instead of cutting quiet subscriptions every minute (the ALB default is 60 s).
"""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import Duration, IgnoreMode, Size, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.stacks.config import StageConfig

CONTAINER_PORT = 8000
HEALTH_PATH = "/healthz"
GRACEFUL_SHUTDOWN_SECONDS = 10
STOP_TIMEOUT = Duration.seconds(GRACEFUL_SHUTDOWN_SECONDS + 20)
DEREGISTRATION_DELAY = Duration.seconds(30)
IDLE_TIMEOUT = Duration.seconds(3600)
# Scaling targets: CPU is the main signal; requests and open connections catch load that is
# I/O-bound (many idle WebSockets cost memory and fan-out work before they cost CPU).
CPU_TARGET_PERCENT = 60
REQUESTS_PER_TARGET_PER_MINUTE = 3000
# ActiveConnectionCount counts both client->ALB and ALB->target connections, so this is about
# 1000 concurrent WebSockets per task.
CONNECTIONS_PER_TASK = 2000
# Scale in slowly: every task removed closes its WebSockets (clients reconnect and replay).
SCALE_IN_COOLDOWN = Duration.minutes(10)
SCALE_OUT_COOLDOWN = Duration.minutes(1)

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "docker/Dockerfile"
DOCKERIGNORE = REPO_ROOT / "docker" / "Dockerfile.dockerignore"
# <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>; tags are required so that a
# deploy always names exactly what it runs.
_ECR_IMAGE = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+):([\w.-]+)")


def _asset_excludes() -> list[str]:
    """docker/Dockerfile.dockerignore, so the CDK asset hash and the build context agree."""
    lines = DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def container_image(scope: Construct, config: StageConfig) -> ecs.ContainerImage:
    """A prebuilt image when the stage names one (CI), else docker/Dockerfile as an asset."""
    if config.image is None:
        return ecs.ContainerImage.from_asset(
            str(REPO_ROOT),
            file=DOCKERFILE,
            exclude=_asset_excludes(),
            ignore_mode=IgnoreMode.DOCKER,
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
    ecr_image = _ECR_IMAGE.fullmatch(config.image)
    if ecr_image:
        # Through the repository, so the execution role is granted the pull (possibly from
        # a shared registry account).
        account, region, name, tag = ecr_image.groups()
        repository = ecr.Repository.from_repository_arn(
            scope, "ImageRepository", f"arn:aws:ecr:{region}:{account}:repository/{name}"
        )
        return ecs.ContainerImage.from_ecr_repository(repository, tag)
    return ecs.ContainerImage.from_registry(config.image)


class ApiService(Construct):
    """Cluster, task definition, Fargate service, ALB (HTTPS only) and auto scaling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        vpc: ec2.IVpc,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=_retention(config.log_retention_days),
        )
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.task_definition = self._task_definition(config, environment, secrets)
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=config.desired_count,
            # New tasks start and turn healthy before old ones stop: capacity never dips.
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=Duration.seconds(60),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            assign_public_ip=False,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
        )
        self.load_balancer, self.target_group = self._load_balancer(config, vpc)
        self.service.attach_to_application_target_group(self.target_group)
        self._auto_scaling(config)

    def _task_definition(
        self, config: StageConfig, environment: dict[str, str], secrets: dict[str, ecs.Secret]
    ) -> ecs.FargateTaskDefinition:
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=config.cpu,
            memory_limit_mib=config.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        # The root filesystem is read-only; /tmp is the one writable scratch place.
        task.add_volume(name="tmp")
        container = task.add_container(
            "api",
            image=container_image(self, config),
            command=["serve", "--host", "0.0.0.0", "--port", str(CONTAINER_PORT)],
            port_mappings=[ecs.PortMapping(container_port=CONTAINER_PORT, name="http")],
            environment=environment,
            secrets=secrets,
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="api",
                log_group=self.log_group,
                # Never let a slow log pipe block the event loop; drop instead.
                mode=ecs.AwsLogDriverMode.NON_BLOCKING,
                max_buffer_size=Size.mebibytes(25),
            ),
            # ECS ignores the image's HEALTHCHECK; this is the same probe.
            health_check=ecs.HealthCheck(
                command=[
                    "CMD",
                    "python",
                    "-c",
                    "import urllib.request; urllib.request.urlopen("
                    f"'http://127.0.0.1:{CONTAINER_PORT}{HEALTH_PATH}', timeout=2)",
                ],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(30),
            ),
            stop_timeout=STOP_TIMEOUT,
            readonly_root_filesystem=True,
            # tini as PID 1 forwards SIGTERM to the app and reaps zombies.
            linux_parameters=ecs.LinuxParameters(self, "Linux", init_process_enabled=True),
        )
        container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False)
        )
        return task

    def _load_balancer(
        self, config: StageConfig, vpc: ec2.IVpc
    ) -> tuple[elbv2.ApplicationLoadBalancer, elbv2.ApplicationTargetGroup]:
        alb = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            idle_timeout=IDLE_TIMEOUT,
            drop_invalid_header_fields=True,
            deletion_protection=config.retain_data,
        )
        target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=vpc,
            port=CONTAINER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            # WebSocket upgrades need HTTP/1.1 between the ALB and the task.
            protocol_version=elbv2.ApplicationProtocolVersion.HTTP1,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=DEREGISTRATION_DELAY,
            # Liveness, not /readyz: if Redis or DynamoDB hiccup, every task would fail
            # readiness at once and the ALB would have nowhere to send traffic.
            health_check=elbv2.HealthCheck(
                path=HEALTH_PATH,
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        alb.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(config.certificate_arn)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_target_groups=[target_group],
        )
        alb.add_redirect(source_port=80, target_port=443)
        return alb, target_group

    def _auto_scaling(self, config: StageConfig) -> None:
        scaling = self.service.auto_scale_task_count(
            min_capacity=config.desired_count, max_capacity=config.max_count
        )
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=CPU_TARGET_PERCENT,
            scale_in_cooldown=SCALE_IN_COOLDOWN,
            scale_out_cooldown=SCALE_OUT_COOLDOWN,
        )
        scaling.scale_on_request_count(
            "Requests",
            requests_per_target=REQUESTS_PER_TARGET_PER_MINUTE,
            target_group=self.target_group,
            scale_in_cooldown=SCALE_IN_COOLDOWN,
            scale_out_cooldown=SCALE_OUT_COOLDOWN,
        )
        self._scale_on_connections(scaling)

    def _scale_on_connections(self, scaling: ecs.ScalableTaskCount) -> None:
        """Target tracking on open ALB connections per healthy task.

        No per-target connection metric exists, so this divides the ALB's count by the healthy
        tasks with metric math. CDK's target tracking takes only plain metrics, hence the L1
        policy on the same scalable target.
        """
        target = scaling.node.find_child("Target")
        assert isinstance(target, appscaling.ScalableTarget)
        policy = appscaling.CfnScalingPolicy
        alb_name = self.load_balancer.load_balancer_full_name

        def stat(
            query_id: str, name: str, statistic: str, **dims: str
        ) -> appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty:
            return policy.TargetTrackingMetricDataQueryProperty(
                id=query_id,
                return_data=False,
                metric_stat=policy.TargetTrackingMetricStatProperty(
                    metric=policy.TargetTrackingMetricProperty(
                        namespace="AWS/ApplicationELB",
                        metric_name=name,
                        dimensions=[
                            policy.TargetTrackingMetricDimensionProperty(name=k, value=v)
                            for k, v in dims.items()
                        ],
                    ),
                    stat=statistic,
                ),
            )

        policy(
            self,
            "ConnectionsPerTask",
            policy_name=f"{Stack.of(self).stack_name}-connections-per-task",
            policy_type="TargetTrackingScaling",
            scaling_target_id=target.scalable_target_id,
            target_tracking_scaling_policy_configuration=policy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=CONNECTIONS_PER_TASK,
                scale_in_cooldown=int(SCALE_IN_COOLDOWN.to_seconds()),
                scale_out_cooldown=int(SCALE_OUT_COOLDOWN.to_seconds()),
                customized_metric_specification=policy.CustomizedMetricSpecificationProperty(
                    metrics=[
                        stat("connections", "ActiveConnectionCount", "Sum", LoadBalancer=alb_name),
                        stat(
                            "tasks",
                            "HealthyHostCount",
                            "Average",
                            LoadBalancer=alb_name,
                            TargetGroup=self.target_group.target_group_full_name,
                        ),
                        policy.TargetTrackingMetricDataQueryProperty(
                            id="perTask",
                            expression="connections / tasks",
                            label="Open connections per task",
                            return_data=True,
                        ),
                    ]
                ),
            ),
        )


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
}


def _retention(days: int) -> logs.RetentionDays:
    if days not in _RETENTION:
        raise ValueError(f"logRetentionDays must be one of {sorted(_RETENTION)}")
    return _RETENTION[days]
