"""DynamoDB and S3 access. The only package that imports aioboto3."""
