"""AWS WAF in front of the API and the web client (docs/operations.md, "WAF").

Each web ACL allows by default and blocks a client IP that passes its rate-based rules: every
request counts towards one limit, and joins (POST /spaces/{id}/join, the costly call: a media
token signed and a participant written) towards a smaller one, so one address cannot flood
joins. The API's ACL is REGIONAL and associated with the API Gateway stage. CloudFront only
takes a web ACL of CLOUDFRONT scope, which must live in us-east-1: `EdgeStack` is that small
stack, deployed first by `make deploy`, and the stage's stack takes its ARN as a parameter.
"""
from __future__ import annotations

import sys

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.stages import StageSettings, stage

EDGE_REGION = "us-east-1"

RATE_WINDOW_S = 300


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _rate_rule(name: str, priority: int, limit: int, scope_down=None) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP",
                evaluation_window_sec=RATE_WINDOW_S,
                limit=limit,
                scope_down_statement=scope_down,
            )
        ),
        visibility_config=_visibility(name),
    )


def _joins() -> wafv2.CfnWebACL.StatementProperty:
    """POST to a path ending in /join."""
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(
            statements=[
                wafv2.CfnWebACL.StatementProperty(
                    byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(method={}),
                        positional_constraint="EXACTLY",
                        search_string="POST",
                        text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                    )
                ),
                wafv2.CfnWebACL.StatementProperty(
                    byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                        positional_constraint="ENDS_WITH",
                        search_string="/join",
                        text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")],
                    )
                ),
            ]
        )
    )


def api_web_acl(scope: Construct, settings: StageSettings) -> wafv2.CfnWebACL:
    return wafv2.CfnWebACL(
        scope,
        "ApiWebAcl",
        name=f"{settings.prefix}-api",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        rules=[
            _rate_rule("joins-per-ip", 0, settings.api_joins_per_ip_5min, scope_down=_joins()),
            _rate_rule("requests-per-ip", 1, settings.api_requests_per_ip_5min),
        ],
        visibility_config=_visibility(f"{settings.prefix}-api"),
    )


class EdgeStack(Stack):
    """`spaces-<stage>-edge`, in us-east-1: the web distribution's web ACL (CLOUDFRONT scope)."""

    def __init__(self, scope: Construct, settings: StageSettings, **kwargs):
        super().__init__(
            scope,
            f"{settings.name}-edge",
            stack_name=settings.edge_stack_name,
            description=f"Spaces ({settings.name}): the web client's WAF web ACL (CloudFront scope, us-east-1)",
            termination_protection=settings.production,
            **kwargs,
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebClientWebAcl",
            name=f"{settings.prefix}-web",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=[_rate_rule("requests-per-ip", 0, settings.web_requests_per_ip_5min)],
            visibility_config=_visibility(f"{settings.prefix}-web"),
        )
        # Read by `make deploy` (infra.preflight edge-acl) and passed to the stage's stack.
        CfnOutput(self, "WebAclArn", value=self.web_acl.attr_arn)


def deployed_web_acl_arn(settings: StageSettings, session) -> str:
    """The edge stack's WebAclArn output, once `make deploy` has deployed it."""
    cloudformation = session.client("cloudformation", region_name=EDGE_REGION)
    [deployed] = cloudformation.describe_stacks(StackName=settings.edge_stack_name)["Stacks"]
    return next(o["OutputValue"] for o in deployed["Outputs"] if o["OutputKey"] == "WebAclArn")


def main(argv: list[str] | None = None) -> int:
    """`python -m infra.waf <stage>`: print the web ACL ARN the stage's stack takes (make deploy)."""
    import boto3

    [name] = argv if argv is not None else sys.argv[1:]
    print(deployed_web_acl_arn(stage(name), boto3.session.Session()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
