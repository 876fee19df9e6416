"""The web client in AWS stages (infra/web.py): a private bucket behind CloudFront, a Cognito
hosted UI client whose tokens the API accepts, and none of the local stage's web routes."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from aws_cdk.assertions import Match

from tests.infra.helpers import resources_of

pytestmark = pytest.mark.slow


def test_the_files_bucket_is_private_encrypted_and_tls_only(cdk_templates, stage):
    template = cdk_templates[stage]
    template.resource_count_is("AWS::S3::Bucket", 2)  # this one and the recordings bucket
    template.has_resource_properties("AWS::S3::Bucket", {
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
        },
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}},
        ]},
    })
    template.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
        # Only this distribution reads the files (origin access control), nobody else.
        Match.object_like({
            "Effect": "Allow", "Action": "s3:GetObject", "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Condition": {"StringEquals": {"AWS:SourceArn": Match.any_value()}},
        }),
    ])}})


def test_cloudfront_serves_the_page_over_https_from_the_bucket_only(cdk_templates, templates, stage):
    cdk_templates[stage].has_resource_properties("AWS::CloudFront::Distribution", {"DistributionConfig": Match.object_like({
        "DefaultRootObject": "index.html",
        "DefaultCacheBehavior": Match.object_like({"ViewerProtocolPolicy": "redirect-to-https"}),
        "ViewerCertificate": Match.absent(),
    })})
    [distribution] = resources_of(templates[stage], "AWS::CloudFront::Distribution").values()
    origins = distribution["Properties"]["DistributionConfig"]["Origins"]
    assert len(origins) == 1 and "S3OriginConfig" in origins[0] and "OriginAccessControlId" in origins[0]
    cdk_templates[stage].resource_count_is("AWS::CloudFront::OriginAccessControl", 1)


def test_the_web_client_signs_in_with_the_hosted_ui_and_the_api_accepts_its_tokens(cdk_templates, templates, stage):
    template = cdk_templates[stage]
    template.has_resource_properties("AWS::Cognito::UserPoolDomain", {"Domain": f"spaces-{stage}-web"})
    template.has_resource_properties("AWS::Cognito::UserPoolClient", {
        "GenerateSecret": False,
        "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": ["openid"],
        "AllowedOAuthFlowsUserPoolClient": True,
        "SupportedIdentityProviders": ["COGNITO"],
        "CallbackURLs": [{"Fn::Join": ["", ["https://", {"Fn::GetAtt": [Match.any_value(), "DomainName"]}, "/"]]}],
    })
    clients = resources_of(templates[stage], "AWS::Cognito::UserPoolClient")
    assert len(clients) == 2
    for function in resources_of(templates[stage], "AWS::Serverless::Function").values():
        audience = function["Properties"]["Environment"]["Variables"]["SPACES_JWT_AUDIENCE"]
        referenced = {part["Ref"] for part in audience["Fn::Join"][1] if isinstance(part, dict)}
        assert referenced == set(clients), audience


def test_the_api_has_no_local_web_route_and_answers_the_page_cross_origin(templates, stage):
    [api] = resources_of(templates[stage], "AWS::Serverless::Api").values()
    paths = api["Properties"]["DefinitionBody"]["paths"]
    assert "/local/sign-in" not in paths and "/web/{name}" not in paths and "/" not in paths
    assert "/spaces/{space_id}/join" in paths
    # CORS preflight for the page on CloudFront (chalicelib/api/web.py cors_for_web_client).
    assert "options" in paths["/spaces/{space_id}/join"]


def test_publish_web_finds_every_output_it_reads(templates, stage):
    outputs = templates[stage]["Outputs"]
    assert {"ApiUrl", "WebBucketName", "WebDistributionId", "WebUrl", "WebClientId", "HostedUiDomain"} <= set(outputs)


def test_viewers_on_tls_1_0_or_1_1_are_refused_whatever_the_certificate(cdk_templates, templates, stage):
    """CloudFront's own certificate ignores the minimum protocol: a viewer-request function reads
    CloudFront-Viewer-TLS (which the origin request policy makes CloudFront set) and refuses TLS
    1.0 / 1.1. The function's code is run here, in node, on the events CloudFront would pass."""
    template = cdk_templates[stage]
    template.has_resource_properties("AWS::CloudFront::OriginRequestPolicy", {"OriginRequestPolicyConfig": Match.object_like({
        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": ["CloudFront-Viewer-TLS"]},
    })})
    [function] = resources_of(templates[stage], "AWS::CloudFront::Function").values()
    assert function["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    [distribution] = resources_of(templates[stage], "AWS::CloudFront::Distribution").values()
    behaviour = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    [association] = behaviour["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    assert "OriginRequestPolicyId" in behaviour

    code = function["Properties"]["FunctionCode"]
    script = code + """
const cases = JSON.parse(process.argv[1]);
const out = cases.map(h => {
  const request = {method: 'GET', uri: '/index.html', headers: h === null ? {} : {'cloudfront-viewer-tls': {value: h}}};
  const result = handler({version: '1.0', request: request});
  return result === request ? 'pass' : result.statusCode;
});
console.log(JSON.stringify(out));
"""
    cases = ["TLSv1:ECDHE-RSA-AES128-SHA", "TLSv1.1:ECDHE-RSA-AES128-SHA", "TLSv1.2:ECDHE-RSA-AES128-GCM-SHA256",
             "TLSv1.3:TLS_AES_128_GCM_SHA256", "SSLv3:RC4-MD5", None]
    node = shutil.which("node")
    assert node, "node is needed by the CDK tests already (jsii)"
    run = subprocess.run([node, "-e", script, json.dumps(cases)], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(run.stdout) == [403, 403, "pass", "pass", 403, "pass"]
