"""The DynamoDB table and the S3 uploads bucket.

The table is built from `graphql_api.store.table`, the definition `create-tables`, the embedded
default and the tests use, so a new GSI in the application reaches production by the same
change (and tests/infra checks that they agree).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from graphql_api.store.keys import PENDING_UPLOAD_TAG
from graphql_api.store.table import GSIS, TTL_ATTRIBUTE, create_table_kwargs
from infra.stacks.config import StageConfig

# Browser uploads go straight to their final key under org/<orgId>/ (a prefix rule cannot
# single them out), tagged PENDING_UPLOAD_TAG until completeUpload accepts them and replaces
# the tag: a tagged object older than a day was abandoned. The `pending/` prefix rule is from
# the earlier two-key plan; nothing writes there now (tests/infra still pins it).
PENDING_UPLOAD_PREFIX = "pending/"
ABANDONED_UPLOAD_DAYS = 1

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


def _attribute(name: str, types: dict[str, str]) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[types[name]])


def _key_pair(
    schema: list[dict[str, str]], types: dict[str, str]
) -> tuple[dynamodb.Attribute, dynamodb.Attribute | None]:
    by_role = {k["KeyType"]: k["AttributeName"] for k in schema}
    sort = by_role.get("RANGE")
    return _attribute(by_role["HASH"], types), _attribute(sort, types) if sort else None


class Data(Construct):
    """The application's table and bucket, plus least-privilege grants for a role."""

    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self.table = self._table(config, removal)
        self.bucket = self._bucket(config, removal)
        # After a point-in-time restore the service points at the restored table while the
        # stack keeps (and retains) the original for forensics: see docs/runbook.md.
        self.active_table: dynamodb.ITable = self.table
        if config.existing_table_name:
            self.active_table = dynamodb.Table.from_table_attributes(
                self,
                "RestoredTable",
                table_name=config.existing_table_name,
                global_indexes=list(GSIS),
            )

    def _table(self, config: StageConfig, removal: RemovalPolicy) -> dynamodb.Table:
        # The name is a placeholder: CloudFormation names the table, DYNAMODB_TABLE carries it.
        spec: dict[str, Any] = create_table_kwargs("unused")
        types = {a["AttributeName"]: a["AttributeType"] for a in spec["AttributeDefinitions"]}
        if spec["BillingMode"] != "PAY_PER_REQUEST":
            raise ValueError("infra expects the application's table to be on-demand")
        partition, sort = _key_pair(spec["KeySchema"], types)
        table = dynamodb.Table(
            self,
            "Table",
            partition_key=partition,
            sort_key=sort,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=config.retain_data,
            removal_policy=removal,
        )
        for index in spec["GlobalSecondaryIndexes"]:
            index_pk, index_sk = _key_pair(index["KeySchema"], types)
            projection = index["Projection"]
            table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=index_pk,
                sort_key=index_sk,
                projection_type=_PROJECTIONS[projection["ProjectionType"]],
                non_key_attributes=projection.get("NonKeyAttributes"),
            )
        return table

    def _bucket(self, config: StageConfig, removal: RemovalPolicy) -> s3.Bucket:
        return s3.Bucket(
            self,
            "Uploads",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=config.retain_data,
            removal_policy=removal,
            cors=[
                # Browsers upload straight to S3 with presigned POSTs (PUT for presigned
                # URLs); ETag is exposed so a client can confirm what it sent.
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.PUT],
                    allowed_origins=config.cors_origins,
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3000,
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abandoned-uploads",
                    prefix=PENDING_UPLOAD_PREFIX,
                    expiration=Duration.days(ABANDONED_UPLOAD_DAYS),
                ),
                s3.LifecycleRule(
                    id="abandoned-tagged-uploads",
                    tag_filters=dict([PENDING_UPLOAD_TAG]),
                    expiration=Duration.days(ABANDONED_UPLOAD_DAYS),
                ),
                s3.LifecycleRule(
                    id="incomplete-multipart",
                    abort_incomplete_multipart_upload_after=Duration.days(ABANDONED_UPLOAD_DAYS),
                ),
                # Versioning keeps overwritten/deleted files recoverable for a while only.
                s3.LifecycleRule(
                    id="old-versions",
                    noncurrent_version_expiration=Duration.days(30),
                    expired_object_delete_marker=True,
                ),
            ],
        )

    def grant_app(self, role: iam.IRole) -> None:
        """Exactly what the API does: item reads/writes on the table, Query on its indexes,
        and object reads/writes in the bucket. Explicit ARNs, no `index/*`, no `*`."""
        table_arn = self.active_table.table_arn
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TableItems",
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:Query",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:BatchWriteItem",
                    # TransactWriteItems is authorized through these per-item actions.
                    "dynamodb:ConditionCheckItem",
                    # /readyz checks reachability with DescribeTable.
                    "dynamodb:DescribeTable",
                ],
                resources=[table_arn],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TableIndexes",
                actions=["dynamodb:Query"],
                resources=[f"{table_arn}/index/{name}" for name in GSIS],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="BucketObjects",
                # PutObjectTagging: presigned POSTs set the pending tag (S3 checks it against
                # the signer's rights) and completeUpload replaces it.
                actions=[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:PutObjectTagging",
                ],
                resources=[self.bucket.arn_for_objects("*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                # Without ListBucket, HeadObject on a key not uploaded yet answers 403 instead
                # of 404, and completeUpload could not tell "missing" from "forbidden".
                sid="BucketList",
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
            )
        )
