"""The share page in AWS stages: API Gateway serves GET /s/{space_id} without an authorizer of its
own (the app's middleware lets it through untokened), and every function knows the web client's
CloudFront URL, which the page links to."""
from __future__ import annotations

import pytest

from tests.infra.helpers import resources_of

pytestmark = pytest.mark.slow


def test_the_api_serves_the_share_page_and_knows_where_the_web_client_is(templates, stage):
    template = templates[stage]
    [api] = resources_of(template, "AWS::Serverless::Api").values()
    assert "get" in api["Properties"]["DefinitionBody"]["paths"]["/s/{space_id}"]
    [distribution_id] = resources_of(template, "AWS::CloudFront::Distribution")
    for function in resources_of(template, "AWS::Serverless::Function").values():
        url = function["Properties"]["Environment"]["Variables"]["SPACES_WEB_CLIENT_URL"]
        # https://<the distribution's domain name>/ (or the stage's own web_domain)
        assert url == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, "/"]]}, url
