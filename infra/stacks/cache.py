"""ElastiCache Redis: the fast path between replicas (pub/sub, presence, APQ, rate limits).

Cluster mode is off on purpose: the app uses one Redis URL and pub/sub, which a cluster-mode
client would shard. One primary plus replicas in other AZs with automatic failover keeps the
endpoint stable; DynamoDB stays the source of truth, so a failover costs a reconnect and a
re-sync from DynamoDB, never data (docs/runbook.md).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.stacks.config import StageConfig

REDIS_PORT = 6379
REDIS_ENGINE_VERSION = "7.1"


class Cache(Construct):
    """A replication group with TLS in transit, an AUTH token and Multi-AZ failover."""

    def __init__(
        self, scope: Construct, construct_id: str, config: StageConfig, vpc: ec2.IVpc
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Redis: reachable from the API tasks only",
            allow_all_outbound=False,
        )
        # Letters and digits only: ElastiCache refuses some punctuation in AUTH tokens and
        # the token is embedded in a rediss:// URL by docker/entrypoint.sh.
        self.auth_token = secretsmanager.Secret(
            self,
            "AuthToken",
            description=f"{config.name_prefix}: Redis AUTH token",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        subnets = elasticache.CfnSubnetGroup(
            self,
            "Subnets",
            description=f"{config.name_prefix} Redis subnets",
            subnet_ids=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
        )
        self.replication_group_id = config.name_prefix
        self.node_count = 1 + config.redis_replicas
        self.group = elasticache.CfnReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_id=self.replication_group_id,
            replication_group_description=f"{config.name_prefix} pub/sub, presence, caches",
            engine="redis",
            engine_version=REDIS_ENGINE_VERSION,
            cache_node_type=config.redis_node_type,
            num_cache_clusters=self.node_count,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            at_rest_encryption_enabled=True,
            auth_token=self.auth_token.secret_value.unsafe_unwrap(),
            port=REDIS_PORT,
            cache_subnet_group_name=subnets.ref,
            security_group_ids=[self.security_group.security_group_id],
            snapshot_retention_limit=1 if config.retain_data else 0,
            auto_minor_version_upgrade=True,
        )

    @property
    def url(self) -> str:
        """REDIS_URL without credentials; the entrypoint adds REDIS_AUTH_TOKEN to it."""
        host = self.group.attr_primary_end_point_address
        port = self.group.attr_primary_end_point_port
        return f"rediss://{host}:{port}/0"

    def node_ids(self) -> list[str]:
        """CacheClusterId of every node (the dimension of per-node CloudWatch metrics)."""
        return [f"{self.replication_group_id}-{n:03d}" for n in range(1, self.node_count + 1)]

    def allow_from(self, peer: ec2.ISecurityGroup) -> None:
        self.security_group.add_ingress_rule(peer, ec2.Port.tcp(REDIS_PORT), "API tasks")
