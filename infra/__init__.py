"""The AWS CDK app that deploys the API on ECS Fargate (entry point: infra/app.py)."""
