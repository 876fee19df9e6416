"""The CDK app: `python infra/app.py` synthesizes every stage into cdk.out/ (no AWS account needed).

    python infra/app.py                      # both stages (make synth)
    npx aws-cdk@2.1148.1 deploy --app "python infra/app.py" -c stage=dev dev   # make deploy STAGE=dev

With `-c stage=<name>` (or SPACES_DEPLOY_STAGE) only that stage is built, so a deploy packages one
stage. Without an account in the environment the stacks are environment-agnostic; the CDK CLI
sets CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION from the caller's credentials when it deploys.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts infra/ first on sys.path, where this file would shadow the Chalice
# app's own `app` module when `chalice package` imports it. The repository root replaces it.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# jsii prints a banner for every Node.js release it does not test against; Node 20 is what the
# machines have, and synth works on it.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")


def build(stage_names: list[str] | None = None, outdir: str | None = None):
    import aws_cdk as cdk

    from infra.stack import SpacesStack
    from infra.stages import STAGES, stage
    from infra.waf import EdgeStack

    # The CDK CLI passes CDK_OUTDIR; run by hand, the assembly goes to ./cdk.out (git-ignored).
    outdir = outdir or os.environ.get("CDK_OUTDIR") or str(ROOT / "cdk.out")
    app = cdk.App(outdir=str(Path(outdir).resolve()))
    requested = stage_names or _requested_stages(app) or list(STAGES)
    # `chalice.cdk.Chalice` writes its packages under the working directory (chalice.out/): keep
    # them inside the assembly, which is git-ignored, and start clean so they do not pile up.
    build_dir = Path(app.outdir) / ".chalice-build"
    shutil.rmtree(build_dir, ignore_errors=True)
    build_dir.mkdir(parents=True)
    env = None
    if os.environ.get("CDK_DEFAULT_ACCOUNT") and os.environ.get("CDK_DEFAULT_REGION"):
        env = cdk.Environment(account=os.environ["CDK_DEFAULT_ACCOUNT"], region=os.environ["CDK_DEFAULT_REGION"])
    # CloudFront's web ACL must be in us-east-1, whatever the stage's region (infra/waf.py).
    edge_env = cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region="us-east-1")
    cwd = os.getcwd()
    os.chdir(build_dir)
    try:
        for name in requested:
            settings = stage(name)
            EdgeStack(app, settings, env=edge_env)
            SpacesStack(app, settings, env=env)
    finally:
        os.chdir(cwd)
    from infra.nag import check

    check(app)
    return app


def _requested_stages(app) -> list[str]:
    value = app.node.try_get_context("stage") or os.environ.get("SPACES_DEPLOY_STAGE")
    return [value] if value else []


def main() -> None:
    app = build()
    assembly = app.synth()
    for stack in assembly.stacks:
        print(f"synthesized {stack.stack_name}: {len(stack.template.get('Resources', {}))} resources "
              f"-> {Path(assembly.directory).name}/{stack.template_file}")


if __name__ == "__main__":
    main()
