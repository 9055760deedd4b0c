"""CDK app entry (cdk.json runs `python app.py` from infra/).

    cd infra && npx aws-cdk@2.1148.1 deploy -c stage=prod -c certificateArn=arn:aws:acm:...

The stack imports the application's table definition (`graphql_api.store.table`), so the
repository root must be importable: it is put on sys.path here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import aws_cdk as cdk  # noqa: E402

from infra.stacks.api_stack import ApiStack  # noqa: E402
from infra.stacks.config import load_stage_config  # noqa: E402

CDK_JSON = Path(__file__).resolve().parent / "cdk.json"


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    """The app with one stack for the selected stage.

    `context` adds to (and overrides) cdk.json's context, like `-c` on the command line; the
    tests use it to synthesize in-process without the CDK CLI.
    """
    merged: dict[str, Any] = {}
    if context is not None:
        # The CLI reads cdk.json itself; in-process callers get the same defaults here.
        merged.update(json.loads(CDK_JSON.read_text())["context"])
        merged.update(context)
    app = cdk.App(context=merged or None, outdir=outdir)
    config = load_stage_config(app.node)
    ApiStack(app, f"GraphqlApi-{config.stage}", config)
    return app


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
