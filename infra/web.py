"""The web client in an AWS stage: its files in a private S3 bucket behind CloudFront, and a
Cognito app client with a hosted UI domain for its sign-in.

    S3 bucket (private, SSE, TLS only) --OAC--> CloudFront (HTTPS, security headers) --> browsers

The files are not part of the CloudFormation deployment (a BucketDeployment would add a Lambda
with s3:*Object* grants): `python -m infra.publish_web --stage <s>` uploads web/static/ (with the
IVS SDK bundle `make web` copied there) and writes config.json from the stack's outputs; `make
deploy` runs it after the stack. The page calls the API on its own endpoint (CORS, allowed by the
app in AWS stages: chalicelib/api/web.py): routing the API through this distribution would make the
distribution depend on the API, the API's function on the web client's id (its token audience), and
the web client's callback URL on the distribution, a cycle.

Nothing of this was deployed here (no AWS account): see docs/web-client.md.
"""
from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, CfnParameter, Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import accept
from infra.stages import StageSettings

# The viewer-request function that refuses TLS 1.0 and 1.1 whatever the certificate (see the file).
TLS_FLOOR_FUNCTION = Path(__file__).with_name("edge") / "tls_floor.js"

# The parameter `make deploy` fills with the edge stack's output (infra/waf.py EdgeStack).
WEB_ACL_PARAMETER = "WebAclArn"


class WebClient(Construct):
    def __init__(self, scope: Construct, id: str, *, user_pool: cognito.UserPool, settings: StageSettings, keep: RemovalPolicy):
        super().__init__(scope, id)
        domain_prefix = settings.hosted_ui_domain
        self.bucket = s3.Bucket(
            self,
            "Files",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=False,
            # The files are rebuilt from the repository by infra.publish_web; `make destroy`
            # empties the bucket first so a dev stack can be deleted.
            removal_policy=keep,
        )
        web_acl_arn = CfnParameter(
            scope,
            WEB_ACL_PARAMETER,
            description="ARN of the web client's WAF web ACL (CLOUDFRONT scope): the edge stack's WebAclArn output",
            allowed_pattern=r"^arn:aws[a-z-]*:wafv2:us-east-1:[0-9]{12}:global/webacl/.+$",
        )
        custom_domain = {}
        if settings.web_domain:
            if not settings.web_certificate_arn:
                raise SystemExit(f"stage {settings.name}: web_domain needs web_certificate_arn (ACM, us-east-1)")
            custom_domain = dict(
                domain_names=[settings.web_domain],
                certificate=acm.Certificate.from_certificate_arn(self, "Certificate", settings.web_certificate_arn),
            )
        # TLS 1.2 or later on every request: the minimum protocol below binds only with a
        # certificate of the stage's own (web_domain); the function binds with any certificate.
        tls_floor = cloudfront.Function(
            self,
            "TlsFloor",
            comment="Refuse viewers on TLS 1.0 / 1.1 (CloudFront-Viewer-TLS)",
            code=cloudfront.FunctionCode.from_file(file_path=str(TLS_FLOOR_FUNCTION)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        viewer_tls = cloudfront.OriginRequestPolicy(
            self,
            "ViewerTls",
            comment="Give the viewer's TLS version to the TLS floor function",
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list("CloudFront-Viewer-TLS"),
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.none(),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Spaces web client",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
                origin_request_policy=viewer_tls,
                function_associations=[cloudfront.FunctionAssociation(
                    function=tls_floor, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST,
                )],
                compress=True,
            ),
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            web_acl_id=web_acl_arn.value_as_string,
            **custom_domain,
        )
        if settings.web_domain:
            self.url = f"https://{settings.web_domain}/"
        else:
            self.url = f"https://{self.distribution.distribution_domain_name}/"
            accept(self.distribution, "AwsSolutions-CFR4",
                   "no web_domain for this stage: CloudFront's *.cloudfront.net certificate takes no minimum "
                   "protocol, so the TlsFloor viewer-request function refuses TLS 1.0 / 1.1 instead")
        accept(self.distribution, "AwsSolutions-CFR1", "a worldwide audience: no country is excluded")
        accept(self.distribution, "AwsSolutions-CFR3",
               "static public files of the web client, no personal data in the requests; the API's access log "
               "is where callers are recorded")
        accept(self.bucket, "AwsSolutions-S1",
               "read only by this distribution (origin access control) and written only by make deploy")

        # Cognito's hosted UI, authorization code with PKCE (a public client: no secret). The API
        # accepts this client's ID tokens as a second audience (SPACES_JWT_AUDIENCE).
        self.domain = user_pool.add_domain(
            "HostedUi", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )
        self.app_client = user_pool.add_client(
            "WebClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID],
                callback_urls=[self.url],
                logout_urls=[self.url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )

    def outputs(self, scope: Construct) -> None:
        """What infra.publish_web reads to write config.json and upload the files."""
        CfnOutput(scope, "WebBucketName", value=self.bucket.bucket_name)
        CfnOutput(scope, "WebDistributionId", value=self.distribution.distribution_id)
        CfnOutput(scope, "WebUrl", value=self.url)
        CfnOutput(scope, "WebClientId", value=self.app_client.user_pool_client_id)
        CfnOutput(scope, "HostedUiDomain", value=self.domain.base_url())
