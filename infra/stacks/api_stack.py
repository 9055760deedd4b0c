"""One stage of the API: network, data, cache, secrets, service, alarms."""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.stacks.alarms import Alarms
from infra.stacks.auth import jwt_settings
from infra.stacks.cache import Cache
from infra.stacks.config import StageConfig
from infra.stacks.data import Data
from infra.stacks.service import ApiService


class ApiStack(Stack):
    """Everything one stage (dev, prod) runs on; see docs/deploy.md."""

    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            description=f"GraphQL checklist API ({config.stage})",
        )
        Tags.of(self).add("app", "graphql-api")
        Tags.of(self).add("stage", config.stage)
        self.config = config
        self.vpc = self._vpc(config)
        self.data = Data(self, "Data", config)
        self.cache = Cache(self, "Cache", config, self.vpc)
        # Signs pagination cursors and invitation links; every task must share it.
        self.cursor_secret = secretsmanager.Secret(
            self,
            "CursorSecret",
            description=f"{config.name_prefix}: CURSOR_SECRET",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        jwt = jwt_settings(self, config)
        self.api = ApiService(
            self,
            "Api",
            config=config,
            vpc=self.vpc,
            environment=self.task_environment(jwt.environment()),
            secrets={
                "CURSOR_SECRET": ecs.Secret.from_secrets_manager(self.cursor_secret),
                # docker/entrypoint.sh puts it into REDIS_URL, then drops the variable.
                "REDIS_AUTH_TOKEN": ecs.Secret.from_secrets_manager(self.cache.auth_token),
            },
        )
        self.data.grant_app(self.api.task_definition.task_role)
        self.cache.allow_from(self.api.service.connections.security_groups[0])
        self.alarms = Alarms(
            self,
            "Alarms",
            config=config,
            load_balancer=self.api.load_balancer,
            target_group=self.api.target_group,
            table=self.data.active_table,
            cache=self.cache,
        )
        CfnOutput(self, "LoadBalancerDns", value=self.api.load_balancer.load_balancer_dns_name)
        CfnOutput(self, "TableName", value=self.data.active_table.table_name)
        CfnOutput(self, "BucketName", value=self.data.bucket.bucket_name)
        CfnOutput(self, "AlarmTopic", value=self.alarms.topic.topic_arn)
        # Names the runbook's commands need (failover test, forced redeploy, PITR restore).
        CfnOutput(self, "ClusterName", value=self.api.cluster.cluster_name)
        CfnOutput(self, "ServiceName", value=self.api.service.service_name)
        CfnOutput(self, "RedisReplicationGroupId", value=self.cache.replication_group_id)
        CfnOutput(self, "StackTableName", value=self.data.table.table_name)
        CfnOutput(self, "LogGroup", value=self.api.log_group.log_group_name)

    def _vpc(self, config: StageConfig) -> ec2.Vpc:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            availability_zones=config.availability_zones,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
                ec2.SubnetConfiguration(
                    name="cache", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=26
                ),
            ],
        )
        # DynamoDB and S3 traffic stays inside AWS and skips the NAT gateways' per-GB fee.
        vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        return vpc

    def task_environment(self, jwt_environment: dict[str, str]) -> dict[str, str]:
        """The task's environment: the README's contract, minus what AWS must not set.

        AWS_ENDPOINT_URL_* stay unset (real endpoints) and JWT_HS256_SECRET is never set:
        production refuses it, and every stage in AWS verifies RS256 tokens from a JWKS.
        """
        return {
            "APP_ENV": self.config.app_env,
            "DYNAMODB_TABLE": self.data.active_table.table_name,
            "S3_BUCKET": self.data.bucket.bucket_name,
            "AWS_REGION": self.region,
            "REDIS_URL": self.cache.url,
            "CORS_ORIGINS": ",".join(self.config.cors_origins),
            **jwt_environment,
        }
