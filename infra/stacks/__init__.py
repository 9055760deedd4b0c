"""Stacks and constructs of the CDK app; `api_stack.ApiStack` composes them."""
