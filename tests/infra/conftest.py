"""One in-process synthesis of the CDK app per session (it takes ~20 s: jsii runs aws-cdk-lib
in Node.js), shared by every infra test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

# The machine's Node.js is older than jsii would like; the banner it prints is noise here.
# Set before anything imports aws_cdk: the first import starts the Node.js process.
for _variable in (
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION",
):
    os.environ.setdefault(_variable, "1,18,20,22,24")

PROD_CONTEXT = {
    "stage": "prod",
    "account": "123456789012",
    "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-test",
}


REPO_ROOT = Path(__file__).resolve().parents[2]


# dev with an external issuer, a prebuilt image and a restored table (runbook: PITR restore).
RESTORED_CONTEXT = {
    "stage": "dev",
    "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-test",
    "existingTableName": "graphql-api-dev-restored-20260101",
    "cognito": "false",
    "jwtJwksUrl": "https://id.example.com/.well-known/jwks.json",
    "jwtIssuer": "https://id.example.com/",
    "jwtAudience": "graphql-api",
    "image": "210987654321.dkr.ecr.eu-west-1.amazonaws.com/graphql-api:v1.2.3",
}


@dataclass
class Synthesized:
    """The prod stack as CloudFormation, where its template was written, and cfn-lint's run
    over it (started at synthesis so it overlaps the other tests)."""

    template: dict[str, Any]
    path: Path
    region: str
    lint: subprocess.Popen[str] | None = None

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}

    def one(self, kind: str) -> tuple[str, dict[str, Any]]:
        found = self.resources(kind)
        assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
        logical_id, resource = next(iter(found.items()))
        return logical_id, resource["Properties"]


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    from infra.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    assembly = build_app(PROD_CONTEXT, outdir=str(outdir)).synth()
    (stack,) = assembly.stacks
    path = outdir / stack.template_file
    region = stack.environment.region
    lint = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--config-file",
            str(REPO_ROOT / "infra" / ".cfnlintrc.yaml"),
            "--regions",
            region,
            "--",
            str(path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield Synthesized(template=stack.template, path=path, region=region, lint=lint)
    finally:
        if lint.poll() is None:
            lint.kill()
        lint.communicate()


@pytest.fixture(scope="session")
def restored(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """A second stage; in the same Node.js process as `prod` it takes about a second."""
    from infra.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out.restored")
    (stack,) = build_app(RESTORED_CONTEXT, outdir=str(outdir)).synth().stacks
    return Synthesized(
        template=stack.template,
        path=outdir / stack.template_file,
        region=stack.environment.region,
    )


@pytest.fixture(scope="session")
def template(prod: Synthesized) -> Template:
    """The same template loaded once for aws_cdk.assertions."""
    from aws_cdk.assertions import Template

    return Template.from_json(prod.template)
